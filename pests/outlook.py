"""Pest outlooks at 15 days, 1 month and 3 months, per plot and pest, from weather members.

For an issue date D the models first run on the observed weather from the 1 January biofix to D (the state:
degree-day sums, mite density, wet-period carry). Then they run forward on weather *members*, each a
possible weather for the days after D:

- **15 days**: the forecast members when a forecast is given (days it does not cover come from past years);
  otherwise the climatology members below;
- **1 and 3 months**: every other year of the weather record (the same calendar days, most recent first, at
  most ``climatology.max_years``) as one member each, with the forecast (member m mod the number of
  forecast members) laid over the first days, or a seasonal ensemble when given (then past years fill the
  days it does not cover).

Per plot, pest and horizon the outlook gives:

- ``probability``: the fraction of members with at least one *event* in the horizon: an infection event on
  a susceptible host (black spot, canker), a leafminer generation completing on flush, or the modelled mite
  density reaching the action threshold;
- ``expected_events``: the member mean of the number of event days (mites: of new generations, degree-days
  / 217);
- ``risk_score`` 0–100: ``100·(w·P + (1 − w)·(1 − 2^(−I)))``, I the expected weighted count divided by the
  pest's reference count for the horizon length (mites: expected peak density / action threshold);
- ``level`` 1–5 (1 轻 light, 2 偏轻 fairly light, 3 中等 moderate, 4 偏重 fairly heavy, 5 大发生 outbreak) by
  the score bounds ``level.<pest>_<horizon>`` in ``pests/parameters/outlook.toml``, percentiles of the
  model's own weekly scores on the sample district (:mod:`pests.calibrate_classes`; ``level.bounds``
  20/40/60/80 where a pest and horizon has none);
- ``reason``: one English line with the numbers; ``reason_key`` + ``reason_args`` (JSON) for translation;
- ``events_p10`` / ``events_p90``: spread of the members' event-day counts;
- ``cumulative_probability`` (plot, pest, lead_day): fraction of 15-day members with an event by that day;
- ``expected_severity_daily`` (plot, pest, lead_day) [1]: the member mean of event × weight on each lead day,
  the expected severity (events × susceptibility) that day;
- ``days_since_event`` (plot, pest) [d]: since the last event on observed weather.

Everything is vectorised over plots and members (arrays (day, plot, member)); plots are processed in chunks
so memory stays bounded, optionally on several threads.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr

from orchard import weather as ow
from orchard.errors import InputError

from .drivers import Drivers, drivers_from_daily, drivers_from_hourly
from .model import MODEL_VERSION, host_inputs, parameter_set_label, simulate_all
from .paramsets import PEST_LABELS, check_pests, load_all

__all__ = ["HORIZONS", "LEVEL_NAMES", "outlook", "risk_calendar", "score", "level_of", "pest_bounds"]

HORIZONS = ("15d", "1m", "3m")
LEVEL_NAMES = {1: "轻", 2: "偏轻", 3: "中等", 4: "偏重", 5: "大发生"}
LEVEL_NAMES_EN = {1: "light", 2: "fairly light", 3: "moderate", 4: "fairly heavy", 5: "outbreak"}
_DAILY_VARS = ("tmin_c", "tmax_c", "tmean_c", "rh_mean_pct", "precip_mm", "wind_ms")
_DRIVER_FIELDS = ("tmin", "tmax", "tmean", "rh_mean", "precip", "wind", "wet_hours", "t_wet")
_EVENT_WORD = {
    "black_spot": ("infection event", "infection events"),
    "canker": ("infection event", "infection events"),
    "leaf_miner": ("generation on flush", "generations on flush"),
}


def score(probability, intensity, probability_weight=0.5):
    """Risk score 0–100 from a probability [0–1] and an intensity (expected count / reference) [≥ 0]."""
    intensity = np.maximum(np.asarray(intensity, float), 0.0)
    return 100.0 * (
        probability_weight * np.asarray(probability, float)
        + (1.0 - probability_weight) * (1.0 - np.power(2.0, -intensity))
    )


def pest_bounds(outlook_params, pest: str, horizon: str = "15d") -> list:
    """Score bounds of levels 2–5 for ``pest`` at ``horizon``: ``level.<pest>_<horizon>`` of the outlook set
    (calibrated on the model's own scores, ``pests/calibrate_classes.py``), else the common
    ``level.bounds``."""
    key = f"level.{pest}_{horizon}"
    if key in outlook_params.entries:
        return [float(b) for b in outlook_params[key]]
    return [float(b) for b in outlook_params["level.bounds"]]


def level_of(risk_score, bounds):
    """Level 1–5 of a score: 1 below bounds[0], …, 5 from bounds[3] on."""
    return (
        np.searchsorted(np.asarray(bounds, float), np.asarray(risk_score, float), side="right") + 1
    ).astype(np.int8)


# ----------------------------------------------------------------------------------------------------------
# Weather members
# ----------------------------------------------------------------------------------------------------------
def _as_daily(weather: xr.Dataset) -> xr.Dataset:
    if weather.attrs.get("resolution") == "hourly":
        return ow.daily_from_hourly(weather)
    return weather


def _shift_year(day: pd.Timestamp, year: int) -> pd.Timestamp:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def _analog_members(times, issue: pd.Timestamp, n_days: int, max_years: int):
    """(year, indices of the n_days after the issue date in that year) for each usable other year."""
    index = pd.DatetimeIndex(times)
    members = []
    for year in sorted(set(index.year) - {issue.year}, reverse=True):
        start = _shift_year(issue, year) + pd.Timedelta(days=1)
        idx = index.get_indexer(pd.date_range(start, periods=n_days, freq="D"))
        if (idx >= 0).all():
            members.append((year, idx))
    return members[:max_years]


def _calendar_mean(values: np.ndarray, times, target_times) -> np.ndarray:
    """Mean over the record of each target day's calendar day (leap-aligned), ignoring NaN; (target, ...)."""
    doy = ow.leap_day_of_year(times) - 1
    valid = ~np.isnan(values)
    sums = np.zeros((366,) + values.shape[1:])
    counts = np.zeros((366,) + values.shape[1:])
    np.add.at(sums, doy, np.where(valid, values, 0.0))
    np.add.at(counts, doy, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts
    return mean[ow.leap_day_of_year(target_times) - 1]


def _daily_arrays(ds: xr.Dataset, plot_ids) -> dict:
    out = {}
    for name in _DAILY_VARS:
        if name in ds:
            da = ds[name]
            if "plot" in da.dims and plot_ids is not None:
                da = da.sel(plot=plot_ids)
            out[name] = da.transpose("time", "plot", ...).values
    return out


def _member_arrays(all_arrays: dict, index: np.ndarray, plots, pick=None) -> dict:
    """Daily variables (day, plot, member) of the plots ``plots`` on the record days ``index`` (day, member).

    NaN values are filled by the mean of the other members first, then members are repeated by ``pick``
    (so a repeated member does not count twice in that mean). Each chunk of plots gathers its own members:
    the copying then runs in the worker threads instead of one large serial stack over all plots.
    """
    arrays = {name: a[:, plots][index].transpose(0, 2, 1).copy() for name, a in all_arrays.items()}
    arrays = _fill_nan_member_mean(arrays)
    if pick is not None:
        arrays = {name: a[..., pick] for name, a in arrays.items()}
    return arrays


def _fill_nan_member_mean(arrays: dict) -> dict:
    """Fill NaN (day, plot, member) values by the mean of the other members (cheap climatology)."""
    for name, a in arrays.items():
        missing = np.isnan(a)
        if missing.any():
            # days with no member at all stay NaN; they are kept out of nanmean so that it does not warn
            # (this runs in the worker threads, where warning filters cannot be changed safely)
            none = missing.all(axis=-1, keepdims=True)
            m = np.nanmean(np.where(none, 0.0, a), axis=-1, keepdims=True)
            m[none] = np.nan
            arrays[name] = np.where(missing, m, a)
    return arrays


def _drivers_from_arrays(times, arrays: dict, params, dtype=np.float64) -> Drivers:
    """Drivers from (day, plot[, member]) arrays of the daily variables."""
    dims = ("time", "plot") + (("member",) if arrays["tmin_c"].ndim == 3 else ())
    ds = xr.Dataset({k: (dims, v) for k, v in arrays.items()}, coords={"time": times})
    ds.attrs["resolution"] = "daily"
    o = params["outlook"]
    return drivers_from_daily(
        ds,
        rh_threshold=o["wetness.rh_threshold"],
        rain_intensity_mm_h=o["wetness.rain_intensity"],
        where="weather members",
        dtype=dtype,
    )


def _forecast_drivers(forecast: xr.Dataset, plot_ids, issue, n_days, params):
    """Forecast drivers (day, plot, member) for the days after the issue date, and the member labels."""
    if "plot" not in forecast.dims:
        raise InputError(
            "the forecast has no 'plot' dimension; move it to the plots first "
            "(orchard.forecast.forecast_for_plots)."
        )
    missing = sorted(set(map(str, plot_ids)) - set(map(str, forecast["plot"].values)))
    if missing:
        raise InputError(f"the forecast has no data for plot {missing[0]}; fetch it for every plot.")
    fc = forecast.sel(plot=plot_ids)
    if "member" not in fc.dims:
        fc = fc.expand_dims(member=[0], axis=-1)
    hourly = fc.attrs.get("resolution") == "hourly"
    start = issue + pd.Timedelta(days=1)
    end = issue + pd.Timedelta(days=n_days) + (pd.Timedelta(hours=23) if hourly else pd.Timedelta(0))
    fc = fc.sel(time=slice(start, end))
    if fc.sizes["time"] == 0:
        raise InputError(
            f"the forecast has no days after the issue date {issue:%Y-%m-%d}; fetch a current "
            "forecast or change the date."
        )
    o = params["outlook"]
    fc = fc.transpose("time", "plot", "member")
    if hourly:
        n_h = (fc.sizes["time"] // 24) * 24
        if pd.Timestamp(fc["time"].values[0]).hour != 0 or n_h == 0:
            raise InputError("the hourly forecast must start at 00:00 of the day after the issue date.")
        drv = drivers_from_hourly(
            fc.isel(time=slice(0, n_h)), rh_threshold=o["wetness.rh_threshold"], where="forecast"
        )
        drv.hourly = None  # the hourly detail enters through the day's wet hours and their temperature
    else:
        drv = drivers_from_daily(
            fc,
            rh_threshold=o["wetness.rh_threshold"],
            rain_intensity_mm_h=o["wetness.rain_intensity"],
            where="forecast",
        )
    labels = [f"{forecast.attrs.get('source', 'forecast')}, member {int(m)}" for m in fc["member"].values]
    return drv, labels


def _overlay(base: Drivers, top: Drivers, issue) -> Drivers:
    """Replace the first days of ``base`` (day, plot, M) by ``top`` (day', plot, F); member m takes m % F."""
    n = min(top.shape[0], base.shape[0])
    first = int((pd.Timestamp(top.times[0]) - issue) / pd.Timedelta(days=1)) - 1
    if first != 0:
        raise InputError(
            f"the forecast starts {pd.Timestamp(top.times[0]):%Y-%m-%d}, not the day after the issue "
            f"date {issue:%Y-%m-%d}; fetch it again."
        )
    pick = np.arange(base.shape[2]) % top.shape[2]
    for name in _DRIVER_FIELDS:
        arr = getattr(base, name).copy()
        arr[:n] = getattr(top, name)[:n][:, :, pick]
        setattr(base, name, arr)
    base.notes.extend(top.notes)
    return base


# ----------------------------------------------------------------------------------------------------------
# The outlook
# ----------------------------------------------------------------------------------------------------------
def _expand_state(state, n_member):
    if isinstance(state, dict):
        return {k: _expand_state(v, n_member) for k, v in state.items()}
    if isinstance(state, tuple):
        return tuple(_expand_state(v, n_member) for v in state)
    if state is None:
        return None
    a = np.asarray(state, float)
    return np.repeat(a[..., None], n_member, axis=-1)


def _horizon_stats(outputs, pests, params, horizon_days):
    """Per pest: arrays (plot, horizon) of probability, expected, intensity, p10, p90, and extras."""
    stats = {}
    for pest in pests:
        out = outputs[pest]
        ev = out["event"]
        res = {k: [] for k in ("probability", "expected", "intensity", "p10", "p90", "weighted")}
        for h in horizon_days:
            e = ev[:h]
            count = e.sum(axis=0).astype(float)  # (plot, member)
            if pest == "mites":
                prob = e.any(axis=0).mean(axis=-1)
                expected = out["generations"][:h].sum(axis=0).mean(axis=-1)
                peak = out["density"][:h].max(axis=0).mean(axis=-1)
                intensity = peak / params["mites"]["action.threshold"]
                weighted = peak
            else:
                prob = (count > 0).mean(axis=-1)
                expected = count.mean(axis=-1)
                weighted = out["weight"][:h].sum(axis=0).mean(axis=-1)
                p = params[pest]
                ref = (
                    (
                        p["score.reference_generations_per_30d"]
                        if pest == "leaf_miner"
                        else p["score.reference_events_per_30d"]
                    )
                    * h
                    / 30.0
                )
                intensity = weighted / ref
            res["probability"].append(prob)
            res["expected"].append(expected)
            res["intensity"].append(intensity)
            res["weighted"].append(weighted)
            res["p10"].append(np.quantile(count, 0.1, axis=-1))
            res["p90"].append(np.quantile(count, 0.9, axis=-1))
        stats[pest] = {k: np.stack(v, axis=-1) for k, v in res.items()}
        # probability of at least one event by each of the first 15 lead days
        stats[pest]["daily"] = (np.cumsum(ev[:15], axis=0) > 0).mean(axis=-1).T  # (plot, lead)
        # expected severity per lead day: member mean of event x weight
        stats[pest]["severity"] = (ev[:15] * out["weight"][:15]).mean(axis=-1).T  # (plot, lead)
    return stats


_HOST_KEYS = ("black_spot", "canker", "leaf_miner", "canker_exposure")


def _host_slice(hosts: dict, sl, member=False) -> dict:
    """The pest hosts of the plots ``sl``, with a member axis when ``member``."""
    out = {}
    for key in _HOST_KEYS:
        if key in hosts:
            a = hosts[key][:, sl]
            out[key] = a[..., None] if member else a
    return out


def _host_days(hosts: dict, n_days: int) -> dict:
    """The first ``n_days`` days of the pest hosts (the plot exposure has no days)."""
    return {k: (v if k == "canker_exposure" else v[:n_days]) for k, v in hosts.items()}


def _chunk(plot_idx, ctx):
    """Run spin-up and members for the plots ``plot_idx``; return per-pest horizon statistics."""
    params, pests = ctx["params"], ctx["pests"]
    sl = plot_idx
    obs = {k: v[:, sl] for k, v in ctx["obs"].items()}
    drv_obs = _drivers_from_arrays(ctx["obs_times"], obs, params)
    out_obs, states = simulate_all(drv_obs, _host_slice(ctx["hosts_obs"], sl), params, pests)
    if ctx["scouting"] is not None and "mites" in states:
        given = ctx["scouting"][sl]
        states["mites"]["density"] = np.where(np.isnan(given), states["mites"]["density"], given)
    results = {}
    for set_name, member_set in ctx["sets"].items():
        arrays = _member_arrays(ctx["record"], member_set["index"], sl, member_set["pick"])
        drv = _drivers_from_arrays(member_set["times"], arrays, params, np.float32)
        if member_set.get("forecast") is not None:
            fc = member_set["forecast"]
            top = Drivers(fc.times, *(getattr(fc, n)[:, sl] for n in _DRIVER_FIELDS), None, list(fc.notes))
            drv = _overlay(drv, top, ctx["issue"])
        n_member = drv.shape[2]
        outputs, _ = simulate_all(
            drv,
            _host_slice(member_set["hosts"], sl, member=True),
            params,
            pests,
            _expand_state(states, n_member),
        )
        results[set_name] = _horizon_stats(outputs, pests, params, member_set["horizon_days"])
    # recent observed events (for curative advice) and the mite density today
    n_obs = drv_obs.shape[0]
    recent = {}
    for pest in pests:
        ev = out_obs[pest]["event"]
        last = np.where(ev.any(axis=0), n_obs - 1 - np.argmax(ev[::-1], axis=0), -1)
        recent[pest] = np.where(last >= 0, n_obs - 1 - last, np.nan).astype(float)
    density_now = out_obs["mites"]["density"][-1] if "mites" in pests else None
    return results, recent, density_now


def outlook(
    plots_ds: xr.Dataset | None,
    weather: xr.Dataset,
    issue_date,
    params=None,
    forecast=None,
    host=None,
    pests=None,
    seasonal=None,
    scouting=None,
    chunk_size: int = 2000,
    workers: int | None = None,
) -> xr.Dataset:
    """Pest risk outlook at 15 days, 1 month and 3 months for every plot and pest.

    Parameters
    ----------
    plots_ds : xarray.Dataset or None
        PlotSet dataset (dim ``plot``); when given, every plot must have weather.
    weather : xarray.Dataset
        Observed plot weather (time, plot), daily (hourly is aggregated), covering the 1 January biofix to the
        issue date and several other years (the climatology members).
    issue_date : str or date
        The day the outlook is issued; horizons start the day after.
    params : dict, optional
        Name (pest, ``host``, ``outlook``) -> ParameterSet or overrides dict.
    forecast : xarray.Dataset, optional
        Bias-adjusted forecast on the plots (time, plot[, member]), daily or hourly
        (:func:`orchard.forecast.forecast_for_plots`).
    host : xarray.Dataset or dict, optional
        ``fruit_age_d`` / ``flush_age_d`` (time, plot) [d] from the growth model (they may stop at the
        issue date: the ages go on over the horizon) and/or ``flush_fraction`` / ``fruit_susceptible``
        (time, plot) [0–1]; default calendar otherwise (:mod:`pests.host`).
    pests : list of str, optional (default all four)
    seasonal : xarray.Dataset, optional
        Daily seasonal ensemble on the plots (time, plot, member), used for the 1- and 3-month members.
    scouting : xarray.DataArray, optional
        Mites per leaf counted on the issue date (plot); NaN where not scouted (the model's value is used).
    chunk_size : int
        Plots per chunk (memory bound).
    workers : int, optional
        Threads over chunks (default: CPUs, at most 4).

    Returns
    -------
    xarray.Dataset with dims (plot, pest, horizon); see the module docstring.
    """
    pests = check_pests(pests)
    params = load_all(params, pests)
    o = params["outlook"]
    horizon_days = [int(d) for d in o["horizon.days"]]
    h_max = horizon_days[-1]
    try:
        issue = (
            pd.to_datetime(issue_date, format="%Y-%m-%d")
            if isinstance(issue_date, str)
            else pd.Timestamp(issue_date)
        ).normalize()
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"issue date {issue_date!r} is not a date; write it as YYYY-MM-DD.") from None
    weather = _as_daily(weather)
    if "plot" not in weather.dims:
        raise InputError(
            "the weather has no 'plot' dimension; get plot weather first (orchard.plot_weather.plot_weather)."
        )
    times = pd.DatetimeIndex(weather["time"].values)
    if times.has_duplicates or not times.is_monotonic_increasing:
        raise InputError("the weather's days are out of order or repeated; sort them and drop duplicates.")
    plot_ids = weather["plot"].values
    if plots_ds is not None and "plot" in plots_ds.dims:
        missing = sorted(set(map(str, plots_ds["plot"].values)) - set(map(str, plot_ids)))
        if missing:
            raise InputError(
                f"the weather has no data for plot {missing[0]}; get plot weather for every plot."
            )
        plot_ids = plots_ds["plot"].values
    for name in ("tmin_c", "tmax_c", "precip_mm"):
        if name not in weather:
            raise InputError(
                f"the weather has no {name}; the pest models need daily Tmin, Tmax, rain and humidity."
            )
    if "rh_mean_pct" not in weather:
        raise InputError(
            "the weather has no humidity (rh_mean_pct); leaf wetness cannot be estimated, so import humidity."
        )
    notes = []
    # observed: biofix (1 January) to the issue date
    last_obs = times[-1]
    gap_days = (issue - last_obs).days
    if gap_days > int(o["observed.max_missing_days"]):
        raise InputError(
            f"the weather record ends {last_obs:%Y-%m-%d}, {gap_days} days before the issue date "
            f"{issue:%Y-%m-%d}; import recent weather or choose an earlier date."
        )
    spin_start = max(pd.Timestamp(year=issue.year, month=1, day=1), times[0])
    if spin_start > issue:
        raise InputError(
            f"the weather record starts {times[0]:%Y-%m-%d}, after the issue date "
            f"{issue:%Y-%m-%d}; choose a later date."
        )
    if spin_start > pd.Timestamp(year=issue.year, month=1, day=1):
        notes.append(f"state spun up from {spin_start:%Y-%m-%d} (record start), not 1 January")
    obs_times = pd.date_range(spin_start, issue, freq="D")
    same_order = len(plot_ids) == weather.sizes["plot"] and np.array_equal(plot_ids, weather["plot"].values)
    all_arrays = _daily_arrays(weather, None if same_order else plot_ids)
    if "tmean_c" not in all_arrays:
        all_arrays["tmean_c"] = (all_arrays["tmin_c"] + all_arrays["tmax_c"]) / 2
    if "wind_ms" not in all_arrays:
        all_arrays["wind_ms"] = np.zeros_like(all_arrays["tmin_c"])
        notes.append("no wind data: canker wind multiplier not applied")
    idx = times.get_indexer(obs_times)
    obs = {}
    for name, a in all_arrays.items():
        sel = np.where(idx[:, None] >= 0, a[np.maximum(idx, 0)], np.nan).astype(float)
        if np.isnan(sel).any():
            n_missing = int(np.isnan(sel).any(axis=1).sum())
            fill = _calendar_mean(a, times, obs_times)
            sel = np.where(np.isnan(sel), 0.0 if name == "precip_mm" else fill, sel)
            notes.append(
                f"{name}: {n_missing} observed days before the issue date filled from the record's "
                "calendar-day means (rain as 0)"
            )
        obs[name] = sel
    # climatology members
    analogs = _analog_members(times, issue, h_max, 10_000)
    usable = []
    for year, i in analogs:  # a year with more than 10 % missing days is no member (e.g. no rain gauge yet)
        # consecutive days (the usual case) are read as a view rather than gathered into a copy
        days = slice(i[0], i[-1] + 1) if (np.diff(i) == 1).all() else i
        worst = max(
            np.count_nonzero(np.isnan(all_arrays[n][days])) / (len(i) * all_arrays[n].shape[1])
            for n in ("tmin_c", "tmax_c", "precip_mm", "rh_mean_pct")
        )
        if worst > 0.1:
            notes.append(f"past year {year} not used as a member: {100 * worst:.0f} % of its days lack data")
        else:
            usable.append((year, i))
    analogs = usable[: int(o["climatology.max_years"])]
    if len(analogs) < int(o["climatology.min_years"]):
        raise InputError(
            f"the weather record has {len(analogs)} other years covering the {h_max} days after "
            f"{issue:%m-%d} (need at least {int(o['climatology.min_years'])}); import a longer "
            "record for the climatology members."
        )
    fut_times = pd.date_range(issue + pd.Timedelta(days=1), periods=h_max, freq="D").values
    sources = str(weather.attrs.get("source", "weather record"))
    # the member days as indices into the record (day, member); the chunks gather their plots' values
    analog_index = np.stack([i for _, i in analogs], axis=-1)
    analog_labels = [f"past year {y} ({sources})" for y, _ in analogs]
    host_src = {}
    hosts_obs, host_src["observed"] = host_inputs(plots_ds, obs_times, plot_ids, host, params)
    hosts_fut, host_src["future"] = host_inputs(plots_ds, fut_times, plot_ids, host, params)
    sets = {}
    long_labels = list(analog_labels)
    long_set = {
        "times": fut_times,
        "index": analog_index,
        "pick": None,
        "hosts": hosts_fut,
        "horizon_days": horizon_days,
        "forecast": None,
    }
    if seasonal is not None:
        s_drv, s_labels = _forecast_drivers(seasonal, plot_ids, issue, h_max, params)
        n_m = max(len(analogs), s_drv.shape[2])
        pick = np.arange(n_m) % len(analogs)
        long_set["pick"] = pick
        long_set["forecast"] = s_drv
        long_labels = [
            f"{s_labels[m % len(s_labels)]} for {s_drv.shape[0]} d, then {analog_labels[pick[m]]}"
            for m in range(n_m)
        ]
    fc_drv = None
    if forecast is not None:
        fc_drv, fc_labels = _forecast_drivers(forecast, plot_ids, issue, h_max, params)
        if seasonal is None:
            long_set["forecast"] = fc_drv
            long_labels = [
                f"{fc_labels[m % len(fc_labels)]} for {fc_drv.shape[0]} d, then {analog_labels[m]}"
                for m in range(len(analogs))
            ]
        n_f = fc_drv.shape[2]
        pick = np.arange(n_f) % len(analogs)
        short = {
            "times": fut_times[: horizon_days[0]],
            "index": analog_index[: horizon_days[0]],
            "pick": pick,
            "hosts": _host_days(hosts_fut, horizon_days[0]),
            "horizon_days": horizon_days[:1],
            "forecast": fc_drv,
        }
        short_labels = [
            fc_labels[m] + (f", then {analog_labels[pick[m]]}" if fc_drv.shape[0] < horizon_days[0] else "")
            for m in range(n_f)
        ]
        sets["short"] = short
        long_set["horizon_days"] = horizon_days[1:]
    else:
        short_labels = analog_labels
    sets["long"] = long_set
    scout = None
    if scouting is not None:
        da = (
            scouting
            if isinstance(scouting, xr.DataArray)
            else xr.DataArray(scouting, dims="plot", coords={"plot": plot_ids})
        )
        scout = da.reindex(plot=plot_ids).values.astype(float)
        if np.nanmin(scout, initial=0) < 0:
            raise InputError("scouting counts must be 0 or more mites per leaf.")
    ctx = {
        "params": params,
        "pests": pests,
        "obs": obs,
        "record": all_arrays,
        "obs_times": obs_times.values,
        "hosts_obs": hosts_obs,
        "sets": sets,
        "issue": issue,
        "scouting": scout,
    }
    n_plot = len(plot_ids)
    chunks = [slice(i, min(i + chunk_size, n_plot)) for i in range(0, n_plot, chunk_size)]
    workers = workers or min(4, os.cpu_count() or 1)
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda c: _chunk(c, ctx), chunks))
    else:
        parts = [_chunk(c, ctx) for c in chunks]
    return _assemble(
        parts,
        pests,
        params,
        plot_ids,
        horizon_days,
        issue,
        sets,
        short_labels,
        long_labels,
        host_src,
        notes,
        weather,
        forecast,
        seasonal,
    )


