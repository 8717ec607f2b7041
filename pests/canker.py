"""Citrus canker (*Xanthomonas citri* subsp. *citri*): rain with warm temperature and wetness on susceptible
tissue (young leaves 20–55 d after flush emergence, fruit 35–80 d after petal fall), weighted by the plot's
exposure to wind-driven rain, by wind and by citrus leafminer damage.

``event = host_susceptible ∧ rain ≥ r_min ∧ T in [Tmin, Tmax] ∧ wetness ≥ w_min`` (science note pests §5.3);
``weight = host × exposure × (wind multiplier when the plot's wind ≥ threshold) × (1 + (CLM multiplier −
1)·CLM pressure)``. With hourly weather, rain and temperature are checked hour by hour (an hour with rain ≥
r_min/h at a temperature in range); with daily weather, the day's rain and the mean temperature of its wet
hours. ``exposure`` (:func:`wind_rain_exposure`) is what differs between plots of one district besides their
flush timing: how much wind-driven rain reaches the canopy on the plot's slope.
"""

from __future__ import annotations

import numpy as np

from .drivers import Drivers

MODEL = "pests.canker"


def wind_rain_exposure(slope_deg, aspect_deg, sky_view_factor, *, rain_wind_from_deg, windward_gain):
    """Relative exposure of a plot to wind-driven rain [1] (1: flat open ground).

    ``E = SVF · max(0.1, 1 + g · sin(slope) · cos(aspect − wind_from))``: wind-driven rain on a surface grows
    with the cosine of the angle between the rain-bearing wind and the surface normal (ISO 15927-3 wall
    factor; Straube & Burnett 2000 catch ratio, proportional to wind speed), so a slope facing the wind
    catches more and a lee slope less; the sky-view factor stands for shelter by the surrounding terrain
    (Winstral et al. 2002 Sx index: sheltered cells see less wind).

    Parameters
    ----------
    slope_deg, aspect_deg : array-like (plot)
        Mean slope [°] and the direction the slope faces, from north clockwise [°].
    sky_view_factor : array-like (plot) [0–1]
    rain_wind_from_deg : float
        Direction the rain-bearing wind blows from [° from north].
    windward_gain : float
        Gain g of the slope-facing term [1].

    Returns
    -------
    numpy.ndarray (plot) [1]; NaN terrain gives 1.
    """
    slope = np.radians(np.nan_to_num(np.asarray(slope_deg, float), nan=0.0))
    rel = np.radians(np.nan_to_num(np.asarray(aspect_deg, float), nan=0.0) - rain_wind_from_deg)
    svf = np.nan_to_num(np.asarray(sky_view_factor, float), nan=1.0)
    return svf * np.maximum(0.1, 1.0 + windward_gain * np.sin(slope) * np.cos(rel))


def plot_exposure(plots, plot_ids, p):
    """:func:`wind_rain_exposure` of the plots ``plot_ids`` from a PlotSet dataset, (plot,) [1], and a note.

    Plots without terrain (or no plot dataset) get 1."""
    n = len(plot_ids)
    need = ("slope_deg", "aspect_deg", "sky_view_factor")
    if plots is None or "plot" not in getattr(plots, "dims", {}) or not all(k in plots for k in need):
        return np.ones(n), "canker exposure: no plot terrain, 1 for every plot"
    sel = plots.reindex(plot=np.asarray(plot_ids))
    e = wind_rain_exposure(
        sel["slope_deg"].values,
        sel["aspect_deg"].values,
        sel["sky_view_factor"].values,
        rain_wind_from_deg=p["exposure.rain_wind_from_deg"],
        windward_gain=p["exposure.windward_gain"],
    )
    return e, "canker exposure: plot slope, aspect and sky-view factor"


def simulate(drv: Drivers, flush, p, clm_pressure=None, state=None, exposure=None):
    """Daily canker events.

    Parameters
    ----------
    drv : Drivers
    flush : array broadcastable to the drivers, canker host (young leaves or young fruit) [0–1]
    p : ParameterSet ``canker``
    clm_pressure : array like the drivers, optional, leafminer pressure on the flush [0–1]
    exposure : array broadcastable to the drivers, optional, plot exposure to wind-driven rain [1]

    Returns
    -------
    (outputs, state): ``event`` (bool), ``weight``, ``conducive`` (weather alone, bool); state is empty.
    """
    tmin, tmax = p["event.tmin"], p["event.tmax"]
    expo = 1.0 if exposure is None else np.broadcast_to(exposure, drv.shape)
    if drv.hourly is not None:
        n_d = drv.shape[0]
        shape = (n_d, 24) + drv.shape[1:]
        rain_h = drv.hourly["precip_mm"].reshape(shape) >= p["event.rain_min_hourly"]
        t_h = drv.hourly["t_c"].reshape(shape)
        warm_rain = rain_h & (t_h >= tmin) & (t_h <= tmax)
        rain_ok = warm_rain.any(axis=1)
        temp_ok = rain_ok
        wind_h = drv.hourly["wind_ms"].reshape(shape)
        if exposure is not None:
            wind_h = wind_h * np.asarray(expo)[:, None]
        windy = (warm_rain & (wind_h >= p["event.wind_threshold"])).any(axis=1)
    else:
        rain_ok = drv.precip >= p["event.rain_min_daily"]
        temp_ok = (drv.t_wet >= tmin) & (drv.t_wet <= tmax)
        windy = drv.wind * expo >= p["event.wind_threshold"]
    conducive = rain_ok & temp_ok & (drv.wet_hours >= p["event.wet_min"])
    host = np.broadcast_to(flush, drv.shape)
    event = conducive & (host >= p["host.flush_threshold"])
    clm = 0.0 if clm_pressure is None else np.clip(clm_pressure, 0, 1)
    weight = np.where(
        event,
        host
        * expo
        * np.where(windy, p["event.wind_multiplier"], 1.0)
        * (1.0 + (p["event.leafminer_multiplier"] - 1.0) * clm),
        0.0,
    )
    return {"event": event, "weight": weight, "conducive": conducive}, {}
