"""Fruit size and internal quality: diameter, expansion rate, volume, sugar (TSS), acid (TA) and their ratio.

Pure functions on numpy arrays; thermal time τ in °C·d since full bloom. Sources: science notes sections 3.2
and 4.1 (four-parameter logistic diameter: Bellamy, navel orange; TSS quadratic, TA decreasing and TSS/TA
rising with degree-days: 'Maturation curves and degree-days accumulation for fruits of Folha Murcha orange
trees', *Scientia Agricola*).
"""

from __future__ import annotations

import numpy as np

from growth import phenology

__all__ = ["acid_decline_pct", "acid_pct", "crop_load_factor", "diameter_logistic", "diameter_with_potential",
           "effective_thermal_time", "expansion_rate", "fruit_volume_cm3", "growth_modifier",
           "potential_size_factor", "tss_season_offset", "tss_brix"]


def diameter_logistic(tau_c_d, d0_mm, dmax_mm, rate_per_c_d, midpoint_c_d):
    """Fruit diameter from the four-parameter logistic in thermal time since full bloom.

    ``D(τ) = D0 + (Dmax − D0) / (1 + exp(−r (τ − τm)))``

    Parameters
    ----------
    tau_c_d : array_like
        Thermal time since full bloom [°C·d] (NaN before bloom gives NaN).
    d0_mm, dmax_mm : array_like
        Lower and upper asymptotes [mm].
    rate_per_c_d : array_like
        Relative rate r [1/(°C·d)].
    midpoint_c_d : array_like
        Thermal time of the inflection τm [°C·d].

    Returns
    -------
    numpy.ndarray
        Equatorial fruit diameter [mm].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    return d0_mm + (dmax_mm - d0_mm) / (1.0 + np.exp(-rate_per_c_d * (tau - midpoint_c_d)))


def growth_modifier(ks=1.0, water_sensitivity=1.0, carbon_ratio=np.inf, sufficient_ratio=1.0):
    """Multiplier (0–1) of the fruit's thermal-time clock from water stress and carbon shortage.

    ``f = max(0, 1 − s (1 − Ks)) · min(1, SD / SD*)`` with Ks the FAO-56 water-stress coefficient and SD the
    carbon supply/demand ratio. Stress slows expansion but never reverses it, so the diameter stays monotone.

    Parameters
    ----------
    ks : array_like
        Water-stress coefficient (1 = no stress) [-].
    water_sensitivity : array_like
        s [-].
    carbon_ratio : array_like
        Supply/demand ratio of carbon (7-day mean) [-].
    sufficient_ratio : array_like
        SD* at and above which carbon does not limit [-].
    """
    water = np.clip(1.0 - np.asarray(water_sensitivity) * (1.0 - np.asarray(ks, dtype=float)), 0.0, 1.0)
    carbon = np.clip(np.asarray(carbon_ratio, dtype=float) / sufficient_ratio, 0.0, 1.0)
    return water * carbon


def effective_thermal_time(gdd_c_d, modifier, started):
    """Thermal time since full bloom, each day's degree-days scaled by the growth modifier.

    Scaling the logistic's rate by a daily factor ``f`` is the same as running the logistic on the
    accumulated ``Σ f·GDD``, which keeps the diameter an exact logistic of an effective clock (no Euler
    error).

    Parameters
    ----------
    gdd_c_d : array_like, shape (time, ...)
        Daily thermal time [°C·d].
    modifier : array_like
        Daily multiplier (0–1), broadcast against ``gdd_c_d``.
    started : array_like of bool, shape (time, ...)
        True from full bloom on.

    Returns
    -------
    numpy.ndarray
        Effective thermal time since full bloom [°C·d]; NaN before bloom.
    """
    daily = np.where(started, np.nan_to_num(np.asarray(gdd_c_d, dtype=float) * modifier), 0.0)
    tau = phenology.cumsum_days(daily)
    return np.where(started, tau, np.nan)


def expansion_rate(diameter_mm):
    """Daily fruit expansion rate: the day-to-day increase of the diameter [mm/day].

    The first day of a series (and the bloom day) has no previous value and gets NaN / the increase from the
    logistic's starting value respectively; the rate is the exact discrete derivative of the diameter series.
    """
    d = np.asarray(diameter_mm, dtype=float)
    rate = np.full_like(d, np.nan)
    rate[1:] = d[1:] - d[:-1]
    return rate


def fruit_volume_cm3(equatorial_mm, polar_mm=None):
    """Fruit volume from its diameters, ``V = (π/6) D_eq² D_pol`` (a spheroid) [cm³]."""
    d = np.asarray(equatorial_mm, dtype=float)
    polar = d if polar_mm is None else np.asarray(polar_mm, dtype=float)
    return np.pi / 6.0 * d * d * polar / 1000.0


def tss_brix(tau_c_d, intercept, slope, curvature):
    """Total soluble solids (°Brix) as a quadratic in thermal time since full bloom.

    ``TSS = a0 + a1 τ + a2 τ²`` with a2 < 0 (Folha Murcha maturation curves, *Scientia Agricola*); beyond the
    vertex ``τ* = −a1 / (2 a2)`` TSS stays at its maximum instead of falling (the quadratic is a fit over the
    maturation season, not a law for over-ripe fruit).

    Parameters
    ----------
    tau_c_d : array_like
        Quality thermal time since full bloom [°C·d].
    intercept, slope, curvature : array_like
        a0 [°Brix], a1 [°Brix/(°C·d)], a2 [°Brix/(°C·d)²].

    Returns
    -------
    numpy.ndarray
        TSS [°Brix].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    curvature = np.asarray(curvature, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(curvature < 0, -slope / (2.0 * curvature), np.inf)
    tau = np.minimum(tau, vertex)
    return intercept + slope * tau + curvature * tau * tau


def acid_pct(tau_c_d, initial_pct, final_pct, decay_rate):
    """Titratable acidity (% citric acid) falling exponentially with thermal time since full bloom.

    ``TA = TA∞ + (TA0 − TA∞) exp(−k τ)`` (science notes section 4.1; the decreasing branch of the inverse
    quadratic of the Folha Murcha curves, kept monotone).

    Parameters
    ----------
    tau_c_d : array_like
        Quality thermal time since full bloom [°C·d].
    initial_pct, final_pct : array_like
        TA0 and TA∞ [%].
    decay_rate : array_like
        k [1/(°C·d)].

    Returns
    -------
    numpy.ndarray
        TA [%].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    return final_pct + (initial_pct - final_pct) * np.exp(-decay_rate * tau)


def acid_decline_pct(tmean_c, start_index, initial_pct, floor_pct, rate_15c_per_d, q10):
    """Titratable acidity falling every day at a rate that declines smoothly with temperature.

    ``TA = TAfloor + (TA0 − TAfloor) exp(−Σ k(T))``, ``k(T) = k15 · Q10^((T − 15)/10)`` per day from
    ``start_index`` (full bloom). Unlike a degree-day clock above a base temperature, the rate never stops
    in winter, so TA keeps falling on the tree and the TSS/TA ratio keeps rising (on-tree Roberson navel in
    Sichuan: acid −37.5 % December to April, 《西南农业学报》 2005, 18(6):810–813; Fengjie Powell and Fengwan
    TA falls January to May, Xi et al. 2016, 《中国南方果树》 45(4); acid tracks effective heat units more
    closely than Brix, Hutton & Landsberg 2000, *J. Sci. Food Agric.* 80:275–283). Form: science notes
    growth-realism.md section 1.2.

    Parameters
    ----------
    tmean_c : array_like, shape (time, ...)
        Daily mean temperature [°C] (negative values count as 0 °C).
    start_index : array_like of int, shape (...)
        Day the decline starts (−1 = never: NaN throughout).
    initial_pct, floor_pct : array_like
        TA0 at the start and the floor TA tends to [%].
    rate_15c_per_d : array_like
        k at 15 °C [1/d].
    q10 : array_like
        Temperature coefficient of k [-].

    Returns
    -------
    numpy.ndarray
        TA [%], NaN before the start.
    """
    t = np.maximum(np.nan_to_num(np.asarray(tmean_c, dtype=float), nan=15.0), 0.0)
    k = np.asarray(rate_15c_per_d) * np.asarray(q10, dtype=float) ** ((t - 15.0) / 10.0)
    start = np.asarray(start_index)
    day = np.arange(t.shape[0]).reshape((t.shape[0],) + (1,) * start.ndim)
    started = (start >= 0) & (day > start)
    decline = phenology.cumsum_days(np.where(started, k, 0.0))
    ta = floor_pct + (np.asarray(initial_pct) - floor_pct) * np.exp(-decline)
    return np.where((start >= 0) & (day >= start), ta, np.nan)


def crop_load_factor(relative_load, sensitivity, lower=0.85, upper=1.10):
    """Final-size multiplier from crop load: ``f = 1 − a (N/Nref − 1)`` clipped to [lower, upper].

    Size is sink-limited: more fruit per canopy, smaller fruit (Guardiola & García-Luis 2000, *Plant Growth
    Regul.* 31:121–132; thinning 'Washington Navel' raises size; spring hedging in an on-year +3.6–5 mm).
    Form and clip: science notes growth-realism.md section 2.2; a ≈ 0.05 (5 % for a doubling of load).

    Parameters
    ----------
    relative_load : array_like
        Fruit number relative to a normal crop, N/Nref [-].
    sensitivity : array_like
        a [-].
    """
    load = np.nan_to_num(np.asarray(relative_load, dtype=float), nan=1.0)
    return np.clip(1.0 - np.asarray(sensitivity) * (load - 1.0), lower, upper)


def potential_size_factor(water_deficit_days, heat_days, carbon_fraction, *, water_sensitivity,
                          heat_sensitivity, carbon_exponent, floor=0.6):
    """Multiplier of the final diameter from the stress accumulated so far in fruit stages I–II.

    ``f = (1 − a_W · S_W) · (1 − a_H · H) · C^b``, clipped to [floor, 1], with S_W = Σ(1 − Ks) [d] (water
    deficit days), H heat-stress days (Tmax ≥ 35, Tmean ≥ 30 or Tmin ≥ 24 °C) and C the mean fraction of
    the fruit's carbon demand met (0–1). Deficits in stage II reduce final size every year (Ballester et al.,
    Lane Late RDI, *Irrig. Sci.*; Hutton, Landsberg & Sutton 2007, *Aust. J. Exp. Agric.* 47:71–80); heat
    days lower Newhall fruit weight (Li et al. 2022, *Chin. J. Ecol.* 41(12):2489–2496); size is limited by
    metabolite supply (Guardiola & García-Luis 2000). Form: science notes growth-realism.md section 2.2.
    """
    water = 1.0 - np.asarray(water_sensitivity) * np.asarray(water_deficit_days, dtype=float)
    heat = 1.0 - np.asarray(heat_sensitivity) * np.asarray(heat_days, dtype=float)
    carbon = np.clip(np.asarray(carbon_fraction, dtype=float), 0.0, 1.0) ** np.asarray(carbon_exponent)
    return np.clip(water * heat * carbon, floor, 1.0)


def diameter_with_potential(logistic_fraction, d0_mm, dmax_mm):
    """Diameter whose every day's increase is the logistic's increase scaled to that day's potential size.

    ``D_t = D0 + Σ_s (Dmax_s − D0) · (L_s − L_{s−1})`` with L the logistic fraction (0–1) of the fruit clock
    and Dmax_s the final diameter the season allows on day s. Stress lowers all later growth (and so the
    final size) but never shrinks the fruit: the series stays monotone.

    Parameters
    ----------
    logistic_fraction : array_like, shape (time, ...)
        ``1 / (1 + exp(−r (τ − τm)))`` of the effective fruit clock; NaN before bloom.
    d0_mm : array_like
        D0 [mm].
    dmax_mm : array_like, shape (time, ...) or (...)
        Potential final diameter of each day [mm].
    """
    frac = np.asarray(logistic_fraction, dtype=float)
    started = ~np.isnan(frac)
    filled = np.where(started, frac, 0.0)
    first = np.argmax(started, axis=0)
    start_value = np.take_along_axis(filled, first[None, ...], axis=0)
    step = np.diff(filled, axis=0, prepend=filled[:1])
    was_started = np.concatenate([np.zeros_like(started[:1]), started[:-1]], axis=0)
    step = np.where(started & was_started, np.maximum(step, 0.0), 0.0)
    span = np.asarray(dmax_mm, dtype=float) - np.asarray(d0_mm, dtype=float)
    span0 = span if np.ndim(span) < frac.ndim else np.take_along_axis(span, first[None, ...], axis=0)
    d = np.asarray(d0_mm) + start_value * span0 + phenology.cumsum_days(step * span)
    return np.where(started, d, np.nan)


def tss_season_offset(tmean_c, precip_mm, doy, start_index, *, window_start_doy, window_days, rain_start_doy,
                      rain_days, temperature_ref_c, temperature_coef, rain_ref_mm, rain_coef):
    """Brix offset of the season's autumn weather, accumulated day by day (no look-ahead).

    ``ΔTSS = b_T (T̄ − Tref) · n/N − b_R (R − Rref · m/M) / 100`` where T̄ is the mean temperature of the
    autumn window so far (n of its N days elapsed) and R the rain of the rain window so far (m of M days):
    warmer September–October raise TSS, October rain dilutes it (Xie et al. 2019, *Chin. J. Ecol.*, Ganzhou
    navel; Ao et al. 2015, 《安徽农业科学》 43(10)). Coefficients: science notes growth-realism.md section 3
    (b_T 0.2–0.4 °Brix/°C, b_R 0.2–0.4 °Brix per 100 mm; unconfirmed).

    Parameters
    ----------
    tmean_c, precip_mm : array_like, shape (time, ...)
        Daily mean temperature [°C] and rain [mm] (NaN rain counts as the reference rain).
    doy : array_like, shape (time,)
        Day of year.
    start_index : array_like of int, shape (...)
        Full bloom: only the windows after it count (−1 = none).

    Returns
    -------
    numpy.ndarray, shape (time, ...)
        Offset [°Brix], 0 before the windows.
    """
    t = np.asarray(tmean_c, dtype=float)
    n_time = t.shape[0]
    doy = np.asarray(doy).reshape((n_time,) + (1,) * (t.ndim - 1))

    start = np.asarray(start_index)
    day = np.arange(n_time).reshape(doy.shape)
    season = (start >= 0) & (day > start)

    def window_sum(values, first, length):
        inside = season & (doy >= first) & (doy < first + length)
        return phenology.cumsum_days(np.where(inside, values, 0.0))

    t_sum = window_sum(np.nan_to_num(t - temperature_ref_c), window_start_doy, window_days)
    rain = np.asarray(precip_mm, dtype=float) if precip_mm is not None else np.full_like(t, np.nan)
    rain_daily = np.where(np.isnan(rain), rain_ref_mm / rain_days, rain)
    r_sum = window_sum(rain_daily - rain_ref_mm / rain_days, rain_start_doy, rain_days)
    offset = np.asarray(temperature_coef) * t_sum / window_days - np.asarray(rain_coef) * r_sum / 100.0
    return offset