def _assemble(
    parts,
    pests,
    params,
    plot_ids,
    horizon_days,
    issue,
    sets,
    short_labels,
    long_labels,
    host_src,
    notes,
    weather,
    forecast,
    seasonal,
) -> xr.Dataset:
    o = params["outlook"]
    n_p, n_pest, n_h = len(plot_ids), len(pests), len(horizon_days)

    def gather(key):
        out = np.zeros((n_p, n_pest, n_h))
        for j, pest in enumerate(pests):
            blocks = []
            for results, _, _ in parts:
                if "short" in results:
                    blocks.append(
                        np.concatenate([results["short"][pest][key], results["long"][pest][key]], axis=-1)
                    )
                else:
                    blocks.append(results["long"][pest][key])
            out[:, j, :] = np.concatenate(blocks, axis=0)
        return out

    prob, expected, intensity = gather("probability"), gather("expected"), gather("intensity")
    p10, p90, weighted = gather("p10"), gather("p90"), gather("weighted")
    risk = score(prob, intensity, o["score.probability_weight"])
    bounds = list(o["level.bounds"])
    by_pest = {
        pest: {h: pest_bounds(o, pest, h) for h in HORIZONS[:n_h]} for pest in pests
    }
    level = np.zeros(risk.shape, np.int8)
    for j, pest in enumerate(pests):
        for k, h in enumerate(HORIZONS[:n_h]):
            level[:, j, k] = level_of(risk[:, j, k], by_pest[pest][h])
    first_set = "short" if "short" in sets else "long"
    daily = np.zeros((n_p, n_pest, 15))
    severity = np.zeros((n_p, n_pest, 15))
    for j, pest in enumerate(pests):
        d = np.concatenate([r[first_set][pest]["daily"] for r, _, _ in parts], axis=0)
        daily[:, j, : d.shape[1]] = d
        v = np.concatenate([r[first_set][pest]["severity"] for r, _, _ in parts], axis=0)
        severity[:, j, : v.shape[1]] = v
    recent = np.stack([np.concatenate([rc[pest] for _, rc, _ in parts]) for pest in pests], axis=1)
    reason, key, args = _reasons(pests, horizon_days, prob, expected, weighted, level, params)
    ds = xr.Dataset(
        coords={
            "plot": ("plot", plot_ids),
            "pest": ("pest", list(pests)),
            "horizon": ("horizon", list(HORIZONS[:n_h])),
            "horizon_days": (
                "horizon",
                np.asarray(horizon_days),
                {"units": "d", "long_name": "days after issue"},
            ),
            "lead_day": ("lead_day", np.arange(1, 16), {"units": "d"}),
        }
    )
    dims = ("plot", "pest", "horizon")
    ds["probability"] = (
        dims,
        prob,
        {
            "units": "1",
            "long_name": "fraction of weather members with at least one "
            "event (infection / new generation on flush / mites above threshold)",
        },
    )
    ds["expected_events"] = (
        dims,
        expected,
        {"units": "1", "long_name": "member mean of event days (mites: new generations)"},
    )
    ds["risk_score"] = (
        dims,
        risk,
        {"units": "1", "long_name": "risk score 0-100", "definition": "100*(w*P + (1-w)*(1 - 2**(-I)))"},
    )
    ds["level"] = (
        dims,
        level,
        {
            "units": "1",
            "long_name": "risk level 1-5 (1 轻, 2 偏轻, 3 中等, 4 偏重, 5 大发生)",
            "bounds": json.dumps(by_pest),
        },
    )
    ds["reason"] = (dims, reason, {"long_name": "why (English)"})
    ds["reason_key"] = (dims, key, {"long_name": "message key for translation"})
    ds["reason_args"] = (dims, args, {"long_name": "message numbers (JSON)"})
    ds["events_p10"] = (dims, p10, {"units": "1", "long_name": "10th percentile over members of event days"})
    ds["events_p90"] = (dims, p90, {"units": "1", "long_name": "90th percentile over members of event days"})
    ds["cumulative_probability"] = (
        ("plot", "pest", "lead_day"),
        daily,
        {"units": "1", "long_name": "fraction of 15-day members with at least one event by that lead day"},
    )
    ds["expected_severity_daily"] = (
        ("plot", "pest", "lead_day"),
        severity,
        {
            "units": "1",
            "long_name": "expected severity on each lead day: member mean of event x weight (events x "
            "susceptibility; mites: density / action threshold on days above it)",
        },
    )
    ds["days_since_event"] = (
        ("plot", "pest"),
        recent,
        {
            "units": "d",
            "long_name": "days since the last event on observed weather (NaN: none since 1 January)",
        },
    )
    if "mites" in pests:
        dens = np.concatenate([d for _, _, d in parts])
        ds["mite_density_now"] = (
            ("plot",),
            dens,
            {"units": "mites/leaf", "long_name": "modelled (or scouted) density on the issue date"},
        )
    n_members = [len(short_labels)] + [len(long_labels)] * (n_h - 1)
    ds["n_members"] = (("horizon",), np.asarray(n_members), {"units": "1"})
    ds["weather_source"] = (
        ("horizon",),
        np.asarray([_summary(short_labels)] + [_summary(long_labels)] * (n_h - 1), dtype=str),
    )
    ds.attrs.update(
        model="pests.outlook",
        model_version=MODEL_VERSION,
        parameter_set=parameter_set_label(params),
        issue_date=f"{issue:%Y-%m-%d}",
        level_bounds=json.dumps(bounds),
        level_bounds_by_pest=json.dumps(by_pest),
        level_names=json.dumps(LEVEL_NAMES, ensure_ascii=False),
        probability_definition="fraction of weather members with at least one event in the horizon",
        host_state_source=host_src["future"],
        host_state_source_observed=host_src["observed"],
        member_sources_15d=json.dumps(short_labels, ensure_ascii=False),
        member_sources_1m_3m=json.dumps(long_labels, ensure_ascii=False),
        observed_weather_source=str(weather.attrs.get("source", "")),
        forecast_source=str(forecast.attrs.get("source", ""))
        if forecast is not None
        else "none (climatology)",
        seasonal_source=str(seasonal.attrs.get("source", "")) if seasonal is not None else "none",
        notes="; ".join(dict.fromkeys(notes)),
    )
    if forecast is not None and forecast.attrs.get("forecast_fallback"):
        ds.attrs["forecast_fallback"] = str(forecast.attrs["forecast_fallback"])
    return ds


