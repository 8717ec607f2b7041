"""Citrus red mite (*Panonychus citri*): temperature-driven growth, heat and cold mortality, rain wash-off,
predators, generations by degree-days, and the action threshold in mites per leaf (science note pests §6,
decisions §3).

``N(t+1) = N(t) · exp(rm(T̄)·b_dry·h10·(1 − N/cap) − m_bg − m_T − a·P/(N + h)) · S_rain · S_10d``:

- ``rm(T̄)`` the beta curve of Yasuda (1982), ×``b_dry`` on dry days; ``h10`` = 0 once the 10-day mean
  temperature reaches ``growth.t10_stop`` (decisions §3.3: rm ≤ 0 when the 10-day mean ≥ 28–30 °C);
- ``m_T`` heat mortality per degree of Tmax above ``mortality.heat_tmax`` and cold mortality per degree of the
  mean below ``mortality.cold_tmean`` (:func:`pests.population.temperature_mortality`);
- ``a·P/(N + h)`` predation by phytoseiids and *Stethorus* whose density P follows the prey
  (:func:`pests.population.mite_predator_population`);
- ``S_rain`` wash-off per mm of a day's rain (:func:`pests.population.rain_washoff`), ``S_10d`` the Hubei drop
  when the 10-day rain passes 100 mm.

An *event* is a day on which the modelled density is at or above the action threshold; generations are
degree-days above 8.2 °C / 217. Without a scouting count the population restarts each 1 January from the
overwintering density ``growth.initial``.
"""

from __future__ import annotations

import numpy as np

from .degree_days import degree_days
from .drivers import Drivers
from .population import (
    mite_growth_rate,
    mite_predator_population,
    rain_suppression,
    rain_washoff,
    rolling_mean,
    rolling_sum,
    temperature_mortality,
)

MODEL = "pests.mites"


def _history(state, key, shape, fill):
    h = state.get(key)
    if h is None:
        return np.full((9,) + shape, fill)
    return np.asarray(h, float) * np.ones((1,) + shape)


def simulate(drv: Drivers, p, state=None):
    """Daily mite density, predators, generations and threshold exceedance.

    ``state`` carries ``density`` (mites per leaf at the end of the previous day), ``predators`` (per leaf),
    ``rain_history`` / ``rain_dropped`` (the previous 10 days' rain) and ``tmean_history`` (the previous 9
    days' mean temperature).

    Returns
    -------
    (outputs, state): ``event`` (density ≥ threshold, bool), ``density`` [mites/leaf], ``predators``
    [per leaf], ``generations`` (daily degree-days / K), ``weight`` (density / threshold).
    """
    state = state or {}
    shape = drv.shape[1:]
    dry = np.where(drv.rh_mean < p["growth.dry_rh"], p["growth.dry_boost"], 1.0)
    t_hist = _history(state, "tmean_history", shape, np.nan)
    t10 = rolling_mean(drv.tmean, 10, t_hist)
    growing = ~(t10 >= p["growth.t10_stop"])
    rm_t = mite_growth_rate(
        drv.tmean, p["development.t0"], p["growth.topt"], p["growth.tmax"], p["growth.rm_opt"]
    )
    rm = rm_t * dry * growing
    # predators are as active as the temperature lets their prey grow (assumption: phytoseiids and Stethorus
    # slow down in the cold like P. citri)
    activity = np.clip(rm_t / p["growth.rm_opt"], 0.0, 1.0)
    mortality = p["growth.mortality"] + temperature_mortality(
        drv.tmax,
        drv.tmean,
        p["mortality.heat_tmax"],
        p["mortality.heat_rate"],
        p["mortality.cold_tmean"],
        p["mortality.cold_rate"],
    )
    r_hist = _history(state, "rain_history", shape, 0.0)
    rain10 = rolling_sum(drv.precip, 10, r_hist)
    prev10 = None
    if state.get("rain_history") is not None:
        prev10 = np.sum(r_hist, axis=0) + state.get("rain_dropped", 0.0)
    survival = rain_suppression(
        rain10, p["suppression.rain_10d"], p["suppression.rain_factor"], prev10
    ) * rain_washoff(drv.precip, p["washoff.start_mm"], p["washoff.per_mm"])
    n0 = state.get("density", p["growth.initial"])
    q0 = state.get("predators", p["predator.initial"])
    # restart from the overwintering densities on the biofix day
    reset = np.flatnonzero(drv.doy == int(p["growth.biofix_doy"]))
    density, predators = np.empty(drv.shape), np.empty(drv.shape)
    start, n, q = 0, n0, q0
    for stop in list(reset) + [drv.shape[0]]:
        if stop > start:
            nn, qq = mite_predator_population(
                n,
                q,
                rm[start:stop],
                mortality[start:stop],
                survival[start:stop],
                p["growth.cap"],
                p["predator.attack"],
                p["predator.half_saturation"],
                p["predator.efficiency"],
                p["predator.death"],
                p["predator.floor"],
                activity[start:stop],
                p["growth.floor"],
            )
            density[start:stop] = nn
            predators[start:stop] = qq
            n, q = density[stop - 1], predators[stop - 1]
        if stop < drv.shape[0]:
            n, q = p["growth.initial"], p["predator.initial"]
        start = stop
    dd = degree_days(drv.tmin, drv.tmax, p["development.t0"], p["development.upper"], "single_sine")
    ext_r = np.concatenate([r_hist, drv.precip], axis=0)
    ext_t = np.concatenate([t_hist, drv.tmean], axis=0)
    return (
        {
            "event": density >= p["action.threshold"],
            "density": density,
            "predators": predators,
            "generations": dd / p["development.k"],
            "weight": density / p["action.threshold"],
        },
        {
            "density": density[-1],
            "predators": predators[-1],
            "rain_history": ext_r[-9:],
            "rain_dropped": ext_r[-10],
            "tmean_history": ext_t[-9:],
        },
    )
