"""Weather readers: station CSV (with column mappings and presets), NetCDF, Open-Meteo JSON.

:func:`read_weather` dispatches on ``format``; each reader returns a weather dataset following
:mod:`orchard.weather` and raises :class:`orchard.errors.InputError` on bad input.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from orchard.errors import InputError
from orchard.sources.netcdf import read_netcdf
from orchard.sources.openmeteo import fetch_openmeteo, parse_openmeteo, read_openmeteo
from orchard.sources.station_csv import read_changting_daily, read_station_csv, read_uci_hourly

#: Formats understood by :func:`read_weather`.
WEATHER_FORMATS = ("csv", "changting", "uci", "netcdf", "openmeteo")
_SUFFIX_FORMAT = {".csv": "csv", ".txt": "csv", ".nc": "netcdf", ".nc4": "netcdf", ".json": "openmeteo"}

__all__ = ["WEATHER_FORMATS", "fetch_openmeteo", "parse_openmeteo", "read_changting_daily", "read_netcdf",
           "read_openmeteo", "read_station_csv", "read_uci_hourly", "read_weather"]


def read_weather(path, format: str | None = None, **kwargs) -> xr.Dataset:
    """Read a weather file in one of :data:`WEATHER_FORMATS` (default: from the file suffix).

    - ``csv``: :func:`read_station_csv` (kwargs ``columns``, ``station_id``, ``lat``, ...);
    - ``changting``: :func:`read_changting_daily` (kwargs ``rain_path``, ``station_id``, ``lat``, ...);
    - ``uci``: :func:`read_uci_hourly` (kwargs ``station_id``, ``lat``, ``lon``, ``elevation_m``);
    - ``netcdf``: :func:`read_netcdf` (kwargs ``variables``, ``points`` or ``station_id``/``lat``/``lon``,
      ...);
    - ``openmeteo``: :func:`read_openmeteo` (kwargs ``station_id``, ``resolution``, ``kind``, ...).
    """
    if format is None:
        format = _SUFFIX_FORMAT.get(Path(path).suffix.lower())
        if format is None:
            raise InputError(f"{path}: cannot tell the weather format from the suffix; pass format= one of "
                             f"{', '.join(WEATHER_FORMATS)}.")
    try:
        return _dispatch(path, format, kwargs)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        name = str(exc).split("argument")[-1].strip().strip("'\"")
        raise InputError(f"{path}: option '{name}' does not apply to weather format '{format}'.") from None


def _dispatch(path, format: str, kwargs: dict) -> xr.Dataset:
    if format == "csv":
        return read_station_csv(path, **kwargs)
    if format == "changting":
        rain = kwargs.pop("rain_path", None)
        return read_changting_daily(path, rain, **kwargs)
    if format == "uci":
        return read_uci_hourly(path, **kwargs)
    if format == "netcdf":
        return read_netcdf(path, **kwargs)
    if format == "openmeteo":
        if "station_id" not in kwargs:
            raise InputError(f"{path}: give station_id for the Open-Meteo point.")
        station_id = kwargs.pop("station_id")
        return read_openmeteo(path, station_id, **kwargs)
    raise InputError(f"unknown weather format '{format}'; use one of {', '.join(WEATHER_FORMATS)}.")
