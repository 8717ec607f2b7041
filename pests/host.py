"""Host state for the pest models: which tissue each pest can attack, per plot and day.

The growth model (through the caller) may pass, as DataArrays with dims (time, plot) (or (time,)):

- ``fruit_age_d``: days since petal fall [d], NaN where the tree carries no fruit of the season;
- ``flush_age_d``: days since the current flush cohort emerged [d], NaN where there is none;
- ``flush_fraction`` [0–1]: the share of the canopy in young flush (the older interface);
- ``fruit_susceptible`` [0–1]: a ready-made fruit susceptibility for black spot (the older interface).

Each pest derives its own susceptibility (0–1) from the ages with its own window (science note decisions
§4–5, check-value 13):

- black spot: fruit from petal fall to ``black_spot.host.susceptible_days`` (150 d), weight 1 to
  ``host.full_days`` (90 d, the months of highest severity), 0.5 after (:func:`fruit_window`);
- canker: leaves 20–55 d after flush emergence (``canker.host.leaf_start_d`` / ``leaf_end_d``) and fruit
  35–80 d after petal fall (``host.fruit_start_d`` / ``fruit_end_d``), the larger of the two;
- leaf miner: young flush, 0–``leaf_miner.host.young_flush_d`` days after emergence (eggs on leaves 2–3 cm).

Where an age is not given, the default calendar of ``pests/parameters/host.toml`` gives it (flushes from the
listed start days, fruit from the petal-fall day; a calendar flush's weight scales its leaf windows). A
given ``flush_age_d`` is carried on past the end of the caller's series up to the longest leaf window
(:func:`carry_age`), and the leaf windows then use the ages alone; where ``flush_age_d`` is absent and
``flush_fraction`` is given, the fraction itself is the leaf host of canker and leaf miner (as before).
``fruit_susceptible``, when given without ``fruit_age_d``, is the black-spot host as is. The result says
which source was used in ``host_state_source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError

__all__ = [
    "HOST_VARIABLES",
    "calendar_flush_fraction",
    "calendar_flush_age",
    "calendar_fruit_age",
    "calendar_fruit_susceptible",
    "age_window",
    "carry_age",
    "fruit_window",
    "host_arrays",
    "pest_hosts",
]

_RAMP_DAYS = 7.0
#: Host variables a caller may pass, with their valid range.
HOST_VARIABLES = {
    "flush_fraction": (0.0, 1.0),
    "fruit_susceptible": (0.0, 1.0),
    "fruit_age_d": (0.0, 1000.0),
    "flush_age_d": (0.0, 1000.0),
}


def _doy(times) -> np.ndarray:
    """Day of the year on a non-leap calendar (29 February counts as 59)."""
    index = pd.DatetimeIndex(times)
    doy = index.day_of_year.values.astype(float)
    return np.where(index.is_leap_year & (index.month > 2), doy - 1, doy)


def calendar_flush_fraction(times, start_doy, end_doy, weights=None) -> np.ndarray:
    """Default flush fraction per day [0–1]: a trapezoid on each (start, end) window, 1-week ramps, scaled by
    the flush's weight (e.g. 0.3 for the summer shoots growers rub off; 1 when ``weights`` is None)."""
    doy = _doy(times)
    out = np.zeros(len(doy))
    weights = [1.0] * len(start_doy) if weights is None else weights
    for s, e, w in zip(start_doy, end_doy, weights, strict=True):
        up = np.clip((doy - s + 1) / _RAMP_DAYS, 0, 1)
        down = np.clip((e - doy + 1) / _RAMP_DAYS, 0, 1)
        out = np.maximum(out, w * np.where((doy >= s) & (doy <= e), np.minimum(up, down), 0.0))
    return out


def calendar_flush_age(times, start_doy, end_doy, keep_days=60.0) -> np.ndarray:
    """Default age of the current flush cohort [d]: days since the latest listed start day, NaN before the
    first start of the year and more than ``keep_days`` after that flush's end (the leaves have hardened)."""
    doy = _doy(times)
    out = np.full(len(doy), np.nan)
    for s, e in sorted(zip(start_doy, end_doy, strict=True)):
        inside = (doy >= s) & (doy <= e + keep_days)
        out = np.where(inside, doy - s, out)
    return out


