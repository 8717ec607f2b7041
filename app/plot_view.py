"""What the plot page shows, computed without Streamlit: model calls, results as dicts and DataFrames.

Every ``*_view`` function opens nothing itself: it takes a database session and the caller, checks the
caller's right to the plot with :func:`orchard.store.get_plot` (access is scoped in the data layer, so an id
that came from a URL is never trusted), runs the module the way its command-line face does, and returns plain
data the page can cache and translate. Model errors (``OrchardError``) propagate; the page shows their
sentence. The small ``*_rows`` / ``*_frame`` / ``*_summary`` helpers are pure and tested on their own.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy.orm import Session

from orchard import config, store
from orchard.errors import InputError, OrchardError
from orchard.plots import PlotSet

#: The default "as of" date: a summer day inside the sample district's weather record (2010-2017).
DEFAULT_AS_OF = date(2016, 7, 15)
#: First day of weather fetched: the whole sample record, so past years can serve as outlook members.
WEATHER_RECORD_START = "2010-01-01"
#: Days of soil water balance before the "as of" date (as ``orchard soil balance``).
SOIL_WINDOW_DAYS = 180
#: Days of root-zone water shown on the soil chart.
SOIL_CHART_DAYS = 60
#: Growth variables of the outlook chart.
OUTLOOK_VARIABLES = ("fruit_expansion_mm_d", "brix")
#: Colours of pest levels 1-5 (Streamlit markdown colour names): light green to outbreak red.
LEVEL_COLOURS = {1: "green", 2: "blue", 3: "yellow", 4: "orange", 5: "red"}


def parse_as_of(text, default: date = DEFAULT_AS_OF) -> date:
    """A date from a query parameter (YYYY-MM-DD); anything else gives ``default``."""
    try:
        day = pd.to_datetime(text, format="%Y-%m-%d") if isinstance(text, str) and text else None
    except (ValueError, TypeError, OverflowError):
        return default
    return default if day is None or pd.isna(day) else day.date()


def _plot_set(session: Session, caller: str, plot_id: str) -> tuple[dict, PlotSet]:
    row = store.get_plot(session, caller, plot_id)  # raises AccessError / InputError
    return row, PlotSet.from_records([row])


def daily_weather(session: Session, caller: str, plot_id: str) -> xr.Dataset:
    """The plot's whole daily weather record (station readings moved to the plot), after the access check."""
    from orchard.plot_weather import plot_weather

    _, plots = _plot_set(session, caller, plot_id)
    return plot_weather(session, plots, resolution="daily", start=WEATHER_RECORD_START)


# ----------------------------------------------------------------------------------------------------------
# Growth
# ----------------------------------------------------------------------------------------------------------
def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _number(value, digits: int) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, digits)


def growth_today(run: xr.Dataset, plot_id: str) -> dict:
    """Stage, bloom date, fruit size and Brix on the last day of a :func:`growth.model.run` result."""
    from growth.phenology import STAGES

    one = run.sel(plot=plot_id)
    code = int(one["stage"].values[-1])
    return {"date": _day(one["time"].values[-1]), "stage_code": code, "stage": STAGES[code],
            "bloom_date": _day(one["bloom_date"].values),
            "fruit_diameter_mm": _number(one["fruit_diameter_mm"].values[-1], 1),
            "brix": _number(one["brix"].values[-1], 1)}


