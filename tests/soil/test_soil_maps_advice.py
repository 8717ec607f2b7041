"""Maps (IDW exactness, LOOCV, low-confidence mask, GeoTIFF) and advice signals."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from monitoring.soil import advice, maps
from monitoring.soil import water_balance as wb
from orchard.errors import InputError


def test_idw_is_exact_at_sensors_and_bounded():
    rng = np.random.default_rng(3)
    x, y, z = rng.uniform(0, 1000, 10), rng.uniform(0, 1000, 10), rng.uniform(0.2, 0.4, 10)
    np.testing.assert_allclose(maps.idw(x, y, z, x, y), z)
    gx, gy = np.meshgrid(np.linspace(0, 1000, 30), np.linspace(0, 1000, 30))
    grid = maps.idw(x, y, z, gx, gy)
    assert z.min() - 1e-12 <= grid.min() and grid.max() <= z.max() + 1e-12


def test_loocv_on_a_linear_field_is_small_and_nonzero():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 1000, 20), rng.uniform(0, 1000, 20)
    z = 0.2 + 1e-4 * x
    cv = maps.loocv(lambda a, b, c, qx, qy: maps.idw(a, b, c, qx, qy), x, y, z)
    assert cv["n"] == 20 and 0 < cv["rmse"] < 0.03
    # the regression route recovers a field linear in its covariate exactly
    cv_reg = maps.loocv(
        lambda a, b, c, qx, qy: maps.regression_idw(a, b, c, a[:, None], qx[:, None], qx, qy), x, y, z
    )
    assert cv_reg["rmse"] < 1e-9


def test_low_confidence_far_from_sensors():
    x, y = np.array([0.0, 100, 0, 100]), np.array([0.0, 0, 100, 100])
    mask = maps.low_confidence_mask(x, y, np.array([50.0, 1000.0]), np.array([50.0, 1000.0]))
    assert mask.tolist() == [False, True]


def test_interpolate_writes_geotiff_and_refuses_kriging_with_few_sensors(tmp_path):
    import rasterio

    lon = 116.45 + np.array([0.0, 0.01, 0.02, 0.0, 0.02, 0.01])
    lat = 25.68 + np.array([0.0, 0.005, 0.0, 0.01, 0.01, 0.002])
    values = np.array([0.30, 0.32, 0.28, 0.35, 0.31, 0.29])
    ds = maps.interpolate(lon, lat, values, variable="moisture_m3_m3")
    assert ds.attrs["crs"] == "EPSG:32650" and ds.attrs["n_sensors"] == 6 and ds.attrs["loocv_rmse"] > 0
    path = maps.write_geotiff(ds, tmp_path / "m.tif")
    with rasterio.open(path) as src:
        assert src.count == 2 and src.crs.to_epsg() == 32650
        band = src.read(1)
    assert np.nanmin(band) >= 0.28 - 1e-6 and np.nanmax(band) <= 0.35 + 1e-6
    with pytest.raises(InputError, match="ordinary kriging needs at least 30 sensors"):
        maps.interpolate(lon, lat, values, variable="ph", method="kriging")
    with pytest.raises(InputError, match="a map needs at least 3"):
        maps.interpolate(lon[:2], lat[:2], values[:2], variable="ph")


def test_kriging_with_many_sensors():
    pytest.importorskip("pykrige")
    rng = np.random.default_rng(5)
    lon, lat = 116.44 + rng.uniform(0, 0.03, 35), 25.67 + rng.uniform(0, 0.02, 35)
    ds = maps.interpolate(
        lon, lat, 0.3 + 2 * (lon - 116.44), variable="moisture_m3_m3", method="kriging", cell_m=50
    )
    assert "kriging_sd" in ds and ds.attrs["loocv_rmse"] < 0.01


def balance_dataset(dr, raw=40.0, taw=80.0):
    n = len(dr)
    data = {"depletion_mm": dr, "raw_mm": [raw] * n, "taw_mm": [taw] * n, "ks": [1.0] * n}
    ds = xr.Dataset(
        {k: (("time", "plot"), np.asarray([v], float)) for k, v in data.items()},
        coords={"time": [pd.Timestamp("2017-08-01")], "plot": [f"P{i}" for i in range(n)]},
    )
    ds["irrigation_capacity_mm_d"] = ("plot", np.array([4.0] * n))
    return ds


def test_irrigation_advice_mm_hours_and_rain_deferral():
    params = wb.default_parameters()
    ds = balance_dataset([20.0, 50.0, 50.0, 70.0])
    table = advice.irrigation_advice(
        ds, params, irrigation=["drip", "drip", "drip", "sprinkler"], forecast_precip_mm=[0.0, 0.0, 25.0, 0.0]
    )
    assert table["irrigate"].tolist() == [False, True, False, True]
    assert table.loc[1, "net_mm"] == 30.0  # capped at the 20-30 mm per irrigation of Chinese practice
    assert table.loc[1, "gross_mm"] == pytest.approx(30 / 0.9)
    assert table.loc[1, "hours"] == pytest.approx(30 / 0.9 / (4 / 24))
    assert table.loc[3, "gross_mm"] == pytest.approx(30 / 0.85)
    assert "deferred: 25 mm of rain forecast" in table.loc[2, "reason"]


def test_nitrogen_rate_split_and_bounds():
    rate, raw = advice.nitrogen_rate([50.0, 200.0, 5.0])
    assert raw[0] == pytest.approx(1.906 * 50 / 0.5)
    assert rate[0] == pytest.approx(raw[0]) and rate[1] == 442.0 and rate[2] == 177.0
    split = advice.nitrogen_split(200.0)
    assert sum(split.values()) == pytest.approx(200.0) and split["fruit_enlargement"] == pytest.approx(70.0)
    with pytest.raises(InputError, match="crop 'lemon' has no nitrogen range"):
        advice.nitrogen_rate(30.0, crop="lemon")


def test_leaf_and_soil_status_against_standards():
    leaf = advice.leaf_status({"N": 2.6, "B": 23.68, "K": 0.65, "Zn": 400.0}).set_index("element")
    assert leaf["class"].to_dict() == {"N": "optimum", "B": "low", "K": "deficient", "Zn": "excess"}
    assert leaf.loc["N", "source"].startswith("UF/IFAS")
    soil = advice.soil_status({"pH": 4.8, "K": 120.0}).set_index("element")
    assert soil["class"].to_dict() == {"pH": "below", "K": "within"}
    with pytest.raises(InputError, match="element 'Xx' has no standard"):
        advice.leaf_status({"Xx": 1.0})


def test_ph_and_salinity_warnings():
    assert advice.ph_warning([4.8, 6.0, 7.8]).tolist() == ["acid", "", "alkaline"]
    assert advice.salinity_yield_loss_pct([1.0, 2.4]).tolist() == pytest.approx([0.0, 13.0])
    assert advice.ec_to_25c(1.0, 35.0) == pytest.approx(1 / 1.2)
    low = advice.salinity_warning(0.3, 25.0, 0.30, 0.48)
    high = advice.salinity_warning(1.5, 25.0, 0.30, 0.48)
    assert not low["warning"] and high["warning"] and high["yield_loss_pct"] > 0