def calendar_flush_weight(times, start_doy, end_doy, weights, keep_days=60.0) -> np.ndarray:
    """Weight of the current calendar flush cohort [0–1] over the days :func:`calendar_flush_age` counts."""
    doy = _doy(times)
    out = np.zeros(len(doy))
    for s, e, w in sorted(zip(start_doy, end_doy, weights, strict=True)):
        out = np.where((doy >= s) & (doy <= e + keep_days), w, out)
    return out


def calendar_fruit_age(times, petal_fall_doy) -> np.ndarray:
    """Default fruit age [d]: days since the petal-fall day of the year, NaN before it."""
    doy = _doy(times)
    return np.where(doy >= petal_fall_doy, doy - petal_fall_doy, np.nan)


def calendar_fruit_susceptible(times, petal_fall_doy, susceptible_days) -> np.ndarray:
    """Default fruit susceptibility per day [0–1]: 1 from petal fall for ``susceptible_days``, else 0."""
    doy = _doy(times)
    return ((doy >= petal_fall_doy) & (doy < petal_fall_doy + susceptible_days)).astype(float)


def carry_age(age_d, max_age_d):
    """Keep counting a cohort's age after the caller's series turns NaN, up to ``max_age_d`` [d].

    The growth model gives a flush cohort's age only while its shoots are young (30–45 d); the leaves stay
    susceptible to canker to 55 d after emergence, so the age is carried on (+1 per day) until the next
    cohort emerges or ``max_age_d`` is passed. ``age_d`` has time on the first axis.
    """
    a = np.array(age_d, float, copy=True)
    for d in range(1, a.shape[0]):
        nxt = a[d - 1] + 1.0
        a[d] = np.where(np.isnan(a[d]) & (nxt <= max_age_d), nxt, a[d])
    return a


def age_window(age_d, start_d, end_d):
    """1 where ``start_d <= age_d <= end_d``, else 0 (NaN age: 0) [1].

    Parameters
    ----------
    age_d : array-like
        Age of the tissue (days since flush emergence or petal fall) [d].
    start_d, end_d : float
        First and last day of the susceptible window [d].
    """
    a = np.asarray(age_d, float)
    with np.errstate(invalid="ignore"):
        return ((a >= start_d) & (a <= end_d)).astype(float)


def fruit_window(fruit_age_d, full_days, susceptible_days, late_weight=0.5):
    """Fruit susceptibility to black spot by age [0–1]: 1 from petal fall to ``full_days``, ``late_weight``
    from then to ``susceptible_days``, 0 after (and where there is no fruit, NaN age).

    Science note decisions §5: weight 1.0 for days 0–90, 0.5 to the end of the window (CBS: highest severity
    from infections 1–3 months after petal fall); the window length is black_spot ``host.susceptible_days``.
    """
    a = np.asarray(fruit_age_d, float)
    with np.errstate(invalid="ignore"):
        return np.where(
            (a >= 0) & (a <= full_days),
            1.0,
            np.where((a > full_days) & (a <= susceptible_days), late_weight, 0.0),
        )


def _given(host, name, times, plot_ids):
    """(values (time, plot) on ``times`` (NaN where not given), the given DataArray on its own days) of host
    variable ``name`` from the caller; (None, None) when the caller does not give it."""
    n_p = len(plot_ids)
    given = host.get(name) if hasattr(host, "get") else None
    if given is None:
        return None, None
    da = given if isinstance(given, xr.DataArray) else xr.DataArray(given)
    if "time" not in da.dims:
        raise InputError(f"host state {name} has no 'time' dimension; give it with dims (time, plot).")
    lo, hi = HOST_VARIABLES[name]
    vmin, vmax = float(da.min()), float(da.max())
    if vmin < lo or vmax > hi:
        what = "a fraction between 0 and 1" if hi == 1.0 else f"days between {lo:g} and {hi:g}"
        raise InputError(f"host state {name} has values from {vmin:g} to {vmax:g}; it must be {what}.")
    if "plot" in da.dims:
        da = da.reindex(plot=np.asarray(plot_ids)).transpose("time", "plot")
    full = da
    da = da.reindex(time=pd.DatetimeIndex(times).values)
    if "plot" in da.dims:
        values = da.values.astype(float)
    else:
        values = np.repeat(da.values.astype(float)[:, None], n_p, 1)
    return values, full


