"""Weather datasets: conventions, FAO-56 radiation, quality control, daily <-> hourly, climatology, plots.

A weather dataset is an ``xarray.Dataset`` with dims ``(time, station)``:

- coordinate ``station`` holds the station ids (str); ``lat`` [deg N], ``lon`` [deg E] and ``elevation_m``
  [m] (NaN when unknown) are coordinates along ``station``;
- time is LOCAL STANDARD TIME, tz-naive ``datetime64[ns]`` (days at 00:00 for daily data);
- dataset attrs ``resolution`` ("daily" or "hourly"), ``timezone`` ("UTC+08:00"), ``utc_offset_h`` (8 for
  China) and ``source`` (station, reanalysis, forecast, climatology, ensemble, ... plus the file name);
- every variable has ``units`` and ``long_name`` attrs; daily variables are listed in
  :data:`DAILY_VARIABLES`, hourly ones in :data:`HOURLY_VARIABLES`;
- for each variable ``X`` a ``uint8`` variable ``X_qc`` (same dims) holds quality flags with CF
  ``flag_masks``/``flag_meanings``: 1 out of physical range, 2 inconsistent, 4 filled (short gap
  interpolated), 8 missing (long gap, left NaN), 16 derived, 32 step/spike.

Hourly totals and means (``precip_mm``, ``ghi_w_m2``) belong to the hour ENDING at their time stamp (the
Open-Meteo and ERA5 convention); instantaneous values (``t_c``, ``rh_pct``, ``dewpoint_c``, ``wind_ms``)
belong to their time stamp.

The module holds pure functions (FAO-56 radiation, humidity, wind height) and dataset helpers:
:func:`qc`, :func:`daily_from_hourly`, :func:`hourly_from_daily`, :func:`climatology`,
:func:`climatology_series`, :func:`weather_for_plots`, :func:`weather_to_long`, :func:`weather_from_long`.
Readers live in :mod:`orchard.sources`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError

# ----------------------------------------------------------------------------------------------------------
# Conventions
# ----------------------------------------------------------------------------------------------------------

#: Daily variables: name -> (units, long_name).
DAILY_VARIABLES: dict[str, tuple[str, str]] = {
    "tmin_c": ("degC", "daily minimum air temperature"),
    "tmax_c": ("degC", "daily maximum air temperature"),
    "tmean_c": ("degC", "daily mean air temperature"),
    "rh_mean_pct": ("%", "daily mean relative humidity"),
    "rh_min_pct": ("%", "daily minimum relative humidity"),
    "rh_max_pct": ("%", "daily maximum relative humidity"),
    "precip_mm": ("mm", "daily precipitation"),
    "wind_ms": ("m s-1", "daily mean wind speed at 2 m"),
    "rs_mj_m2": ("MJ m-2 d-1", "daily global (shortwave) radiation"),
    "sunshine_h": ("h", "daily sunshine duration"),
}

#: Hourly variables: name -> (units, long_name).
HOURLY_VARIABLES: dict[str, tuple[str, str]] = {
    "t_c": ("degC", "air temperature"),
    "rh_pct": ("%", "relative humidity"),
    "dewpoint_c": ("degC", "dew-point temperature"),
    "precip_mm": ("mm", "precipitation in the hour ending at the time stamp"),
    "wind_ms": ("m s-1", "wind speed at 2 m"),
    "ghi_w_m2": ("W m-2", "global horizontal irradiance, mean of the hour ending at the time stamp"),
    "leaf_wet": ("1", "leaf wetness (true = wet)"),
}

#: Variables that are air temperatures (shifted by the lapse rate in :func:`weather_for_plots`).
AIR_TEMPERATURE_VARIABLES = ("tmin_c", "tmax_c", "tmean_c", "t_c")

QC_OUT_OF_RANGE = 1
QC_INCONSISTENT = 2
QC_FILLED = 4
QC_MISSING = 8
QC_DERIVED = 16
QC_SPIKE = 32
#: CF flag masks and meanings of every ``X_qc`` variable.
QC_FLAG_MASKS = np.array([1, 2, 4, 8, 16, 32], dtype=np.uint8)
QC_FLAG_MEANINGS = ("out_of_physical_range inconsistent filled_short_gap missing_long_gap derived "
                    "step_or_spike")
_QC_KIND = {QC_OUT_OF_RANGE: "out_of_range", QC_INCONSISTENT: "inconsistent", QC_FILLED: "filled",
            QC_MISSING: "missing", QC_SPIKE: "spike"}

#: Physical ranges of daily values (inclusive). Temperatures are China-wide (record lows in the north-east,
#: highs in the Turpan basin); science/soil.md §1.3 proposes -10…45 °C for the citrus belt: pass ``ranges``.
#: RH: values in (100, 103] are clipped to 100, above 103 flagged (ASCE-EWRI 2005 App. D; soil.md §1.3).
DAILY_RANGES: dict[str, tuple[float, float]] = {
    "tmin_c": (-30.0, 50.0), "tmax_c": (-30.0, 50.0), "tmean_c": (-30.0, 50.0),
    "rh_mean_pct": (0.0, 103.0), "rh_min_pct": (0.0, 103.0), "rh_max_pct": (0.0, 103.0),
    "precip_mm": (0.0, 500.0), "wind_ms": (0.0, 40.0), "rs_mj_m2": (0.0, 45.0), "sunshine_h": (0.0, 24.0),
}
#: Physical ranges of hourly values (rain 0–120 mm/h, soil.md §1.3; GHI below the solar constant).
HOURLY_RANGES: dict[str, tuple[float, float]] = {
    "t_c": (-30.0, 50.0), "dewpoint_c": (-50.0, 35.0), "rh_pct": (0.0, 103.0), "precip_mm": (0.0, 120.0),
    "wind_ms": (0.0, 40.0), "ghi_w_m2": (0.0, 1400.0),
}
_RH_VARIABLES = ("rh_mean_pct", "rh_min_pct", "rh_max_pct", "rh_pct")

#: Longest gap filled by linear interpolation [time steps], per resolution (soil.md §1.3, proposed).
DEFAULT_MAX_FILL_GAP = {"daily": 2, "hourly": 3}

_MJ_PER_DAY_PER_W = 0.0864  # 1 W m-2 sustained for 24 h = 86400 J m-2 = 0.0864 MJ m-2
_SOLAR_CONSTANT = 0.0820  # Gsc [MJ m-2 min-1], FAO-56 Eq. 21


def timezone_label(utc_offset_h: float) -> str:
    """Label of a fixed UTC offset, e.g. ``timezone_label(8) == "UTC+08:00"``."""
    minutes = int(round(float(utc_offset_h) * 60))
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def variable_attrs(name: str, resolution: str) -> dict[str, str]:
    """``units`` and ``long_name`` of a known variable (``{}`` for an unknown name)."""
    table = DAILY_VARIABLES if resolution == "daily" else HOURLY_VARIABLES
    if name in table:
        units, long_name = table[name]
        return {"units": units, "long_name": long_name}
    return {}


def flag_attrs(name: str) -> dict:
    """CF attributes of the ``X_qc`` flag variable of ``name``."""
    return {"units": "1", "long_name": f"quality flags of {name}", "flag_masks": QC_FLAG_MASKS.copy(),
            "flag_meanings": QC_FLAG_MEANINGS}


def _is_data_var(ds: xr.Dataset, name: str) -> bool:
    return not str(name).endswith("_qc")


def _ensure_flags(ds: xr.Dataset, name: str) -> np.ndarray:
    """The flag array of ``name`` aligned with ``ds[name]`` (zeros when the dataset has none)."""
    qc_name = f"{name}_qc"
    if qc_name in ds:
        return ds[qc_name].transpose(*ds[name].dims).values.astype(np.uint8)
    return np.zeros(ds[name].shape, dtype=np.uint8)


def weather_dataset(
    data: Mapping[str, np.ndarray],
    time,
    station_id: str | Sequence[str],
    *,
    lat: float | Sequence[float],
    lon: float | Sequence[float],
    elevation_m: float | Sequence[float] = np.nan,
    resolution: str,
    source: str,
    utc_offset_h: float = CHINA_UTC_OFFSET_H,
    flags: Mapping[str, np.ndarray] | None = None,
    var_attrs: Mapping[str, Mapping] | None = None,
    attrs: Mapping | None = None,
) -> xr.Dataset:
    """Build a weather dataset following the module conventions.

    Parameters
    ----------
    data : mapping of variable name -> array of shape (time,) (one station) or (time, station)
        Values in the units of :data:`DAILY_VARIABLES` / :data:`HOURLY_VARIABLES`.
    time : array-like of datetime64
        Local standard time, tz-naive.
    station_id : str or sequence of str
    lat, lon : float or sequence
        [deg N], [deg E].
    elevation_m : float or sequence, default NaN (unknown) [m].
    resolution : {"daily", "hourly"}
    source : str
        Kind of data plus file name, e.g. ``"station: changting_58911_meteo_daily.csv"``.
    utc_offset_h : float, default 8 (China Standard Time) [h].
    flags : mapping name -> uint8 array, optional
        Initial quality flags; a zero ``X_qc`` is created for every variable without one.
    var_attrs, attrs : optional extra variable / dataset attributes.

    Returns
    -------
    xarray.Dataset with dims (time, station).
    """
    if resolution not in ("daily", "hourly"):
        raise InputError(f"resolution '{resolution}' is not supported; use 'daily' or 'hourly'.")
    stations = [str(station_id)] if isinstance(station_id, str) else [str(s) for s in station_id]
    n_st = len(stations)
    times = pd.DatetimeIndex(time)
    if times.tz is not None:
        raise InputError("weather time stamps must be local standard time without a time zone; convert them "
                         "first (the UTC offset goes in the dataset attrs).")
    times = times.as_unit("ns")
    if resolution == "daily":
        times = times.normalize()

    def per_station(value, what):
        arr = np.atleast_1d(np.asarray(value, dtype=float))
        if arr.size == 1:
            arr = np.repeat(arr, n_st)
        if arr.size != n_st:
            raise InputError(f"{what} has {arr.size} values for {n_st} stations; give one per station.")
        return arr

    coords = {
        "time": ("time", times.values),
        "station": ("station", np.asarray(stations, dtype=str)),
        "lat": ("station", per_station(lat, "lat"), {"units": "degrees_north", "long_name": "latitude"}),
        "lon": ("station", per_station(lon, "lon"), {"units": "degrees_east", "long_name": "longitude"}),
        "elevation_m": ("station", per_station(elevation_m, "elevation_m"),
                        {"units": "m", "long_name": "station elevation above sea level"}),
    }
    data_vars = {}
    flags = dict(flags or {})
    var_attrs = dict(var_attrs or {})
    for name, values in data.items():
        arr = np.asarray(values)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape != (len(times), n_st):
            raise InputError(f"variable {name} has shape {arr.shape}, expected ({len(times)}, {n_st}).")
        if arr.dtype != bool:
            arr = arr.astype(float)
        va = variable_attrs(name, resolution)
        va.update(var_attrs.get(name, {}))
        data_vars[name] = (("time", "station"), arr, va)
        flag = flags.get(name)
        flag = (np.zeros(arr.shape, np.uint8) if flag is None
                else np.asarray(flag, np.uint8).reshape(arr.shape))
        data_vars[f"{name}_qc"] = (("time", "station"), flag, flag_attrs(name))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(resolution=resolution, timezone=timezone_label(utc_offset_h),
                    utc_offset_h=float(utc_offset_h), source=str(source))
    ds.attrs.update(dict(attrs or {}))
    return ds


def _time_step(times: np.ndarray, where: str = "weather") -> np.timedelta64:
    """Most common step of a time axis."""
    if len(times) < 2:
        raise InputError(f"{where}: needs at least two time steps to tell the time step.")
    steps = np.diff(times.astype("datetime64[ns]").astype(np.int64))
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    if step <= 0:
        raise InputError(f"{where}: time stamps are not increasing; sort the data.")
    return np.timedelta64(step, "ns")


def regular_time_axis(ds: xr.Dataset, *, where: str = "weather") -> xr.Dataset:
    """Reindex to a complete, regular time axis (1 day or the most common hourly step).

    Rows missing from the source become NaN and are flagged missing (8) in every ``X_qc``; the number added
    is recorded in the dataset attr ``n_time_steps_added``.
    """
    times = ds["time"].values
    if len(times) < 2:
        return ds
    step = np.timedelta64(1, "D") if ds.attrs.get("resolution") == "daily" else _time_step(times, where)
    full = np.arange(times[0], times[-1] + step, step).astype("datetime64[ns]")
    if len(full) == len(times) and np.array_equal(full, times):
        return ds
    on_grid = np.isin(times, full)
    if not on_grid.all():
        bad = times[~on_grid][0]
        raise InputError(f"{where}: time stamp {pd.Timestamp(bad)} is off the regular "
                         f"{pd.Timedelta(step)} grid; resample the data to a regular step first.")
    added = len(full) - len(times)
    out = ds.reindex(time=full)
    for name in list(out.data_vars):
        if name.endswith("_qc"):
            base = name[:-3]
            was_missing = ~np.isin(full, times)
            flag = out[name].fillna(0).astype(np.uint8)
            mask = xr.DataArray(was_missing, dims="time")
            flagged = xr.where(mask, flag | QC_MISSING, flag).astype(np.uint8)
            out[name] = flagged.assign_attrs(flag_attrs(base))
        elif out[name].dtype == bool or ds[name].dtype == bool:
            out[name] = out[name].fillna(False).astype(bool).assign_attrs(ds[name].attrs)
    out.attrs["n_time_steps_added"] = int(added)
    return out


def check_time_axis(times, where: str, *, rows: Sequence[int] | None = None) -> None:
    """Reject duplicated or out-of-order time stamps.

    Parameters
    ----------
    times : array-like of datetime64
    where : str
        The file (or other source) named in the message.
    rows : sequence of int, optional
        File line number of each time stamp (default: position + 1).

    Raises
    ------
    InputError
        ``"<where>: time 2016-03-01 00:00 appears more than once (rows 12 and 13); remove the duplicate
        rows."``
        or ``"<where>: rows are not in time order at row N (<t> after <t_prev>); sort the file."``
    """
    index = pd.DatetimeIndex(times)
    if len(index) == 0:
        return
    row_of = (lambda i: int(rows[i])) if rows is not None else (lambda i: i + 1)
    if index.hasnans:
        i = int(np.flatnonzero(index.isna())[0])
        raise InputError(f"{where}: row {row_of(i)} has no time stamp; fill it in or delete the row.")
    dup = index.duplicated(keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(index == index[i])[0])
        raise InputError(f"{where}: time {_fmt_time(index[i])} appears more than once (rows {row_of(first)} "
                         f"and {row_of(i)}); remove the duplicate rows.")
    values = index.asi8
    back = np.flatnonzero(np.diff(values) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise InputError(f"{where}: rows are not in time order at row {row_of(i)} ({_fmt_time(index[i])} "
                         f"after {_fmt_time(index[i - 1])}); sort the file.")


def _fmt_time(t) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


# ----------------------------------------------------------------------------------------------------------
# FAO-56 radiation (Allen, Pereira, Raes & Smith 1998, FAO Irrigation and Drainage Paper 56, Chapter 3)
# ----------------------------------------------------------------------------------------------------------

def _f(x):
    """Float array, keeping xarray objects (so dims and coords broadcast by name)."""
    if isinstance(x, (xr.DataArray, xr.Dataset)):
        return x.astype(float)
    return np.asarray(x, dtype=float)


def inverse_relative_distance(doy):
    """Inverse relative Earth–Sun distance dr [-], FAO-56 Eq. 23: ``1 + 0.033 cos(2πJ/365)``."""
    return 1.0 + 0.033 * np.cos(2.0 * np.pi * _f(doy) / 365.0)


def solar_declination(doy):
    """Solar declination δ [rad], FAO-56 Eq. 24: ``0.409 sin(2πJ/365 − 1.39)``."""
    return 0.409 * np.sin(2.0 * np.pi * _f(doy) / 365.0 - 1.39)


def sunset_hour_angle(lat_deg, doy):
    """Sunset hour angle ωs [rad], FAO-56 Eq. 25: ``arccos(−tanφ tanδ)`` (clipped for polar day/night)."""
    phi = np.deg2rad(_f(lat_deg))
    arg = -np.tan(phi) * np.tan(solar_declination(doy))
    return np.arccos(np.clip(arg, -1.0, 1.0))


def extraterrestrial_radiation_daily(lat_deg, doy):
    """Daily extraterrestrial radiation Ra [MJ m-2 d-1].

    FAO-56 Eq. 21 with Eqs. 23–25:
    ``Ra = 24·60/π · Gsc · dr · [ωs sinφ sinδ + cosφ cosδ sinωs]``, Gsc = 0.0820 MJ m-2 min-1.

    Parameters
    ----------
    lat_deg : array-like
        Latitude [deg], north positive.
    doy : array-like
        Day of the year J (1–366).

    Returns
    -------
    numpy.ndarray (broadcast of the inputs) [MJ m-2 d-1].

    References
    ----------
    Allen et al. (1998) FAO-56, Examples 8 (3 Sept at 20°S: Ra = 32.2) and 18 (Brussels 6 July: 41.09).
    """
    phi = np.deg2rad(_f(lat_deg))
    dr = inverse_relative_distance(doy)
    delta = solar_declination(doy)
    ws = sunset_hour_angle(lat_deg, doy)
    ra = 24.0 * 60.0 / np.pi * _SOLAR_CONSTANT * dr * (
        ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    return np.maximum(ra, 0.0)


def extraterrestrial_radiation_period(lat_deg, doy, omega1, omega2):
    """Extraterrestrial radiation between hour angles ω1 and ω2 [MJ m-2 per period], FAO-56 Eq. 28.

    Angles are clipped to the daylight interval [−ωs, ωs], so night periods give 0.

    Parameters
    ----------
    lat_deg, doy : array-like
    omega1, omega2 : array-like
        Solar hour angles at the start and end of the period [rad] (see :func:`solar_hour_angle`).
    """
    phi = np.deg2rad(_f(lat_deg))
    dr = inverse_relative_distance(doy)
    delta = solar_declination(doy)
    ws = sunset_hour_angle(lat_deg, doy)
    w1 = np.clip(omega1, -ws, ws)
    w2 = np.clip(omega2, -ws, ws)
    ra = 12.0 * 60.0 / np.pi * _SOLAR_CONSTANT * dr * (
        (w2 - w1) * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * (np.sin(w2) - np.sin(w1)))
    return np.maximum(ra, 0.0)


def equation_of_time_h(doy):
    """Seasonal correction for solar time Sc [h], FAO-56 Eqs. 32–33."""
    b = 2.0 * np.pi * (_f(doy) - 81.0) / 364.0
    return 0.1645 * np.sin(2.0 * b) - 0.1255 * np.cos(b) - 0.025 * np.sin(b)


def solar_time_h(clock_h, doy, lon_deg, utc_offset_h=CHINA_UTC_OFFSET_H):
    """Local apparent solar time [h] of a standard clock time, FAO-56 Eq. 31.

    ``solar = clock + (lon − 15·utc_offset)/15 + Sc`` with longitude in degrees EAST (FAO-56 writes it with
    degrees west of Greenwich, Lz − Lm); for Chongqing (106.5°E, UTC+8) solar noon is at about 12:54 clock
    time.
    """
    return (_f(clock_h) + (_f(lon_deg) - 15.0 * utc_offset_h) / 15.0
            + equation_of_time_h(doy))


def solar_hour_angle(clock_h, doy, lon_deg, utc_offset_h=CHINA_UTC_OFFSET_H):
    """Solar hour angle ω [rad] at a standard clock time (FAO-56 Eq. 31; 0 at solar noon)."""
    return np.pi / 12.0 * (solar_time_h(clock_h, doy, lon_deg, utc_offset_h) - 12.0)


def daylight_hours(lat_deg, doy):
    """Maximum possible sunshine duration N [h], FAO-56 Eq. 34: ``N = 24 ωs / π``."""
    return 24.0 / np.pi * sunset_hour_angle(lat_deg, doy)


def radiation_from_sunshine(sunshine_h, lat_deg, doy, a_s=0.25, b_s=0.50):
    """Global radiation from sunshine duration (Angström–Prescott) [MJ m-2 d-1].

    FAO-56 Eq. 35: ``Rs = (as + bs · n/N) · Ra``; n/N is capped at 1.

    Parameters
    ----------
    sunshine_h : array-like
        Actual sunshine duration n [h].
    lat_deg, doy : array-like
    a_s, b_s : float
        Angström coefficients; FAO-56 defaults 0.25 and 0.50. Across China fitted values are mostly
        as < 0.25, bs > 0.50 (science/soil.md §1.1): calibrate locally where possible.

    References
    ----------
    Allen et al. (1998) FAO-56 Example 10: Rio de Janeiro, 15 May, n = 7.1 h -> Rs = 14.5 MJ m-2 d-1.
    """
    n_max = daylight_hours(lat_deg, doy)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.minimum(_f(sunshine_h) / n_max, 1.0)
    return (a_s + b_s * ratio) * extraterrestrial_radiation_daily(lat_deg, doy)


def clear_sky_radiation(ra, elevation_m):
    """Clear-sky solar radiation Rso [same units as ``ra``], FAO-56 Eq. 37: ``(0.75 + 2e-5 z) Ra``.

    Parameters
    ----------
    ra : array-like
        Extraterrestrial radiation [MJ m-2 d-1 or per period].
    elevation_m : array-like
        Station elevation z [m].
    """
    return (0.75 + 2e-5 * _f(elevation_m)) * _f(ra)


def wind_speed_2m(wind_ms, height_m):
    """Wind speed at 2 m from a measurement at height z [m s-1], FAO-56 Eq. 47.

    ``u2 = uz · 4.87 / ln(67.8 z − 5.42)``; the factor is 0.748 at 10 m (FAO-56: 3.2 m/s at 10 m -> 2.39).
    """
    z = _f(height_m)
    return _f(wind_ms) * 4.87 / np.log(67.8 * z - 5.42)


def saturation_vapour_pressure(t_c):
    """Saturation vapour pressure e°(T) [kPa], FAO-56 Eq. 11: ``0.6108 exp(17.27 T / (T + 237.3))``."""
    t = _f(t_c)
    return 0.6108 * np.exp(17.27 * t / (t + 237.3))


def dewpoint_from_vapour_pressure(ea_kpa):
    """Dew-point temperature [°C] of actual vapour pressure ea [kPa] (inverse of FAO-56 Eq. 11/14)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(_f(ea_kpa) / 0.6108)
        return 237.3 * x / (17.27 - x)


