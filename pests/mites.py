"""Citrus red mite (*Panonychus citri*): temperature-driven growth, hot-dry favouring, heavy-rain and heat
crashes, generations by degree-days, and the action threshold in mites per leaf (science note pests §6).

``N(t+1) = N(t) · exp(rm(T̄)·boost_dry·(1 − N/cap) − m) · S_rain · S_heat`` (m: background mortality by
predators and weather, so that cool weather brings a decline); an *event* is a day on which the
modelled density is at or above the action threshold; generations are degree-days above 8.2 °C / 217.
"""

from __future__ import annotations

import numpy as np

from .degree_days import degree_days
from .drivers import Drivers
from .population import heat_suppression, mite_growth_rate, mite_population, rain_suppression, rolling_sum

MODEL = "pests.mites"


def simulate(drv: Drivers, p, state=None):
    """Daily mite density, generations and threshold exceedance.

    ``state`` carries ``density`` (mites per leaf at the end of the previous day) and ``rain_history``
    (the previous 9 days' rain). Without a density the population starts at ``growth.initial`` and is reset
    to it on the biofix day (1 January), when the overwintering population is assumed.

    Returns
    -------
    (outputs, state): ``event`` (density ≥ threshold, bool), ``density`` [mites/leaf], ``generations``
    (daily degree-days / K), ``weight`` (density / threshold).
    """
    state = state or {}
    dry = np.where(drv.rh_mean < p["growth.dry_rh"], p["growth.dry_boost"], 1.0)
    rm = (
        mite_growth_rate(
            drv.tmean, p["development.t0"], p["growth.topt"], p["growth.tmax"], p["growth.rm_opt"]
        )
        * dry
    )
    history = state.get("rain_history")
    rain10 = rolling_sum(drv.precip, 10, history)
    prev10 = None if history is None else np.sum(history, axis=0) + state.get("rain_dropped", 0.0)
    survival = rain_suppression(
        rain10, p["suppression.rain_10d"], p["suppression.rain_factor"], prev10
    ) * heat_suppression(drv.tmax, p["suppression.heat_tmax"], p["suppression.heat_factor"])
    n0 = state.get("density", p["growth.initial"])
    # reset to the overwintering density on the biofix day
    reset = np.flatnonzero(drv.doy == int(p["growth.biofix_doy"]))
    density = np.empty(drv.shape)
    start, n = 0, n0
    for stop in list(reset) + [drv.shape[0]]:
        if stop > start:
            density[start:stop] = np.maximum(
                mite_population(
                    n, rm[start:stop], survival[start:stop], p["growth.cap"], p["growth.mortality"]
                ),
                p["growth.floor"],
            )
            n = density[stop - 1]
        if stop < drv.shape[0]:
            n = p["growth.initial"]
        start = stop
    dd = degree_days(drv.tmin, drv.tmax, p["development.t0"], p["development.upper"], "single_sine")
    ext = np.concatenate(
        [
            np.asarray(state.get("rain_history", np.zeros((9,) + drv.shape[1:])))
            * np.ones((1,) + drv.shape[1:]),
            drv.precip,
        ],
        axis=0,
    )
    history, dropped = ext[-9:], ext[-10]
    return (
        {
            "event": density >= p["action.threshold"],
            "density": density,
            "generations": dd / p["development.k"],
            "weight": density / p["action.threshold"],
        },
        {"density": density[-1], "rain_history": history, "rain_dropped": dropped},
    )
