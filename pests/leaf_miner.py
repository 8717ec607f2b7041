"""Citrus leafminer (*Phyllocnistis citrella*): generations by degree-days above 10.4 °C (≈ 246 °C·d each),
which matter only while young flush is present, the temperature suits egg laying and the moth population
has built up from its small overwintering level (science note pests §7, decisions §4.3).

``pressure = young flush × suitability(T̄) × build-up(G)``, G the generations since the 1 January biofix and
``build-up(G) = 1 / (1 + exp(−(G − G½)/s))``: the spring flush is basically unattacked (few moths), the
summer and autumn flushes carry the damage. An *event* is a generation completing (the running degree-day
sum crossing a multiple of K) on a day with pressure ≥ ``event.min_pressure``; the daily pressure also feeds
the canker model's leafminer multiplier.
"""

from __future__ import annotations

import numpy as np

from .black_spot import cumulative_with_reset
from .degree_days import degree_days
from .drivers import Drivers
from .infection import infection_temperature_response

MODEL = "pests.leaf_miner"
BIOFIX_DOY = 1


def moth_buildup(generations_since_biofix, half_generations, spread_generations):
    """Relative moth population [0–1] after a small overwintering population: a logistic in the generations
    completed since the biofix, ½ at ``half_generations``.

    Parameters
    ----------
    generations_since_biofix : array-like [1]
    half_generations, spread_generations : float [1]

    References
    ----------
    Science note decisions §4.3: spring flush basically unattacked, pressure rising from early June and worst
    on the summer/autumn flush in Jul–Aug [C4]; Florida: spring-flush CLM nearly undetectable [C10].
    """
    g = np.asarray(generations_since_biofix, float)
    return 1.0 / (1.0 + np.exp(-(g - half_generations) / spread_generations))


def simulate(drv: Drivers, flush, p, state=None):
    """Daily leafminer generations and pressure on the flush.

    ``flush`` is the leaf-miner host (young flush, 0–1); ``state`` carries ``dd`` (degree-days since the
    biofix to the previous day).

    Returns
    -------
    (outputs, state): ``event`` (bool), ``generations`` (daily DD / K), ``pressure`` [0–1],
    ``weight`` (generations × pressure).
    """
    state = state or {}
    dd = degree_days(drv.tmin, drv.tmax, p["development.t0"], p["development.upper"], "single_sine")
    prev = np.broadcast_to(np.asarray(state.get("dd", 0.0), float), drv.shape[1:])
    cum = cumulative_with_reset(dd, drv.doy, BIOFIX_DOY, prev)
    before = np.concatenate([prev[None], cum[:-1]], axis=0)
    before = np.where((drv.doy == BIOFIX_DOY).reshape((-1,) + (1,) * (dd.ndim - 1)), 0.0, before)
    completed = np.floor(cum / p["development.k"]) > np.floor(before / p["development.k"])
    suit = np.nan_to_num(
        infection_temperature_response(
            drv.tmean, p["suitability.tmin"], p["suitability.topt"], p["suitability.tmax"]
        )
    )
    buildup = moth_buildup(
        cum / p["development.k"], p["population.half_generations"], p["population.spread_generations"]
    )
    host = np.broadcast_to(flush, drv.shape)
    pressure = np.where(host >= p["host.flush_threshold"], host * suit * buildup, 0.0)
    generations = dd / p["development.k"]
    return (
        {
            "event": completed & (pressure >= p["event.min_pressure"]),
            "generations": generations,
            "pressure": pressure,
            "weight": generations * pressure,
        },
        {"dd": cum[-1]},
    )
