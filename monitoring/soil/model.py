"""Orchestrators: plot weather + sensors from the database -> ETo, water balance, maps.

:func:`run` is the pure orchestrator (plot dataset + daily plot weather + optional sensor depletion ->
balance dataset); :func:`balance_from_db` and :func:`map_from_db` fetch their inputs from the store, for the
CLI and the app.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitoring.soil import water_balance as wb
from monitoring.soil.et0 import reference_et_daily
from orchard import store
from orchard.errors import InputError
from orchard.plots import PlotSet
from orchard.weather import saturation_vapour_pressure

__all__ = [
    "eto_from_weather",
    "run",
    "sensor_daily_means",
    "observed_depletion",
    "balance_from_db",
    "map_from_db",
    "MAP_VARIABLES",
]

MAP_VARIABLES = {
    "moisture": "moisture_m3_m3",
    "ec": "ec_ds_m",
    "salinity": "ec_ds_m",
    "ph": "ph",
    "moisture_m3_m3": "moisture_m3_m3",
    "ec_ds_m": "ec_ds_m",
}


def eto_from_weather(weather: xr.Dataset) -> xr.Dataset:
    """Daily ETo [mm/d] and its fallback flags from a daily plot-weather dataset (dims time, plot)."""
    times = pd.DatetimeIndex(weather["time"].values)
    doy = times.dayofyear.to_numpy()[:, None]
    tmin, tmax = weather["tmin_c"].values, weather["tmax_c"].values
    rh_min = weather["rh_min_pct"].values if "rh_min_pct" in weather else None
    rh_max = weather["rh_max_pct"].values if "rh_max_pct" in weather else None
    ea = None
    if rh_min is None and "rh_mean_pct" in weather:  # FAO-56 Eq. 19 from the mean humidity
        es = (saturation_vapour_pressure(tmin) + saturation_vapour_pressure(tmax)) / 2
        ea = weather["rh_mean_pct"].values / 100.0 * es
    eto, flags = reference_et_daily(
        tmin,
        tmax,
        weather["rs_mj_m2"].values if "rs_mj_m2" in weather else None,
        weather["wind_ms"].values if "wind_ms" in weather else None,
        weather["lat"].values[None, :],
        weather["elevation_m"].values[None, :],
        doy,
        rh_min,
        rh_max,
        ea,
        return_flags=True,
    )
    return xr.Dataset(
        {
            "eto_mm": (("time", "plot"), eto, {"units": "mm d-1", "long_name": "FAO-56 reference ET"}),
            "eto_fallback": (
                ("time", "plot"),
                flags,
                {
                    "units": "1",
                    "long_name": "ETo fallbacks: 1 Rs "
                    "from temperature, 2 ea from Tmin, 4 wind 2 m/s, 8 ea from RHmax",
                },
            ),
        },
        coords={"time": weather["time"].values, "plot": weather["plot"].values},
        attrs={"source": weather.attrs.get("source", "")},
    )


def run(
    plots: xr.Dataset, weather: xr.Dataset, params=None, *, observed_depletion_mm=None, irrigation_mm=None
) -> xr.Dataset:
    """ETo + water balance for every plot: the dataset of :func:`water_balance.water_balance` plus
    ``eto_fallback`` and the weather source."""
    params = params or wb.default_parameters()
    eto = eto_from_weather(weather)
    ds = wb.water_balance(
        eto["eto_mm"],
        weather["precip_mm"],
        plots,
        params,
        observed_depletion_mm=observed_depletion_mm,
        irrigation_mm=irrigation_mm,
    )
    ds["eto_fallback"] = eto["eto_fallback"]
    if "irrigation" in plots:
        ds["irrigation"] = (
            "plot",
            plots["irrigation"].values.astype(str),
            {"long_name": "Irrigation system", "units": ""},
        )
    ds.attrs["source"] = weather.attrs.get("source", "")
    return ds


def sensor_daily_means(session: Session, variable: str, start, end) -> pd.DataFrame:
    """Daily (UTC+8) means of QC-passed readings of one variable per sensor, with position and plot."""
    from monitoring.soil.ingest import read_readings

    start_utc = pd.Timestamp(start).tz_localize("Asia/Shanghai").tz_convert("UTC")
    end_utc = pd.Timestamp(end).tz_localize("Asia/Shanghai").tz_convert("UTC") + pd.Timedelta(days=1)
    readings = read_readings(
        session, variables=[variable], start=start_utc, end=end_utc - pd.Timedelta(seconds=1)
    )
    if readings.empty:
        return pd.DataFrame(columns=["sensor_id", "date", "value", "n", "plot_id", "depth_m", "lon", "lat"])
    readings = readings[np.isfinite(readings["value"])]
    readings["date"] = readings["time_utc"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize()
    daily = readings.groupby(["sensor_id", "date"])["value"].agg(["mean", "count"]).reset_index()
    daily = daily.rename(columns={"mean": "value", "count": "n"})
    daily = daily[daily["n"] >= 12]  # a day's mean needs at least half of the hourly readings
    s = store.Sensor
    sensors = pd.DataFrame(
        session.execute(select(s.sensor_id, s.plot_id, s.depth_m, s.lon, s.lat)).all(),
        columns=["sensor_id", "plot_id", "depth_m", "lon", "lat"],
    )
    return daily.merge(sensors, on="sensor_id", how="left")


def observed_depletion(daily_theta: pd.DataFrame, plots: xr.Dataset, times, params) -> np.ndarray:
    """Root-zone depletion [mm] (time, plot) from the plots' sensors' daily mean θ; NaN where none.

    The plot's sensors are averaged and taken as representative of the whole root zone
    (``Dr = 1000 (θFC − θ̄) Zr``); a profile with several depths uses
    :func:`water_balance.depletion_from_theta`.
    """
    soil = wb.plot_soil(plots, params)
    times = pd.DatetimeIndex(times)
    out = np.full((len(times), plots.sizes["plot"]), np.nan)
    if daily_theta.empty:
        return out
    index = {p: i for i, p in enumerate(plots["plot"].values.astype(str))}
    mean = daily_theta.groupby(["plot_id", "date"])["value"].mean()
    for (plot_id, date), theta in mean.items():
        if plot_id in index and date in times:
            j = index[plot_id]
            out[times.get_loc(date), j] = wb.depletion_from_theta(
                np.array([theta]), soil["field_capacity"][j], np.array([soil["root_depth_m"][j]])
            )
    return out


def balance_from_db(
    session: Session, plots: PlotSet, start, end, params=None, use_sensors=True
) -> xr.Dataset:
    """Water balance of ``plots`` over [start, end] (local dates) from the database's weather and sensors."""
    from orchard.plot_weather import plot_weather

    params = params or wb.default_parameters()
    weather = plot_weather(
        session, plots, resolution="daily", start=start, end=f"{pd.Timestamp(end).date()} 23:59:59"
    )
    plot_ds = plots.to_dataset().sel(plot=weather["plot"].values)
    observed = None
    if use_sensors:
        daily = sensor_daily_means(session, "moisture_m3_m3", start, end)
        observed = observed_depletion(daily, plot_ds, weather["time"].values, params)
        if not np.isfinite(observed).any():
            observed = None
    return run(plot_ds, weather, params, observed_depletion_mm=observed)


