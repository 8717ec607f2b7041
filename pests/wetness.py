"""Leaf wetness without a sensor: relative-humidity threshold, CART, and daily weather.

- Hourly, RH threshold: an hour is wet when RH ≥ 90 % (Sentelhas et al. 2008, *Agric. For. Meteorol.* 148:
  best fraction correct 0.87–0.92 at four sites; local thresholds 87–92 % do better).
- Hourly, CART/SLD (Kim, Taylor, Gleason & Koehler 2002, *Plant Dis.* 86:179–185): dew-point depression,
  wind and RH (coefficients as in the science note pests §2; the second, windy branch almost never says wet).
- Daily data: through the foundation's hourly reconstruction (:func:`orchard.weather.hourly_from_daily`:
  Parton–Logan temperature curve, constant daily vapour pressure; Zito et al. 2020 use the same idea), then
  the RH threshold; or, for large ensembles, the closed form :func:`wet_hours_daily` on the sine day.
- Measured rain hours (≥ 0.1 mm) always count as wet.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from orchard import weather as ow
from orchard.errors import InputError

__all__ = [
    "MAGNUS_A",
    "MAGNUS_B_C",
    "dewpoint_magnus",
    "leaf_wetness_rh",
    "leaf_wetness_cart",
    "leaf_wetness",
    "leaf_wetness_from_daily",
    "wet_hours_daily",
    "rh_threshold_temperature",
]

#: Magnus coefficients (Alduchov & Eskridge 1996), as in the science note pests §2.
MAGNUS_A = 17.625
MAGNUS_B_C = 243.04
#: Hourly rain that makes an hour wet [mm].
RAIN_WET_MM = 0.1


def dewpoint_magnus(t_c, rh_pct):
    """Dew point from temperature and RH by the Magnus formula [°C].

    ``γ = ln(RH/100) + a·T/(b + T)``, ``Td = b·γ/(a − γ)``, a = 17.625, b = 243.04 °C.
    """
    rh = np.clip(rh_pct, 1e-6, 100.0)
    gamma = np.log(rh / 100.0) + MAGNUS_A * t_c / (MAGNUS_B_C + t_c)
    return MAGNUS_B_C * gamma / (MAGNUS_A - gamma)


def leaf_wetness_rh(rh_pct, threshold=90.0):
    """Hourly leaf wetness from relative humidity: wet when RH ≥ ``threshold`` [bool].

    Parameters
    ----------
    rh_pct : array-like
        Relative humidity [%] (not a fraction).
    threshold : float, default 90 [%]
        Sentelhas et al. 2008; local values 87–92 %.

    Returns
    -------
    bool array (NaN humidity gives False: check gaps before calling, as :func:`leaf_wetness` does).
    """
    if not 50.0 <= float(np.max(threshold)) <= 100.0:
        raise InputError(
            f"the leaf-wetness RH threshold {threshold} is not a percentage between 50 and 100; "
            "give it in % (e.g. 90)."
        )
    with np.errstate(invalid="ignore"):
        return (
            np.asarray(rh_pct) >= threshold if not isinstance(rh_pct, xr.DataArray) else rh_pct >= threshold
        )


def leaf_wetness_cart(t_c, rh_pct, wind_ms):
    """Hourly leaf wetness by the CART/SLD model of Kim et al. (2002) [bool].

    Parameters
    ----------
    t_c : array-like
        Air temperature [°C].
    rh_pct : array-like
        Relative humidity [%].
    wind_ms : array-like
        Wind speed [m s-1] (the original uses wind at canopy height; 2 m wind is used as is).

    Returns
    -------
    bool array: DPD ≥ 3.7 °C → dry; else U < 2.5 m/s: wet when
    ``1.6064√T + 0.0036T² + 0.1531·RH − 0.4599·U·DPD − 0.0035·T·RH > 14.4674``; else RH ≥ 87.8 %: wet when
    ``0.7921√T + 0.0046·RH − 2.3889·U − 0.0390·T·U + 1.0613·U·DPD > 37.0``; else dry.
    """
    t = np.asarray(t_c, float)
    rh = np.asarray(rh_pct, float)
    u = np.asarray(wind_ms, float)
    dpd = t - dewpoint_magnus(t, rh)
    sqrt_t = np.sqrt(np.maximum(t, 0.0))
    with np.errstate(invalid="ignore"):
        calm = (1.6064 * sqrt_t + 0.0036 * t**2 + 0.1531 * rh - 0.4599 * u * dpd - 0.0035 * t * rh) > 14.4674
        windy = (rh >= 87.8) & (
            (0.7921 * sqrt_t + 0.0046 * rh - 2.3889 * u - 0.0390 * t * u + 1.0613 * u * dpd) > 37.0
        )
        wet = (dpd < 3.7) & np.where(u < 2.5, calm, windy)
    return wet & ~np.isnan(t) & ~np.isnan(rh) & ~np.isnan(u)


def _check_hourly(hourly: xr.Dataset, needed, where: str) -> None:
    if hourly.attrs.get("resolution") not in (None, "hourly"):
        raise InputError(f"{where} needs hourly weather, got resolution '{hourly.attrs.get('resolution')}'.")
    for name in needed:
        if name not in hourly:
            what = "humidity" if name == "rh_pct" else name
            raise InputError(
                f"{where}: the hourly weather has no {name} ({what} is missing); leaf wetness "
                "needs it, so import humidity or use daily weather with rh_mean_pct."
            )
    times = hourly["time"].values
    if len(times) > 1:
        steps = np.diff(times.astype("datetime64[ns]").astype(np.int64))
        if (steps <= 0).any():
            i = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise InputError(
                f"{where}: hourly times are out of order or repeated at "
                f"{np.datetime_as_string(times[i], unit='m')}; sort the series and drop duplicates."
            )
        if (steps != 3_600_000_000_000).any():
            i = int(np.flatnonzero(steps != 3_600_000_000_000)[0])
            raise InputError(
                f"{where}: the hourly series has a gap after "
                f"{np.datetime_as_string(times[i], unit='m')} "
                f"({steps[i] / 3.6e12:g} h to the next time); fill it with orchard.weather.qc or "
                "split the series."
            )
    for name in needed:
        n_nan = int(hourly[name].isnull().sum())
        if n_nan:
            raise InputError(
                f"{where}: {name} has {n_nan} missing hourly values; fill short gaps with "
                "orchard.weather.qc (max_fill_gap) or use daily weather for those days."
            )


def leaf_wetness(
    hourly: xr.Dataset, method: str = "rh", threshold=90.0, rain_wet_mm=RAIN_WET_MM
) -> xr.DataArray:
    """Hourly leaf wetness of a weather dataset (dims (time, plot …)) [bool].

    A measured ``leaf_wet`` variable is used where present; otherwise ``method`` ``"rh"``
    (:func:`leaf_wetness_rh`) or ``"cart"`` (:func:`leaf_wetness_cart`). Hours with ``precip_mm`` ≥
    ``rain_wet_mm`` are always wet.

    Raises
    ------
    InputError
        Gaps, out-of-order or repeated times, missing humidity (one sentence each).
    """
    if method not in ("rh", "cart"):
        raise InputError(f"unknown leaf-wetness method '{method}'; use 'rh' or 'cart'.")
    if "leaf_wet" in hourly:
        _check_hourly(hourly, [], "leaf wetness")
        wet = hourly["leaf_wet"].astype(bool)
    else:
        needed = ["rh_pct"] + (["t_c", "wind_ms"] if method == "cart" else [])
        _check_hourly(hourly, needed, "leaf wetness")
        if method == "rh":
            wet = leaf_wetness_rh(hourly["rh_pct"], threshold)
        else:
            wet = xr.apply_ufunc(leaf_wetness_cart, hourly["t_c"], hourly["rh_pct"], hourly["wind_ms"])
    if "precip_mm" in hourly:
        wet = wet | (hourly["precip_mm"].fillna(0.0) >= rain_wet_mm)
    return wet.assign_attrs(
        units="1",
        long_name="leaf wetness (true = wet)",
        method="measured" if "leaf_wet" in hourly else method,
    )


def leaf_wetness_from_daily(daily: xr.Dataset, threshold=90.0, rain_intensity_mm_h=2.0) -> xr.Dataset:
    """Hourly weather with leaf wetness, reconstructed from daily weather.

    Hourly T and RH come from :func:`orchard.weather.hourly_from_daily`. That function spreads the day's rain
    evenly over 24 h, which would make every rain day wet all day; here the day's rain falls instead in
    ``ceil(P / rain_intensity_mm_h)`` hours from 00:00 (contiguous with the humid night), and those hours
    are wet.

    Returns
    -------
    xarray.Dataset, hourly, with ``t_c``, ``rh_pct``, ``precip_mm`` (re-timed) and ``leaf_wet``.
    """
    for name in ("tmin_c", "tmax_c"):
        if name not in daily:
            raise InputError(f"leaf wetness from daily weather needs {name}.")
    if not any(n in daily for n in ("rh_mean_pct", "rh_min_pct")):
        raise InputError(
            "leaf wetness from daily weather needs humidity (rh_mean_pct or rh_min_pct and "
            "rh_max_pct); the daily weather has none."
        )
    hourly = ow.hourly_from_daily(daily)
    wet = leaf_wetness_rh(hourly["rh_pct"], threshold)
    if "precip_mm" in daily:
        p = daily["precip_mm"].fillna(0.0)
        n_rain = np.ceil(p / rain_intensity_mm_h).clip(0, 24)
        hour = xr.DataArray(
            np.tile(np.arange(24), daily.sizes["time"]), dims="time", coords={"time": hourly["time"]}
        )
        day_n = n_rain.reindex(time=hourly["time"], method="ffill")
        rain_hour = hour < day_n
        per_hour = (p / n_rain.where(n_rain > 0)).fillna(0.0).reindex(time=hourly["time"], method="ffill")
        hourly["precip_mm"] = (
            xr.where(rain_hour, per_hour, 0.0)
            .transpose(*hourly["t_c"].dims)
            .assign_attrs(
                units="mm",
                long_name="precipitation in the hour",
                derivation=f"daily total in ceil(P/{rain_intensity_mm_h:g} mm/h) hours from 00:00",
            )
        )
        wet = wet | rain_hour
    hourly["leaf_wet"] = wet.transpose(*hourly["t_c"].dims).assign_attrs(
        units="1",
        long_name="leaf wetness (true = wet)",
        method=f"RH >= {threshold:g} % on hourly values reconstructed from daily weather, plus rain hours",
    )
    return hourly


def _es_kpa(t_c):
    """FAO-56 Eq. 11 saturation vapour pressure [kPa], keeping float32 inputs float32 (the foundation's
    version casts to float64)."""
    return 0.6108 * np.exp(17.27 * t_c / (t_c + 237.3))


def rh_threshold_temperature(ea_kpa, threshold=90.0):
    """Air temperature below which RH ≥ ``threshold`` for a vapour pressure ``ea`` [°C] (FAO-56 Eq. 11
    inverted: e°(T*) = ea / (threshold/100))."""
    es_star = np.asarray(ea_kpa) / (threshold / 100.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(es_star / 0.6108)
        return 237.3 * x / (17.27 - x)


def wet_hours_daily(tmin, tmax, rh_mean, precip_mm, threshold=90.0, rain_intensity_mm_h=2.0, n_quad=6):
    """Leaf-wet hours of each day and their mean temperature, in closed form on a sine day [h], [°C].

    A fast equivalent of :func:`leaf_wetness_from_daily` for large ensembles: temperature follows a sine
    between Tmin and Tmax, the vapour pressure ``ea`` is constant and chosen so that the day's mean RH equals
    ``rh_mean`` (the same rule as :func:`orchard.weather.hourly_from_daily`, by ``n_quad``-point quadrature);
    RH ≥ ``threshold`` while T ≤ T* (:func:`rh_threshold_temperature`), i.e. during the fraction
    ``P(T ≤ T*)`` of the day. Rain adds ``ceil(P / rain_intensity)`` hours, overlapping the humid hours at
    random (independence).

    Parameters
    ----------
    tmin, tmax, rh_mean, precip_mm : array-like, broadcast together (e.g. (time, plot, member))
        [°C], [°C], [%], [mm/d]; NaN rain counts as dry.

    Returns
    -------
    (wet_hours, t_wet_c) : arrays [h], [°C]; ``t_wet_c`` is the mean temperature of the wet hours (the mean
    of the cool part of the day for dew; the daily mean on days wet by rain).
    """
    dtype = np.float32 if np.asarray(tmin).dtype == np.float32 else np.float64
    tmin = np.asarray(tmin, dtype)
    tmax = np.maximum(np.asarray(tmax, dtype), tmin)
    mean, half = (tmax + tmin) / 2.0, (tmax - tmin) / 2.0
    theta = (np.arange(n_quad) + 0.5) / n_quad * 2 * np.pi
    inv_es = np.zeros(np.broadcast(mean, half).shape, dtype)
    # the quadrature points of a sine repeat (6 points: ±1/2 twice each, ±1 once), so each distinct one
    # is evaluated once; the sum keeps the original order. Keyed by the sine in the arrays' dtype, as
    # the product below uses it (NEP 50).
    terms = {}
    for th in theta:
        sine = float(np.sin(th))
        key = dtype(sine)
        if key not in terms:
            terms[key] = 1.0 / _es_kpa(mean + half * sine)
        inv_es += terms[key]
    ea = np.asarray(rh_mean, dtype) / 100.0 / (inv_es / n_quad)
    t_star = rh_threshold_temperature(ea, threshold)
    # float64 from here on (as the flat-day ratios ±2 always made it); arrays are updated in place where
    # that gives the same values, to spare passes over (day, plot, member) arrays
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray((t_star - mean) / np.where(half > 0, half, 1.0), np.float64)
        flat = ~(half > 0)  # Tmax = Tmin: wet all day or not at all
        if flat.any():
            np.copyto(ratio, np.where(t_star >= mean, 2.0, -2.0), where=flat)
    ang = np.arcsin(np.clip(ratio, -1.0, 1.0, out=ratio), out=ratio)
    ang_low = ang + np.pi / 2  # angle of the day spent below T*
    frac = ang_low / np.pi  # P(T <= T*)
    # mean of T over the part of the day below T*: M + W·E[sin θ | θ < ang] = M − W·cos(ang)/(ang + π/2)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_dew = np.asarray(mean - half * np.cos(ang) / np.maximum(ang_low, 1e-9))
        np.copyto(t_dew, mean, where=~(frac > 0))
    p = np.nan_to_num(np.asarray(precip_mm, dtype), nan=0.0)
    rain_h = np.clip(np.ceil(p / rain_intensity_mm_h), 0, 24)
    dew_h = 24.0 * frac
    rain_only_h = rain_h * (1.0 - dew_h / 24.0)  # rain hours that are not dew hours
    wet = np.asarray(dew_h + rain_only_h)
    share_rain = np.where(wet > 0, rain_only_h / np.maximum(wet, 1e-9), 0.0)
    t_wet = np.asarray((1 - share_rain) * t_dew + share_rain * mean)
    nan = np.isnan(ea) | np.isnan(mean)
    np.copyto(wet, np.nan, where=nan)
    np.copyto(t_wet, np.nan, where=nan)
    return wet, t_wet
