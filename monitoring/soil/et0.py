"""FAO-56 Penman–Monteith reference evapotranspiration, daily (Eq. 6) and hourly (Eq. 53).

Pure functions on numpy arrays (anything that broadcasts: scalars, ``(time,)``, ``(time, plot)``). The
radiation geometry (Ra, N, solar time) is shared with :mod:`orchard.weather`; the equations below are the
book's (Allen, Pereira, Raes & Smith 1998, FAO Irrigation and Drainage Paper 56), checked against its
Examples 17, 18 and 19 in ``tests/soil/test_et0.py``, and against pyet 1.5 ``pm_fao56`` on random inputs.

Fallbacks (FAO-56 Ch. 3 "missing data"), each recorded in the bit mask returned with ``return_flags=True``:

==== ===========================================================================================
bit  meaning
==== ===========================================================================================
1    Rs missing: estimated from the temperature range, Eq. 50 (Hargreaves radiation, ``krs``)
2    humidity missing: ea = e°(Tmin), Eq. 48 (dew point ≈ Tmin)
4    wind missing: 2 m/s (FAO-56 global average)
8    only RHmax given: ea from Eq. 18 instead of Eq. 17
==== ===========================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchard.weather import (
    clear_sky_radiation,
    extraterrestrial_radiation_daily,
    extraterrestrial_radiation_period,
    saturation_vapour_pressure,
    solar_hour_angle,
    sunset_hour_angle,
)

__all__ = [
    "FLAG_RS_ESTIMATED",
    "FLAG_EA_FROM_TMIN",
    "FLAG_WIND_DEFAULT",
    "FLAG_EA_FROM_RHMAX",
    "atmospheric_pressure",
    "psychrometric_constant",
    "slope_vapour_pressure_curve",
    "actual_vapour_pressure",
    "net_longwave_radiation",
    "radiation_from_temperature_range",
    "reference_et_daily",
    "reference_et_hourly",
]

FLAG_RS_ESTIMATED = 1
FLAG_EA_FROM_TMIN = 2
FLAG_WIND_DEFAULT = 4
FLAG_EA_FROM_RHMAX = 8

#: Stefan–Boltzmann constant [MJ K-4 m-2 d-1] (FAO-56 Eq. 39); per hour it is divided by 24.
SIGMA_MJ_DAY = 4.903e-9
#: Default wind speed at 2 m when none is measured [m s-1] (FAO-56 Ch. 3, "missing wind speed data").
DEFAULT_WIND2_MS = 2.0


def _f(x):
    return np.asarray(x, dtype=float)


def atmospheric_pressure(elevation_m):
    """Atmospheric pressure P [kPa] from elevation, FAO-56 Eq. 7: ``101.3 ((293 − 0.0065 z)/293)^5.26``.

    FAO-56 Example 2: z = 1800 m -> 81.8 kPa.
    """
    return 101.3 * ((293.0 - 0.0065 * _f(elevation_m)) / 293.0) ** 5.26


def psychrometric_constant(elevation_m):
    """Psychrometric constant γ [kPa °C-1], FAO-56 Eq. 8: ``0.665e-3 P`` (Example 2: 0.054 at 1800 m)."""
    return 0.665e-3 * atmospheric_pressure(elevation_m)


def slope_vapour_pressure_curve(t_c):
    """Slope of the saturation vapour pressure curve Δ [kPa °C-1], FAO-56 Eq. 13."""
    t = _f(t_c)
    return 4098.0 * saturation_vapour_pressure(t) / (t + 237.3) ** 2


def actual_vapour_pressure(tmin_c, tmax_c, rh_min_pct=None, rh_max_pct=None, ea_kpa=None):
    """Actual vapour pressure ea [kPa] with the FAO-56 order of preference, and the fallback flags.

    ``ea_kpa`` where given (Eq. 14, from the dew point) > Eq. 17 from RHmax and RHmin > Eq. 18 from RHmax
    alone > Eq. 48 ``e°(Tmin)`` (no humidity at all). NaN elements fall through to the next rule.

    Returns
    -------
    (ea_kpa, flags) : numpy.ndarray [kPa], numpy.ndarray of int (bits 2 and 8, see the module notes)

    References
    ----------
    FAO-56 Example 5: Tmax 25, Tmin 18 °C, RHmax 82, RHmin 54 % -> 1.70 kPa.
    """
    tmin, tmax = _f(tmin_c), _f(tmax_c)
    e_tmin, e_tmax = saturation_vapour_pressure(tmin), saturation_vapour_pressure(tmax)
    shape = np.broadcast_shapes(
        tmin.shape, tmax.shape, *(np.shape(v) for v in (rh_min_pct, rh_max_pct, ea_kpa) if v is not None)
    )
    nan = np.full(shape, np.nan)
    rhmin = nan if rh_min_pct is None else np.broadcast_to(_f(rh_min_pct), shape)
    rhmax = nan if rh_max_pct is None else np.broadcast_to(_f(rh_max_pct), shape)
    given = nan if ea_kpa is None else np.broadcast_to(_f(ea_kpa), shape)
    eq17 = (np.broadcast_to(e_tmin, shape) * rhmax + np.broadcast_to(e_tmax, shape) * rhmin) / 200.0
    eq18 = np.broadcast_to(e_tmin, shape) * rhmax / 100.0
    eq48 = np.broadcast_to(e_tmin, shape).astype(float)
    ea = np.where(
        np.isfinite(given), given, np.where(np.isfinite(eq17), eq17, np.where(np.isfinite(eq18), eq18, eq48))
    )
    flags = np.zeros(shape, dtype=np.int64)
    use17_or_given = np.isfinite(given) | np.isfinite(eq17)
    flags |= np.where(~use17_or_given & np.isfinite(eq18), FLAG_EA_FROM_RHMAX, 0)
    flags |= np.where(~use17_or_given & ~np.isfinite(eq18), FLAG_EA_FROM_TMIN, 0)
    return ea, flags


def radiation_from_temperature_range(tmin_c, tmax_c, ra_mj_m2, krs=0.16):
    """Global radiation from the daily temperature range [MJ m-2 d-1], FAO-56 Eq. 50 (Hargreaves).

    ``Rs = kRs √(Tmax − Tmin) Ra``; kRs 0.16 for interior, 0.19 for coastal locations.
    """
    return krs * np.sqrt(np.maximum(_f(tmax_c) - _f(tmin_c), 0.0)) * _f(ra_mj_m2)


def net_longwave_radiation(t4_mean_k4, ea_kpa, rs_rso, sigma=SIGMA_MJ_DAY):
    """Net outgoing longwave radiation Rnl [MJ m-2 per period], FAO-56 Eq. 39.

    ``Rnl = σ ⟨T_K⁴⟩ (0.34 − 0.14 √ea) (1.35 Rs/Rso − 0.35)``; ``rs_rso`` is clipped to [0.25, 1]
    (FAO-56: Rs/Rso ≤ 1; 0.25 is the overcast limit of Eq. 35 divided by 1).

    Parameters
    ----------
    t4_mean_k4 : array-like
        Mean of the fourth powers of absolute temperature [K⁴] (daily: mean of Tmax⁴ and Tmin⁴).
    ea_kpa : array-like
    rs_rso : array-like
        Relative shortwave radiation [-].
    sigma : float
        Stefan–Boltzmann constant for the period (daily 4.903e-9; hourly 4.903e-9/24) [MJ K-4 m-2].
    """
    ratio = np.clip(_f(rs_rso), 0.25, 1.0)
    return sigma * _f(t4_mean_k4) * (0.34 - 0.14 * np.sqrt(_f(ea_kpa))) * (1.35 * ratio - 0.35)


def reference_et_daily(
    tmin_c,
    tmax_c,
    rs_mj_m2,
    wind2_ms,
    latitude_deg,
    elevation_m,
    doy,
    rh_min_pct=None,
    rh_max_pct=None,
    ea_kpa=None,
    *,
    g_mj_m2=0.0,
    krs=0.16,
    return_flags=False,
):
    """Daily FAO-56 Penman–Monteith grass reference evapotranspiration ETo [mm d-1], Eq. 6.

    ``ETo = [0.408 Δ (Rn − G) + γ 900/(T + 273) u2 (es − ea)] / [Δ + γ (1 + 0.34 u2)]`` with
    T = (Tmax + Tmin)/2, es = [e°(Tmax) + e°(Tmin)]/2, Rn = 0.77 Rs − Rnl (albedo 0.23).

    Parameters
    ----------
    tmin_c, tmax_c : array-like
        Daily minimum and maximum air temperature [°C].
    rs_mj_m2 : array-like or None
        Global (solar) radiation [MJ m-2 d-1]; None or NaN -> Eq. 50 with ``krs`` (flag bit 1).
    wind2_ms : array-like or None
        Wind speed at 2 m [m s-1]; None or NaN -> 2 m/s (flag bit 4).
    latitude_deg : array-like
        Latitude [deg], north positive.
    elevation_m : array-like
        Elevation above sea level [m].
    doy : array-like of int
        Day of the year (1–366).
    rh_min_pct, rh_max_pct : array-like, optional
        Daily minimum and maximum relative humidity [%].
    ea_kpa : array-like, optional
        Actual vapour pressure [kPa] (e.g. from the dew point); preferred over RH.
        With neither humidity nor ``ea_kpa``: ea = e°(Tmin) (FAO-56 Eq. 48, flag bit 2).
    g_mj_m2 : array-like
        Soil heat flux [MJ m-2 d-1]; 0 for days (Eq. 42); monthly values from Eqs. 43/44.
    krs : float
        Adjustment coefficient of Eq. 50 [°C^-0.5]: 0.16 interior, 0.19 coastal.
    return_flags : bool
        Also return the fallback bit mask (see the module notes).

    Returns
    -------
    numpy.ndarray [mm d-1] (or ``(eto, flags)``), broadcast shape of the inputs.

    References
    ----------
    Allen et al. (1998) FAO-56, Eq. 6; Example 17 (Bangkok, April, monthly: 5.72 mm/d) and Example 18
    (Uccle, 6 July: 3.88 mm/d).
    """
    tmin, tmax = _f(tmin_c), _f(tmax_c)
    tmean = (tmin + tmax) / 2.0
    ra = extraterrestrial_radiation_daily(latitude_deg, doy)
    rso = clear_sky_radiation(ra, elevation_m)
    rs_est = radiation_from_temperature_range(tmin, tmax, ra, krs)
    rs = rs_est if rs_mj_m2 is None else _f(rs_mj_m2)
    rs_missing = ~np.isfinite(rs) if rs_mj_m2 is not None else np.ones(np.shape(rs_est), bool)
    rs = np.where(rs_missing, rs_est, rs)
    u2 = np.full(np.shape(tmean), np.nan) if wind2_ms is None else _f(wind2_ms)
    wind_missing = ~np.isfinite(u2)
    u2 = np.where(wind_missing, DEFAULT_WIND2_MS, u2)
    ea, flags = actual_vapour_pressure(tmin, tmax, rh_min_pct, rh_max_pct, ea_kpa)
    es = (saturation_vapour_pressure(tmax) + saturation_vapour_pressure(tmin)) / 2.0
    delta = slope_vapour_pressure_curve(tmean)
    gamma = psychrometric_constant(elevation_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs_rso = np.where(rso > 0, rs / rso, 1.0)
    t4 = ((tmax + 273.16) ** 4 + (tmin + 273.16) ** 4) / 2.0
    rn = 0.77 * rs - net_longwave_radiation(t4, ea, rs_rso)
    eto = (0.408 * delta * (rn - _f(g_mj_m2)) + gamma * 900.0 / (tmean + 273.0) * u2 * (es - ea)) / (
        delta + gamma * (1.0 + 0.34 * u2)
    )
    if not return_flags:
        return eto
    flags = np.broadcast_to(flags, np.broadcast_shapes(np.shape(eto), np.shape(flags))).copy()
    flags |= np.where(rs_missing, FLAG_RS_ESTIMATED, 0)
    flags |= np.where(wind_missing, FLAG_WIND_DEFAULT, 0)
    return eto, flags


def _local_clock(times, utc_offset_h) -> tuple[np.ndarray, np.ndarray]:
    """Day of year and clock hour [h] of period starts in local standard time (UTC + offset)."""
    index = pd.DatetimeIndex(pd.to_datetime(np.ravel(np.asarray(times))))
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None) + pd.Timedelta(hours=float(utc_offset_h))
    clock = (index.hour + index.minute / 60.0 + index.second / 3600.0).to_numpy(float)
    doy = index.dayofyear.to_numpy(float)
    shape = np.shape(np.asarray(times))
    return doy.reshape(shape), clock.reshape(shape)


def reference_et_hourly(
    t_c,
    rh_pct,
    wind2_ms,
    rs_mj_m2_h,
    latitude_deg,
    longitude_deg,
    elevation_m,
    times,
    utc_offset_h,
    *,
    night_rs_rso=0.8,
    return_rs_rso=False,
):
    """Hourly FAO-56 Penman–Monteith reference evapotranspiration ETo [mm h-1], Eq. 53 as printed.

    ``ETo = [0.408 Δ (Rn − G) + γ 37/(T + 273) u2 (e°(T) − ea)] / [Δ + γ (1 + 0.34 u2)]`` with the FAO-56
    constants (not ASCE's Cd 0.24/0.96): G = 0.1 Rn by day, 0.5 Rn at night (Eqs. 45–46); Ra for the hour
    from Eq. 28 with the solar time of Eqs. 31–33; Rnl with σ/24 and Rs/Rso (Eq. 39). At night Rs/Rso is
    the value of the period 2–3 h before sunset (FAO-56 notes to Eq. 39), carried forward along axis 0; before
    the first such period ``night_rs_rso`` is used (0.8 as in FAO-56 Example 19).

    Parameters
    ----------
    t_c : array-like
        Mean air temperature of the hour [°C]; axis 0 is time.
    rh_pct : array-like
        Mean relative humidity of the hour [%].
    wind2_ms : array-like
        Wind speed at 2 m [m s-1].
    rs_mj_m2_h : array-like
        Global radiation over the hour [MJ m-2 h-1] (W m-2 × 0.0036).
    latitude_deg : array-like
        Latitude [deg north].
    longitude_deg : array-like
        Longitude [deg], **east positive** (FAO-56 uses degrees west; Lz − Lm = lon − 15·offset).
    elevation_m : array-like
    times : array-like of datetime
        Start of each hourly period, in local standard time (naive) or time-zone aware; same shape as axis 0.
    utc_offset_h : float
        Offset of the local standard time from UTC [h]; the zone's central meridian is ``15 · utc_offset_h``.
    night_rs_rso : float
        Rs/Rso used at night before any late-afternoon reference period is seen.
    return_rs_rso : bool
        Also return the Rs/Rso used.

    Returns
    -------
    numpy.ndarray [mm h-1]

    References
    ----------
    Allen et al. (1998) FAO-56, Eq. 53; Example 19 (N'Diaye, Senegal, 1 October: 14–15 h -> 0.63 mm/h;
    02–03 h -> 0.0 mm/h).
    """
    t, rh, u2 = _f(t_c), _f(rh_pct), _f(wind2_ms)
    rs = _f(rs_mj_m2_h)
    shape = np.broadcast_shapes(
        t.shape,
        rh.shape,
        u2.shape,
        rs.shape,
        np.shape(latitude_deg),
        np.shape(longitude_deg),
        np.shape(elevation_m),
    )
    doy, clock = _local_clock(times, utc_offset_h)
    doy = doy.reshape(doy.shape + (1,) * (len(shape) - doy.ndim))
    clock = clock.reshape(doy.shape)
    # Hour angle at the middle of the period (FAO-56 Eq. 31); ±π/24 for its ends (Eqs. 29–30).
    omega = solar_hour_angle(clock + 0.5, doy, longitude_deg, utc_offset_h)
    omega_s = sunset_hour_angle(latitude_deg, doy)
    ra = extraterrestrial_radiation_period(latitude_deg, doy, omega - np.pi / 24.0, omega + np.pi / 24.0)
    rso = np.broadcast_to(clear_sky_radiation(ra, elevation_m), shape)
    day = np.broadcast_to((omega > -omega_s) & (omega < omega_s), shape)
    reference = np.broadcast_to((omega >= omega_s - 0.79) & (omega <= omega_s - 0.52), shape) & (rso > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        measured = np.clip(np.broadcast_to(rs, shape) / rso, 0.25, 1.0)
    ratio = _carry_forward(np.where(reference, measured, np.nan), night_rs_rso)
    rs_rso = np.where(day & (rso > 0), measured, ratio)
    e_sat = saturation_vapour_pressure(t)
    ea = e_sat * rh / 100.0
    rn = 0.77 * rs - net_longwave_radiation((t + 273.16) ** 4, ea, rs_rso, SIGMA_MJ_DAY / 24.0)
    g = np.where(day, 0.1, 0.5) * rn
    delta = slope_vapour_pressure_curve(t)
    gamma = psychrometric_constant(elevation_m)
    eto = (0.408 * delta * (rn - g) + gamma * 37.0 / (t + 273.0) * u2 * (e_sat - ea)) / (
        delta + gamma * (1.0 + 0.34 * u2)
    )
    return (eto, rs_rso) if return_rs_rso else eto


def _carry_forward(values: np.ndarray, initial: float) -> np.ndarray:
    """Last finite value along axis 0 (``initial`` before the first one)."""
    values = np.array(values, dtype=float)
    if values.ndim == 0:
        return np.where(np.isfinite(values), values, initial)
    n = values.shape[0]
    if n == 0:
        return values
    index = np.where(np.isfinite(values), np.arange(n).reshape((n,) + (1,) * (values.ndim - 1)), -1)
    last = np.maximum.accumulate(index, axis=0)
    taken = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    return np.where(last >= 0, taken, initial)
