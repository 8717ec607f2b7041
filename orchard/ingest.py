"""Importing files into the database: one path for the CLI, the sample district and (later) batch jobs.

Each import reads and validates the whole file first, then writes in ONE transaction, so a bad file
changes nothing and the same file imported twice changes nothing (upserts). Processing defaults (Angström
coefficients, gap-filling limits) come from the core parameter set, not from constants in the readers.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import xarray as xr
from sqlalchemy.engine import Engine

from orchard import limits, store, weather
from orchard.errors import InputError
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
    if ds.sizes.get("time", 0):  # readings were measured: none dated in the future or before the records
        offset = pd.Timedelta(hours=float(ds.attrs.get("utc_offset_h", 8)))
        local = pd.DatetimeIndex(ds["time"].values)
        limits.check_past_times((local - offset).tz_localize("UTC"), str(path))
    daily = ds.attrs.get("resolution") == "daily"
    max_gap = parameters["gaps.max_fill_days"] if daily else parameters["gaps.max_fill_hours"]
    return weather.qc(ds, max_fill_gap=int(max_gap))


def weather_records(ds: xr.Dataset) -> tuple[list[dict], pd.DataFrame]:
    """Station rows and long-format readings of a weather dataset, ready for :mod:`orchard.store`.

    A position the dataset does not know (NaN) is None in the station row (unknown, not a number).
    """
    source = str(ds.attrs.get("source", ""))

    def known(value) -> float | None:
        value = float(value)
        return None if math.isnan(value) else value

    stations = [
        {"station_id": str(sid), "name": str(ds.attrs.get("station_name", sid)),
         "lat": known(ds["lat"].sel(station=sid)), "lon": known(ds["lon"].sel(station=sid)),
         "elevation_m": known(ds["elevation_m"].sel(station=sid)), "kind": "weather", "source": source}
        for sid in ds["station"].values
    ]
    readings = weather.weather_to_long(ds)
    readings["resolution"] = ds.attrs.get("resolution", "daily")
    readings["source"] = source
    return stations, readings


def store_weather(session, ds: xr.Dataset) -> int:
    """Upsert a quality-controlled weather dataset (stations and readings) in the caller's transaction.

    A station's position missing from the file is taken from the stored station (a re-import never blanks
    it); a new station without latitude and longitude is refused, since plots could not find it and every
    plot-weather query over its readings would fail.
    """
    stations, readings = weather_records(ds)
    for row in stations:
        stored = session.get(store.Station, row["station_id"])
        for column in ("lat", "lon", "elevation_m"):
            if row[column] is None and stored is not None:
                row[column] = getattr(stored, column)
        if row["lat"] is None or row["lon"] is None:
            raise InputError(f"station {row['station_id']} is new and its position is unknown; give its "
                             "latitude and longitude (CLI: --lat and --lon).")
    store.upsert_stations(session, stations)
    return store.upsert_weather(session, readings)


def import_weather(engine: Engine, path: str | Path, **read_options) -> tuple[xr.Dataset, weather.QCReport]:
    """Read, check and store one weather file in one transaction; returns the dataset and its QC report."""
    ds, report = read_and_check_weather(path, **read_options)
    with store.session_scope(engine) as session:
        store_weather(session, ds)
    return ds, report


def import_plots(engine: Engine, plots: PlotSet) -> int:
    """Upsert validated plots in one transaction (a plot owned by another grower is refused).

    Only the attributes the set knows are written (:meth:`PlotSet.to_records` with ``given_only``): plots
    imported without a DEM keep their stored terrain, and an unchanged file changes nothing.
    """
    with store.session_scope(engine) as session:
        return store.upsert_plots(session, plots.to_records(given_only=True))
