"""Daily weather drivers of the pest models, as plain numpy arrays (days, plot[, member]).

Built from daily weather (wet hours in closed form, :func:`pests.wetness.wet_hours_daily`) or from hourly
weather (leaf wetness per hour, :func:`pests.wetness.leaf_wetness`, and the hourly series kept for the
infection cohorts). Missing humidity, gaps and unsorted times are refused with one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError

from . import wetness

__all__ = ["Drivers", "drivers_from_daily", "drivers_from_hourly", "day_of_year"]

_NAMES = ("tmin", "tmax", "tmean", "rh_mean", "precip", "wind", "wet_hours", "t_wet")


def day_of_year(times) -> np.ndarray:
    """Day of the year on a non-leap calendar (29 February counts as 59) [d]."""
    index = pd.DatetimeIndex(times)
    doy = index.day_of_year.values.astype(int)
    return np.where(index.is_leap_year & (index.month > 2), doy - 1, doy)


@dataclass
class Drivers:
    """Daily arrays with time on the first axis; ``hourly`` holds (days·24, ...) arrays when known."""

    times: np.ndarray
    tmin: np.ndarray
    tmax: np.ndarray
    tmean: np.ndarray
    rh_mean: np.ndarray
    precip: np.ndarray
    wind: np.ndarray
    wet_hours: np.ndarray
    t_wet: np.ndarray
    hourly: dict | None = None
    notes: list = field(default_factory=list)

    @property
    def doy(self) -> np.ndarray:
        return day_of_year(self.times)

    @property
    def shape(self):
        return self.tmin.shape


def _values(ds: xr.Dataset, name: str, dims: tuple, dtype=np.float64) -> np.ndarray:
    return ds[name].transpose(*dims).values.astype(dtype, copy=False)


def _check_times(times, where: str, daily: bool) -> None:
    t = np.asarray(times).astype("datetime64[ns]").astype(np.int64)
    if len(t) == 0:
        raise InputError(f"{where}: the weather has no time steps; give at least one day.")
    steps = np.diff(t)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise InputError(
            f"{where}: times are out of order or repeated at "
            f"{pd.Timestamp(times[i]):%Y-%m-%d %H:%M}; sort the series and drop duplicates."
        )
    step = 86_400_000_000_000 if daily else 3_600_000_000_000
    if (steps != step).any():
        i = int(np.flatnonzero(steps != step)[0])
        raise InputError(
            f"{where}: the {'daily' if daily else 'hourly'} series has a gap after "
            f"{pd.Timestamp(times[i]):%Y-%m-%d %H:%M} ({steps[i] / step:g} steps to the next); "
            "fill it (orchard.weather.qc) or split the series."
        )


def drivers_from_daily(
    ds: xr.Dataset, *, rh_threshold=90.0, rain_intensity_mm_h=2.0, where="daily weather", dtype=np.float64
) -> Drivers:
    """Drivers from a daily weather dataset with dims (time, plot[, member]).

    Needs ``tmin_c``, ``tmax_c`` and ``rh_mean_pct`` (or ``rh_min_pct`` + ``rh_max_pct``); ``tmean_c``
    defaults
    to (Tmin + Tmax)/2, missing ``precip_mm`` is an error, missing ``wind_ms`` counts as calm (said in notes).
    Short gaps are expected to have been filled by :func:`orchard.weather.qc`; remaining NaN days are
    treated as dry and mild (no event) and counted in ``notes``.
    """
    if ds.attrs.get("resolution") not in (None, "daily"):
        raise InputError(f"{where}: expected daily weather, got resolution '{ds.attrs.get('resolution')}'.")
    _check_times(ds["time"].values, where, daily=True)
    for name in ("tmin_c", "tmax_c", "precip_mm"):
        if name not in ds:
            raise InputError(
                f"{where}: has no {name}; the pest models need daily Tmin, Tmax, rain and humidity."
            )
    dims = ("time",) + tuple(d for d in ds["tmin_c"].dims if d != "time")
    notes = []
    tmin, tmax = _values(ds, "tmin_c", dims, dtype), _values(ds, "tmax_c", dims, dtype)
    lo, hi = np.fmin(tmin, tmax), np.fmax(tmin, tmax)  # QC keeps inconsistent pairs flagged; order them
    tmean = _values(ds, "tmean_c", dims, dtype) if "tmean_c" in ds else (lo + hi) / 2
    tmean = np.where(np.isnan(tmean), (lo + hi) / 2, tmean)
    if "rh_mean_pct" in ds:
        rh = _values(ds, "rh_mean_pct", dims, dtype)
    elif "rh_min_pct" in ds and "rh_max_pct" in ds:
        rh = (_values(ds, "rh_min_pct", dims, dtype) + _values(ds, "rh_max_pct", dims, dtype)) / 2
        notes.append("daily mean RH taken as (RHmin + RHmax)/2")
    else:
        raise InputError(
            f"{where}: has no humidity (rh_mean_pct, or rh_min_pct and rh_max_pct); leaf "
            "wetness cannot be estimated, so import humidity."
        )
    precip = _values(ds, "precip_mm", dims, dtype)
    n_nan = int(np.isnan(precip).sum())
    if n_nan:
        notes.append(f"{n_nan} plot-days without rain data counted as dry")
    wind = _values(ds, "wind_ms", dims, dtype) if "wind_ms" in ds else np.zeros_like(tmin)
    if "wind_ms" not in ds:
        notes.append("no wind data: wind multipliers not applied")
    wet_h, t_wet = wetness.wet_hours_daily(
        lo, hi, np.clip(rh, 0, 100), precip, threshold=rh_threshold, rain_intensity_mm_h=rain_intensity_mm_h
    )
    return Drivers(
        ds["time"].values,
        lo,
        hi,
        tmean,
        rh,
        np.nan_to_num(precip),
        np.nan_to_num(wind),
        np.nan_to_num(wet_h),
        t_wet,
        None,
        notes,
    )


def drivers_from_hourly(
    hourly: xr.Dataset, *, rh_threshold=90.0, method="rh", where="hourly weather"
) -> Drivers:
    """Drivers from an hourly weather dataset with dims (time, plot[, member]), whole days from 00:00.

    Leaf wetness by :func:`pests.wetness.leaf_wetness` (rain hours wet); daily Tmin/Tmax/Tmean/RH/rain/wind
    by aggregation. Gaps, unsorted times and missing humidity are refused.
    """
    _check_times(hourly["time"].values, where, daily=False)
    if "t_c" not in hourly:
        raise InputError(f"{where}: has no t_c (air temperature); the pest models need it.")
    times = pd.DatetimeIndex(hourly["time"].values)
    if times[0].hour != 0 or len(times) % 24:
        raise InputError(
            f"{where}: must hold whole days from 00:00 (starts {times[0]:%Y-%m-%d %H:%M}, "
            f"{len(times)} hours); trim it to whole days."
        )
    wet = wetness.leaf_wetness(hourly, method=method, threshold=rh_threshold)
    n_nan_t = int(hourly["t_c"].isnull().sum())
    if n_nan_t:
        raise InputError(
            f"{where}: t_c has {n_nan_t} missing hourly values; fill short gaps with "
            "orchard.weather.qc first."
        )
    notes = []
    if "precip_mm" in hourly and int(hourly["precip_mm"].isnull().sum()):
        notes.append(f"{int(hourly['precip_mm'].isnull().sum())} plot-hours without rain data counted as dry")
    dims = ("time",) + tuple(d for d in hourly["t_c"].dims if d != "time")
    t = _values(hourly, "t_c", dims)
    rh = _values(hourly, "rh_pct", dims) if "rh_pct" in hourly else np.full_like(t, np.nan)
    p = np.nan_to_num(_values(hourly, "precip_mm", dims)) if "precip_mm" in hourly else np.zeros_like(t)
    u = np.nan_to_num(_values(hourly, "wind_ms", dims)) if "wind_ms" in hourly else np.zeros_like(t)
    w = wet.transpose(*dims).values.astype(bool)
    n_d = len(times) // 24
    shape = (n_d, 24) + t.shape[1:]
    tt, ww = t.reshape(shape), w.reshape(shape)
    wet_h = ww.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_wet = np.where(wet_h > 0, (tt * ww).sum(axis=1) / np.maximum(wet_h, 1), tt.mean(axis=1))
        rh_mean = (
            np.nanmean(rh.reshape(shape), axis=1)
            if "rh_pct" in hourly
            else np.full(shape[:1] + shape[2:], np.nan)
        )
    days = times[::24].normalize().values
    return Drivers(
        days,
        tt.min(axis=1),
        tt.max(axis=1),
        tt.mean(axis=1),
        rh_mean,
        p.reshape(shape).sum(axis=1),
        u.reshape(shape).mean(axis=1),
        wet_h,
        t_wet,
        {"wet": w, "t_c": t, "precip_mm": p, "wind_ms": u},
        notes,
    )


def concat_drivers(parts: list[Drivers]) -> Drivers:
    """Join drivers along time (daily parts only)."""
    arrays = {n: np.concatenate([getattr(p, n) for p in parts], axis=0) for n in _NAMES}
    return Drivers(
        np.concatenate([p.times for p in parts]),
        **arrays,
        hourly=None,
        notes=[n for p in parts for n in p.notes],
    )
