"""Citrus canker (*Xanthomonas citri* subsp. *citri*): rain with warm temperature and wetness on a
susceptible flush, weighted up by wind-driven rain and by citrus leafminer damage.

``event = flush_susceptible ∧ rain ≥ r_min ∧ T in [Tmin, Tmax] ∧ wetness ≥ w_min`` (science note pests §5.3);
weight = flush fraction × (wind multiplier when wind ≥ threshold) × (1 + (CLM multiplier − 1)·CLM pressure).
With hourly weather, rain and temperature are checked hour by hour (an hour with rain ≥ r_min/h at a
temperature in range); with daily weather, the day's rain and the mean temperature of its wet hours.
"""

from __future__ import annotations

import numpy as np

from .drivers import Drivers

MODEL = "pests.canker"


def simulate(drv: Drivers, flush, p, clm_pressure=None, state=None):
    """Daily canker events.

    Parameters
    ----------
    drv : Drivers
    flush : array broadcastable to the drivers, flush fraction [0–1]
    p : ParameterSet ``canker``
    clm_pressure : array like the drivers, optional, leafminer pressure on the flush [0–1]

    Returns
    -------
    (outputs, state): ``event`` (bool), ``weight``, ``conducive`` (weather alone, bool); state is empty.
    """
    tmin, tmax = p["event.tmin"], p["event.tmax"]
    if drv.hourly is not None:
        n_d = drv.shape[0]
        shape = (n_d, 24) + drv.shape[1:]
        rain_h = drv.hourly["precip_mm"].reshape(shape) >= p["event.rain_min_hourly"]
        t_h = drv.hourly["t_c"].reshape(shape)
        warm_rain = rain_h & (t_h >= tmin) & (t_h <= tmax)
        rain_ok = warm_rain.any(axis=1)
        temp_ok = rain_ok
        wind_h = drv.hourly["wind_ms"].reshape(shape)
        windy = (warm_rain & (wind_h >= p["event.wind_threshold"])).any(axis=1)
    else:
        rain_ok = drv.precip >= p["event.rain_min_daily"]
        temp_ok = (drv.t_wet >= tmin) & (drv.t_wet <= tmax)
        windy = drv.wind >= p["event.wind_threshold"]
    conducive = rain_ok & temp_ok & (drv.wet_hours >= p["event.wet_min"])
    host = np.broadcast_to(flush, drv.shape)
    event = conducive & (host >= p["host.flush_threshold"])
    clm = 0.0 if clm_pressure is None else np.clip(clm_pressure, 0, 1)
    weight = np.where(
        event,
        host
        * np.where(windy, p["event.wind_multiplier"], 1.0)
        * (1.0 + (p["event.leafminer_multiplier"] - 1.0) * clm),
        0.0,
    )
    return {"event": event, "weight": weight, "conducive": conducive}, {}
