"""Population and generation models: degree-days to generations, the mite growth rate rm(T), suppression by
heavy rain and heat, and a daily population step.

- Generations: the linear thermal model, a generation every K degree-days above T0 (citrus red mite
  *Panonychus citri*: T0 8.2 °C, K 217 °C·d egg → adult, Yasuda 1982; citrus leafminer: T0 10.4 °C, K ≈ 246
  °C·d, Jones et al. 2013 with Sánchez et al. 2002; science note pests §6–7).
- rm(T): a beta curve of the same form as the Magarey response, 0 at and below T0 and at and above Tmax,
  ``rm_opt`` at Topt (0.171 d⁻¹ at 24 °C for *P. citri*, Yasuda 1982).
- Suppression: a sharp drop when the 10-day rain exceeds 100 mm (Hubei satsuma study) and a multiplier on
  days with Tmax ≥ 32 °C (Chinese forecasting notes: populations crash above ~30 °C).
- Population: ``N(t+1) = N(t) · exp(rm(T̄)·dry_boost·(1 − N/Ncap) − m) · S_rain · S_heat`` (proposed in the
  science note pests §6.2, logistic cap; m a background mortality, an assumption).
"""

from __future__ import annotations

import numpy as np

from orchard.errors import InputError

from .infection import infection_temperature_response

__all__ = [
    "generations",
    "development_days",
    "mite_growth_rate",
    "rolling_sum",
    "rain_suppression",
    "heat_suppression",
    "mite_population",
    "rolling_mean",
    "temperature_mortality",
    "rain_washoff",
    "mite_predator_population",
]


def generations(dd_cumulative, k_dd):
    """Generations completed for a cumulative degree-day sum [1]: ``DD / K``.

    Parameters
    ----------
    dd_cumulative : array-like [°C·d]
    k_dd : float [°C·d per generation]
    """
    if np.any(np.asarray(k_dd) <= 0):
        raise InputError(f"degree-days per generation must be positive, not {k_dd}.")
    return np.asarray(dd_cumulative, float) / k_dd


def development_days(t_c, t0_c, k_dd):
    """Days to complete one generation at a constant temperature [d]: ``K / (T − T0)``, inf at or below T0."""
    t = np.asarray(t_c, float)
    with np.errstate(divide="ignore"):
        return np.where(t > t0_c, k_dd / np.where(t > t0_c, t - t0_c, 1.0), np.inf)


def mite_growth_rate(t_c, t0_c, topt_c, tmax_c, rm_opt):
    """Intrinsic rate of increase of a mite population at temperature ``t_c`` [d⁻¹].

    ``rm(T) = rm_opt · f(T)`` with the beta curve f of :func:`pests.infection.infection_temperature_response`
    on (T0, Topt, Tmax): 0 at and below T0, ``rm_opt`` at Topt, 0 from Tmax on.

    Parameters
    ----------
    t_c : array-like, daily mean temperature [°C]
    t0_c, topt_c, tmax_c : float [°C]
    rm_opt : float [d⁻¹] (0.171 at 24 °C for *P. citri*, Yasuda 1982)
    """
    return rm_opt * np.nan_to_num(infection_temperature_response(t_c, t0_c, topt_c, tmax_c))


def rolling_sum(values, window: int, history=None):
    """Sum over the last ``window`` days including today, along the first axis (NaN as 0).

    ``history`` (window − 1, ...) gives the days before the first one (zeros when omitted).
    """
    v = np.nan_to_num(np.asarray(values, float), nan=0.0)
    if history is None:
        history = np.zeros((window - 1,) + v.shape[1:])
    ext = np.concatenate(
        [np.asarray(history, float)[-(window - 1) :] if window > 1 else history[:0], v], axis=0
    )
    cs = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(ext, axis=0)], axis=0)
    return cs[window:] - cs[:-window]


def rain_suppression(rain_10d_mm, threshold_mm=100.0, factor=0.5, previous_10d_mm=None):
    """Survival multiplier from heavy rain [1]: ``factor`` on the day the 10-day rain rises above
    ``threshold_mm``, else 1 (Hubei satsuma study: 10-day rain > 100 mm causes a sharp drop; one drop per
    heavy-rain spell, not one per day of it).

    ``rain_10d_mm`` has time on the first axis; ``previous_10d_mm`` is the value of the day before the first.
    """
    r = np.asarray(rain_10d_mm, float)
    prev = np.zeros(r.shape[1:]) if previous_10d_mm is None else np.asarray(previous_10d_mm, float)
    before = np.concatenate([np.broadcast_to(prev, r.shape[1:])[None], r[:-1]], axis=0)
    return np.where((r > threshold_mm) & ~(before > threshold_mm), factor, 1.0)


