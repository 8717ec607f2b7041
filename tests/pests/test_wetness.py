"""Leaf wetness: RH threshold, CART, daily reconstruction, and bad hourly input."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pest_weather import daily_weather

from orchard.errors import InputError
from pests.wetness import (
    dewpoint_magnus,
    leaf_wetness,
    leaf_wetness_cart,
    leaf_wetness_from_daily,
    leaf_wetness_rh,
    wet_hours_daily,
)


def test_rh_threshold_edges():
    np.testing.assert_array_equal(leaf_wetness_rh([89.9, 90.0, 95.0, np.nan]), [False, True, True, False])
    np.testing.assert_array_equal(leaf_wetness_rh([88.0], threshold=87.0), [True])
    with pytest.raises(InputError, match="not a percentage"):
        leaf_wetness_rh([0.95], threshold=0.9)


def test_magnus_dewpoint():
    assert dewpoint_magnus(20.0, 100.0) == pytest.approx(20.0, abs=1e-9)
    # 25 degC, 50 % -> 13.9 degC (Magnus-Alduchov-Eskridge)
    assert dewpoint_magnus(25.0, 50.0) == pytest.approx(13.85, abs=0.05)


def test_cart_branches():
    # dew-point depression >= 3.7 degC -> dry whatever else
    assert not leaf_wetness_cart(20.0, 70.0, 0.5)
    # calm and saturated -> wet; score 1.6064*sqrt(20)+0.0036*400+0.1531*99-...-0.0035*20*99 > 14.4674
    assert leaf_wetness_cart(20.0, 99.0, 0.5)
    # windy branch needs RH >= 87.8 and a very high score: a realistic humid windy hour stays dry
    assert not leaf_wetness_cart(20.0, 97.0, 4.0)
    assert not leaf_wetness_cart(20.0, np.nan, 0.5)


def _hourly(n=48, rh=95.0):
    times = pd.date_range("2016-06-01", periods=n, freq="h")
    return xr.Dataset(
        {
            "t_c": (("time", "plot"), np.full((n, 1), 22.0)),
            "rh_pct": (("time", "plot"), np.full((n, 1), rh)),
            "precip_mm": (("time", "plot"), np.zeros((n, 1))),
            "wind_ms": (("time", "plot"), np.ones((n, 1))),
        },
        coords={"time": times.values, "plot": ["A"]},
        attrs={"resolution": "hourly"},
    )


def test_rain_hours_always_wet():
    h = _hourly(rh=50.0)
    h["precip_mm"][5, 0] = 0.2
    wet = leaf_wetness(h)
    assert bool(wet[5, 0]) and int(wet.sum()) == 1


def test_bad_hourly_input_messages():
    h = _hourly()
    with pytest.raises(InputError, match="gap after 2016-06-01T04:00"):
        leaf_wetness(h.drop_isel(time=[5, 6]))
    with pytest.raises(InputError, match="out of order or repeated"):
        leaf_wetness(h.isel(time=[0, 2, 1, 3]))
    with pytest.raises(InputError, match="humidity is missing"):
        leaf_wetness(h.drop_vars("rh_pct"))
    bad = h.copy(deep=True)
    bad["rh_pct"][3, 0] = np.nan
    with pytest.raises(InputError, match="rh_pct has 1 missing hourly values"):
        leaf_wetness(bad)


def test_daily_reconstruction_and_closed_form_agree():
    daily = daily_weather("2015-01-01", "2015-12-31", n_plots=2, seed=3)
    hourly = leaf_wetness_from_daily(daily, rain_intensity_mm_h=2.0)
    wet_h = hourly["leaf_wet"].values.reshape(-1, 24, 2).sum(axis=1)
    fast, t_wet = wet_hours_daily(
        daily["tmin_c"].values, daily["tmax_c"].values, daily["rh_mean_pct"].values, daily["precip_mm"].values
    )
    # same physics (constant vapour pressure, threshold 90 %), different diurnal curve: close on average
    assert abs(fast.mean() - wet_h.mean()) < 1.5
    assert np.corrcoef(fast.ravel(), wet_h.ravel())[0, 1] > 0.85
    assert (fast >= 0).all() and (fast <= 24).all()
    assert np.nanmax(t_wet - daily["tmax_c"].values) <= 1e-9


def test_daily_wet_hours_monotone_in_humidity():
    rh = np.array([60.0, 75.0, 85.0, 95.0])
    wet, _ = wet_hours_daily(np.full(4, 18.0), np.full(4, 26.0), rh, np.zeros(4))
    assert np.all(np.diff(wet) >= 0) and wet[0] == 0 and wet[-1] > 12


def test_daily_reconstruction_needs_humidity():
    with pytest.raises(InputError, match="needs humidity"):
        leaf_wetness_from_daily(daily_weather("2015-01-01", "2015-01-10").drop_vars("rh_mean_pct"))
