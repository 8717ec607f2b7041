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
from .host import host_arrays
from .paramsets import PESTS, check_pests, load_all

__all__ = ["MODEL", "MODEL_VERSION", "run", "simulate_all", "parameter_set_label"]

MODEL = "pests"
MODEL_VERSION = "0.1.0"


def parameter_set_label(params: dict) -> str:
    """``name@hash`` of every set used, e.g. ``black_spot@9922779760ce; canker@…``."""
    return "; ".join(f"{name}@{p.hash}" for name, p in params.items())


def simulate_all(drv: Drivers, flush, fruit, params: dict, pests, states: dict | None = None):
    """Run the requested pest models on one set of drivers.

    Returns
    -------
    (outputs, states) : dicts keyed by pest; outputs hold daily arrays (``event``, ``weight``, ...).
    """
    states = states or {}
    outputs, new_states = {}, {}
    need_clm = "leaf_miner" in pests or "canker" in pests
    if need_clm:
        outputs["leaf_miner"], new_states["leaf_miner"] = leaf_miner.simulate(
            drv, flush, params["leaf_miner"], states.get("leaf_miner")
        )
    if "black_spot" in pests:
        outputs["black_spot"], new_states["black_spot"] = black_spot.simulate(
            drv, fruit, params["black_spot"], states.get("black_spot")
        )
    if "canker" in pests:
        outputs["canker"], new_states["canker"] = canker.simulate(
            drv, flush, params["canker"], clm_pressure=outputs["leaf_miner"]["pressure"]
        )
    if "mites" in pests:
        outputs["mites"], new_states["mites"] = mites.simulate(drv, params["mites"], states.get("mites"))
    return (
        {p: outputs[p] for p in pests},
        {p: new_states[p] for p in pests if p in new_states}
        | ({"leaf_miner": new_states["leaf_miner"]} if need_clm else {}),
    )


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
        ``flush_fraction`` / ``fruit_susceptible`` (time, plot) [0–1]; default calendar otherwise.
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
    flush, fruit, host_source = host_arrays(drv.times, ids, host, params["host"], params.get("black_spot"))
    outputs, _ = simulate_all(drv, flush, fruit, params, pests)
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
    ds["flush_fraction"] = (("time", "plot"), flush, {"units": "1", "long_name": "flush fraction"})
    ds["fruit_susceptible"] = (("time", "plot"), fruit, {"units": "1", "long_name": "fruit susceptibility"})
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
