"""FAO-56 reference ET against the book's examples and pyet."""

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.soil import et0
from orchard.weather import radiation_from_sunshine


def test_chapter3_subexamples():
    assert et0.atmospheric_pressure(1800) == pytest.approx(81.8, abs=0.05)
    assert et0.psychrometric_constant(1800) == pytest.approx(0.054, abs=0.0005)
    ea, flags = et0.actual_vapour_pressure(18, 25, rh_min_pct=54, rh_max_pct=82)
    assert ea == pytest.approx(1.70, abs=0.005) and flags == 0


def test_example_17_bangkok_monthly():
    lat = 13 + 44 / 60
    rs = radiation_from_sunshine(8.5, lat, 105)
    assert rs == pytest.approx(22.65, abs=0.01)
    eto = et0.reference_et_daily(25.6, 34.8, rs, 2.0, lat, 2, 105, ea_kpa=2.85, g_mj_m2=0.14)
    assert eto == pytest.approx(5.72, abs=0.05)
    assert eto == pytest.approx(5.716, abs=0.01)


def test_example_18_uccle_daily():
    rs = radiation_from_sunshine(9.25, 50.8, 187)
    eto, flags = et0.reference_et_daily(12.3, 21.5, rs, 2.078, 50.8, 100, 187, 63, 84, return_flags=True)
    assert eto == pytest.approx(3.88, abs=0.01)
    assert flags == 0


def test_example_18_fallbacks_are_marked():
    """Rs by Eq. 50 and ea = e°(Tmin): 3.62 (kRs 0.16) and 4.02 (0.19) per the science note."""
    eto, flags = et0.reference_et_daily(12.3, 21.5, None, 2.078, 50.8, 100, 187, return_flags=True)
    assert eto == pytest.approx(3.62, abs=0.05)
    assert flags == et0.FLAG_RS_ESTIMATED | et0.FLAG_EA_FROM_TMIN
    assert et0.reference_et_daily(12.3, 21.5, np.nan, 2.078, 50.8, 100, 187, krs=0.19) == pytest.approx(
        4.02, abs=0.05
    )
    _, flags = et0.reference_et_daily(
        12.3, 21.5, 22.07, np.nan, 50.8, 100, 187, rh_max_pct=84, return_flags=True
    )
    assert flags == et0.FLAG_WIND_DEFAULT | et0.FLAG_EA_FROM_RHMAX


def test_example_19_hourly():
    """N'Diaye (16°13'N, 16°15'W, 8 m), 1 October; the book takes Lz = 15° (a zone centred 15° W)."""
    times = pd.to_datetime(["2001-10-01 14:00", "2001-10-01 02:00"])
    eto, ratio = et0.reference_et_hourly(
        np.array([38.0, 28.0]),
        np.array([52.0, 90.0]),
        np.array([3.3, 1.9]),
        np.array([2.450, 0.0]),
        16 + 13 / 60,
        -16.25,
        8,
        times,
        -1,
        return_rs_rso=True,
    )
    assert eto[0] == pytest.approx(0.63, abs=0.01)
    assert eto[1] == pytest.approx(0.0, abs=0.01)
    assert ratio[0] == pytest.approx(0.92, abs=0.005)  # Rs/Rso of the book
    assert ratio[1] == 0.8


def test_hourly_night_ratio_carried_from_late_afternoon():
    times = pd.date_range("2017-07-15 00:00", periods=48, freq="h")
    rs = np.where((times.hour >= 6) & (times.hour <= 18), 1.0, 0.0)
    eto, ratio = et0.reference_et_hourly(
        np.full(48, 25.0),
        np.full(48, 80.0),
        np.full(48, 1.0),
        rs,
        25.7,
        116.45,
        300,
        times,
        8,
        return_rs_rso=True,
    )
    assert ratio[2] == 0.8  # before any afternoon
    assert ratio[47] != 0.8 and ratio[47] == pytest.approx(ratio[40], abs=1e-9)
    assert (eto[times.hour == 2] < 0.05).all()
    # daily sum of a summer day is a few mm
    assert 1.0 < eto[24:].sum() < 6.0


def test_daily_matches_pyet_on_random_inputs():
    pyet = pytest.importorskip("pyet")
    rng = np.random.default_rng(1)
    n = 50
    index = pd.date_range("2017-01-01", periods=n, freq="D")
    tmin = rng.uniform(0, 25, n)
    tmax = tmin + rng.uniform(2, 14, n)
    rhmin = rng.uniform(20, 70, n)
    rhmax = np.minimum(rhmin + rng.uniform(5, 40, n), 100)
    u2 = rng.uniform(0.3, 5, n)
    lat, elev = 29.6, 250.0
    ra_ok = et0.extraterrestrial_radiation_daily(lat, index.dayofyear.to_numpy())
    rs = ra_ok * rng.uniform(0.3, 0.7, n)
    s = lambda v: pd.Series(v, index=index)  # noqa: E731
    ref = pyet.pm_fao56(
        s((tmin + tmax) / 2),
        s(u2),
        rs=s(rs),
        tmax=s(tmax),
        tmin=s(tmin),
        rhmax=s(rhmax),
        rhmin=s(rhmin),
        elevation=elev,
        lat=math.radians(lat),
    )
    ours = et0.reference_et_daily(tmin, tmax, rs, u2, lat, elev, index.dayofyear.to_numpy(), rhmin, rhmax)
    np.testing.assert_allclose(ours, ref.to_numpy(), atol=0.02)
