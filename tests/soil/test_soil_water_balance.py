"""Root-zone water balance: analytic shape under constant ETo, runoff, sensor reset, defaults."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from monitoring.soil import water_balance as wb


def plots(n=2, **overrides):
    data = {
        "field_capacity": [0.34] * n,
        "wilting_point": [0.18] * n,
        "root_depth_m": [1.0] * n,
        "canopy_cover": [0.7] * n,
        "slope_deg": [0.0] * n,
        "irrigation_capacity_mm_d": [4.0] * n,
    }
    data.update(overrides)
    return xr.Dataset(
        {k: ("plot", np.asarray(v, float)) for k, v in data.items()},
        coords={"plot": [f"P{i}" for i in range(n)]},
    )


def test_constant_eto_depletes_to_raw_then_slows():
    times = pd.date_range("2017-07-01", periods=80, freq="D")  # mid season (doy 182-261): Kc constant
    ds = wb.water_balance(np.full(80, 5.0), np.zeros(80), plots(1), times=times)
    dr, ks, kc = ds["depletion_mm"].values[:, 0], ds["ks"].values[:, 0], ds["kc"].values[0, 0]
    taw = 1000 * (0.34 - 0.18) * 1.0
    p = 0.5 + 0.04 * (5 - kc * 5.0)
    raw = p * taw
    assert ds["taw_mm"].values[0, 0] == pytest.approx(taw)
    # linear phase: Kc·ETo per day while Dr <= RAW
    first_stress = int(np.argmax(dr > raw))
    np.testing.assert_allclose(np.diff(dr[:first_stress]), kc * 5.0, rtol=1e-9)
    assert (ks[: first_stress + 1] == 1).all() and (ks[first_stress + 2 :] < 1).all()
    # stressed phase: (TAW - Dr) shrinks by the constant factor 1 - Kc·ETo/((1 - p) TAW)
    remaining = taw - dr[first_stress + 1 :]
    ratio = remaining[1:] / remaining[:-1]
    np.testing.assert_allclose(ratio, 1 - kc * 5.0 / ((1 - p) * taw), rtol=1e-9)
    assert (np.diff(dr[first_stress:]) < kc * 5.0).all() and dr[-1] < taw


def test_matches_step_by_step_fao56_loop():
    """FAO-56 Eqs. 84-85 written out day by day (the order pyfao56 uses: Ks from yesterday's Dr)."""
    times = pd.date_range("2017-07-01", periods=30, freq="D")
    eto = np.linspace(3, 6, 30)
    ds = wb.water_balance(eto, np.zeros(30), plots(1), times=times)
    taw = 160.0
    dr = 0.0
    kc = ds["kc"].values[:, 0]
    for i in range(30):  # single Kc, no rain or irrigation
        p = min(max(0.5 + 0.04 * (5 - kc[i] * eto[i]), 0.1), 0.8)
        raw = p * taw
        ks = 1.0 if dr <= raw else max((taw - dr) / ((1 - p) * taw), 0.0)
        dr = min(dr + ks * kc[i] * eto[i], taw)
        assert ds["ks"].values[i, 0] == pytest.approx(ks)
        assert ds["depletion_mm"].values[i, 0] == pytest.approx(dr)


def test_rain_runoff_and_percolation_balance():
    times = pd.date_range("2017-07-01", periods=3, freq="D")
    rain = np.array([[0.0, 0.0], [80.0, 80.0], [0.0, 0.0]])
    ds = wb.water_balance(
        np.full((3, 2), 4.0),
        rain,
        plots(2, slope_deg=[0.0, 30.0]),
        times=times,
        initial_depletion_mm=[20.0, 20.0],
    )
    ro = ds["runoff_mm"].values[1]
    assert ro[0] > 0 and ro[1] > ro[0]  # steeper slope, more runoff
    # mass balance of day 2: Dr_prev - (P - RO) + ETc + DP = Dr
    dr0, dr1 = ds["depletion_mm"].values[0], ds["depletion_mm"].values[1]
    lhs = dr0 - (80 - ro) + ds["etc_mm"].values[1] + ds["deep_percolation_mm"].values[1]
    np.testing.assert_allclose(lhs, dr1, atol=1e-9)
    assert (ds["deep_percolation_mm"].values[1] > 0).all() and (dr1 == 0).all()


def test_sensor_reset_and_irrigation_need():
    times = pd.date_range("2017-07-01", periods=40, freq="D")
    obs = np.full((40, 2), np.nan)
    obs[10, 0] = 100.0
    ds = wb.water_balance(np.full(40, 5.0), np.zeros(40), plots(2), times=times, observed_depletion_mm=obs)
    assert ds["depletion_mm"].values[10, 0] == 100.0 and ds["depletion_from_sensor"].values[10, 0] == 1
    assert ds["depletion_mm"].values[10, 1] < 100.0
    need = ds["irrigation_need_mm"].values
    assert need[10, 0] == 100.0 and need[0, 0] == 0.0
    assert ds["ks"].attrs["units"] == "1" and "growth" in ds["ks"].attrs["long_name"]


def test_defaults_fill_missing_soil_and_are_recorded():
    p = plots(1, field_capacity=[np.nan], root_depth_m=[np.nan])
    ds = wb.water_balance(np.full(3, 4.0), np.zeros(3), p, times=pd.date_range("2017-07-01", periods=3))
    assert ds["soil_defaulted"].values[0] == 1 | 4
    assert ds["taw_mm"].values[0, 0] == pytest.approx(1000 * (0.32 - 0.18) * 0.8)


def test_wilting_point_above_field_capacity_is_refused():
    from orchard.errors import InputError

    with pytest.raises(InputError, match="wilting point 0.40 is not below field capacity"):
        wb.water_balance(
            np.ones(2),
            np.zeros(2),
            plots(1, wilting_point=[0.40]),
            times=pd.date_range("2017-07-01", periods=2),
        )


def test_citrus_kc_by_canopy_cover():
    kc = wb.citrus_kc([0.2, 0.5, 0.7, 0.9], [15, 200])
    np.testing.assert_allclose(kc[0], [0.50, 0.65, 0.70, 0.70])  # initial stage, held beyond 70 %
    np.testing.assert_allclose(kc[1], [0.45, 0.60, 0.65, 0.65])  # mid season
