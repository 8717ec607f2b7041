"""Weather on each plot, from the database: the stations' readings moved to the plots' elevations.

The one place that joins :mod:`orchard.store` (readings, stations, plots) to :mod:`orchard.weather`
(``weather_from_long``, ``weather_for_plots``), so the CLI, the app and the model orchestrators all get plot
weather the same way. Slope and aspect corrections are the growth module's business, not this one's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy.orm import Session

from orchard import store, weather
from orchard.errors import InputError
from orchard.params import ParameterSet, current_core_parameters
from orchard.plots import PlotSet


#: A plot further than this from its nearest station with data needs the station named [km].
MAX_NEAREST_STATION_KM = 100.0


def plot_weather(session: Session, plots: PlotSet, *, resolution: str = "daily", start=None, end=None,
                 station_id: str | None = None, parameters: ParameterSet | None = None) -> xr.Dataset:
    """Weather of each plot over ``[start, end]`` (local dates or times; None = all), dims ``(time, plot)``.

    Each plot takes ``station_id`` if given, else its own ``station_id`` when that station holds data at this
    resolution, else the nearest station that does, but never one more than :data:`MAX_NEAREST_STATION_KM`
    away without being named. Air temperatures are moved to the plot's elevation with the lapse rate of
    ``parameters`` (default: the core set in force, i.e. the latest stored version); the attrs name its hash.
    """
    parameters = parameters or current_core_parameters(session)
    stations = pd.DataFrame(store.list_stations(session))
    if stations.empty:
        raise InputError("there are no weather stations in the database; import weather first "
                         "(orchard import-weather FILE --station ID).")
    start_utc, end_utc = (_local_to_utc(t) for t in (start, end))
    readings = store.read_weather(session, stations["station_id"].tolist(), resolution, start_utc, end_utc)
    if readings.empty:
        raise InputError(f"there are no {resolution} weather readings between {start or 'the start'} and "
                         f"{end or 'the end'}; import weather or widen the dates.")
    with_data = stations[stations["station_id"].isin(readings["station_id"].unique())].assign(resolution=resolution)
    station_weather = weather.weather_from_long(readings, with_data)
    plot_ds = plots.to_dataset()
    known = set(with_data["station_id"])
    if station_id is not None and station_id not in known:
        raise InputError(f"station {station_id} has no {resolution} readings in that period; stations with "
                         f"data: {', '.join(sorted(known))}.")
    named = [station_id] * len(plot_ds["plot"]) if station_id else plot_ds["station_id"].values
    plot_ds["station_id"] = ("plot", [s if s in known else "" for s in named])  # "" -> nearest
    result = weather.weather_for_plots(station_weather, plot_ds,
                                       lapse_rate_c_per_100m=parameters["elevation.lapse_rate"])
    check_nearest_distance(result, plot_ds["station_id"].values == "", resolution)
    result.attrs["parameter_set"] = f"{parameters.name}@{parameters.hash}"
    return result


def check_nearest_distance(plot_weather: xr.Dataset, unnamed, resolution: str = "daily") -> None:
    """Refuse a plot that took its nearest station (``unnamed``) when that station is more than
    :data:`MAX_NEAREST_STATION_KM` away (``weather_for_plots``' ``distance_km`` and ``station_id``)."""
    far = np.asarray(unnamed) & (plot_weather["distance_km"].values > MAX_NEAREST_STATION_KM)
    if far.any():
        first = int(far.argmax())
        raise InputError(f"plot {plot_weather['plot'].values[first]}'s nearest station with {resolution} data "
                         f"is {plot_weather['station_id'].values[first]}, "
                         f"{plot_weather['distance_km'].values[first]:.0f} km away (limit "
                         f"{MAX_NEAREST_STATION_KM:.0f} km); name the station to use it anyway.")


def _local_to_utc(value):
    """A local (UTC+8) date or time as an aware UTC timestamp; None stays None."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("Asia/Shanghai")
    return stamp.tz_convert("UTC").to_pydatetime()
