"""Citrus black spot (*Phyllosticta citricarpa*): inoculum × infection × fruit susceptibility.

``risk_day = host_window × inoculum × infection`` (science note pests §4.4): infection events from the
Magarey model with the CBS parameters (hourly cohorts when hourly weather is given, else the daily form);
inoculum from the Fourie et al. (2013) temperature-only onset model on DDtemp from the 1 January biofix,
floored by a pycnidiospore level for the late-ripening belt; host = fruit susceptibility (growth model or
the petal-fall calendar). An *event* is an infection event on a day the fruit is susceptible.
"""

from __future__ import annotations

import numpy as np

from .drivers import Drivers
from .infection import daily_from_hourly_events, infection_events_daily, infection_events_hourly

MODEL = "pests.black_spot"


def ascospore_onset(dd_temp, intercept, slope):
    """Probability that ascospore release has begun, Fourie et al. 2013 (Phytopathology 103(1)) [0–1]:
    ``exp(−exp(−(a + b·DDtemp)))`` with DDtemp [°C·d] above 10 °C from the biofix."""
    return np.exp(-np.exp(-(intercept + slope * np.asarray(dd_temp, float))))


def cumulative_with_reset(daily, doy, reset_doy, start=None):
    """Running sum along the first axis that restarts on day-of-year ``reset_doy`` (the biofix)."""
    total = (
        np.zeros(daily.shape[1:], daily.dtype)
        if start is None
        else np.array(np.broadcast_to(start, daily.shape[1:]), daily.dtype)
    )
    resets = np.flatnonzero(np.asarray(doy) == reset_doy)
    if resets.size == 0:  # the common case in an outlook window: a plain running sum
        return np.cumsum(daily, axis=0) + total
    out = np.empty(daily.shape, daily.dtype)
    for d in range(daily.shape[0]):
        if doy[d] == reset_doy:
            total = np.zeros_like(total)
        total = total + daily[d]
        out[d] = total
    return out


def simulate(drv: Drivers, fruit, p, state=None):
    """Daily CBS events for the drivers' days.

    Parameters
    ----------
    drv : Drivers (days, plot[, member])
    fruit : array broadcastable to the drivers, fruit susceptibility [0–1]
    p : ParameterSet ``black_spot``
    state : dict, optional — ``dd_temp`` and ``carry`` from a previous call (the days before).

    Returns
    -------
    (outputs, state) : dict of daily arrays ``event`` (bool), ``weight``, ``infection`` (bool, before host
    gating), ``inoculum``; and the state after the last day.
    """
    state = state or {}
    dd = np.maximum(0.0, drv.tmean - p["inoculum.base_temperature"])
    dd_cum = cumulative_with_reset(dd, drv.doy, int(p["inoculum.biofix_doy"]), state.get("dd_temp"))
    onset = ascospore_onset(dd_cum, p["inoculum.onset_intercept"], p["inoculum.onset_slope"])
    inoculum = np.maximum(onset, p["inoculum.pycnidiospore_level"])
    cardinal = dict(
        tmin=p["infection.tmin"],
        topt=p["infection.topt"],
        tmax=p["infection.tmax"],
        wmin=p["infection.wmin"],
        wmax=p["infection.wmax"],
        d50=p["infection.d50"],
    )
    if drv.hourly is not None:
        ev_h, wt_h = infection_events_hourly(drv.hourly["wet"], drv.hourly["t_c"], **cardinal)
        n_ev, f = daily_from_hourly_events(ev_h, wt_h)
        infection = n_ev > 0
        f = np.where(infection, f / np.maximum(n_ev, 1), 0.0)  # mean f of the day's events
        carry = state.get("carry")
    else:
        infection, f, carry = infection_events_daily(
            drv.wet_hours, drv.t_wet, carry_in=state.get("carry"), **cardinal
        )
    host = np.broadcast_to(fruit, drv.shape)
    event = infection & (host >= p["host.susceptible_threshold"])
    weight = np.where(event, f * host * inoculum, 0.0)
    return (
        {"event": event, "weight": weight, "infection": infection, "inoculum": inoculum},
        {"dd_temp": dd_cum[-1], "carry": carry},
    )
