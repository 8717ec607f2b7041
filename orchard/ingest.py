"""Importing files into the database: one path for the CLI, the sample district and (later) batch jobs.

Each import reads and validates the whole file first, then writes in ONE transaction, so a bad file
changes nothing and the same file imported twice changes nothing (upserts). Processing defaults (Angström
coefficients, gap-filling limits) come from the core parameter set, not from constants in the readers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr
from sqlalchemy.engine import Engine

from orchard import store, weather
from orchard.params import ParameterSet, core_parameters
from orchard.plots import PlotSet
from orchard.sources import read_weather


def read_and_check_weather(path: str | Path, *, format: str | None = None,
                           parameters: ParameterSet | None = None,
                           **options) -> tuple[xr.Dataset, weather.QCReport]:
    """Read a weather file (:func:`orchard.sources.read_weather`) and quality-control it.

    Sunshine is turned into radiation with the set's ``radiation.angstrom_a``/``_b``; wind is taken as
    measured at ``wind.measurement_height`` unless the caller says otherwise; gaps up to
    ``gaps.max_fill_days`` (daily) or ``gaps.max_fill_hours`` (hourly) are filled and flagged.
    """
    parameters = parameters or core_parameters()
    if format in ("csv", "changting") and "angstrom" not in options:
        options["angstrom"] = (parameters["radiation.angstrom_a"], parameters["radiation.angstrom_b"])
    if format in ("csv", "netcdf") and "wind_height_m" not in options:
        options["wind_height_m"] = parameters["wind.measurement_height"]
    ds = read_weather(path, format=format, **options)
    daily = ds.attrs.get("resolution") == "daily"
    max_gap = parameters["gaps.max_fill_days"] if daily else parameters["gaps.max_fill_hours"]
    return weather.qc(ds, max_fill_gap=int(max_gap))


def weather_records(ds: xr.Dataset) -> tuple[list[dict], pd.DataFrame]:
    """Station rows and long-format readings of a weather dataset, ready for :mod:`orchard.store`."""
    source = str(ds.attrs.get("source", ""))
    stations = [
        {"station_id": str(sid), "name": str(ds.attrs.get("station_name", sid)),
         "lat": float(ds["lat"].sel(station=sid)), "lon": float(ds["lon"].sel(station=sid)),
         "elevation_m": float(ds["elevation_m"].sel(station=sid)), "kind": "weather", "source": source}
        for sid in ds["station"].values
    ]
    readings = weather.weather_to_long(ds)
    readings["resolution"] = ds.attrs.get("resolution", "daily")
    readings["source"] = source
    return stations, readings


def store_weather(session, ds: xr.Dataset) -> int:
    """Upsert a quality-controlled weather dataset (stations and readings) in the caller's transaction."""
    stations, readings = weather_records(ds)
    store.upsert_stations(session, stations)
    return store.upsert_weather(session, readings)


def import_weather(engine: Engine, path: str | Path, **read_options) -> tuple[xr.Dataset, weather.QCReport]:
    """Read, check and store one weather file in one transaction; returns the dataset and its QC report."""
    ds, report = read_and_check_weather(path, **read_options)
    with store.session_scope(engine) as session:
        store_weather(session, ds)
    return ds, report


def import_plots(engine: Engine, plots: PlotSet) -> int:
    """Upsert validated plots in one transaction (a plot owned by another grower is refused)."""
    with store.session_scope(engine) as session:
        return store.upsert_plots(session, plots.to_records())