def expected_harvest(plots: xr.Dataset, weather: xr.Dataset, issue, *, session=None, params=None) -> dict:
    """Expected colour break, maturity and the slope's maturity delay (growth.outlook.expected_dates: the
    season run to 30 June after bloom on each earlier year's weather); a date is None when fewer than half of
    the members reach it."""
    import re

    from growth import model, outlook
    from orchard.errors import InputError

    issue = pd.Timestamp(issue).normalize()
    season_end = pd.Timestamp(year=model.bloom_year_of(issue) + 1, month=6, day=30)
    plot_id = str(plots["plot"].values[0])
    out = {"season_end": season_end.date(), "n_members": 0, "member_years": [], "colour_break_date": None,
           "maturity_date": None, "maturity_delay_days": None, "n_mature": 0}
    try:
        dates = outlook.expected_dates(plots.sel(plot=[plot_id]), weather.sel(plot=[plot_id]), issue, params,
                                       session=session)
    except InputError as exc:
        if "past year" in str(exc):  # too few earlier years: no expectation, the rest of the page stands
            return out
        raise
    n = int(dates.attrs["n_members"])
    n_mature = int(dates["members_reaching_maturity"].sel(plot=plot_id))
    enough = n_mature * 2 >= n
    median = dates.sel(plot=plot_id, quantile=0.5)
    delay = float(dates["maturity_delay_days"].sel(plot=plot_id))
    out.update(n_members=n, n_mature=n_mature,
               member_years=[int(y) for y in
                             re.findall(r"(\d{4}) weather record", dates.attrs["member_sources"])],
               colour_break_date=_day(median["colour_break_date"].values),
               maturity_date=_day(median["maturity_date"].values) if enough else None,
               maturity_delay_days=round(delay, 0) if enough and np.isfinite(delay) else None)
    return out


def outlook_frame(outlook: xr.Dataset, plot_id: str, variable: str) -> pd.DataFrame:
    """One variable of a :func:`growth.outlook.outlook` as rows ``date, p10, p50, p90`` (one per lead day)."""
    one = outlook[variable].sel(plot=plot_id)
    frame = pd.DataFrame({"date": pd.DatetimeIndex(outlook["time"].values)})
    for q in outlook["quantile"].values:
        frame[f"p{round(float(q) * 100)}"] = one.sel(quantile=q).values.astype(float)
    return frame


def _check_reaches(weather: xr.Dataset, day: pd.Timestamp) -> None:
    times = pd.DatetimeIndex(weather["time"].values)
    if day < times[0] or day > times[-1]:
        raise InputError(f"the plot's daily weather covers {times[0].date()} to {times[-1].date()}, not "
                         f"{day.date()}; choose a date in that range or import more weather.")


def growth_view(session: Session, caller: str, plot_id: str, as_of, weather: xr.Dataset) -> dict:
    """Growth section: today's stage, expected colour break/maturity, slope delay, 30-day outlook frames."""
    from growth import model
    from growth import outlook as growth_outlook

    _, plots = _plot_set(session, caller, plot_id)
    issue = pd.Timestamp(as_of).normalize()
    _check_reaches(weather, issue)
    season = weather.sel(time=slice(model.season_start(model.bloom_year_of(issue)), issue))
    today = growth_today(model.run(plots, season, session=session), plot_id)
    out = {"today": today, "harvest": expected_harvest(plots.to_dataset(), weather, issue, session=session)}
    try:  # the stage stands on its own when the outlook cannot be made (e.g. too few past years)
        ahead = growth_outlook.outlook(plots, weather, issue, session=session)
    except OrchardError as exc:
        return {**out, "outlook_error": str(exc)}
    return {**out, "outlook": {v: outlook_frame(ahead, plot_id, v) for v in OUTLOOK_VARIABLES},
            "n_members": int(ahead.attrs["n_members"])}


# ----------------------------------------------------------------------------------------------------------
# Pests
# ----------------------------------------------------------------------------------------------------------
def pest_rows(outlook: xr.Dataset, plot_id: str) -> list[dict]:
    """Per pest: level (1-5) and probability at each horizon of a :func:`pests.outlook.outlook`."""
    rows = []
    for pest in outlook["pest"].values.astype(str):
        cell = outlook.sel(plot=plot_id, pest=pest)
        rows.append({"pest": str(pest),
                     "level": {str(h): int(cell["level"].sel(horizon=h)) for h in outlook["horizon"].values},
                     "probability": {str(h): float(cell["probability"].sel(horizon=h))
                                     for h in outlook["horizon"].values}})
    return rows


