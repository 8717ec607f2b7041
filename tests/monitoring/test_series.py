"""Smoothing, dips and the seasonal baseline, on the real cloudy eo-learn series and on known curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imagery_helpers import IMAGERY

from monitoring import series

EOLEARN = IMAGERY / "eolearn_s2_ndvi"
TIMES = pd.DatetimeIndex(
    [line for line in (EOLEARN / "SOURCE.txt").read_text().split() if line[:2] == "20" and "T" in line]
)


@pytest.fixture(scope="module")
def real_pixels():
    """200 real pixel series (68 dates): NDVI with the real cloud mask."""
    ndvi = np.load(EOLEARN / "NDVI.npy")[:, :, :, 0].reshape(68, -1).T
    cloud = np.load(EOLEARN / "CLM.npy")[:, :, :, 0].reshape(68, -1).T.astype(bool)
    rows = np.random.default_rng(0).choice(ndvi.shape[0], 200, replace=False)
    return ndvi[rows].astype(float), ~cloud[rows]


def test_timestamps_parsed():
    assert len(TIMES) == 68 and TIMES[0] == pd.Timestamp("2015-07-11T10:00:08")


def test_whittaker_ignores_clouds_on_real_series(real_pixels):
    values, clear = real_pixels
    smooth_w, daily = series.whittaker_smooth(values, clear.astype(float), TIMES, lam=1e4)
    naive, _ = series.whittaker_smooth(values, np.ones_like(values), TIMES, lam=1e4)
    # With cloud weights 0 the curve follows the clear observations; unweighted it is dragged toward the
    # cloud NDVI (median 0.07 in this patch).
    err_weighted = np.nanmedian(np.abs(smooth_w - values)[clear])
    err_naive = np.nanmedian(np.abs(naive - values)[clear])
    assert err_weighted < 0.05 and err_weighted < err_naive
    assert np.nanmean((smooth_w - values)[~clear]) > 0.2  # clouds sit far below the curve
    assert daily.sizes["time"] == (TIMES[-1].normalize() - TIMES[0].normalize()).days + 1


def test_savgol_upper_envelope_on_real_series(real_pixels):
    values, clear = real_pixels
    sg = series.savgol_smooth(values, clear, TIMES, window=5, order=2, step_days=5)
    assert np.nanmedian(np.abs(sg - values)[clear]) < 0.06
    assert np.all(np.isfinite(sg[clear.sum(axis=1) >= 2]))


def test_whittaker_recovers_a_known_curve_with_gaps():
    t = pd.date_range("2020-01-01", periods=60, freq="7D")
    truth = 0.7 + 0.1 * np.sin(2 * np.pi * np.arange(60) / 52)
    weights = np.ones(60)
    weights[10:20] = 0
    noisy = truth + np.where(weights == 0, -0.5, 0)[None, :]
    out, _ = series.whittaker_smooth(noisy, weights[None, :], t, lam=1e3)
    assert np.max(np.abs(out[0] - truth)) < 0.02


def test_suspect_dips():
    v = np.array([[0.7, 0.72, 0.45, 0.71, 0.70, 0.40]])
    ok = np.ones_like(v, bool)
    assert series.suspect_dips(v, ok, 0.2).tolist() == [[False, False, True, False, False, False]]
    ok[0, 3] = False  # no recovery seen on a usable date after the dip
    assert not series.suspect_dips(v, ok, 0.2)[0, 2] or v[0, 4] - v[0, 2] > 0.2


def test_seasonal_baseline_and_anomaly():
    days = pd.date_range("2019-01-01", "2021-12-31", freq="D")
    curve = 0.7 + 0.1 * np.cos(2 * np.pi * (days.dayofyear.to_numpy() - 200) / 365.25)
    import xarray as xr

    daily = xr.DataArray(curve[None, :], dims=("plot", "time"), coords={"plot": ["P"], "time": days})
    base = series.seasonal_baseline(daily, "2021-01-01", doy_window=5, min_sigma=0.03)
    assert float(base["mean"].sel(plot="P", doy=200)) == pytest.approx(0.8, abs=0.002)
    assert float(base["std"].sel(plot="P", doy=200)) == pytest.approx(0.03)
    when = pd.DatetimeIndex(["2021-07-19"])
    z = series.seasonal_anomaly(np.array([[0.8 - 0.06]]), when, base)
    assert z[0, 0] == pytest.approx(-2.0, abs=0.1)


def test_whittaker_with_fewer_clear_days_than_its_order_is_flat():
    """One clear scene in a season (the first weeks of a replay): the smooth series is that value, not a
    singular system."""
    times = pd.date_range("2015-03-01", periods=5, freq="10D")
    values = np.array([[np.nan, 0.61, np.nan, np.nan, np.nan], [0.5, 0.55, 0.6, 0.62, 0.64]])
    weights = np.array([[0, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=float)
    smooth, daily = series.whittaker_smooth(values, weights, times, 100.0)
    assert np.allclose(smooth[0], 0.61)
    assert np.isfinite(smooth[1]).all() and smooth[1][0] < smooth[1][-1]