def dewpoint_from_rh(t_c, rh_pct):
    """Dew-point temperature [°C] from air temperature [°C] and relative humidity [%]."""
    return dewpoint_from_vapour_pressure(saturation_vapour_pressure(t_c) * _f(rh_pct) / 100.0)


def rh_from_dewpoint(t_c, dewpoint_c):
    """Relative humidity [%] from air and dew-point temperature [°C] (FAO-56 Eqs. 11 and 14), not clipped."""
    return 100.0 * saturation_vapour_pressure(dewpoint_c) / saturation_vapour_pressure(t_c)


# ----------------------------------------------------------------------------------------------------------
# Quality control
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QCRecord:
    """One run of flagged time steps of one variable at one station (``start``/``end`` inclusive).

    ``kind`` is one of ``out_of_range``, ``inconsistent``, ``spike``, ``filled`` (short gap interpolated) and
    ``missing`` (long gap left NaN).
    """

    station: str
    variable: str
    start: pd.Timestamp
    end: pd.Timestamp
    n_steps: int
    kind: str

    def summary(self, step_unit: str = "steps") -> str:
        """One line, e.g. ``station 58911, precip_mm: 730 days missing, 2010-01-01 to 2011-12-31``."""
        unit = step_unit if self.n_steps != 1 else step_unit.rstrip("s")
        fmt = "%Y-%m-%d" if step_unit == "days" else "%Y-%m-%d %H:%M"
        what = {"missing": "missing (left NaN)", "filled": "filled by interpolation",
                "out_of_range": "out of physical range (set NaN)", "inconsistent": "inconsistent",
                "spike": "step/spike"}.get(self.kind, self.kind)
        return (f"station {self.station}, {self.variable}: {self.n_steps} {unit} {what}, "
                f"{self.start.strftime(fmt)} to {self.end.strftime(fmt)}")


