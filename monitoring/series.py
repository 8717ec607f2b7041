"""Per-plot index time series: haze-dip removal, cloud-weighted smoothing and a seasonal baseline.

Series are arrays of shape (plot, time) (numpy) or ``xarray.DataArray`` with dims ``(plot, time)``; weights
are 1 for usable (clear) observations and 0 for flagged ones, so a cloudy date never pulls the curve down.

References
----------
Science note ``monitoring.md`` §2.3–2.4: Chen et al. 2004 (Savitzky–Golay upper envelope), Eilers 2003
(weighted Whittaker), the open-earth-mcp ``suspect_dip`` rule, standardised anomalies by day of year.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr
from scipy import linalg, signal, sparse

__all__ = [
    "suspect_dips",
    "whittaker_smooth",
    "savgol_smooth",
    "seasonal_baseline",
    "seasonal_anomaly",
    "daily_grid",
]


def _days(times) -> np.ndarray:
    """Times -> float days since 1970-01-01 (naive UTC or aware)."""
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return np.asarray((index - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1), dtype=float)


def suspect_dips(values, usable, max_drop: float = 0.2):
    """Single-date drops that recover on the next usable date (missed haze or cloud) [bool, (plot, time)].

    An observation is a dip when it is more than ``max_drop`` below both the previous and the next usable
    observation of the same plot. The latest observation is never a dip (its recovery is not yet known;
    the persistence rule of the alerts covers it).

    References
    ----------
    ``suspect_dip`` of the open-earth-mcp ``ndvi_timeseries`` tool (monitoring.md §2.4).
    """
    v = np.asarray(values, dtype=float)
    ok = np.asarray(usable, dtype=bool) & np.isfinite(v)
    out = np.zeros(v.shape, bool)
    for p in range(v.shape[0]):
        idx = np.flatnonzero(ok[p])
        if idx.size < 3:
            continue
        x = v[p, idx]
        dip = (x[1:-1] < x[:-2] - max_drop) & (x[1:-1] < x[2:] - max_drop)
        out[p, idx[1:-1][dip]] = True
    return out


def daily_grid(times) -> pd.DatetimeIndex:
    """Daily dates from the first to the last observation day (naive UTC)."""
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return pd.date_range(index.min().normalize(), index.max().normalize(), freq="D")


def whittaker_smooth(values, weights, times, lam: float = 1e4, d: int = 2):
    """Weighted Whittaker smoother on a daily grid, sampled back at the observation times [same unit].

    Minimises ``Σ w (y − z)² + λ Σ (Δᵈ z)²`` on days between the first and last observation; days without an
    observation (and flagged ones, w = 0) are filled by the penalty, so irregular, gappy series need no
    interpolation first.

    Parameters
    ----------
    values, weights : array-like, shape (plot, time)
        Observations (NaN allowed where the weight is 0) and weights (0 = ignore, 1 = clear).
    times : sequence of datetime, length time
    lam : float
        Smoothing parameter on a daily grid (ESA APEx uses 10000 on daily data).
    d : int
        Order of the differences.

    Returns
    -------
    smoothed_obs : numpy.ndarray, shape (plot, time)
        The smooth curve at the observation times (NaN for a plot without any usable observation).
    smoothed_daily : xarray.DataArray, dims (plot, time) daily

    References
    ----------
    Eilers 2003, Anal. Chem. 75:3631–3636; sits_whittaker; monitoring.md §2.4.
    """
    y = np.atleast_2d(np.asarray(values, dtype=float))
    w = np.atleast_2d(np.asarray(weights, dtype=float)) * np.isfinite(y)
    days = pd.DatetimeIndex(times)
    grid = daily_grid(days)
    pos = np.round(np.asarray(_days(days)) - float(_days(grid[:1])[0])).astype(int)
    n = len(grid)
    # λ DᵀD in banded upper form for solveh_banded (bandwidth d): O(n) per plot.
    D = sparse.eye(n, format="csr")
    for _ in range(d):
        D = (
            sparse.diags(
                [-np.ones(D.shape[0] - 1), np.ones(D.shape[0] - 1)],
                [0, 1],
                shape=(D.shape[0] - 1, D.shape[0]),
            )
            @ D
        )
    penalty_band = np.zeros((d + 1, n))
    P = (D.T @ D).tocsr() * lam
    for k in range(d + 1):
        penalty_band[d - k, k:] = P.diagonal(k)
    daily = np.full((y.shape[0], n), np.nan)
    for p in range(y.shape[0]):
        wd = np.zeros(n)
        yd = np.zeros(n)
        good = w[p] > 0
        if not good.any():
            continue
        np.add.at(wd, pos[good], w[p, good])
        np.add.at(yd, pos[good], w[p, good] * y[p, good])
        if np.count_nonzero(wd) <= d:
            # fewer observed days than the penalty's order: W + λDᵀD is singular (any polynomial of degree
            # < d fits); the smooth series is then the weighted mean, flat
            daily[p] = yd.sum() / wd.sum()
            continue
        band = penalty_band.copy()
        band[d] += wd
        daily[p] = linalg.solveh_banded(band, yd, lower=False, check_finite=False)
    out = daily[:, pos]
    result = xr.DataArray(
        daily,
        dims=("plot", "time"),
        coords={"time": grid},
        attrs={"long_name": "Whittaker-smoothed series (daily)", "lambda": lam, "d": d},
    )
    return out, result


def savgol_smooth(
    values,
    weights,
    times,
    window: int = 5,
    order: int = 2,
    step_days: int = 5,
    upper_envelope_iterations: int = 3,
):
    """Savitzky–Golay smoothing after linear interpolation onto a regular grid, iterated toward the upper
    envelope (clouds and haze depress NDVI) [same unit].

    Parameters
    ----------
    values, weights : array-like, shape (plot, time)
    times : sequence of datetime
    window, order : int
        Filter length (steps of ``step_days``; made odd) and polynomial order.
    step_days : int
        Regular grid step [d].
    upper_envelope_iterations : int
        Passes in which observations below the fit are replaced by the fit (Chen et al. 2004).

    Returns
    -------
    numpy.ndarray, shape (plot, time): the smooth curve at the observation times.

    References
    ----------
    Chen et al. 2004, Remote Sens. Environ. 91:332–344; sits_sgolay; monitoring.md §2.4.
    """
    y = np.atleast_2d(np.asarray(values, dtype=float))
    w = np.atleast_2d(np.asarray(weights, dtype=float)) > 0
    t = _days(times)
    grid = np.arange(t.min(), t.max() + step_days, step_days)
    window = max(int(window) | 1, order + 2 | 1)
    out = np.full(y.shape, np.nan)
    for p in range(y.shape[0]):
        good = w[p] & np.isfinite(y[p])
        if good.sum() < 2:
            out[p, good] = y[p, good]
            continue
        tp, yp = t[good], y[p, good].copy()
        for _ in range(max(upper_envelope_iterations, 1)):
            regular = np.interp(grid, tp, yp)
            n = min(window, len(grid) if len(grid) % 2 else len(grid) - 1)
            fit = signal.savgol_filter(regular, n, min(order, n - 1)) if n > order else regular
            at_obs = np.interp(tp, grid, fit)
            yp = np.maximum(y[p, good], at_obs)  # lift values below the fit: upper envelope
        out[p] = np.interp(t, grid, fit)
    return out


def seasonal_baseline(daily: xr.DataArray, before, *, doy_window: int = 15, min_sigma: float = 0.03):
    """Seasonal baseline of each plot by day of year from its own smoothed series of earlier dates.

    Parameters
    ----------
    daily : xarray.DataArray, dims (plot, time) daily
        Smoothed series (e.g. from :func:`whittaker_smooth`).
    before : datetime-like
        Only days before this date enter the baseline (the plot's past seasons).
    doy_window : int
        Half-width of the day-of-year window pooled for each day [d].
    min_sigma : float
        Floor of the standard deviation (one past season gives no spread between years) [same unit].

    Returns
    -------
    xarray.Dataset
        ``mean`` and ``std`` with dims (plot, doy) for doy 1..366; NaN where the past holds no data.

    References
    ----------
    Standardised anomaly by day of year (Meroni et al.; EarthDaily in-season monitoring), monitoring.md §2.3.
    """
    past = daily.sel(time=daily["time"] < pd.Timestamp(before))
    doy = past["time"].dt.dayofyear.to_numpy()
    values = past.to_numpy()
    n_plot = values.shape[0]
    mean = np.full((n_plot, 366), np.nan)
    std = np.full((n_plot, 366), np.nan)
    for day in range(1, 367):
        distance = np.abs(((doy - day + 183) % 366) - 183)
        sel = distance <= doy_window
        if not sel.any():
            continue
        chunk = values[:, sel]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # plots with no past data stay NaN
            mean[:, day - 1] = np.nanmean(chunk, axis=1)
            spread = np.nanstd(chunk, axis=1)
        std[:, day - 1] = np.maximum(np.nan_to_num(spread, nan=0.0), min_sigma)
    std[np.isnan(mean)] = np.nan
    coords = (
        {"plot": daily["plot"].to_numpy(), "doy": np.arange(1, 367)}
        if "plot" in daily.coords
        else {"doy": np.arange(1, 367)}
    )
    return xr.Dataset(
        {"mean": (("plot", "doy"), mean), "std": (("plot", "doy"), std)},
        coords=coords,
        attrs={"before": str(pd.Timestamp(before).date()), "doy_window": doy_window},
    )


def seasonal_anomaly(values, times, baseline: xr.Dataset):
    """Standardised anomaly ``(x − μ_doy) / σ_doy`` of each plot and date [1], shape (plot, time)."""
    doy = pd.DatetimeIndex(times).dayofyear.to_numpy() - 1
    mu = baseline["mean"].to_numpy()[:, doy]
    sigma = baseline["std"].to_numpy()[:, doy]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.asarray(values, dtype=float) - mu) / sigma