def spray_actions(signals: pd.DataFrame, plot_id: str) -> list[dict]:
    """The plot's spray signals calling for action (:func:`pests.spray.spray_signals`), most urgent first."""
    mine = signals[(signals["plot"].astype(str) == plot_id) & (signals["action"] != "none")]
    rows = [{"pest": str(r["pest"]), "action": str(r["action"]), "latest_date": r["latest_date"],
             "probability_15d": float(r["probability_15d"])} for r in mine.to_dict("records")]
    return sorted(rows, key=lambda r: (r["action"] != "curative", r["latest_date"] or date.max))


def pests_view(session: Session, caller: str, plot_id: str, as_of, weather: xr.Dataset) -> dict:
    """Pest section: levels and probabilities per pest and horizon, and the spray actions (as the CLI)."""
    from pests.outlook import outlook
    from pests.spray import spray_signals

    _, plots = _plot_set(session, caller, plot_id)
    ds = outlook(plots.to_dataset(), weather, pd.Timestamp(as_of).normalize())
    return {"pests": pest_rows(ds, plot_id), "spray": spray_actions(spray_signals(ds), plot_id),
            "weather_source": str(ds["weather_source"].values[0])}


# ----------------------------------------------------------------------------------------------------------
# Soil water
# ----------------------------------------------------------------------------------------------------------
def soil_summary(balance: xr.Dataset, advice: pd.DataFrame, plot_id: str, as_of) -> dict | None:
    """Ks, depletion, RAW, TAW and the irrigation call on ``as_of``; None if the balance does not reach it."""
    times = pd.DatetimeIndex(balance["time"].values)
    day = pd.Timestamp(as_of).normalize()
    if len(times) == 0 or times[-1] != day:
        return None
    row = advice[advice["plot_id"].astype(str) == plot_id].iloc[0]
    sensor_days = int(balance["depletion_from_sensor"].sel(plot=plot_id).sum())
    return {"date": day.date(), "ks": round(float(row["ks"]), 2),
            "depletion_mm": round(float(row["depletion_mm"]), 0), "raw_mm": round(float(row["raw_mm"]), 0),
            "taw_mm": round(float(row["taw_mm"]), 0), "irrigate": bool(row["irrigate"]),
            "gross_mm": None if pd.isna(row["gross_mm"]) else round(float(row["gross_mm"]), 0),
            "sensor_days": sensor_days}


def soil_water_frame(balance: xr.Dataset, plot_id: str, days: int = SOIL_CHART_DAYS) -> pd.DataFrame:
    """The last ``days`` of root-zone water as rows ``date, available_pct, threshold_pct, precip_mm``.

    Available water = 100 (1 − Dr / TAW) [%] (FAO-56 Eq. 84's depletion Dr against the total available water);
    below ``threshold_pct`` = 100 (1 − RAW / TAW) the trees are stressed and irrigation is advised.
    """
    one = balance.sel(plot=plot_id).isel(time=slice(-days, None))
    taw = one["taw_mm"].values.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        available = 100.0 * (1.0 - one["depletion_mm"].values.astype(float) / taw)
        threshold = 100.0 * (1.0 - one["raw_mm"].values.astype(float) / taw)
    return pd.DataFrame({"date": pd.DatetimeIndex(one["time"].values), "available_pct": available.round(1),
                         "threshold_pct": threshold.round(1),
                         "precip_mm": one["precip_mm"].values.astype(float).round(1)})


def soil_view(session: Session, caller: str, plot_id: str, as_of) -> dict | None:
    """Soil section: the root-zone water balance to ``as_of`` (sensors reset it where they have readings)."""
    from monitoring.soil import advice, model
    from monitoring.soil import water_balance as wb

    row, plots = _plot_set(session, caller, plot_id)
    end = pd.Timestamp(as_of).normalize()
    start = end - pd.Timedelta(days=SOIL_WINDOW_DAYS)
    params = wb.default_parameters()
    balance = model.balance_from_db(session, plots, str(start.date()), str(end.date()), params,
                                    use_sensors=True)
    table = advice.irrigation_advice(balance, params, irrigation=[row.get("irrigation") or "none"])
    summary = soil_summary(balance, table, plot_id, end)
    if summary is not None:
        summary["water"] = soil_water_frame(balance, plot_id)
    return summary