@dataclass
class QCReport:
    """What :func:`qc` found: a list of :class:`QCRecord` plus helpers."""

    resolution: str = "daily"
    records: list[QCRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[QCRecord]:
        return iter(self.records)

    @property
    def step_unit(self) -> str:
        return "days" if self.resolution == "daily" else "hours"

    def of_kind(self, kind: str) -> list[QCRecord]:
        """Records of one kind (``missing``, ``filled``, ``out_of_range``, ``inconsistent``, ``spike``)."""
        return [r for r in self.records if r.kind == kind]

    def long_gaps(self) -> list[QCRecord]:
        """Gaps too long to fill (left NaN and flagged missing)."""
        return self.of_kind("missing")

    def counts(self) -> dict[str, int]:
        """Number of flagged time steps per kind."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.kind] = out.get(r.kind, 0) + r.n_steps
        return out

    def summary_lines(self) -> list[str]:
        """One line per long gap, then one line counting the rest (for the CLI)."""
        lines = [r.summary(self.step_unit) for r in self.long_gaps()]
        rest = {k: v for k, v in self.counts().items() if k != "missing"}
        if rest:
            lines.append("other flags: " + ", ".join(f"{v} {k}" for k, v in sorted(rest.items())))
        return lines

    def summary(self) -> str:
        """One line per long gap (``"no long gaps"`` if none)."""
        lines = [r.summary(self.step_unit) for r in self.long_gaps()]
        return "\n".join(lines) if lines else "no long gaps"

    def to_frame(self) -> pd.DataFrame:
        """The records as a DataFrame (columns station, variable, start, end, n_steps, kind)."""
        cols = ["station", "variable", "start", "end", "n_steps", "kind"]
        return pd.DataFrame([[getattr(r, c) for c in cols] for r in self.records], columns=cols)


def _as_2d(da: xr.DataArray) -> tuple[np.ndarray, tuple[str, ...], tuple[int, ...]]:
    """Values with ``time`` first, reshaped to (time, rest)."""
    dims = ("time",) + tuple(d for d in da.dims if d != "time")
    values = da.transpose(*dims).values
    return values.reshape(values.shape[0], -1), dims, values.shape


def _column_labels(ds: xr.Dataset, dims: tuple[str, ...], shape: tuple[int, ...]) -> list[str]:
    other = dims[1:]
    if not other:
        return [str(ds.attrs.get("station_id", "?"))]
    axes = []
    for d in other:
        vals = ds[d].values if d in ds.coords else np.arange(ds.sizes[d])
        axes.append([str(v) if d in ("station", "plot") else f"{d}={v}" for v in vals])
    if len(axes) == 1:
        return axes[0]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T
    return [" ".join(parts) for parts in grid]


def _run_records(mask: np.ndarray, labels: np.ndarray, name: str, kind: str,
                 times: pd.DatetimeIndex) -> list[QCRecord]:
    """One record per run of True along time in a (time, column) mask, ordered by column then time."""
    padded = np.zeros((mask.shape[1], mask.shape[0] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask.T
    edges = np.diff(padded, axis=1)
    cols, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)  # row-major order pairs each start with its stop
    first = times[starts].tolist()
    last = times[stops - 1].tolist()
    return [QCRecord(s, name, a, b, int(n), kind)
            for s, a, b, n in zip(labels[cols].tolist(), first, last, stops - starts)]


def gap_lengths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a (time, n) array: index of the previous and next valid value and the gap length at each NaN.

    Returns ``prev`` (−1 if none), ``next`` (``T`` if none) and ``length`` (0 where valid; gaps touching the
    start or end of the series get length ``T + 1`` so they are never filled).
    """
    n_t = values.shape[0]
    valid = ~np.isnan(values)
    idx = np.arange(n_t)[:, None]
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, n_t)[::-1], axis=0)[::-1]
    length = np.where(valid, 0, nxt - prev - 1)
    length = np.where(~valid & ((prev < 0) | (nxt >= n_t)), n_t + 1, length)
    return prev, nxt, length