def heat_suppression(tmax_c, threshold_c=32.0, factor=0.8):
    """Daily survival multiplier from heat [1]: ``factor`` on days with Tmax ≥ ``threshold_c``, else 1."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(tmax_c, float) >= threshold_c, factor, 1.0)


def mite_population(n0, rm, survival, cap, mortality=0.0):
    """Daily population densities from a growth rate and survival multipliers [mites per leaf].

    Parameters
    ----------
    n0 : array-like (...)
        Density at the start [mites per leaf].
    rm : array (days, ...)
        Daily intrinsic rate [d⁻¹].
    survival : array (days, ...)
        Daily survival multiplier (rain × heat) [1].
    cap : float
        Density the logistic term levels off at [mites per leaf].
    mortality : float, default 0
        Background daily mortality rate (predators such as *Stethorus*, weather) [d⁻¹].

    Returns
    -------
    array (days, ...): density at the end of each day.
    """
    n = np.array(np.broadcast_to(np.asarray(n0, float), rm.shape[1:]), copy=True)
    out = np.empty(rm.shape)
    for d in range(rm.shape[0]):
        n = n * np.exp(rm[d] * (1.0 - n / cap) - mortality) * survival[d]
        out[d] = n
    return out


def rolling_mean(values, window: int, history=None):
    """Mean over the last ``window`` days including today, along the first axis [same unit as ``values``].

    ``history`` (window − 1, ...) gives the days before the first one; without it the first days average
    over the days available (NaN counts as missing).
    """
    v = np.asarray(values, float)
    if history is None:
        history = np.full((window - 1,) + v.shape[1:], np.nan)
    before = np.broadcast_to(np.asarray(history, float), (window - 1,) + v.shape[1:])
    ext = np.concatenate([before, v], axis=0)
    ok = ~np.isnan(ext)
    cs = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(np.where(ok, ext, 0.0), axis=0)], axis=0)
    cn = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(ok, axis=0)], axis=0)
    n = cn[window:] - cn[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cs[window:] - cs[:-window]) / np.maximum(n, 1), np.nan)


def temperature_mortality(tmax_c, tmean_c, heat_tmax_c, heat_rate, cold_tmean_c, cold_rate):
    """Daily mortality rate of active mites from heat and cold [d⁻¹].

    ``m = heat_rate · max(0, Tmax − heat_tmax) + cold_rate · max(0, cold_tmean − T̄)``: rising sharply with
    every degree above ~30–32 °C (heat-shocked *P. citri* females live shorter the hotter and longer the
    exposure, Yang, Huang & Wang 2014 [M5]; unfavourable above 30 °C [M4]) and below ~10–12 °C
    (unfavourable below 10 °C [M4]); science note decisions §3.1.

    Parameters
    ----------
    tmax_c, tmean_c : array-like, daily maximum and mean temperature [°C]
    heat_tmax_c, cold_tmean_c : float [°C]
    heat_rate, cold_rate : float [d⁻¹ °C⁻¹]
    """
    tmax = np.nan_to_num(np.asarray(tmax_c, float), nan=heat_tmax_c)
    tmean = np.nan_to_num(np.asarray(tmean_c, float), nan=cold_tmean_c)
    return heat_rate * np.maximum(0.0, tmax - heat_tmax_c) + cold_rate * np.maximum(0.0, cold_tmean_c - tmean)


def rain_washoff(precip_mm, start_mm, per_mm):
    """Survival of active mites through a day's rain [1]: ``exp(−per_mm · max(0, P − start_mm))``.

    Light rain washes off little; a concentrated rain of 20–30 mm cuts active mites by more than half
    ([M4], science note decisions §3.1; check-value 11: 30 mm → ×≤ 0.5).

    Parameters
    ----------
    precip_mm : array-like, daily rain [mm]
    start_mm : float, rain below which nothing is washed off [mm]
    per_mm : float, wash-off rate per mm above ``start_mm`` [mm⁻¹]
    """
    p = np.nan_to_num(np.asarray(precip_mm, float))
    return np.exp(-per_mm * np.maximum(0.0, p - start_mm))


def mite_predator_population(
    n0,
    p0,
    rm,
    mortality,
    survival,
    cap,
    attack,
    half_saturation,
    efficiency,
    predator_death,
    predator_floor,
    activity=None,
    prey_floor=0.0,
):
    """Daily densities of citrus red mite and its predators (phytoseiid mites, *Stethorus*) [per leaf].

    Prey: ``N' = N · exp(rm·(1 − N/cap) − m − a·P/(N + h)) · S`` (Holling type II predation: each predator
    eats up to ``a`` mites a day, half of that at N = h); predators:
    ``P' = max(P_floor, P · exp(ε·a·N/(N + h) − δ))`` (numerical response with conversion ε, death rate δ).

    Parameters
    ----------
    n0, p0 : array-like (...)
        Mite and predator densities at the start [per leaf].
    rm, mortality, survival : arrays (days, ...)
        Intrinsic rate [d⁻¹], extra mortality (temperature, background) [d⁻¹], survival multiplier (rain) [1].
    cap : float, logistic level-off density [mites/leaf]
    attack : float, prey eaten per predator per day at saturation [d⁻¹] (150–160 females in a 41–42 d
        life: ≈ 3.7 d⁻¹, [M4])
    half_saturation : float [mites/leaf]
    efficiency : float, predators produced per prey eaten [1]
    predator_death : float [d⁻¹] (1/41.5 d life, [M4])
    predator_floor : float, background predators immigrating from cover crops and hedges [per leaf]
    activity : array (days, ...), optional
        Predator activity [0–1] scaling the attack rate and the numerical response (predators slow down in
        the cold like their prey); 1 when omitted.
    prey_floor : float, lowest mite density (immigration from hedges and untreated trees) [mites/leaf]

    Returns
    -------
    (mites, predators) : arrays (days, ...) at the end of each day.
    """
    n = np.array(np.broadcast_to(np.asarray(n0, float), rm.shape[1:]), copy=True)
    p = np.array(np.broadcast_to(np.asarray(p0, float), rm.shape[1:]), copy=True)
    out_n, out_p = np.empty(rm.shape), np.empty(rm.shape)
    act = np.ones(rm.shape) if activity is None else np.broadcast_to(activity, rm.shape)
    for d in range(rm.shape[0]):
        a = attack * act[d]
        functional = n / (n + half_saturation)
        rate = rm[d] * (1.0 - n / cap) - mortality[d] - a * p / (n + half_saturation)
        n_next = n * np.exp(rate) * survival[d]
        p = np.maximum(predator_floor, p * np.exp(efficiency * a * functional - predator_death))
        n = np.maximum(n_next, prey_floor)
        out_n[d], out_p[d] = n, p
    return out_n, out_p