def _extend_age(values, given, times, calendar, n_p, new_cohorts):
    """Ages on the days after the caller's series ends: the last given age + the days since, and (where
    ``new_cohorts``) a calendar cohort that emerges after the series ends (the outlook's future days)."""
    t_given = pd.DatetimeIndex(given["time"].values)
    if len(t_given) == 0:
        return values
    last = t_given.max()
    after = pd.DatetimeIndex(times) > last
    if not after.any():
        return values
    last_val = given.sel(time=last).values.astype(float)
    last_val = np.broadcast_to(last_val if last_val.ndim else np.full(n_p, float(last_val)), (n_p,))
    elapsed = ((pd.DatetimeIndex(times)[after] - last) / pd.Timedelta(days=1)).values[:, None]
    carried = last_val[None, :] + elapsed
    cal = calendar[after]
    if new_cohorts:
        fresh = np.isfinite(cal) & (cal < elapsed)  # the calendar cohort emerged after the series ended
        future = np.where(fresh, cal, carried)
    else:
        future = np.where(np.isfinite(carried), carried, cal)
    out = values.copy()
    out[after] = future
    return out


def pest_hosts(times, plot_ids, host: xr.Dataset | dict | None, params: dict):
    """Susceptible host per pest, arrays (time, plot) [0–1], and a note on where each came from.

    Parameters
    ----------
    times : datetime64 array of the days
    plot_ids : array of plot ids
    host : xarray.Dataset or dict of DataArrays, optional
        Any of ``fruit_age_d``, ``flush_age_d`` [d] and ``flush_fraction``, ``fruit_susceptible`` [0–1] with
        dims (time, plot) (or (time,)).
    params : dict of ParameterSet
        ``host`` and whichever pests are present (``black_spot``, ``canker``, ``leaf_miner``).

    Returns
    -------
    (hosts, source) : dict with ``black_spot``, ``canker``, ``leaf_miner`` (pest host 0–1), and
    ``flush_fraction``, ``fruit_susceptible`` (the black-spot fruit host), ``flush_age_d``,
    ``fruit_age_d``; a text for ``host_state_source``.
    """
    times = pd.DatetimeIndex(times)
    n_p = len(plot_ids)
    hp = params["host"]
    host = host or {}
    for name in host:
        if name not in HOST_VARIABLES:
            if isinstance(host, xr.Dataset) and name in host.coords:
                continue
            raise InputError(
                f"unknown host state '{name}'; give any of {', '.join(HOST_VARIABLES)}."
            )
    starts, ends = hp["flush.start_doy"], hp["flush.end_doy"]

    def rep(a):
        return np.repeat(np.asarray(a, float)[:, None], n_p, 1)

    notes = []

    def take(name, calendar):
        values, given = _given(host, name, times, plot_ids)
        if values is None:
            notes.append(f"{name}: default calendar (pests/parameters/host.toml)")
            return calendar, False
        missing = np.isnan(values)
        if name in ("fruit_age_d", "flush_age_d"):
            # NaN means 'no fruit' / 'no flush' from the growth model: kept as NaN; after the series ends
            # (an outlook's future days) the ages go on, and calendar flushes that emerge later are added
            values = _extend_age(values, given, times, calendar, n_p, name == "flush_age_d")
            notes.append(f"{name}: growth model (given by the caller), carried on after its last day")
            return values, True
        if missing.all():
            notes.append(f"{name}: given but not covering these days; default calendar used")
        elif missing.any():
            n_days = int(missing.any(1).sum())
            notes.append(f"{name}: growth model where given, default calendar on {n_days} days")
        else:
            notes.append(f"{name}: growth model (given by the caller)")
        return np.where(missing, calendar, values), True

    flush_given = host.get("flush_fraction") is not None if hasattr(host, "get") else False
    flush_age_given = host.get("flush_age_d") is not None if hasattr(host, "get") else False
    fruit_age_given = host.get("fruit_age_d") is not None if hasattr(host, "get") else False
    weights = hp["flush.weight"] if "flush.weight" in hp.entries else None
    flush_cal = calendar_flush_fraction(times, starts, ends, weights)
    flush, _ = take("flush_fraction", rep(flush_cal))
    keep = float(hp["flush.age_keep_days"]) if "flush.age_keep_days" in hp.entries else 60.0
    if flush_age_given or not flush_given:
        flush_age, _ = take("flush_age_d", rep(calendar_flush_age(times, starts, ends, keep)))
    else:
        flush_age = None
        notes.append("flush_age_d: not given; the flush fraction is the leaf host")
    fruit_age, _ = take("fruit_age_d", rep(calendar_fruit_age(times, hp["fruit.petal_fall_doy"])))

    if flush_age_given:  # the growth model's age stops when the shoots harden: carry it to the longest window
        ends = [params[n][k] for n, k in (("canker", "host.leaf_end_d"), ("leaf_miner", "host.young_flush_d"))
                if params.get(n) is not None]
        if ends:
            flush_age = carry_age(flush_age, max(ends))
    out = {"flush_fraction": flush, "fruit_age_d": fruit_age}
    out["flush_age_d"] = flush_age if flush_age is not None else np.full((len(times), n_p), np.nan)
    # leaf host scale: the flush fraction where the caller gives it with the ages; on the calendar the
    # flush's weight (summer shoots 0.3), held over the whole age window
    if flush_given and flush_age is not None and not flush_age_given:
        leaf_scale = flush
    elif weights is not None and not flush_age_given:
        leaf_scale = rep(calendar_flush_weight(times, starts, ends, weights, keep))
    else:
        leaf_scale = 1.0

    cbs = params.get("black_spot")
    if cbs is not None:
        fruit = fruit_window(
            fruit_age, cbs["host.full_days"], cbs["host.susceptible_days"], cbs["host.late_weight"]
        )
    else:
        fruit = fruit_window(fruit_age, 90.0, 150.0)
    if hasattr(host, "get") and host.get("fruit_susceptible") is not None:
        if fruit_age_given:
            notes.append("fruit_susceptible: not used, the black-spot window is taken from fruit_age_d")
        else:
            fruit, _ = take("fruit_susceptible", fruit)
    out["fruit_susceptible"] = fruit
    out["black_spot"] = fruit

    ck = params.get("canker")
    if ck is not None:
        fruit_ck = age_window(fruit_age, ck["host.fruit_start_d"], ck["host.fruit_end_d"])
        if flush_age is None:
            leaf_ck = flush
        else:
            leaf_ck = age_window(flush_age, ck["host.leaf_start_d"], ck["host.leaf_end_d"]) * leaf_scale
        out["canker"] = np.maximum(leaf_ck, fruit_ck)
    lm = params.get("leaf_miner")
    if lm is not None:
        if flush_age is None:
            out["leaf_miner"] = flush
        else:
            out["leaf_miner"] = age_window(flush_age, 0.0, lm["host.young_flush_d"]) * leaf_scale
    return out, "; ".join(dict.fromkeys(notes))


def host_arrays(times, plot_ids, host: xr.Dataset | dict | None, host_params, cbs_params=None):
    """Flush fraction and black-spot fruit susceptibility arrays (time, plot) and a note on their source
    (the older interface; :func:`pest_hosts` gives every pest's host)."""
    params = {"host": host_params, "black_spot": cbs_params}
    out, source = pest_hosts(times, plot_ids, host, params)
    return out["flush_fraction"], out["fruit_susceptible"], source