def fill_short_gaps(values: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linearly interpolate NaN runs of at most ``max_gap`` steps along axis 0 (vectorised).

    Gaps at the start or end of a series are never filled.

    Returns
    -------
    filled_values, filled_mask, long_gap_mask : numpy.ndarray
    """
    prev, nxt, length = gap_lengths(values)
    missing = np.isnan(values)
    fill = missing & (length <= max_gap)
    out = values.copy()
    if fill.any():
        t = np.broadcast_to(np.arange(values.shape[0])[:, None], values.shape)
        p = np.clip(prev, 0, values.shape[0] - 1)
        n = np.clip(nxt, 0, values.shape[0] - 1)
        vp = np.take_along_axis(values, p, axis=0)
        vn = np.take_along_axis(values, n, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            interp = vp + (vn - vp) * (t - prev) / (nxt - prev)
        out[fill] = interp[fill]
    return out, fill, missing & ~fill


def qc(
    ds: xr.Dataset,
    *,
    max_fill_gap: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    max_step_c_per_h: float = 6.0,
    dewpoint_tolerance_c: float = 0.5,
) -> tuple[xr.Dataset, QCReport]:
    """Quality-control a weather dataset: range, consistency and step checks, then gap filling.

    Checks, in order (ASCE-EWRI 2005 App. D; Estévez et al. 2011, J. Hydrol. 402:144; science/soil.md §1.3):

    1. physical range (:data:`DAILY_RANGES` / :data:`HOURLY_RANGES`, overridable by ``ranges``): values
       outside are SET TO NaN and flagged 1 (the raw values stay in the source file and the report lists
       them); relative humidity in (100, 103] % is clipped to 100 (count in the variable attr
       ``n_clipped_to_100``); daily ``rs_mj_m2`` above 1.1·Rso and ``sunshine_h`` above N + 0.5 h are out of
       range where the station latitude is known; hourly ``ghi_w_m2`` above clear-sky + 0.1 MJ m-2 h-1
       likewise (needs lat and lon);
    2. consistency, flagged 2 but kept: Tmin ≤ Tmean ≤ Tmax, RHmin ≤ RHmean ≤ RHmax,
       hourly dew point ≤ T + ``dewpoint_tolerance_c``;
    3. step: hourly ``t_c`` changing more than ``max_step_c_per_h`` per hour is flagged 32 (kept);
    4. gaps: NaN runs of at most ``max_fill_gap`` steps (default 2 days / 3 hours) with values on both sides
       are linearly interpolated and flagged 4; longer gaps (and gaps at either end) stay NaN, are flagged 8
       and listed in the report.

    Existing flags are kept (OR-ed); a filled value loses its missing flag. Variables this module does not
    know, and boolean ones (``leaf_wet``), are passed through unchecked.

    Parameters
    ----------
    ds : xarray.Dataset
        Weather dataset (dims time plus station/plot/member in any order) with attr ``resolution``.
    max_fill_gap : int, optional
        Longest gap to interpolate [time steps].
    ranges : mapping name -> (low, high), optional
        Overrides of the physical ranges.
    max_step_c_per_h, dewpoint_tolerance_c : float

    Returns
    -------
    (xarray.Dataset, QCReport)
    """
    resolution = ds.attrs.get("resolution")
    if resolution not in ("daily", "hourly"):
        raise InputError(f"weather dataset has resolution attr {resolution!r}; expected 'daily' or 'hourly'.")
    if "time" not in ds.dims:
        raise InputError("weather dataset has no 'time' dimension.")
    limits = dict(DAILY_RANGES if resolution == "daily" else HOURLY_RANGES)
    limits.update(dict(ranges or {}))
    if max_fill_gap is None:
        max_fill_gap = DEFAULT_MAX_FILL_GAP[resolution]
    if max_fill_gap < 0:
        raise InputError(f"max_fill_gap must be 0 or more time steps, not {max_fill_gap}.")
    table = DAILY_VARIABLES if resolution == "daily" else HOURLY_VARIABLES
    names = [n for n in ds.data_vars if _is_data_var(ds, n) and n in table and ds[n].dtype != bool]
    times = pd.DatetimeIndex(ds["time"].values)
    report = QCReport(resolution)

    values: dict[str, np.ndarray] = {}
    flags: dict[str, np.ndarray] = {}
    layout: dict[str, tuple] = {}
    new_flags: dict[str, np.ndarray] = {}
    clipped: dict[str, int] = {}
    for name in names:
        v, dims, shape = _as_2d(ds[name].astype(float))
        v = v.copy()
        f = _ensure_flags(ds, name)
        f = f.transpose([ds[name].dims.index(d) for d in dims]).reshape(v.shape).copy()
        new = np.zeros(v.shape, np.uint8)
        low, high = limits.get(name, (-np.inf, np.inf))
        with np.errstate(invalid="ignore"):
            if name in _RH_VARIABLES:
                clip = (v > 100.0) & (v <= high)
                clipped[name] = int(clip.sum())
                v[clip] = 100.0
            bad = (v < low) | (v > high)
            bad |= _radiation_out_of_range(ds, name, v, dims, times, resolution)
        new[bad] = QC_OUT_OF_RANGE
        v[bad] = np.nan
        values[name], flags[name], layout[name], new_flags[name] = v, f, (dims, shape), new

    def flag_pair(lo_name, hi_name):
        if lo_name in values and hi_name in values and layout[lo_name][0] == layout[hi_name][0]:
            with np.errstate(invalid="ignore"):
                bad = values[lo_name] > values[hi_name]
            new_flags[lo_name][bad] |= QC_INCONSISTENT
            new_flags[hi_name][bad] |= QC_INCONSISTENT

    if resolution == "daily":
        for lo_name, hi_name in (("tmin_c", "tmax_c"), ("tmin_c", "tmean_c"), ("tmean_c", "tmax_c"),
                                 ("rh_min_pct", "rh_max_pct"), ("rh_min_pct", "rh_mean_pct"),
                                 ("rh_mean_pct", "rh_max_pct")):
            flag_pair(lo_name, hi_name)
    else:
        if "dewpoint_c" in values and "t_c" in values and layout["dewpoint_c"][0] == layout["t_c"][0]:
            with np.errstate(invalid="ignore"):
                bad = values["dewpoint_c"] > values["t_c"] + dewpoint_tolerance_c
            new_flags["dewpoint_c"][bad] |= QC_INCONSISTENT
        if "t_c" in values and len(times) > 1:
            step_h = np.diff(times.asi8) / 3.6e12
            with np.errstate(invalid="ignore"):
                jump = np.abs(np.diff(values["t_c"], axis=0)) > max_step_c_per_h * step_h[:, None]
            new_flags["t_c"][1:][jump] |= QC_SPIKE

    out = ds.copy()
    by_kind: dict[str, list[QCRecord]] = {}
    for name in names:
        v = values[name]
        filled_v, filled, long_gap = fill_short_gaps(v, max_fill_gap)
        new = new_flags[name]
        new[filled] |= QC_FILLED
        new[long_gap] |= QC_MISSING
        f = flags[name] | new
        f[filled] &= np.uint8(~QC_MISSING & 0xFF)
        dims, shape = layout[name]
        labels = np.asarray(_column_labels(ds, dims, shape), dtype=object)
        for bit, kind in _QC_KIND.items():
            mask = (new & bit) > 0
            if mask.any():
                by_kind.setdefault(kind, []).extend(_run_records(mask, labels, name, kind, times))
        da = xr.DataArray(filled_v.reshape(shape), dims=dims).transpose(*ds[name].dims)
        out[name] = (ds[name].dims, da.values, dict(ds[name].attrs))
        if clipped.get(name):
            out[name].attrs["n_clipped_to_100"] = clipped[name]
        fa = xr.DataArray(f.reshape(shape), dims=dims).transpose(*ds[name].dims)
        out[f"{name}_qc"] = (ds[name].dims, fa.values.astype(np.uint8), flag_attrs(name))
    for kind in ("missing", "out_of_range", "inconsistent", "spike", "filled"):
        report.records.extend(by_kind.get(kind, []))
    out.attrs["qc"] = (f"orchard.weather.qc: ranges, consistency, step checks; gaps <= {max_fill_gap} "
                       f"{report.step_unit} interpolated")
    return out, report


def _radiation_out_of_range(ds, name, v, dims, times, resolution) -> np.ndarray:
    """Radiation / sunshine above the clear-sky or astronomical limit (False where lat is unknown)."""
    bad = np.zeros(v.shape, bool)
    if name not in ("rs_mj_m2", "sunshine_h", "ghi_w_m2") or "lat" not in ds.coords:
        return bad
    lat = ds["lat"]
    if "time" in lat.dims:
        return bad
    template = xr.DataArray(np.empty(v.shape, dtype=np.int8).reshape(
        (len(times),) + tuple(ds.sizes[d] for d in dims[1:])), dims=dims)
    lat2 = lat.broadcast_like(template).transpose(*dims).values.reshape(v.shape)
    elev = ds["elevation_m"] if "elevation_m" in ds.coords else xr.zeros_like(lat)
    elev2 = elev.fillna(0.0).broadcast_like(template).transpose(*dims).values.reshape(v.shape)
    doy = times.day_of_year.values[:, None]
    with np.errstate(invalid="ignore"):
        if resolution == "daily" and name == "rs_mj_m2":
            rso = clear_sky_radiation(extraterrestrial_radiation_daily(lat2, doy), elev2)
            bad = v > 1.1 * rso
        elif resolution == "daily" and name == "sunshine_h":
            bad = v > daylight_hours(lat2, doy) + 0.5
        elif resolution == "hourly" and name == "ghi_w_m2" and "lon" in ds.coords:
            lon2 = ds["lon"].broadcast_like(template).transpose(*dims).values.reshape(v.shape)
            offset = float(ds.attrs.get("utc_offset_h", CHINA_UTC_OFFSET_H))
            step_h = _time_step(times.values).astype("timedelta64[s]").astype(float) / 3600.0 \
                if len(times) > 1 else 1.0
            clock = (times.hour.values + times.minute.values / 60.0)[:, None]
            w2 = solar_hour_angle(clock, doy, lon2, offset)
            w1 = w2 - np.pi / 12.0 * step_h
            ra = extraterrestrial_radiation_period(lat2, doy, w1, w2)
            limit_w = (clear_sky_radiation(ra, elev2) + 0.1 * step_h) * 1e6 / (3600.0 * step_h)
            bad = v > limit_w
    return bad & ~np.isnan(lat2)


# ----------------------------------------------------------------------------------------------------------
# Daily <-> hourly
# ----------------------------------------------------------------------------------------------------------

_ACCUMULATED_HOURLY = ("precip_mm", "ghi_w_m2")


def _hourly_grid(hourly: xr.Dataset) -> tuple[np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Day axis, steps per day, number of days, and grid position of every time stamp."""
    times = hourly["time"].values.astype("datetime64[ns]")
    step = _time_step(times, "hourly weather")
    day_ns = np.timedelta64(1, "D").astype("timedelta64[ns]")
    if day_ns % step != np.timedelta64(0, "ns"):
        raise InputError(f"hourly weather has a time step of {pd.Timedelta(step)}, which does not divide a "
                         "day; resample it to 1 h first.")
    spd = int(day_ns // step)
    day0 = times[0].astype("datetime64[D]")
    offset = (times[0] - day0.astype("datetime64[ns]")) % step
    days = np.arange(day0, times[-1].astype("datetime64[D]") + 1)
    rel = times - (day0.astype("datetime64[ns]") + offset)
    if np.any(rel % step != np.timedelta64(0, "ns")):
        raise InputError("hourly weather time stamps are not on a regular grid; resample to 1 h first.")
    pos = (rel // step).astype(np.int64)
    return days.astype("datetime64[ns]"), spd, len(days), pos, step


def daily_from_hourly(hourly: xr.Dataset, min_hours: float = 20) -> xr.Dataset:
    """Aggregate hourly weather to local days.

    ``tmin_c``/``tmax_c``/``tmean_c`` are the minimum, maximum and mean of ``t_c`` (tmean is the mean of the
    hourly values, not (Tmin + Tmax)/2); ``rh_mean_pct``/``rh_min_pct``/``rh_max_pct`` from ``rh_pct``;
    ``precip_mm`` is the sum and ``wind_ms`` the mean; ``rs_mj_m2`` = mean ``ghi_w_m2`` × 0.0864
    (W m-2 over 24 h -> MJ m-2 d-1). Instantaneous values stamped 00:00–23:00 belong to the day; totals and
    means (precip, GHI) stamped 01:00–24:00, i.e. the hours ENDING in the day.

    A day with fewer than ``min_hours`` valid hours of a variable is NaN and flagged missing (8); a day with
    some hours missing is flagged derived (16) (its precipitation is then a lower bound). Flags 2, 4 and 32
    of any hour carry over to the day.

    Parameters
    ----------
    hourly : xarray.Dataset
        Hourly weather (any regular step dividing 24 h), attr ``resolution == "hourly"``.
    min_hours : float, default 20

    Returns
    -------
    xarray.Dataset, daily, same non-time dims and coords.
    """
    if hourly.attrs.get("resolution") != "hourly":
        raise InputError(f"daily_from_hourly needs an hourly dataset, got resolution "
                         f"{hourly.attrs.get('resolution')!r}.")
    days, spd, n_days, pos, step = _hourly_grid(hourly)
    step_h = step / np.timedelta64(1, "h")
    min_steps = int(math.ceil(min_hours / step_h - 1e-9))
    out_vars: dict[str, tuple] = {}
    derived_from = {"t_c": [("tmin_c", "min"), ("tmax_c", "max"), ("tmean_c", "mean")],
                    "rh_pct": [("rh_mean_pct", "mean"), ("rh_min_pct", "min"), ("rh_max_pct", "max")],
                    "precip_mm": [("precip_mm", "sum")], "wind_ms": [("wind_ms", "mean")],
                    "ghi_w_m2": [("rs_mj_m2", "mean")]}
    carry = np.uint8(QC_INCONSISTENT | QC_FILLED | QC_SPIKE)
    for src, targets in derived_from.items():
        if src not in hourly:
            continue
        v, dims, shape = _as_2d(hourly[src].astype(float))
        f = _ensure_flags(hourly, src)
        f = f.transpose([hourly[src].dims.index(d) for d in dims]).reshape(v.shape)
        shift = 1 if src in _ACCUMULATED_HOURLY else 0
        grid = np.full((n_days * spd + 1, v.shape[1]), np.nan)
        gflag = np.zeros(grid.shape, np.uint8)
        grid[pos] = v
        gflag[pos] = f
        block = grid[shift:shift + n_days * spd].reshape(n_days, spd, -1)
        fblock = gflag[shift:shift + n_days * spd].reshape(n_days, spd, -1)
        count = np.sum(~np.isnan(block), axis=1)
        flag = np.bitwise_or.reduce(fblock & carry, axis=1).astype(np.uint8)
        flag[(count >= min_steps) & (count < spd)] |= QC_DERIVED
        flag[count < min_steps] |= QC_MISSING
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for target, how in targets:
                if how == "min":
                    agg = np.nanmin(block, axis=1)
                elif how == "max":
                    agg = np.nanmax(block, axis=1)
                elif how == "sum":
                    agg = np.nansum(block, axis=1)
                else:
                    agg = np.nanmean(block, axis=1)
                if target == "rs_mj_m2":
                    agg = agg * _MJ_PER_DAY_PER_W
                agg = np.where(count >= min_steps, agg, np.nan)
                new_shape = (n_days,) + shape[1:]
                out_vars[target] = (dims, agg.reshape(new_shape), flag.reshape(new_shape).copy())
    if not out_vars:
        raise InputError("hourly weather has none of t_c, rh_pct, precip_mm, wind_ms, ghi_w_m2 to aggregate.")
    coords = {k: c for k, c in hourly.coords.items() if "time" not in c.dims}
    coords["time"] = days
    ds = xr.Dataset(coords=coords)
    for name, (dims, values, flag) in out_vars.items():
        attrs = variable_attrs(name, "daily")
        src_attrs = hourly[{"tmin_c": "t_c", "tmax_c": "t_c", "tmean_c": "t_c", "rh_mean_pct": "rh_pct",
                            "rh_min_pct": "rh_pct", "rh_max_pct": "rh_pct", "rs_mj_m2": "ghi_w_m2"}
                           .get(name, name)].attrs
        for key in ("measurement_height_m", "derivation"):
            if key in src_attrs:
                attrs[key] = src_attrs[key]
        attrs["aggregation"] = f"daily from hourly (>= {min_hours:g} valid hours)"
        ds[name] = (dims, values, attrs)
        ds[f"{name}_qc"] = (dims, flag, flag_attrs(name))
    ds = ds.transpose("time", ...)
    ds.attrs.update(hourly.attrs)
    ds.attrs["resolution"] = "daily"
    ds.attrs["source"] = f"{hourly.attrs.get('source', '')} (daily from hourly)".strip()
    ds.attrs.pop("qc", None)
    return ds


def _diurnal_temperature(tmin, tmax, tmin_next, tmax_prev, tmin_prev, sol_h, daylen, daylen_prev,
                         tmax_hour, tau):
    """Parton & Logan (1981) temperature at solar time ``sol_h`` (arrays broadcast together)."""
    p = tmax_hour - 12.0
    sunrise = 12.0 - daylen / 2.0
    sunset = 12.0 + daylen / 2.0
    sunset_prev = 12.0 + daylen_prev / 2.0

    def t_sunset(tn, tx, dl):
        return tn + (tx - tn) * np.sin(np.pi * dl / (dl + 2.0 * p))

    def night(t_start, t_end, n_h, night_h):
        e_night = np.exp(-night_h / tau)
        return (t_end - t_start * e_night + (t_start - t_end) * np.exp(-n_h / tau)) / (1.0 - e_night)

    day = tmin + (tmax - tmin) * np.sin(np.pi * (sol_h - sunrise) / (daylen + 2.0 * p))
    # after sunset: decay from today's sunset temperature towards tomorrow's minimum (at tomorrow's sunrise,
    # taken at the same solar time as today's)
    late = night(t_sunset(tmin, tmax, daylen), tmin_next, sol_h - sunset, 24.0 - daylen)
    # before sunrise: the decay that began at yesterday's sunset, ending at today's minimum
    early = night(t_sunset(tmin_prev, tmax_prev, daylen_prev), tmin, sol_h + 24.0 - sunset_prev,
                  sunrise + 24.0 - sunset_prev)
    return np.where(sol_h < sunrise, early, np.where(sol_h <= sunset, day, late))


def diurnal_temperature(tmin_c, tmax_c, tmin_next_c, tmax_prev_c, tmin_prev_c, solar_time, daylength_h,
                        daylength_prev_h, tmax_hour_solar: float = 14.0, night_tau_h: float = 4.0):
    """Air temperature at local solar time ``solar_time`` [h] of a day (Parton & Logan 1981 as in
    :func:`hourly_from_daily`), given the day's, the previous and the next day's extremes [°C] and the
    daylengths [h]; all arrays broadcast together. For callers that need only some days' hours."""
    return _diurnal_temperature(tmin_c, tmax_c, tmin_next_c, tmax_prev_c, tmin_prev_c, solar_time,
                                daylength_h, daylength_prev_h, tmax_hour_solar, night_tau_h)


def neighbour_day(a: np.ndarray, k: int) -> np.ndarray:
    """The previous (k=1) or next (k=-1) day's values; the first/last day reuses its own."""
    b = np.roll(a, k, axis=0)
    if k > 0:
        b[:k] = a[:k]
    else:
        b[k:] = a[k:]
    return b


def hourly_temperature(tmin_c, tmax_c, lat, lon, doy, utc_offset_h: float = CHINA_UTC_OFFSET_H, *,
                       tmax_hour_solar: float = 14.0, night_tau_h: float = 4.0) -> np.ndarray:
    """Hourly air temperature from daily Tmin/Tmax (the diurnal model of :func:`hourly_from_daily`).

    Parton & Logan (1981, *Agric. Meteorol.* 23:205–216) in the form of Goudriaan & van Laar (1994): the
    minimum at sunrise, a sine rise to the maximum at ``tmax_hour_solar`` local solar time, the same sine to
    sunset, then an exponential decay towards the next day's minimum.

    Parameters
    ----------
    tmin_c, tmax_c : array_like, shape (day, column)
        Daily minimum and maximum temperature [°C] on consecutive days.
    lat, lon : array_like, shape (column,)
        Latitude and longitude [degrees, east positive].
    doy : array_like, shape (day,)
        Day of year of each day.
    utc_offset_h : float
        Offset of the clock the hours are given in [h] (China: 8).

    Returns
    -------
    numpy.ndarray, shape (day, 24, column)
        Temperature at clock hours 00:00 … 23:00 of each day [°C].
    """
    tmin = np.asarray(tmin_c, dtype=float)
    tmax = np.asarray(tmax_c, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    doy = np.asarray(doy, dtype=float)
    hours = np.arange(24.0)
    daylen = np.clip(daylight_hours(lat[None, :], doy[:, None]), 1.0, 23.0)  # (D, C)
    sol = solar_time_h(hours[None, :, None], doy[:, None, None], lon[None, None, :], utc_offset_h)
    return _diurnal_temperature(
        tmin[:, None, :], tmax[:, None, :], neighbour_day(tmin, -1)[:, None, :],
        neighbour_day(tmax, 1)[:, None, :], neighbour_day(tmin, 1)[:, None, :], sol, daylen[:, None, :],
        neighbour_day(daylen, 1)[:, None, :], tmax_hour_solar, night_tau_h)


def hourly_from_daily(daily: xr.Dataset, *, tmax_hour_solar: float = 14.0,
                      night_tau_h: float = 4.0) -> xr.Dataset:
    """Disaggregate daily weather to hourly values.

    Temperature: the Parton & Logan (1981, Agric. Meteorol. 23:205–216) diurnal model in the form of
    Goudriaan & van Laar (1994, *Modelling Potential Crop Growth Processes*, Kluwer): the minimum at sunrise,
    a sine rise to the maximum at ``tmax_hour_solar`` (default 14:00 local SOLAR time, FAO-56 Eq. 31 with the
    station longitude and the equation of time), the same sine until sunset, then an exponential decay
    (time constant ``night_tau_h``) reaching the next day's minimum at the next sunrise. Sunrise and sunset
    are 12 ∓ N/2 solar time with N from FAO-56 Eq. 34. The first and last days reuse their own values for
    the missing neighbour day.

    Humidity: the actual vapour pressure (hence the dew point) is constant through the day and chosen so that
    the mean of the hourly RH equals ``rh_mean_pct``: ``ea = (RHmean/100) / mean_h(1/e°(T_h))``; without
    RHmean, FAO-56 Eq. 17 from RHmin/RHmax, else Tdew = Tmin (FAO-56 Eq. 48). Hourly RH is clipped to 100 %.

    Precipitation is spread evenly over the 24 hours of its day (no information on timing); wind is the
    daily mean in every hour; GHI distributes ``rs_mj_m2`` in proportion to the hourly extraterrestrial
    radiation (FAO-56 Eq. 28). Every value is flagged derived (16); NaN days give NaN hours flagged missing.

    Parameters
    ----------
    daily : xarray.Dataset
        Daily weather with ``tmin_c`` and ``tmax_c`` and coords ``lat``, ``lon`` along the station dim.
    tmax_hour_solar : float, default 14.0 [h, local solar time]
    night_tau_h : float, default 4.0 [h]

    Returns
    -------
    xarray.Dataset, hourly (time stamps 00:00 of the first day to 23:00 of the last).
    """
    if daily.attrs.get("resolution") != "daily":
        raise InputError(f"hourly_from_daily needs a daily dataset, got resolution "
                         f"{daily.attrs.get('resolution')!r}.")
    for name in ("tmin_c", "tmax_c"):
        if name not in daily:
            raise InputError(f"hourly_from_daily needs {name} in the daily dataset.")
    for name in ("lat", "lon"):
        if name not in daily.coords:
            raise InputError(f"hourly_from_daily needs the station coordinate '{name}'.")
    daily = regular_time_axis(daily, where="daily weather")
    offset = float(daily.attrs.get("utc_offset_h", CHINA_UTC_OFFSET_H))
    tmin, dims, shape = _as_2d(daily["tmin_c"].astype(float))
    tmax, _, _ = _as_2d(daily["tmax_c"].transpose(*dims).astype(float))
    n_days, n_col = tmin.shape
    template = daily["tmin_c"].transpose(*dims)
    lat = daily["lat"].broadcast_like(template).transpose(*dims).values.reshape(n_days, n_col)[0]
    lon = daily["lon"].broadcast_like(template).transpose(*dims).values.reshape(n_days, n_col)[0]
    days = pd.DatetimeIndex(daily["time"].values)
    doy = days.day_of_year.values.astype(float)
    hours = np.arange(24.0)

    t = hourly_temperature(tmin, tmax, lat, lon, doy, offset, tmax_hour_solar=tmax_hour_solar,
                           night_tau_h=night_tau_h)  # (D, 24, C)

    es = saturation_vapour_pressure(t)
    humidity_method = None
    ea = None
    if "rh_mean_pct" in daily:
        rh_mean, _, _ = _as_2d(daily["rh_mean_pct"].transpose(*dims).astype(float))
        ea = rh_mean / 100.0 / np.mean(1.0 / es, axis=1)
        humidity_method = "constant daily vapour pressure matching the daily mean RH"
    elif "rh_min_pct" in daily and "rh_max_pct" in daily:
        rh_min, _, _ = _as_2d(daily["rh_min_pct"].transpose(*dims).astype(float))
        rh_max, _, _ = _as_2d(daily["rh_max_pct"].transpose(*dims).astype(float))
        ea = (saturation_vapour_pressure(tmin) * rh_max + saturation_vapour_pressure(tmax) * rh_min) / 200.0
        humidity_method = "constant daily vapour pressure from RHmin/RHmax (FAO-56 Eq. 17)"
    else:
        ea = saturation_vapour_pressure(tmin)
        humidity_method = "dew point assumed equal to Tmin (FAO-56 Eq. 48); no humidity in the daily data"

    n_h = n_days * 24
    out_shape = (n_h,) + shape[1:]
    data: dict[str, np.ndarray] = {}
    attrs: dict[str, dict] = {}
    data["t_c"] = t.reshape(n_h, n_col)
    attrs["t_c"] = {"derivation": f"hourly from daily Tmin/Tmax: Parton & Logan (1981) / Goudriaan & van "
                                  f"Laar (1994); Tmin at sunrise, Tmax at {tmax_hour_solar:g}:00 local solar "
                                  f"time, "
                                  f"sine by day, exponential decay at night (tau {night_tau_h:g} h)"}
    rh = np.minimum(100.0 * ea[:, None, :] / es, 100.0)
    data["rh_pct"] = rh.reshape(n_h, n_col)
    attrs["rh_pct"] = {"derivation": humidity_method + "; clipped to 100 %"}
    td = np.broadcast_to(dewpoint_from_vapour_pressure(ea)[:, None, :], t.shape)
    data["dewpoint_c"] = td.reshape(n_h, n_col)
    attrs["dewpoint_c"] = {"derivation": humidity_method}
    # totals belong to the hour ending at the stamp: stamp 00:00 holds the last hour of the previous day
    day_of_stamp = np.repeat(np.arange(n_days), 24)
    period_day = np.concatenate([[-1], day_of_stamp[:-1]])
    if "precip_mm" in daily:
        p, _, _ = _as_2d(daily["precip_mm"].transpose(*dims).astype(float))
        hourly_p = np.where(period_day[:, None] >= 0, p[np.maximum(period_day, 0)] / 24.0, np.nan)
        data["precip_mm"] = hourly_p
        attrs["precip_mm"] = {"derivation": "daily total spread evenly over its 24 hours (no timing "
                                            "information)"}
    if "wind_ms" in daily:
        w, _, _ = _as_2d(daily["wind_ms"].transpose(*dims).astype(float))
        data["wind_ms"] = w[day_of_stamp]
        attrs["wind_ms"] = {"derivation": "daily mean wind repeated in every hour"}
        if "measurement_height_m" in daily["wind_ms"].attrs:
            attrs["wind_ms"]["measurement_height_m"] = daily["wind_ms"].attrs["measurement_height_m"]
    if "rs_mj_m2" in daily:
        rs, _, _ = _as_2d(daily["rs_mj_m2"].transpose(*dims).astype(float))
        pd_idx = np.maximum(period_day, 0)
        clock_end = np.tile(hours, n_days)
        clock_end = np.where(clock_end == 0, 24.0, clock_end)
        doy_p = doy[pd_idx][:, None]
        w2 = solar_hour_angle(clock_end[:, None], doy_p, lon[None, :], offset)
        w1 = w2 - np.pi / 12.0
        ra_h = extraterrestrial_radiation_period(lat[None, :], doy_p, w1, w2)
        ra_d = extraterrestrial_radiation_daily(lat[None, :], doy[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(ra_d[pd_idx] > 0, ra_h / ra_d[pd_idx], 0.0)
        data["ghi_w_m2"] = rs[pd_idx] * frac * 1e6 / 3600.0
        attrs["ghi_w_m2"] = {"derivation": "daily Rs distributed in proportion to hourly extraterrestrial "
                                           "radiation (FAO-56 Eq. 28)"}
    times = (days.values[:, None] + (hours * 3600e9).astype("timedelta64[ns]")[None, :]).reshape(-1)
    coords = {k: c for k, c in daily.coords.items() if "time" not in c.dims}
    coords["time"] = times
    ds = xr.Dataset(coords=coords)
    for name, values in data.items():
        values = values.reshape(out_shape)
        flag = np.where(np.isnan(values), QC_MISSING, QC_DERIVED).astype(np.uint8)
        ds[name] = (dims, values, {**variable_attrs(name, "hourly"), **attrs[name]})
        ds[f"{name}_qc"] = (dims, flag, flag_attrs(name))
    ds = ds.transpose("time", ...)
    ds.attrs.update({k: v for k, v in daily.attrs.items() if k not in ("qc", "n_time_steps_added")})
    ds.attrs["resolution"] = "hourly"
    ds.attrs["source"] = f"{daily.attrs.get('source', '')} (hourly from daily, diurnal model)".strip()
    return ds


# ----------------------------------------------------------------------------------------------------------
# Climatology
# ----------------------------------------------------------------------------------------------------------

def leap_day_of_year(times) -> np.ndarray:
    """Day of the year on a leap-year calendar (1–366): 1 March is always 61, 31 December always 366."""
    index = pd.DatetimeIndex(times)
    doy = index.day_of_year.values.copy()
    doy[(~index.is_leap_year) & (index.month > 2)] += 1
    return doy


def climatology(daily: xr.Dataset, window_days: int = 31) -> xr.Dataset:
    """Smoothed day-of-year means of daily weather, dims (dayofyear 1..366, station...).

    Each day of the (leap-aligned) year gets the mean of all values within ±window_days/2 days of it over all
    years (a circular window, so late December borrows from early January); means are weighted by the number
    of valid values, so 29 February (one year in four) is handled naturally. Precipitation becomes the mean
    daily total [mm/d]. NaN values are ignored.

    Parameters
    ----------
    daily : xarray.Dataset
        Daily weather with attr ``resolution == "daily"``.
    window_days : int, default 31
        Width of the smoothing window [days]; an even width is widened by one; 1 means no smoothing.

    Returns
    -------
    xarray.Dataset with attrs ``source`` ("climatology of …"), ``years``, ``window_days``.
    """
    if daily.attrs.get("resolution") != "daily":
        raise InputError("climatology needs a daily weather dataset (attr resolution 'daily').")
    if window_days < 1 or window_days > 366:
        raise InputError(f"window_days must be between 1 and 366, not {window_days}.")
    half = int(window_days) // 2
    doy = leap_day_of_year(daily["time"].values)
    onehot = np.zeros((366, len(doy)))
    onehot[doy - 1, np.arange(len(doy))] = 1.0
    names = [n for n in daily.data_vars if _is_data_var(daily, n) and daily[n].dtype != bool
             and "time" in daily[n].dims]
    coords = {k: c for k, c in daily.coords.items() if "time" not in c.dims}
    coords["dayofyear"] = np.arange(1, 367)
    out = xr.Dataset(coords=coords)

    def circular_sum(a):
        if half == 0:
            return a
        ext = np.concatenate([a[-half:], a, a[:half]], axis=0)
        cs = np.concatenate([np.zeros((1,) + a.shape[1:]), np.cumsum(ext, axis=0)], axis=0)
        return cs[2 * half + 1:] - cs[:-2 * half - 1]

    for name in names:
        v, dims, shape = _as_2d(daily[name].astype(float))
        valid = ~np.isnan(v)
        sums = circular_sum(onehot @ np.where(valid, v, 0.0))
        counts = circular_sum(onehot @ valid.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / counts, np.nan)
        out_dims = ("dayofyear",) + dims[1:]
        attrs = dict(daily[name].attrs)
        attrs["climatology"] = f"day-of-year mean, {2 * half + 1}-day circular window"
        if name == "precip_mm":
            attrs["long_name"] = "mean daily precipitation"
        out[name] = (out_dims, mean.reshape((366,) + shape[1:]), attrs)
    years = pd.DatetimeIndex(daily["time"].values).year
    out.attrs.update({k: v for k, v in daily.attrs.items() if k not in ("qc", "n_time_steps_added")})
    out.attrs["source"] = f"climatology of {daily.attrs.get('source', 'weather')}"
    out.attrs["years"] = f"{years.min()}-{years.max()}"
    out.attrs["window_days"] = 2 * half + 1
    return out


def climatology_series(clim: xr.Dataset, start, end) -> xr.Dataset:
    """A daily weather dataset from ``start`` to ``end`` (inclusive) filled with climatological values.

    Used for dates beyond the forecast. Values are flagged derived (16); attrs ``source == "climatology"``
    and ``climatology_of`` naming what it was computed from.
    """
    if "dayofyear" not in clim.dims:
        raise InputError("climatology_series needs a climatology dataset with a 'dayofyear' dimension.")
    dates = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")
    if len(dates) == 0:
        raise InputError(f"climatology_series: end {end} is before start {start}.")
    doy = xr.DataArray(leap_day_of_year(dates), dims="time")
    ds = clim.sel(dayofyear=doy).drop_vars("dayofyear").assign_coords(time=dates.as_unit("ns").values)
    ds = ds.transpose("time", ...)
    for name in list(ds.data_vars):
        ds[f"{name}_qc"] = (ds[name].dims, np.where(np.isnan(ds[name].values), QC_MISSING, QC_DERIVED)
                            .astype(np.uint8), flag_attrs(name))
    ds.attrs = dict(clim.attrs)
    ds.attrs["resolution"] = "daily"
    ds.attrs["climatology_of"] = str(clim.attrs.get("source", ""))
    ds.attrs["source"] = "climatology"
    return ds


# ----------------------------------------------------------------------------------------------------------
# Stations -> plots
# ----------------------------------------------------------------------------------------------------------

_EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance [km] between points in degrees (broadcast)."""
    p1, p2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dphi = p2 - p1
    dlmb = np.deg2rad(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2.0 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    lat, lon = np.deg2rad(lat_deg), np.deg2rad(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def weather_for_plots(
    weather: xr.Dataset,
    plots: xr.Dataset,
    *,
    station_ids: Sequence[str] | None = None,
    lapse_rate_c_per_100m: float = 0.6,
) -> xr.Dataset:
    """Station weather for each plot, with temperatures corrected for the plot's elevation.

    Each plot takes its named station (``station_ids`` if given, else the plots' ``station_id`` variable,
    where "" means none) or otherwise the nearest station by great-circle distance. Air temperatures
    (``tmin_c``, ``tmax_c``, ``tmean_c``, ``t_c``) are shifted by ``−lapse_rate·(z_plot − z_station)/100``.
    Relative humidity is kept as measured (it varies less with small height differences than the dew point
    does, and disease models use it directly); ``dewpoint_c`` is recomputed from the shifted ``t_c`` and the
    kept ``rh_pct`` so the three stay consistent (shifted like ``t_c`` when there is no ``rh_pct``).
    Precipitation, wind and radiation are not changed.

    Where the plot's or the station's elevation is unknown (NaN) the temperatures are NOT adjusted; the
    per-plot coordinate ``lapse_adjusted`` says which plots were, and ``temperature_offset_c`` by how much.

    Parameters
    ----------
    weather : xarray.Dataset
        Dims (time, station) (other dims such as ``member`` pass through) with coords lat, lon, elevation_m.
    plots : xarray.Dataset
        Dim ``plot``; variables ``lon``, ``lat`` [deg], ``elevation_m`` [m], optional ``station_id`` (str).
    station_ids : sequence of str, optional
        Station per plot, overriding ``plots.station_id``.
    lapse_rate_c_per_100m : float, default 0.6
        Environmental lapse rate [°C per 100 m] (standard-atmosphere 6.5 °C/km is the textbook value;
        0.6 is common for daily means in humid hill country; tune per district).

    Returns
    -------
    xarray.Dataset with dims (time, plot) and per-plot coords ``station_id``, ``distance_km``,
    ``station_elevation_m``, ``elevation_m``, ``lat``, ``lon``, ``temperature_offset_c``, ``lapse_adjusted``.

    Raises
    ------
    InputError
        A named station that the weather dataset does not have (plot and station named).
    """
    if "station" not in weather.dims:
        raise InputError("weather_for_plots needs a weather dataset with a 'station' dimension.")
    if "plot" not in plots.dims:
        raise InputError("weather_for_plots needs a plots dataset with a 'plot' dimension.")
    for name in ("lat", "lon"):
        if name not in plots:
            raise InputError(f"the plots dataset has no '{name}'; give plot centroids in degrees.")
        if name not in weather.coords:
            raise InputError(f"the weather dataset has no station coordinate '{name}'.")
    n_plot = plots.sizes["plot"]
    st_ids = np.asarray(weather["station"].values, dtype=str)
    st_lat = weather["lat"].values.astype(float)
    st_lon = weather["lon"].values.astype(float)
    p_lat = np.asarray(plots["lat"].values, dtype=float)
    p_lon = np.asarray(plots["lon"].values, dtype=float)
    plot_labels = np.asarray(plots["plot"].values if "plot" in plots.coords else np.arange(n_plot), dtype=str)

    if station_ids is not None:
        named = np.asarray(station_ids, dtype=str)
        if named.shape != (n_plot,):
            raise InputError(f"station_ids has {named.size} entries for {n_plot} plots; give one per plot.")
    elif "station_id" in plots:
        named = np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
                          for v in plots["station_id"].values], dtype=str)
    else:
        named = np.full(n_plot, "", dtype=str)

    # nearest station on the unit sphere (chord distance is monotonic in great-circle distance)
    from scipy.spatial import cKDTree

    if np.isnan(st_lat).any() or np.isnan(st_lon).any():
        raise InputError("the weather dataset has stations without lat/lon; give every station coordinates.")
    tree = cKDTree(_unit_vectors(st_lat, st_lon))
    need_nearest = named == ""
    if need_nearest.any() and (np.isnan(p_lat[need_nearest]).any() or np.isnan(p_lon[need_nearest]).any()):
        i = int(np.flatnonzero(need_nearest & (np.isnan(p_lat) | np.isnan(p_lon)))[0])
        raise InputError(f"plot {plot_labels[i]} has no lat/lon and no station_id; give one or the other.")
    idx = np.zeros(n_plot, dtype=np.int64)
    if need_nearest.any():
        _, nearest = tree.query(_unit_vectors(p_lat[need_nearest], p_lon[need_nearest]))
        idx[need_nearest] = nearest
    if (~need_nearest).any():
        lookup = pd.Index(st_ids)
        pos = lookup.get_indexer(named[~need_nearest])
        if (pos < 0).any():
            j = int(np.flatnonzero(pos < 0)[0])
            plot = plot_labels[~need_nearest][j]
            station = named[~need_nearest][j]
            raise InputError(f"plot {plot} names station '{station}', which is not in the weather data "
                             f"(stations: {', '.join(st_ids[:10])}); fix the plot's station_id.")
        idx[~need_nearest] = pos
    distance = great_circle_km(p_lat, p_lon, st_lat[idx], st_lon[idx])

    st_elev = (weather["elevation_m"].values.astype(float)[idx] if "elevation_m" in weather.coords
               else np.full(n_plot, np.nan))
    p_elev = np.asarray(plots["elevation_m"].values, dtype=float) if "elevation_m" in plots \
        else np.full(n_plot, np.nan)
    adjusted = ~np.isnan(st_elev) & ~np.isnan(p_elev)
    offset = np.where(adjusted, -lapse_rate_c_per_100m * (p_elev - st_elev) / 100.0, 0.0)

    sel = weather.isel(station=xr.DataArray(idx, dims="plot"))
    sel = sel.drop_vars([c for c in ("station", "lat", "lon", "elevation_m") if c in sel.coords])
    plot_coord = plots["plot"].values if "plot" in plots.coords else np.arange(n_plot)
    sel = sel.assign_coords(
        plot=("plot", plot_coord),
        station_id=("plot", st_ids[idx], {"long_name": "station the plot's weather comes from"}),
        distance_km=("plot", distance, {"units": "km", "long_name": "great-circle distance to the station"}),
        station_elevation_m=("plot", st_elev, {"units": "m", "long_name": "station elevation"}),
        elevation_m=("plot", p_elev, {"units": "m", "long_name": "plot elevation"}),
        lat=("plot", p_lat, {"units": "degrees_north", "long_name": "plot latitude"}),
        lon=("plot", p_lon, {"units": "degrees_east", "long_name": "plot longitude"}),
        temperature_offset_c=("plot", offset, {
            "units": "degC", "long_name": "lapse-rate correction added to air temperatures"}),
        lapse_adjusted=("plot", adjusted, {
            "long_name": "temperatures corrected for elevation (false where the plot or station elevation is "
                         "unknown)"}),
    )
    off = xr.DataArray(offset, dims="plot")
    for name in AIR_TEMPERATURE_VARIABLES:
        if name in sel:
            attrs = dict(sel[name].attrs)
            attrs["lapse_rate_c_per_100m"] = float(lapse_rate_c_per_100m)
            sel[name] = (sel[name] + off).assign_attrs(attrs)
    if "dewpoint_c" in sel:
        attrs = dict(sel["dewpoint_c"].attrs)
        if "t_c" in sel and "rh_pct" in sel:
            new = dewpoint_from_rh(sel["t_c"], sel["rh_pct"].clip(max=100.0))
            keep = sel["dewpoint_c"]
            sel["dewpoint_c"] = xr.where(xr.DataArray(adjusted, dims="plot"), new, keep).transpose(*keep.dims)
            attrs["lapse_rate_adjustment"] = "recomputed from lapse-rate adjusted t_c and unchanged rh_pct"
        else:
            sel["dewpoint_c"] = sel["dewpoint_c"] + off
            attrs["lapse_rate_adjustment"] = "shifted by the same offset as t_c"
        sel["dewpoint_c"].attrs = attrs
    sel = sel.transpose("time", "plot", ...)
    sel.attrs = dict(weather.attrs)
    sel.attrs["lapse_rate_c_per_100m"] = float(lapse_rate_c_per_100m)
    sel.attrs["source"] = (f"{weather.attrs.get('source', '')}; per plot: named or nearest station, "
                           f"air temperature lapse-rate adjusted ({lapse_rate_c_per_100m:g} °C/100 m)")
    n_unadjusted = int((~adjusted).sum())
    if n_unadjusted:
        sel.attrs["lapse_rate_not_applied"] = (f"{n_unadjusted} plots have no plot or station elevation; "
                                               "their temperatures are the station's")
    return sel


# ----------------------------------------------------------------------------------------------------------
# Long format (database)
# ----------------------------------------------------------------------------------------------------------

def weather_to_long(ds: xr.Dataset, *, dropna: bool = False) -> pd.DataFrame:
    """Long table for the database: columns station_id, variable, time_utc (tz-aware UTC), value, qc_flags.

    Local standard time is converted with the dataset attr ``utc_offset_h``. NaN values are kept (with their
    missing flag) unless ``dropna``; boolean variables are stored as 0.0/1.0.
    """
    if set(ds.dims) - {"time", "station"}:
        extra = ", ".join(sorted(set(ds.dims) - {"time", "station"}))
        raise InputError(f"weather_to_long takes (time, station) datasets; this one also has {extra} "
                         "(select one member first).")
    offset = float(ds.attrs.get("utc_offset_h", CHINA_UTC_OFFSET_H))
    local = pd.DatetimeIndex(ds["time"].values)
    utc = (local - pd.Timedelta(hours=offset)).tz_localize("UTC")
    stations = np.asarray(ds["station"].values, dtype=str)
    n_t, n_s = len(utc), len(stations)
    frames = []
    for name in ds.data_vars:
        if not _is_data_var(ds, name) or set(ds[name].dims) != {"time", "station"}:
            continue
        v = ds[name].transpose("time", "station").values.astype(float)
        f = (ds[f"{name}_qc"].transpose("time", "station").values.astype(np.int64) if f"{name}_qc" in ds
             else np.zeros((n_t, n_s), np.int64))
        frame = pd.DataFrame({
            "station_id": np.tile(stations, n_t),
            "variable": name,
            "time_utc": utc.repeat(n_s),
            "value": v.reshape(-1),
            "qc_flags": f.reshape(-1),
        })
        frames.append(frame)
    if not frames:
        return pd.DataFrame({"station_id": pd.Series(dtype=str), "variable": pd.Series(dtype=str),
                             "time_utc": pd.Series(dtype="datetime64[ns, UTC]"),
                             "value": pd.Series(dtype=float), "qc_flags": pd.Series(dtype=np.int64)})
    out = pd.concat(frames, ignore_index=True)
    if dropna:
        out = out[out["value"].notna()].reset_index(drop=True)
    return out


def weather_from_long(df: pd.DataFrame, stations: pd.DataFrame, *, source: str | None = None) -> xr.Dataset:
    """Rebuild a weather dataset from the long table of :func:`weather_to_long`.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns station_id, variable, time_utc (tz-aware), value, qc_flags.
    stations : pandas.DataFrame
        Columns station_id, lat, lon, elevation_m, resolution and optionally utc_offset_h (default 8) and
        source; all rows must share one resolution and one UTC offset.
    source : str, optional
        Dataset source (default: the stations' ``source`` column, else "database").
    """
    need = {"station_id", "variable", "time_utc", "value", "qc_flags"}
    missing = need - set(df.columns)
    if missing:
        raise InputError(f"weather table lacks columns {', '.join(sorted(missing))}; it has "
                         f"{', '.join(map(str, df.columns))}.")
    need_st = {"station_id", "lat", "lon", "elevation_m", "resolution"}
    missing = need_st - set(stations.columns)
    if missing:
        raise InputError(f"stations table lacks columns {', '.join(sorted(missing))}.")
    st = stations.copy()
    st["station_id"] = st["station_id"].astype(str)
    if "utc_offset_h" not in st:
        st["utc_offset_h"] = float(CHINA_UTC_OFFSET_H)
    for col in ("resolution", "utc_offset_h"):
        if st[col].nunique() > 1:
            shown = ", ".join(map(str, st[col].unique()))
            raise InputError(f"stations have different {col} values ({shown}); build one dataset per value.")
    resolution = str(st["resolution"].iloc[0])
    offset = float(st["utc_offset_h"].iloc[0])
    data = df.copy()
    data["station_id"] = data["station_id"].astype(str)
    unknown = sorted(set(data["station_id"]) - set(st["station_id"]))
    if unknown:
        raise InputError(f"weather table has station {unknown[0]} that is not in the stations table.")
    t = pd.DatetimeIndex(data["time_utc"])
    if t.tz is None:
        raise InputError("weather table column time_utc has no time zone; it must be tz-aware UTC.")
    local = (t.tz_convert("UTC").tz_localize(None) + pd.Timedelta(hours=offset)).as_unit("ns")
    data["time"] = local
    times = np.sort(data["time"].unique())
    st = st.set_index("station_id")
    station_order = [s for s in st.index if s in set(data["station_id"])] or list(st.index)
    values, flags = {}, {}
    for name, group in data.groupby("variable", sort=False):
        try:
            v = group.pivot(index="time", columns="station_id", values="value")
            f = group.pivot(index="time", columns="station_id", values="qc_flags")
        except ValueError:
            raise InputError(f"weather table has duplicated rows for variable {name} (same station and "
                             "time); remove the duplicates.") from None
        v = v.reindex(index=times, columns=station_order)
        f = f.reindex(index=times, columns=station_order).fillna(QC_MISSING)
        arr = v.to_numpy(dtype=float)
        if name == "leaf_wet":
            arr = arr > 0.5
        values[name] = arr
        flags[name] = f.to_numpy().astype(np.uint8)
    if source is None:
        source = str(st["source"].iloc[0]) if "source" in st else "database"
    sub = st.loc[station_order]
    return weather_dataset(values, times, station_order, lat=sub["lat"].to_numpy(float),
                           lon=sub["lon"].to_numpy(float), elevation_m=sub["elevation_m"].to_numpy(float),
                           resolution=resolution, source=source, utc_offset_h=offset, flags=flags)
