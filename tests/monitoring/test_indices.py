"""Index formulas against hand-computed values, zero denominators, and the real drone orthomosaic."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from imagery_helpers import IMAGERY

from monitoring import imagery, indices


def test_multispectral_formulas():
    nir, red, blue, re, swir = 0.40, 0.05, 0.03, 0.20, 0.25
    assert indices.ndvi(nir, red) == pytest.approx(0.35 / 0.45)
    assert indices.ndre(nir, re) == pytest.approx(0.2 / 0.6)
    assert indices.evi(nir, red, blue) == pytest.approx(2.5 * 0.35 / (0.40 + 0.30 - 0.225 + 1))
    assert indices.evi2(nir, red) == pytest.approx(2.5 * 0.35 / (0.40 + 0.12 + 1))
    assert indices.ndmi(nir, swir) == pytest.approx(0.15 / 0.65)


def test_visible_formulas():
    g, r, b = 120.0, 80.0, 60.0
    assert indices.vari(g, r, b) == pytest.approx(40 / 140)
    assert indices.exg(g, r, b) == pytest.approx(100 / 260)
    assert indices.exg(g, r, b, chromatic=False) == pytest.approx(100)
    assert indices.gli(g, r, b) == pytest.approx(100 / 380)
    assert indices.ngrdi(g, r) == pytest.approx(40 / 200)


def test_zero_denominators_are_nan_and_vari_is_clipped():
    assert np.isnan(indices.ndvi(np.array([0.0]), np.array([0.0]))[0])
    assert np.isnan(indices.vari(np.array([50.0]), np.array([50.0]), np.array([100.0]))[0])
    assert indices.vari(np.array([100.0]), np.array([10.0]), np.array([105.0]))[0] == 1.0  # 90/5 clipped


def test_xarray_in_xarray_out():
    nir = xr.DataArray([0.4, 0.0], dims="x")
    red = xr.DataArray([0.1, 0.0], dims="x")
    out = indices.ndvi(nir, red)
    assert isinstance(out, xr.DataArray)
    assert float(out[0]) == pytest.approx(0.6) and np.isnan(float(out[1]))


def test_drone_visible_indices_on_real_orthomosaic():
    # DeepForest australia.tif: one tree crown on bare ground. SOURCE.txt: raw ExG = 2G-R-B > 20 on ~36 %
    # of pixels (canopy), median VARI -0.02.
    ds = imagery.read_drone_rgb(IMAGERY / "deepforest_drone" / "australia.tif")
    r, g, b = ds["red"].to_numpy(), ds["green"].to_numpy(), ds["blue"].to_numpy()
    canopy = indices.exg(g, r, b, chromatic=False) > 20
    assert canopy.mean() == pytest.approx(0.36, abs=0.02)
    assert np.nanmedian(indices.vari(g, r, b)) == pytest.approx(-0.02, abs=0.01)
    # Otsu on chromatic ExG splits canopy from soil: the canopy class is greener on GLI and NGRDI.
    exg = indices.exg(g, r, b)
    threshold = indices.otsu_threshold(exg)
    high = exg > threshold
    assert 0.15 < high.mean() < 0.6
    assert np.nanmean(indices.gli(g, r, b)[high]) > np.nanmean(indices.gli(g, r, b)[~high]) + 0.05
    assert np.nanmean(indices.ngrdi(g, r)[high]) > np.nanmean(indices.ngrdi(g, r)[~high])


def test_otsu_two_modes():
    values = np.r_[np.full(100, 0.1), np.full(50, 0.5)]
    assert 0.1 < indices.otsu_threshold(values) < 0.5
    assert np.isnan(indices.otsu_threshold([np.nan]))