def map_from_db(
    session: Session,
    plots: PlotSet,
    variable: str,
    date,
    method: str = "idw",
    cell_m: float = 10.0,
    dem_path=None,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Interpolated map of a soil variable on one local date plus per-plot summaries."""
    from monitoring.soil import maps

    if variable not in MAP_VARIABLES:
        raise InputError(f"cannot map '{variable}'; use one of moisture, ec, salinity, ph.")
    canonical = MAP_VARIABLES[variable]
    day = pd.Timestamp(date).normalize()
    daily = sensor_daily_means(session, canonical, day, day)
    if daily.empty:
        raise InputError(
            f"no QC-passed {canonical} readings on {day.date()}; ingest sensor files or choose another date."
        )
    if canonical == "moisture_m3_m3":
        daily = daily[daily["depth_m"].fillna(0) <= 0.3]  # one depth per map: the shallow probes
    bounds = tuple(plots.frame.total_bounds)
    ds = maps.interpolate(
        daily["lon"],
        daily["lat"],
        daily["value"],
        variable=canonical,
        method=method,
        bounds_lonlat=bounds,
        cell_m=cell_m,
        dem_path=dem_path,
    )
    ds.attrs["date"] = str(day.date())
    summary = maps.plot_summaries(ds, plots.frame)
    return ds, summary
