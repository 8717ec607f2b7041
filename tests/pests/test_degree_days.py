"""Degree-day engine against Zalom et al. 1983 Table 7 and McMaster & Wilhelm 1997 Table 1, and properties."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from orchard.errors import InputError
from pests.degree_days import degree_days

DATA = Path(__file__).resolve().parents[1] / "data" / "pests"
ZALOM = pd.read_csv(DATA / "zalom1983_table7.csv", comment="#")
MCMASTER = pd.read_csv(DATA / "mcmaster1997_table1.csv", comment="#")


@pytest.mark.parametrize("method", ["single_triangle", "double_triangle", "single_sine", "double_sine"])
def test_zalom_1983_table7(method):
    rows = ZALOM[ZALOM["misprint"].fillna("") != method]
    got = degree_days(
        rows["tmin"].to_numpy(float),
        rows["tmax"].to_numpy(float),
        55.0,
        90.0,
        method=method,
        cutoff="horizontal",
        tmin_next=rows["tmin_next"].to_numpy(float),
    )
    np.testing.assert_allclose(got, rows[method].to_numpy(float), atol=0.05)


def test_zalom_misprint_cell_gives_formula_value():
    assert float(degree_days(60.0, 100.0, 55.0, 90.0, "double_triangle", tmin_next=75.0)) == pytest.approx(
        27.12, abs=0.01
    )


@pytest.mark.parametrize("method,column", [("simple", "method1"), ("modified", "method2")])
def test_mcmaster_wilhelm_1997_table1(method, column):
    got = degree_days(MCMASTER["tmin"].to_numpy(float), MCMASTER["tmax"].to_numpy(float), 0.0, method=method)
    np.testing.assert_allclose(got, MCMASTER[column].to_numpy(float), atol=0.05)


def test_properties_random():
    rng = np.random.default_rng(1)
    tmin = rng.uniform(-5, 30, 500)
    tmax = tmin + rng.uniform(0, 20, 500)
    for shape in ("sine", "triangle"):
        h = degree_days(tmin, tmax, 10.0, 30.0, f"single_{shape}", "horizontal")
        v = degree_days(tmin, tmax, 10.0, 30.0, f"single_{shape}", "vertical")
        i = degree_days(tmin, tmax, 10.0, 30.0, f"single_{shape}", "intermediate")
        assert (h >= 0).all() and (v >= 0).all() and (i >= 0).all()
        assert (h >= v - 1e-12).all() and (h >= i - 1e-12).all()
        assert (h <= 20 + 1e-12).all()
        d = degree_days(tmin, tmax, 10.0, 30.0, f"double_{shape}", tmin_next=tmin)
        np.testing.assert_allclose(d, h)
        more = degree_days(tmin, tmax + 1.0, 10.0, 30.0, f"single_{shape}")
        assert (more >= h - 1e-12).all()


def test_vertical_and_intermediate_hand_values():
    # whole day above TU: horizontal TU-TL, vertical 0
    assert float(degree_days(32.0, 40.0, 10.0, 30.0, "single_sine", "horizontal")) == pytest.approx(20.0)
    assert float(degree_days(32.0, 40.0, 10.0, 30.0, "single_sine", "vertical")) == pytest.approx(
        0.0, abs=1e-9
    )
    # triangle, Tmin 20 Tmax 40, TL 10 TU 30: horizontal = 20 - 10^2/40 = 17.5; vertical subtracts 20*10/20
    assert float(degree_days(20.0, 40.0, 10.0, 30.0, "single_triangle")) == pytest.approx(17.5)
    assert float(degree_days(20.0, 40.0, 10.0, 30.0, "single_triangle", "vertical")) == pytest.approx(7.5)
    # intermediate subtracts the degree-days above TU once more: 17.5 - 2.5
    assert float(degree_days(20.0, 40.0, 10.0, 30.0, "single_triangle", "intermediate")) == pytest.approx(
        15.0
    )


def test_no_upper_threshold_and_boundaries():
    assert float(degree_days(10.0, 10.0, 10.0)) == 0.0
    assert float(degree_days(20.0, 20.0, 10.0)) == pytest.approx(10.0)  # flat day, W = 0
    assert float(degree_days(50.0, 60.0, 10.0)) == pytest.approx(45.0)


def test_xarray_time_dimension_double_sine():
    tmin = xr.DataArray([[10.0, 12.0], [14.0, 15.0], [11.0, 9.0]], dims=("time", "plot"))
    tmax = tmin + 10
    got = degree_days(tmin, tmax, 12.0, 30.0, "double_sine")
    assert got.dims == ("time", "plot") and got.attrs["units"] == "degC d"
    manual = degree_days(
        tmin.values,
        tmax.values,
        12.0,
        30.0,
        "double_sine",
        tmin_next=np.vstack([tmin.values[1:], tmin.values[-1:]]),
    )
    np.testing.assert_allclose(got.values, manual)


def test_bad_input_messages():
    with pytest.raises(InputError, match="unknown degree-day method 'sinus'"):
        degree_days(1.0, 2.0, 0.0, method="sinus")
    with pytest.raises(InputError, match="unknown degree-day cut-off"):
        degree_days(1.0, 2.0, 0.0, cutoff="diagonal")
    with pytest.raises(InputError, match="Tmax is below Tmin on 1 values"):
        degree_days([10.0, 5.0], [12.0, 4.0], 0.0)
    with pytest.raises(InputError, match="upper threshold .* must be above the lower one"):
        degree_days(1.0, 2.0, 10.0, 5.0)
