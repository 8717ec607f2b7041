"""Magarey et al. (2005) generic infection model for foliar pathogens: temperature response, required
wetness, and infection events from hourly or daily wetness.

Magarey, Sutton & Thayer 2005, "A simple generic infection model for foliar fungal plant pathogens",
*Phytopathology* 95:92–100:

- ``f(T) = ((Tmax − T)/(Tmax − Topt)) · ((T − Tmin)/(Topt − Tmin))^((Topt − Tmin)/(Tmax − Topt))`` inside
  (Tmin, Tmax), 0 outside; f(Topt) = 1;
- required wetness ``W(T) = Wmin / f(T)``, possible only while W(T) ≤ Wmax;
- wet periods separated by a dry spell shorter than D50 count as one.

The hourly cohort form follows Bregaglio et al. (2012) as documented for the BioMA "DiseaseProgress"
component: each wet hour with T in (Tmin, Tmax) starts a cohort that accumulates wet hours and tracks their
mean temperature; a cohort dies when its dry run exceeds D50 or its wetness exceeds Wmax; it fires (an
infection event) when its wetness reaches W(T̄). At most 24 events a day.
"""

from __future__ import annotations

import numpy as np

from orchard.errors import InputError, ParameterError

__all__ = [
    "infection_temperature_response",
    "required_wetness_hours",
    "infection_events_hourly",
    "infection_events_daily",
    "check_cardinal_temperatures",
]


def check_cardinal_temperatures(tmin, topt, tmax, where="infection parameters"):
    """Raise ParameterError unless Tmin < Topt < Tmax."""
    if not (np.all(np.asarray(tmin) < np.asarray(topt)) and np.all(np.asarray(topt) < np.asarray(tmax))):
        raise ParameterError(
            f"{where}: cardinal temperatures must satisfy Tmin < Topt < Tmax, got "
            f"{tmin}, {topt}, {tmax} °C; correct the parameter table."
        )


def infection_temperature_response(t_c, tmin, topt, tmax):
    """Magarey temperature response f(T) of infection [0–1].

    Parameters
    ----------
    t_c : array-like
        Temperature [°C] (mean temperature of the wet period).
    tmin, topt, tmax : float or array-like
        Minimum, optimum and maximum temperature for infection [°C], Tmin < Topt < Tmax.

    Returns
    -------
    array [1]: 1 at Topt, 0 at and outside (Tmin, Tmax), NaN where ``t_c`` is NaN.
    """
    check_cardinal_temperatures(tmin, topt, tmax)
    t = np.asarray(t_c, float)
    exponent = (np.asarray(topt, float) - tmin) / (np.asarray(tmax, float) - topt)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = (t > tmin) & (t < tmax)
        # outside (Tmin, Tmax) the power may be NaN; those values are replaced by 0 here
        f = np.where(inside, ((tmax - t) / (tmax - topt)) * ((t - tmin) / (topt - tmin)) ** exponent, 0.0)
    f = np.clip(f, 0.0, 1.0, out=f)
    np.copyto(f, np.nan, where=np.isnan(t))
    return f


def required_wetness_hours(t_c, wmin, wmax, tmin, topt, tmax):
    """Wetness duration needed for infection at temperature ``t_c`` [h]: W = Wmin / f(T).

    Parameters
    ----------
    t_c : array-like [°C]
    wmin, wmax : float
        Minimum wetness at Topt and maximum wetness beyond which infection cannot happen [h].
    tmin, topt, tmax : float [°C]

    Returns
    -------
    array [h]: Wmin at Topt, rising towards Tmin and Tmax; ``inf`` where infection is impossible (T outside
    (Tmin, Tmax) or W > Wmax); NaN where ``t_c`` is NaN.
    """
    if not 0 < wmin <= wmax:
        raise ParameterError(
            f"infection parameters: need 0 < Wmin <= Wmax, got Wmin {wmin} h, Wmax {wmax} h."
        )
    f = infection_temperature_response(t_c, tmin, topt, tmax)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(f > 0, wmin / np.where(f > 0, f, 1.0), np.inf)
    w = np.where(w > wmax, np.inf, w)
    return np.where(np.isnan(f), np.nan, w)


