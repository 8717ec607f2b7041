"""The pests orchestrator: weather + host state + parameter sets -> daily events per plot and pest.

``run(plots, weather, params=None, host=None, pests=None)`` is the one entry point for a run over observed
(or any given) weather; :mod:`pests.outlook` builds weather members and calls :func:`simulate_all` on them.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from orchard.errors import InputError

from . import black_spot, canker, leaf_miner, mites
from .drivers import Drivers, drivers_from_daily, drivers_from_hourly
from .host import pest_hosts
from .paramsets import PESTS, check_pests, load_all

__all__ = ["MODEL", "MODEL_VERSION", "run", "simulate_all", "parameter_set_label"]

MODEL = "pests"
MODEL_VERSION = "0.1.0"


def parameter_set_label(params: dict) -> str:
    """``name@hash`` of every set used, e.g. ``black_spot@9922779760ce; canker@…``."""
    return "; ".join(f"{name}@{p.hash}" for name, p in params.items())


def simulate_all(drv: Drivers, hosts: dict, params: dict, pests, states: dict | None = None):
    """Run the requested pest models on one set of drivers.

    Parameters
    ----------
    drv : Drivers (days, plot[, member])
    hosts : dict
        Per pest the susceptible host (``black_spot``, ``canker``, ``leaf_miner``) broadcastable to the
        drivers [0–1] (:func:`pests.host.pest_hosts`), and optionally ``canker_exposure`` (plot exposure to
        wind-driven rain [1]).

    Returns
    -------
    (outputs, states) : dicts keyed by pest; outputs hold daily arrays (``event``, ``weight``, ...).
    """
    states = states or {}
    outputs, new_states = {}, {}
    need_clm = "leaf_miner" in pests or "canker" in pests
    if need_clm:
        outputs["leaf_miner"], new_states["leaf_miner"] = leaf_miner.simulate(
            drv, hosts["leaf_miner"], params["leaf_miner"], states.get("leaf_miner")
        )
    if "black_spot" in pests:
        outputs["black_spot"], new_states["black_spot"] = black_spot.simulate(
            drv, hosts["black_spot"], params["black_spot"], states.get("black_spot")
        )
    if "canker" in pests:
        outputs["canker"], new_states["canker"] = canker.simulate(
            drv,
            hosts["canker"],
            params["canker"],
            clm_pressure=outputs["leaf_miner"]["pressure"],
            exposure=hosts.get("canker_exposure"),
        )
    if "mites" in pests:
        outputs["mites"], new_states["mites"] = mites.simulate(drv, params["mites"], states.get("mites"))
    return (
        {p: outputs[p] for p in pests},
        {p: new_states[p] for p in pests if p in new_states}
        | ({"leaf_miner": new_states["leaf_miner"]} if need_clm else {}),
    )


def host_inputs(plots, times, plot_ids, host, params: dict):
    """Per-pest host arrays (time, plot) from the caller's host state or the calendar, the canker exposure
    (1, plot) from the plots' terrain, and a note for ``host_state_source``."""
    hosts, source = pest_hosts(times, plot_ids, host, params)
    if "canker" in params:
        expo, note = canker.plot_exposure(plots, plot_ids, params["canker"])
        hosts["canker_exposure"] = expo[None, :]
        source = f"{source}; {note}"
    return hosts, source


def _plot_ids(plots, weather):
    if "plot" not in weather.dims:
        raise InputError(
            "the weather has no 'plot' dimension; move station weather to the plots first "
            "(orchard.weather.weather_for_plots or orchard.plot_weather.plot_weather)."
        )
    ids = weather["plot"].values
    if plots is not None and "plot" in plots.dims:
        missing = sorted(set(map(str, plots["plot"].values)) - set(map(str, ids)))
        if missing:
            raise InputError(
                f"the weather has no data for plot {missing[0]}; get plot weather for every plot."
            )
    return ids


