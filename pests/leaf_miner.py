"""Citrus leafminer (*Phyllocnistis citrella*): generations by degree-days above 10.4 °C (≈ 246 °C·d each),
which matter only while young flush is present and the temperature suits egg laying (science note pests §7).

An *event* is a generation completing (the running degree-day sum from the 1 January biofix crossing a
multiple of K) on a day with flush above the threshold and suitable temperature (f > 0); the daily pressure
``flush × suitability`` also feeds the canker model's leafminer multiplier.
"""

from __future__ import annotations

import numpy as np

from .black_spot import cumulative_with_reset
from .degree_days import degree_days
from .drivers import Drivers
from .infection import infection_temperature_response

MODEL = "pests.leaf_miner"
BIOFIX_DOY = 1


def simulate(drv: Drivers, flush, p, state=None):
    """Daily leafminer generations and pressure on the flush.

    ``state`` carries ``dd`` (degree-days since the biofix to the previous day).

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
    host = np.broadcast_to(flush, drv.shape)
    pressure = np.where(host >= p["host.flush_threshold"], host * suit, 0.0)
    generations = dd / p["development.k"]
    return (
        {
            "event": completed & (pressure > 0),
            "generations": generations,
            "pressure": pressure,
            "weight": generations * pressure,
        },
        {"dd": cum[-1]},
    )