def _summary(labels) -> str:
    if not labels:
        return ""
    if all(label.startswith("past year") for label in labels):
        years = [label.split()[2] for label in labels]
        return f"climatology: {len(labels)} past years ({', '.join(years)})"
    return f"{len(labels)} members: {labels[0]}" + (" …" if len(labels) > 1 else "")


def _formatted(values, fmt) -> np.ndarray:
    """``fmt(v)`` of every value, as a string array; each distinct value is formatted once.

    An outlook has many plots but few distinct rounded numbers, so this saves most of the string work.
    Values are told apart by their bits, so e.g. 0.0 and -0.0 keep their own text.
    """
    values = np.ascontiguousarray(values, np.float64)
    bits, inverse = np.unique(values.view(np.int64), return_inverse=True)
    texts = np.array([fmt(float(v)) for v in bits.view(np.float64)], dtype=str)
    return texts[inverse.reshape(values.shape)]


def _reasons(pests, horizon_days, prob, expected, weighted, level, params):
    """Reason texts, keys and JSON arguments (plot, pest, horizon), as string arrays.

    Built by vectorised string concatenation from the texts of the distinct numbers (see
    :func:`_formatted`); the result is the same as formatting ``f"... {p:.2f} ..."`` and
    ``json.dumps({...})`` plot by plot.
    """
    n_p = prob.shape[0]
    shape = prob.shape
    if not n_p:
        return tuple(np.empty(shape, dtype=object) for _ in range(3))
    texts, arguments = {}, {}
    for j, pest in enumerate(pests):
        for k, h in enumerate(horizon_days):
            p_ = np.round(prob[:, j, k], 2)
            e_ = np.round(expected[:, j, k], 1)
            w_ = np.round(weighted[:, j, k], 2)
            level_name = _formatted(level[:, j, k], lambda v: LEVEL_NAMES_EN[int(v)])
            p_json, e_json, w_json = (_formatted(x, json.dumps) for x in (p_, e_, w_))
            if pest == "mites":
                thr = params["mites"]["action.threshold"]
                text = (
                    f"P(above {thr:g} mites/leaf in {h} d) = "
                    + _formatted(p_, "{:.2f}".format)
                    + "; expected peak "
                    + _formatted(w_, "{:.1f}".format)
                    + " mites/leaf, "
                    + _formatted(e_, "{:.1f}".format)
                    + " new generations; level "
                    + level_name
                )
                argv = (
                    '{"p": '
                    + p_json
                    + ', "generations": '
                    + e_json
                    + ', "peak_per_leaf": '
                    + w_json
                    + f', "threshold": {json.dumps(thr)}, "days": {json.dumps(h)}}}'
                )
            else:
                one, many = _EVENT_WORD[pest]
                text = (
                    f"P(≥1 {one} in {h} d) = "
                    + _formatted(p_, "{:.2f}".format)
                    + "; expected "
                    + _formatted(e_, "{:.1f}".format)
                    + f" {many} (weighted "
                    + _formatted(w_, "{:.1f}".format)
                    + "); level "
                    + level_name
                )
                argv = '{"p": ' + p_json + ', "events": ' + e_json + ', "weighted": ' + w_json
                argv = argv + f', "days": {json.dumps(h)}}}'
            texts[j, k] = f"{PEST_LABELS[pest]}: " + text
            arguments[j, k] = argv
    keys = {(j, k): f"pests.reason.{pest}" for j, pest in enumerate(pests) for k in range(len(horizon_days))}
    return tuple(_fill_strings(shape, parts) for parts in (texts, keys, arguments))