def drivers_for(weather: xr.Dataset, params: dict) -> Drivers:
    """Drivers from daily or hourly plot weather (resolution from attrs, else from the time step)."""
    resolution = weather.attrs.get("resolution")
    if resolution is None and weather.sizes.get("time", 0) > 1:
        step = np.diff(weather["time"].values[:2])[0]
        resolution = "hourly" if step < np.timedelta64(1, "D") else "daily"
    o = params["outlook"]
    if resolution == "hourly":
        return drivers_from_hourly(weather, rh_threshold=o["wetness.rh_threshold"])
    return drivers_from_daily(
        weather, rh_threshold=o["wetness.rh_threshold"], rain_intensity_mm_h=o["wetness.rain_intensity"]
    )


def run(plots: xr.Dataset | None, weather: xr.Dataset, params=None, host=None, pests=None) -> xr.Dataset:
    """Daily pest events on the given weather, per plot.

    Parameters
    ----------
    plots : xarray.Dataset or None
        The PlotSet dataset (dim ``plot``); only used to check every plot has weather.
    weather : xarray.Dataset
        Plot weather, dims (time, plot), daily (``tmin_c``, ``tmax_c``, ``precip_mm``, ``rh_mean_pct``, ...)
        or
        hourly (``t_c``, ``rh_pct``, ``precip_mm``, ``wind_ms``; whole days from 00:00, no gaps).
    params : dict name -> ParameterSet or overrides dict, optional
    host : xarray.Dataset or dict, optional
        ``fruit_age_d`` / ``flush_age_d`` (time, plot) [d] and/or ``flush_fraction`` / ``fruit_susceptible``
        (time, plot) [0–1] (:mod:`pests.host`); default calendar otherwise.
    pests : list of str, optional (default all four)

    Returns
    -------
    xarray.Dataset with dims (pest, time, plot): ``event`` (bool), ``weight``; (time, plot): ``mite_density``,
    ``flush_fraction``, ``fruit_susceptible``; attrs model, model_version, parameter_set, host_state_source,
    weather_source.
    """
    pests = check_pests(pests)
    params = load_all(params, pests)
    ids = _plot_ids(plots, weather)
    drv = drivers_for(weather, params)
    hosts, host_source = host_inputs(plots, drv.times, ids, host, params)
    flush, fruit = hosts["flush_fraction"], hosts["fruit_susceptible"]
    outputs, _ = simulate_all(drv, hosts, params, pests)
    coords = {"pest": list(pests), "time": drv.times, "plot": ids}
    ds = xr.Dataset(coords=coords)
    ds["event"] = (
        ("pest", "time", "plot"),
        np.stack([outputs[p]["event"] for p in pests]),
        {
            "units": "1",
            "long_name": "pest event (infection on a susceptible host, new leafminer "
            "generation on flush, mites above the action threshold)",
        },
    )
    ds["weight"] = (
        ("pest", "time", "plot"),
        np.stack([outputs[p]["weight"] for p in pests]).astype(float),
        {"units": "1", "long_name": "severity weight of the day's event"},
    )
    if "mites" in pests:
        ds["mite_density"] = (
            ("time", "plot"),
            outputs["mites"]["density"],
            {"units": "mites/leaf", "long_name": "modelled citrus red mite density"},
        )
        ds["mite_predators"] = (
            ("time", "plot"),
            outputs["mites"]["predators"],
            {"units": "1/leaf", "long_name": "modelled predators of the red mite per leaf"},
        )
    ds["flush_fraction"] = (("time", "plot"), flush, {"units": "1", "long_name": "flush fraction"})
    ds["fruit_susceptible"] = (
        ("time", "plot"),
        fruit,
        {"units": "1", "long_name": "fruit susceptibility to black spot"},
    )
    ds["host"] = (
        ("pest", "time", "plot"),
        np.stack([np.ones(flush.shape) if p == "mites" else hosts[p] for p in pests]).astype(float),
        {"units": "1", "long_name": "susceptible host of each pest (mites: leaves, always 1)"},
    )
    ds.attrs.update(
        model=MODEL,
        model_version=MODEL_VERSION,
        parameter_set=parameter_set_label(params),
        host_state_source=host_source,
        weather_source=str(weather.attrs.get("source", "")),
        weather_resolution="hourly" if drv.hourly is not None else "daily",
        notes="; ".join(drv.notes),
    )
    return ds


def known_pests() -> tuple[str, ...]:
    """The pests this package models."""
    return PESTS