def infection_events_hourly(wet, t_c, *, tmin, topt, tmax, wmin, wmax, d50, max_cohorts=None):
    """Hourly infection events by cohort tracking (Magarey 2005; Bregaglio et al. 2012).

    Parameters
    ----------
    wet : bool array (hours, ...)
        Leaf wetness per hour; the first axis is time (consecutive hours, no gaps).
    t_c : array (hours, ...)
        Air temperature [°C].
    tmin, topt, tmax : float [°C]; wmin, wmax : float [h]
    d50 : float [h]
        Dry interruption a cohort survives (a dry run longer than this ends it).
    max_cohorts : int, optional
        Cohorts tracked at once per column (a ring buffer; default enough for the longest possible life,
        Wmax wet hours separated by dry spells of D50 hours).

    Returns
    -------
    (events, weight) : arrays (hours, ...)
        Number of cohorts completing infection in each hour, and the sum of their f(T̄) (a severity weight).
    """
    wet = np.asarray(wet, bool)
    t = np.asarray(t_c, float)
    if wet.shape != t.shape:
        raise InputError(f"wetness has shape {wet.shape} but temperature {t.shape}; give both per hour.")
    check_cardinal_temperatures(tmin, topt, tmax)
    n_h = wet.shape[0]
    rest = wet.shape[1:]
    cols = int(np.prod(rest)) if rest else 1
    wet2 = wet.reshape(n_h, cols)
    t2 = t.reshape(n_h, cols)
    if max_cohorts is None:
        max_cohorts = int(min(512, np.ceil(wmax * (d50 + 1) + d50) + 1))
    k = max_cohorts
    wsum = np.zeros((cols, k))
    tsum = np.zeros((cols, k))
    dry = np.zeros((cols, k))
    alive = np.zeros((cols, k), bool)
    events = np.zeros((n_h, cols), np.int16)
    weight = np.zeros((n_h, cols))
    exponent = (topt - tmin) / (tmax - topt)
    for h in range(n_h):
        w_h = wet2[h]
        t_h = t2[h]
        valid_t = (t_h > tmin) & (t_h < tmax)
        # start a cohort in this hour's slot (the oldest slot is reused)
        slot = h % k
        start = w_h & valid_t
        alive[:, slot] = start
        wsum[:, slot] = 0.0
        tsum[:, slot] = 0.0
        dry[:, slot] = 0.0
        wet_now = (w_h & ~np.isnan(t_h))[:, None] & alive
        wsum += wet_now
        tsum += np.where(wet_now, np.nan_to_num(t_h)[:, None], 0.0)
        dry = np.where(wet_now, 0.0, dry + alive)
        alive &= dry <= d50
        with np.errstate(invalid="ignore", divide="ignore"):
            tbar = tsum / np.where(wsum > 0, wsum, 1.0)
            inside = (tbar > tmin) & (tbar < tmax)
            f = np.where(
                inside,
                ((tmax - tbar) / (tmax - topt)) * np.clip((tbar - tmin) / (topt - tmin), 0, None) ** exponent,
                0.0,
            )
            need = np.where(f > 0, wmin / np.where(f > 0, f, 1.0), np.inf)
        fire = alive & (wsum >= need) & (need <= wmax)
        events[h] = fire.sum(axis=1)
        weight[h] = np.where(fire, f, 0.0).sum(axis=1)
        alive &= ~fire & (wsum <= wmax)
    return events.reshape((n_h,) + rest), weight.reshape((n_h,) + rest)


def daily_from_hourly_events(events, weight, hours_per_day=24, max_per_day=24):
    """Daily event counts (capped at ``max_per_day``) and weights from hourly ones (first axis hours)."""
    n_h = events.shape[0]
    n_d = n_h // hours_per_day
    ev = events[: n_d * hours_per_day].reshape((n_d, hours_per_day) + events.shape[1:]).sum(axis=1)
    wt = weight[: n_d * hours_per_day].reshape((n_d, hours_per_day) + weight.shape[1:]).sum(axis=1)
    scale = np.where(ev > max_per_day, max_per_day / np.maximum(ev, 1), 1.0)
    return np.minimum(ev, max_per_day), wt * scale


def infection_events_daily(wet_hours, t_wet_c, *, tmin, topt, tmax, wmin, wmax, d50, carry_in=None):
    """Daily infection events from daily wet hours (Magarey 2005, daily form) [bool], with wetness carried
    over between days that are wet up to midnight.

    A day whose dry time (24 − wet hours) is at most D50 passes its accumulated wetness on to the next day
    (the wet period is not interrupted); otherwise the next day starts afresh. An event occurs when the
    accumulated wetness reaches W(T̄) of its (wetness-weighted) mean temperature; the accumulation restarts
    after an event.

    Parameters
    ----------
    wet_hours : array (days, ...) [h]
    t_wet_c : array (days, ...) [°C], mean temperature of the wet hours
    tmin, topt, tmax : float [°C]; wmin, wmax, d50 : float [h]
    carry_in : tuple (wet_hours, temperature_sum) of arrays (...), optional
        Wetness carried in from the day before the first day.

    Returns
    -------
    (event, weight, carry_out) : bool array (days, ...), f(T̄) of firing days (0 otherwise), and the carry
    state after the last day.
    """
    wh = np.nan_to_num(np.asarray(wet_hours, float), nan=0.0)
    tw = np.nan_to_num(np.asarray(t_wet_c, float))  # a NaN temperature adds nothing (once, not per day)
    check_cardinal_temperatures(tmin, topt, tmax)
    n_d = wh.shape[0]
    acc = np.zeros(wh.shape[1:]) if carry_in is None else np.array(carry_in[0], float, copy=True)
    tacc = np.zeros(wh.shape[1:]) if carry_in is None else np.array(carry_in[1], float, copy=True)
    event = np.zeros(wh.shape, bool)
    weight = np.zeros(wh.shape)
    exponent = (topt - tmin) / (tmax - topt)
    for d in range(n_d):
        w = wh[d]
        acc = acc + w
        tacc = tacc + w * tw[d]
        with np.errstate(invalid="ignore", divide="ignore"):
            tbar = tacc / np.where(acc > 0, acc, 1.0)
            inside = (tbar > tmin) & (tbar < tmax) & (acc > 0)
            f = np.where(
                inside,
                ((tmax - tbar) / (tmax - topt)) * np.clip((tbar - tmin) / (topt - tmin), 0, None) ** exponent,
                0.0,
            )
            need = np.where(f > 0, wmin / np.where(f > 0, f, 1.0), np.inf)
        fire = (acc >= need) & (need <= wmax)
        event[d] = fire
        weight[d] = np.where(fire, f, 0.0)
        keep = (24.0 - w <= d50) & ~fire & (acc <= wmax)
        acc = np.where(keep, acc, 0.0)
        tacc = np.where(keep, tacc, 0.0)
    return event, weight, (acc, tacc)