def _fill_strings(shape, parts: dict) -> np.ndarray:
    """(plot, pest, horizon) string array from {(pest index, horizon index): strings per plot}, as narrow as
    its longest string (concatenation leaves the pieces' widths summed)."""
    width = max(int(np.max(np.strings.str_len(v))) for v in parts.values())
    out = np.empty(shape, dtype=f"<U{max(width, 1)}")
    for (j, k), v in parts.items():
        out[:, j, k] = v
    return out


# ----------------------------------------------------------------------------------------------------------
# Risk calendar (retrospective, on observed weather)
# ----------------------------------------------------------------------------------------------------------
def risk_calendar(plots_ds, weather, params=None, host=None, pests=None, freq: str = "W-MON") -> xr.Dataset:
    """Yearly risk calendar: weekly (``freq``) event counts and levels per plot and pest on given weather.

    Runs :func:`pests.model.run` and sums events per period; the weekly score uses the probability of an
    event in the week (0 or 1 on one weather series) and the weekly weighted count against the pest's
    reference, with the outlook's class bounds.

    Returns
    -------
    xarray.Dataset dims (pest, period, plot): ``events``, ``weighted``, ``risk_score``, ``level``.
    """
    from .model import run

    daily = run(plots_ds, weather, params=params, host=host, pests=pests)
    pests = list(daily["pest"].values)
    params = load_all(params, pests)
    o = params["outlook"]
    events = daily["event"].astype(float).resample(time=freq, label="left", closed="left").sum()
    weighted = daily["weight"].resample(time=freq, label="left", closed="left").sum()
    days = daily["event"].isel(pest=0, plot=0).resample(time=freq, label="left", closed="left").count()
    refs = []
    for pest in pests:
        p = params[pest]
        if pest == "mites":
            refs.append(1.0)
        elif pest == "leaf_miner":
            refs.append(p["score.reference_generations_per_30d"] / 30.0)
        else:
            refs.append(p["score.reference_events_per_30d"] / 30.0)
    ref = xr.DataArray(refs, dims="pest", coords={"pest": pests}) * days
    if "mites" in pests:  # mites: weekly peak density relative to the action threshold
        peak = daily["mite_density"].resample(time=freq, label="left", closed="left").max()
        intensity = (weighted / ref).where(
            daily["pest"] != "mites", peak / params["mites"]["action.threshold"]
        )
    else:
        intensity = weighted / ref
    risk = xr.apply_ufunc(
        score,
        (events > 0).astype(float),
        intensity,
        kwargs={"probability_weight": o["score.probability_weight"]},
    )
    out = xr.Dataset(
        {
            "events": events.assign_attrs(units="d", long_name="event days in the period"),
            "weighted": weighted.assign_attrs(units="1", long_name="weighted events"),
            "risk_score": risk.assign_attrs(units="1", long_name="risk score 0-100"),
            "level": xr.concat(
                [
                    xr.apply_ufunc(
                        level_of, risk.sel(pest=pest), kwargs={"bounds": pest_bounds(o, pest, "15d")}
                    )
                    for pest in pests
                ],
                dim="pest",
            ).assign_attrs(units="1", long_name="risk level 1-5 (the pest's 15-day bounds)"),
        }
    )
    out = out.rename(time="period")
    out.attrs.update(daily.attrs)
    out.attrs["model"] = "pests.risk_calendar"
    out.attrs["period"] = freq
    return out
