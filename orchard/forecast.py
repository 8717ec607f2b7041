"""Weather forecasts on the plots: Open-Meteo responses -> plot weather, bias-adjusted to the plots' station
climatology, with a climatology fallback when the service cannot be reached.

Used by the pest and growth outlooks. The steps:

1. :func:`forecast_for_plots` groups plots by model cell (``cell_deg``), fetches one response per cell
   (:func:`orchard.sources.openmeteo.fetch_openmeteo`) or takes recorded ones, parses them
   (:func:`~orchard.sources.openmeteo.parse_openmeteo`: members along ``member``) and moves them to the plots
   with :func:`orchard.weather.weather_for_plots` (the cell elevation counts as the station elevation, so
   air temperatures get the lapse-rate correction to each plot's elevation);
2. :func:`bias_adjust` adjusts the forecast to the station climatology of each plot (see there);
3. when the service is unreachable and a station climatology is given, the result is the climatology for
   the forecast days, with ``source = "climatology"`` and the reason in the attr ``forecast_fallback``.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from orchard import weather as ow
from orchard.errors import InputError
from orchard.sources import openmeteo

__all__ = [
    "DAILY_REQUEST",
    "HOURLY_REQUEST",
    "relaxation_weight",
    "bias_adjust",
    "forecast_for_plots",
    "cell_id",
]

#: Daily variables requested for the pest and growth models.
DAILY_REQUEST = (
    "temperature_2m_max",
    "temperature_2m_min",
    "temperature_2m_mean",
    "relative_humidity_2m_mean",
    "precipitation_sum",
    "wind_speed_10m_mean",
    "shortwave_radiation_sum",
)
#: Hourly variables requested.
HOURLY_REQUEST = openmeteo.DEFAULT_HOURLY

_ADDITIVE = (
    "tmin_c",
    "tmax_c",
    "tmean_c",
    "t_c",
    "dewpoint_c",
    "rh_mean_pct",
    "rh_min_pct",
    "rh_max_pct",
    "rh_pct",
)
_RATIO = ("precip_mm", "wind_ms", "rs_mj_m2")
_BOUNDS = {
    "rh_mean_pct": (0, 100),
    "rh_min_pct": (0, 100),
    "rh_max_pct": (0, 100),
    "rh_pct": (0, 100),
    "precip_mm": (0, None),
    "wind_ms": (0, None),
    "rs_mj_m2": (0, None),
}


def relaxation_weight(lead_days, start_day=10.0, end_day=46.0):
    """Weight of the climatology in the ensemble mean at a lead time [0–1]: 0 up to ``start_day``, rising
    linearly to 1 at ``end_day`` (forecast skill decays with lead time; EC46 has little skill beyond about
    4 weeks for daily values; proposed defaults)."""
    lead = np.asarray(lead_days, float)
    return np.clip((lead - start_day) / max(end_day - start_day, 1e-9), 0.0, 1.0)


def _clim_for(times, clim: xr.Dataset, name: str) -> xr.DataArray:
    doy = xr.DataArray(ow.leap_day_of_year(times), dims="time", coords={"time": times})
    return clim[name].sel(dayofyear=doy).drop_vars("dayofyear")


def bias_adjust(
    forecast: xr.Dataset,
    station_climatology: xr.Dataset,
    *,
    model_climatology=None,
    issue_date=None,
    relax_start_day: float = 10.0,
    relax_end_day: float = 46.0,
) -> xr.Dataset:
    """Adjust a daily forecast on the plots to the plots' station climatology.

    1. With ``model_climatology`` (the forecast model's own climatology on the same plots, e.g. from
       hindcasts or reanalysis; dims (dayofyear, plot)): the delta method, additive for temperature and
       humidity (``fc − model + station``) and a ratio for rain, wind and radiation
       (``fc · station/model``, ratio limited to 0.25–4).
    2. Relaxation to climatology with lead time: the ensemble mean moves towards the station climatology
       with :func:`relaxation_weight` (0 up to ``relax_start_day``, 1 at ``relax_end_day``), member
       deviations from the ensemble mean are kept (additive, or as ratios for rain/wind/radiation), so a
       seasonal ensemble keeps its spread around the local climate.

    Hourly forecasts get step 1 only (temperatures and humidity shifted by the daily differences).

    Parameters
    ----------
    forecast : xarray.Dataset
        (time, plot[, member]), attrs ``resolution``.
    station_climatology : xarray.Dataset
        :func:`orchard.weather.climatology` of the plots' station weather, dims (dayofyear, plot).
    model_climatology : xarray.Dataset, optional
    issue_date : date, optional
        Lead day 1 is the day after it (default: the day before the first forecast day).

    Returns
    -------
    xarray.Dataset like ``forecast``; attrs ``bias_adjustment`` says what was done.
    """
    if "dayofyear" not in station_climatology.dims:
        raise InputError(
            "bias_adjust needs a station climatology with a 'dayofyear' dimension "
            "(orchard.weather.climatology)."
        )
    if "plot" in forecast.dims and "plot" in station_climatology.dims:
        missing = sorted(
            set(map(str, forecast["plot"].values)) - set(map(str, station_climatology["plot"].values))
        )
        if missing:
            raise InputError(f"the station climatology has no plot {missing[0]}; compute it for every plot.")
        station_climatology = station_climatology.sel(plot=forecast["plot"].values)
    out = forecast.copy()
    times = pd.DatetimeIndex(forecast["time"].values)
    hourly = forecast.attrs.get("resolution") == "hourly"
    days = times.normalize()
    steps = []
    if model_climatology is not None:
        for name in forecast.data_vars:
            base = (
                "tmean_c"
                if hourly and name in ("t_c", "dewpoint_c")
                else ("rh_mean_pct" if hourly and name == "rh_pct" else name)
            )
            if base not in station_climatology or base not in model_climatology:
                continue
            st = _clim_for(days, station_climatology, base).assign_coords(time=forecast["time"].values)
            mo = _clim_for(
                days,
                model_climatology.sel(plot=forecast["plot"].values)
                if "plot" in model_climatology.dims
                else model_climatology,
                base,
            ).assign_coords(time=forecast["time"].values)
            if name in _ADDITIVE:
                out[name] = out[name] + (st - mo)
            elif name in _RATIO and not hourly:
                out[name] = out[name] * (st / mo.where(mo > 0)).fillna(1.0).clip(0.25, 4.0)
        steps.append("delta method against the model climatology")
    if not hourly:
        issue = (
            pd.Timestamp(issue_date).normalize() if issue_date is not None else days[0] - pd.Timedelta(days=1)
        )
        lead = np.asarray((days - issue) / pd.Timedelta(days=1), float)
        weight = xr.DataArray(
            relaxation_weight(lead, relax_start_day, relax_end_day),
            dims="time",
            coords={"time": forecast["time"].values},
        )
        for name in list(out.data_vars):
            if name.endswith("_qc") or name not in station_climatology:
                continue
            st = _clim_for(days, station_climatology, name).assign_coords(time=forecast["time"].values)
            fc = out[name]
            mean = fc.mean("member") if "member" in fc.dims else fc
            target = (1 - weight) * mean + weight * st
            if name in _RATIO:
                ratio = (fc / mean.where(mean > 0)).fillna(1.0)
                out[name] = (target * ratio).transpose(*fc.dims)
            else:
                out[name] = (target + (fc - mean)).transpose(*fc.dims)
        steps.append(
            f"ensemble mean relaxed to the station climatology from lead day {relax_start_day:g} "
            f"(weight 0) to {relax_end_day:g} (weight 1), member deviations kept"
        )
    for name, (lo, hi) in _BOUNDS.items():
        if name in out:
            out[name] = out[name].clip(lo, hi)
    for name in forecast.data_vars:
        if name in out and not name.endswith("_qc"):
            out[name].attrs = dict(forecast[name].attrs)
    out.attrs = dict(forecast.attrs)
    out.attrs["bias_adjustment"] = "; ".join(steps) or "none"
    out.attrs["station_climatology"] = str(station_climatology.attrs.get("source", ""))
    return out


def cell_id(lat: float, lon: float, cell_deg: float = 0.1) -> str:
    """Id of the model cell a point falls in, e.g. ``"29.6N106.5E"``."""
    la = round(round(float(lat) / cell_deg) * cell_deg, 4)
    lo = round(round(float(lon) / cell_deg) * cell_deg, 4)
    return f"{la:g}N{lo:g}E"


def forecast_for_plots(
    plots: xr.Dataset,
    *,
    kind: str = "forecast",
    days: int = 16,
    resolution: str = "daily",
    station_climatology: xr.Dataset | None = None,
    responses: Mapping[str, dict] | dict | None = None,
    opener: Callable = urllib.request.urlopen,
    issue_date=None,
    lapse_rate_c_per_100m: float = 0.6,
    cell_deg: float = 0.1,
    fallback: bool = True,
) -> xr.Dataset:
    """Open-Meteo forecast, ensemble or seasonal weather on every plot, dims (time, plot[, member]).

    Parameters
    ----------
    plots : xarray.Dataset
        Dim ``plot`` with ``lat``, ``lon`` [deg] and ``elevation_m`` [m] (``PlotSet.to_dataset()``).
    kind : {"forecast", "ensemble", "seasonal"}
    days : int, default 16
    resolution : {"daily", "hourly"}
    station_climatology : xarray.Dataset, optional
        Climatology of the plots' station weather (dims (dayofyear, plot)); when given the forecast is
        bias-adjusted to it (:func:`bias_adjust`) and used as the fallback.
    responses : dict, optional
        Recorded responses instead of fetching: either one decoded JSON response for every cell, or a dict
        cell id (:func:`cell_id`) -> response.
    opener : callable
        Passed to :func:`orchard.sources.openmeteo.fetch_openmeteo` (tests inject a fake).
    issue_date : date, optional
        For the lead times of the bias adjustment and the fallback's first day (default today).
    fallback : bool, default True
        When the service is unreachable: the station climatology for the forecast days (said in attrs
        ``source`` and ``forecast_fallback``) if one is given, else the InputError.

    Raises
    ------
    InputError
        Unknown kind or resolution, plots without lat/lon, a refused request, or an unreachable service
        without a climatology to fall back on.
    """
    if kind not in openmeteo.OPENMETEO_URLS:
        raise InputError(f"unknown forecast kind '{kind}'; use one of {', '.join(openmeteo.OPENMETEO_URLS)}.")
    if resolution not in ("daily", "hourly"):
        raise InputError(f"resolution '{resolution}' is not supported; use 'daily' or 'hourly'.")
    if kind == "seasonal" and resolution == "hourly":
        raise InputError("the seasonal API has no hourly data; use resolution 'daily'.")
    for name in ("lat", "lon"):
        if name not in plots:
            raise InputError(f"the plots dataset has no '{name}'; give plot centroids in degrees.")
    lats = np.asarray(plots["lat"].values, float)
    lons = np.asarray(plots["lon"].values, float)
    cells = [cell_id(a, b, cell_deg) for a, b in zip(lats, lons, strict=True)]
    unique = list(dict.fromkeys(cells))
    issue = pd.Timestamp(issue_date).normalize() if issue_date is not None else pd.Timestamp.now().normalize()
    stations = []
    try:
        for cell in unique:
            j = cells.index(cell)
            if responses is not None:
                payload = (
                    responses.get(cell, responses)
                    if isinstance(responses, Mapping) and "latitude" not in responses
                    else responses
                )
                if not isinstance(payload, dict) or "latitude" not in payload:
                    raise InputError(f"no recorded Open-Meteo response for cell {cell}; record one per cell.")
            else:
                hourly = HOURLY_REQUEST if resolution == "hourly" else None
                daily = DAILY_REQUEST if resolution == "daily" else None
                payload = openmeteo.fetch_openmeteo(
                    kind, lats[j], lons[j], hourly=hourly, daily=daily, days=days, opener=opener
                )
            ds = openmeteo.parse_openmeteo(
                payload,
                cell,
                resolution=resolution,
                kind=kind,
                where=f"Open-Meteo {kind} response for cell {cell}",
            )
            stations.append(ds)
    except InputError as exc:
        if "could not reach" not in str(exc) or not fallback:
            raise
        if station_climatology is None:
            why = str(exc).split(";")[0]
            raise InputError(
                f"{why} and no station climatology was given to fall back on; check the network, "
                "retry later or pass station_climatology."
            ) from None
        return _fallback(plots, station_climatology, issue, days, str(exc))
    combined = stations[0] if len(stations) == 1 else xr.concat(stations, dim="station", join="outer")
    plot_ds = plots.copy()
    plot_ds["station_id"] = ("plot", np.asarray(cells, dtype=object))
    on_plots = ow.weather_for_plots(combined, plot_ds, lapse_rate_c_per_100m=lapse_rate_c_per_100m)
    on_plots = on_plots.drop_vars([v for v in on_plots.data_vars if str(v).endswith("_qc")])
    on_plots.attrs["source"] = f"{kind}: Open-Meteo ({len(unique)} cells), issued {issue:%Y-%m-%d}"
    on_plots.attrs["licence"] = "Open-Meteo data, CC BY 4.0"
    if station_climatology is not None and resolution == "daily":
        on_plots = bias_adjust(on_plots, station_climatology, issue_date=issue)
    return on_plots


def _fallback(plots, station_climatology, issue, days, reason) -> xr.Dataset:
    series = ow.climatology_series(
        station_climatology, issue + pd.Timedelta(days=1), issue + pd.Timedelta(days=days)
    )
    series = series.drop_vars([v for v in series.data_vars if str(v).endswith("_qc")])
    if "plot" in series.dims:
        series = series.sel(plot=plots["plot"].values)
    series.attrs["source"] = "climatology (forecast unavailable)"
    series.attrs["forecast_fallback"] = reason
    return series