# ----------------------------------------------------------------------------------------------------------
# Crop condition
# ----------------------------------------------------------------------------------------------------------
def crop_summary(series: xr.Dataset, alerts: pd.DataFrame, plot_id: str) -> dict:
    """Latest clear NDVI of the plot, its 30-day trend and its alerts (as ``orchard monitor`` prints them)."""
    times = pd.DatetimeIndex(series["time"].values)
    one = series.sel(plot=plot_id)
    clear = np.flatnonzero(one["clear"].values)
    out = {"last_clear": None, "ndvi": None, "trend_per_30d": None, "clear_fraction": None,
           "latest_scene": _day(times.max()) if len(times) else None, "alerts": []}
    if clear.size:
        last = clear[-1]
        out.update(last_clear=_day(times[last]), ndvi=round(float(one["ndvi_median"].values[last]), 2),
                   clear_fraction=round(float(one["clear_fraction"].values[last]), 2))
        if clear.size >= 2:
            prev = clear[-2]
            days = max((times[last] - times[prev]).days, 1)
            smooth = one["ndvi_smooth"].values
            out["trend_per_30d"] = round(float((smooth[last] - smooth[prev]) / days * 30), 3)
    for r in alerts[alerts["plot_id"].astype(str) == plot_id].to_dict("records"):
        evidence = r["evidence"] if isinstance(r["evidence"], dict) else json.loads(r["evidence"] or "{}")
        out["alerts"].append({"signal": r["signal"], "severity": int(r["severity"]),
                              "message_key": r["message_key"], "since": _day(r["since"]),
                              "area_mu": round(float(r["area_mu"]), 1), **evidence})
    return out


def ndvi_frame(series: xr.Dataset, plot_id: str) -> pd.DataFrame:
    """The plot's NDVI series as rows ``date, ndvi, ndvi_smooth`` (``ndvi`` NaN where the scene was cloudy).

    Dates are local (China standard time) days of the scene acquisitions.
    """
    one = series.sel(plot=plot_id)
    times = pd.DatetimeIndex(series["time"].values)
    if times.tz is None:
        times = times.tz_localize("UTC")
    local = times.tz_convert(f"Etc/GMT-{config.CHINA_UTC_OFFSET_H}").tz_localize(None).normalize()
    clear = one["clear"].values.astype(bool)
    return pd.DataFrame({"date": local,
                         "ndvi": np.where(clear, one["ndvi_median"].values.astype(float), np.nan).round(3),
                         "ndvi_smooth": one["ndvi_smooth"].values.astype(float).round(3)})


def zone_features(zones, plot_id: str) -> list[dict]:
    """The plot's poor-growth zones (``MonitoringResult.zones``, EPSG:4326) as GeoJSON features."""
    import shapely

    if zones is None or len(zones) == 0 or "plot_id" not in zones:
        return []
    mine = zones[zones["plot_id"].astype(str) == plot_id]
    features = []
    for row in mine.to_dict("records"):
        geometry = row.pop("geometry")
        if geometry is None or geometry.is_empty:
            continue
        area_mu = row.get("area_mu")
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geometry)),
                         "properties": {"area_mu": None if area_mu is None or pd.isna(area_mu)
                                        else round(float(area_mu), 1)}})
    return features


def crop_view(session: Session, caller: str, plot_id: str) -> dict:
    """Crop-condition section: :func:`monitoring.run.run` on the plot over every registered scene: the
    latest NDVI and alerts, the NDVI series and the poor-growth zones with the plot's outline."""
    from monitoring import run as monitoring_run

    row, plots = _plot_set(session, caller, plot_id)
    scenes = [r["path"] for r in store.list_scenes(session)]
    if not scenes:
        raise InputError("no imagery is registered; run orchard import-imagery PATH... first.")
    result = monitoring_run.run(plots, scenes)
    out = crop_summary(result.series, result.alerts, plot_id)
    out["series"] = ndvi_frame(result.series, plot_id)
    out["zones"] = zone_features(result.zones, plot_id)
    out["outline"] = json.loads(row["geometry_geojson"]) if row.get("geometry_geojson") else None
    return out
