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

    Each plot takes ``station_id`` if given, else its own ``station_id``, else (no station named) the nearest
    station with data at this resolution, but never one more than :data:`MAX_NEAREST_STATION_KM` away. A
    named station is never replaced by another: when it holds only hourly readings, its daily weather is
    derived from them (:func:`orchard.weather.daily_from_hourly`; the attr ``daily_from_hourly`` names such
    stations); when it holds no readings for the period, the request is refused with a sentence. Air
    temperatures are moved to the plot's elevation with the lapse rate of ``parameters`` (default: the core
    set in force, i.e. the latest stored version); the attrs name its hash.
    """
    parameters = parameters or current_core_parameters(session)
    stations = pd.DataFrame(store.list_stations(session))
    if stations.empty:
        raise InputError("there are no weather stations in the database; import weather first "
                         "(orchard import-weather FILE --station ID).")
    plot_ds = plots.to_dataset()
    named = np.array([station_id] * plot_ds.sizes["plot"] if station_id else plot_ds["station_id"].values,
                     dtype=str)
    start_utc, end_utc = (_local_to_utc(t) for t in (start, end))
    if resolution == "daily":
        readings, derived = daily_readings(session, stations, start_utc, end_utc, named)
    else:
        readings = store.read_weather(session, stations["station_id"].tolist(), resolution, start_utc,
                                      end_utc)
        derived = []
    if readings.empty:
        raise InputError(f"there are no {resolution} weather readings between {start or 'the start'} and "
                         f"{end or 'the end'}; import weather or widen the dates.")
    with_data = stations[stations["station_id"].isin(readings["station_id"].unique())].assign(resolution=resolution)
    station_weather = weather.weather_from_long(readings, with_data)
    known = set(with_data["station_id"])
    if station_id is not None and station_id not in known:
        raise InputError(f"station {station_id} has no {resolution} readings in that period; stations with "
                         f"data: {', '.join(sorted(known))}.")
    check_named_stations(plot_ds["plot"].values.astype(str), named, known, resolution,
                         f"between {_day(start) or 'the start'} and {_day(end) or 'the end'}")
    plot_ds["station_id"] = ("plot", named)  # "" -> nearest
    result = weather.weather_for_plots(station_weather, plot_ds,
                                       lapse_rate_c_per_100m=parameters["elevation.lapse_rate"])
    check_nearest_distance(result, plot_ds["station_id"].values == "", resolution)
    result.attrs["parameter_set"] = f"{parameters.name}@{parameters.hash}"
    if derived:
        result.attrs["daily_from_hourly"] = ", ".join(derived)
    return result


def check_named_stations(plot_ids, named, known, resolution: str = "daily", period: str = "") -> None:
    """Refuse a plot whose named station (``named``, "" = none) has no readings (``known`` = the stations
    that have): its weather is never taken from another station without a word."""
    missing = [(p, s) for p, s in zip(plot_ids, named, strict=True) if s and s not in known]
    if missing:
        plot, station = missing[0]
        more = f" (and {len(missing) - 1} more plots)" if len(missing) > 1 else ""
        when = f" {period}" if period else ""
        what = "daily readings (nor hourly ones to derive them from)" if resolution == "daily" \
            else f"{resolution} readings"
        raise InputError(f"plot {plot}{more} names station {station}, which has no {what}{when}; import "
                         "that station's weather, or clear the plot's station_id to take the nearest "
                         "station.")


def _day(value) -> str | None:
    """A local date or time for a message: the date alone when the time is the day's start or end."""
    if value is None:
        return None
    text = str(value)
    return text[:10] if text[10:].strip() in ("", "00:00", "00:00:00", "23:59", "23:59:59") else text


def daily_readings(session: Session, stations: pd.DataFrame, start_utc, end_utc,
                   named) -> tuple[pd.DataFrame, list[str]]:
    """Daily readings (long format, as :func:`orchard.store.read_weather`) of every station over
    [start_utc, end_utc], plus daily weather derived from hourly readings for each station in ``named`` that
    holds hourly but no daily readings in that period (:func:`orchard.weather.daily_from_hourly`: local days,
    a day with fewer than 20 valid hours missing). Returns the readings and the derived stations' ids."""
    readings = store.read_weather(session, stations["station_id"].tolist(), "daily", start_utc, end_utc)
    wanted = sorted({str(s) for s in named if s} - set(readings["station_id"].unique()))
    if not wanted:
        return readings, []
    # totals stamped at the end of their hour: the last local day needs the stamp of the next midnight
    hourly_end = None if end_utc is None else pd.Timestamp(end_utc) + pd.Timedelta(hours=1)
    hourly = store.read_weather(session, wanted, "hourly", start_utc, hourly_end)
    parts, derived = [readings], []
    for sid, group in hourly.groupby("station_id", sort=True):
        meta = stations[stations["station_id"] == sid].assign(resolution="hourly")
        daily = weather.daily_from_hourly(weather.weather_from_long(group, meta))
        long = weather.weather_to_long(daily)
        keep = np.ones(len(long), bool)
        if start_utc is not None:
            keep &= (long["time_utc"] >= pd.Timestamp(start_utc)).to_numpy()
        if end_utc is not None:
            keep &= (long["time_utc"] <= pd.Timestamp(end_utc)).to_numpy()
        long = long[keep].assign(resolution="daily", source=f"daily from hourly readings of {sid}")
        if len(long):
            parts.append(long[readings.columns] if len(readings.columns) else long)
            derived.append(str(sid))
    if not derived:
        return readings, []
    frames = [p for p in parts if len(p)]
    return pd.concat(frames, ignore_index=True), derived


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
