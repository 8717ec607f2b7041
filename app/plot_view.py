"""What the plot page shows, read from the stored weekly run, without Streamlit: results as dicts and frames.

No model runs here. The weekly chain (``orchard run-week``, :mod:`advice.chain`) stores every run whole: one
``plot_status`` row per plot (the numbers every face shows) and the module outputs behind them (NetCDF under
``ORCHARD_HOME/results/<run_id>/``). :func:`plot_page` reads them through :mod:`orchard.results` (the faces'
one reader, which checks the caller's right to the plot, so an id that came from a URL is never trusted) and
the run's recommendations through :mod:`orchard.store`, so the page, ``orchard advice`` and the plot status
show the same numbers. A part the run did not store fails on its own with one sentence (``{"error": ...}``);
the small ``*_frame`` / ``*_summary`` helpers are pure and tested on their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from orchard import config, results, store
from orchard.errors import InputError, OrchardError

#: Days of root-zone water shown on the soil chart (the chain stores the last 60 days).
SOIL_CHART_DAYS = 60
#: Growth variables of the outlook chart.
OUTLOOK_VARIABLES = ("fruit_expansion_mm_d", "brix")
#: Colours of pest levels 1-5 (Streamlit markdown colour names): light green to outbreak red.
LEVEL_COLOURS = {1: "green", 2: "blue", 3: "yellow", 4: "orange", 5: "red"}
#: Names of the stored stage codes (plot_status.stage; the CF ``flag_meanings`` of growth's ``stage``
#: output, growth.phenology.STAGES), the keys of the page's ``stage.<name>`` texts.
STAGE_NAMES = {0: "dormant_induction", 1: "bud_break_flush", 2: "bloom", 3: "fruit_set_stage_I",
               4: "fruit_stage_II_expansion", 5: "fruit_stage_III_maturation", 6: "harvest_mature"}
#: Stage from which the fruit has a size and a Brix worth showing (fruit set).
FRUIT_STAGE = 3
#: Module each page section reads (besides plot_status), for the sentence when a run did not store it.
SECTION_MODULES = {"growth": "growth", "pests": "pests", "crop": "monitoring", "soil": "soil"}


def parse_as_of(text, default: date | None = None) -> date | None:
    """A date from a query parameter (YYYY-MM-DD); anything else gives ``default``."""
    try:
        day = pd.to_datetime(text, format="%Y-%m-%d") if isinstance(text, str) and text else None
    except (ValueError, TypeError, OverflowError):
        return default
    return default if day is None or pd.isna(day) else day.date()


def season_end(issue) -> date:
    """Last day the expected dates look at: 30 June after the season's bloom (growth.model's season: from
    April the fruit on the tree bloomed this year, before April the year before)."""
    issue = pd.Timestamp(issue)
    bloom_year = issue.year if issue.month >= 4 else issue.year - 1
    return date(bloom_year + 1, 6, 30)


def _day(value) -> date | None:
    if value is None:
        return None
    try:
        return None if pd.isna(value) else pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if not np.isfinite(value) else value


# ----------------------------------------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------------------------------------
def run_summary(run: Mapping) -> dict:
    """The parts of a stored run (``orchard.results.latest_run``) the page needs, as plain values."""
    return {"run_id": run["run_id"], "issued_on": _day(run["issued_on"]),
            "created_utc": str(run.get("created_utc") or ""), "sources": dict(run.get("sources") or {}),
            "notes": list(run.get("notes") or []), "steps": list(run.get("steps") or []),
            "n_plots": run.get("n_plots")}


def find_run(session: Session, as_of: date | None = None) -> dict | None:
    """The latest stored run, or the latest issued on or before ``as_of``; None when there is none."""
    run = results.latest_run(session, on_or_before=as_of)
    return None if run is None else run_summary(run)


def run_dates(session: Session, limit: int = 104) -> list[date]:
    """Issue dates of the stored runs, newest first (at most ``limit``)."""
    from sqlalchemy import select

    rows = session.scalars(select(store.AdviceRun.issued_on).distinct()
                           .order_by(store.AdviceRun.issued_on.desc()).limit(limit))
    return [_day(d) for d in rows]


def _not_stored(run: Mapping, module: str) -> str:
    """One sentence: the run stored no ``module`` results for the plot (with the run's note on it)."""
    notes = [n for n in run.get("notes") or [] if n.split(":", 1)[0].strip().startswith(module)]
    why = f" ({notes[0]})" if notes else ""
    return (f"the weekly run of {run['issued_on']} stored no {module} results for this plot{why}; "
            f"re-run the week with `orchard run-week --date {run['issued_on']}`.")


def _soft(compute: Callable[[], dict | None]) -> dict:
    try:
        return {"ok": compute()}
    except OrchardError as exc:
        return {"error": str(exc)}


# ----------------------------------------------------------------------------------------------------------
# Growth
# ----------------------------------------------------------------------------------------------------------
def growth_today(status: Mapping) -> dict:
    """Stage, bloom date, fruit size and Brix of a plot_status row."""
    code = int(status["stage"])
    return {"date": _day(status["issued_on"]), "stage_code": code, "stage": STAGE_NAMES.get(code, str(code)),
            "bloom_date": _day(status.get("bloom_date")),
            "fruit_diameter_mm": _float(status.get("fruit_diameter_mm")), "brix": _float(status.get("brix"))}


def member_years(sources: str) -> list[int]:
    """The past years of an outlook's ``member_sources`` attribute ("2015 weather record (…); 2014 …")."""
    import re

    return sorted({int(y) for y in re.findall(r"(\d{4}) weather record", sources or "")})


def expected_harvest(status: Mapping, outlook=None) -> dict:
    """Expected colour break and maturity (P50) and the slope's maturity delay of a plot_status row."""
    n = int(status.get("n_members") or 0)
    years = member_years(outlook.attrs.get("member_sources", "")) if outlook is not None else []
    return {"season_end": season_end(status["issued_on"]), "n_members": n,
            "n_mature": int(status.get("members_mature") or 0), "member_years": years,
            "colour_break_date": _day(status.get("colour_break_p50")),
            "maturity_date": _day(status.get("maturity_p50")),
            "maturity_p10": _day(status.get("maturity_p10")),
            "maturity_p90": _day(status.get("maturity_p90")),
            "maturity_delay_days": _float(status.get("maturity_delay_days"))}


def outlook_frame(outlook, variable: str) -> pd.DataFrame:
    """One variable of the stored ``growth_outlook`` (one plot: quantile x lead_day) as rows ``date, p10,
    p50, p90`` (one per lead day)."""
    one = outlook[variable].transpose("quantile", "lead_day")
    frame = pd.DataFrame({"date": pd.DatetimeIndex(outlook["time"].values)})
    for i, q in enumerate(outlook["quantile"].values):
        frame[f"p{round(float(q) * 100)}"] = one.values[i].astype(float)
    return frame


def growth_view(status: Mapping) -> dict:
    """Growth section: stage now, expected colour break/maturity, slope delay, 30-day outlook frames."""
    if status.get("stage") is None:
        raise InputError(_not_stored(status["run"], "growth"))
    outlook = results.module_output(status, "growth_outlook")
    out = {"today": growth_today(status), "harvest": expected_harvest(status, outlook)}
    if outlook is None:
        return {**out, "outlook_error": _not_stored(status["run"], "growth outlook")}
    return {**out, "outlook": {v: outlook_frame(outlook, v) for v in OUTLOOK_VARIABLES},
            "n_members": int(outlook.attrs.get("n_members", out["harvest"]["n_members"]))}


# ----------------------------------------------------------------------------------------------------------
# Pests
# ----------------------------------------------------------------------------------------------------------
def pest_rows(pests: Mapping) -> list[dict]:
    """Per pest: level (1-5) and probability at each horizon, from plot_status.pests
    (``{pest: {horizon: {"level", "probability"}}}``), in the stored order."""
    return [{"pest": str(pest),
             "level": {str(h): int(v["level"]) for h, v in horizons.items()},
             "probability": {str(h): float(v["probability"]) for h, v in horizons.items()}}
            for pest, horizons in pests.items()]


def spray_actions(records: list[Mapping]) -> list[dict]:
    """The run's spray recommendations for the plot (curative first, then by latest date), each with its
    action window (``window_from`` .. ``latest_date``, ``before_rain``)."""
    rows = []
    for r in records:
        if r.get("topic") != "spray":
            continue
        numbers = r.get("action_numbers") or {}
        action = str(r.get("action_key") or "").rsplit("spray_", 1)[-1]
        rows.append({"pest": str(numbers.get("pest")), "action": action,
                     "latest_date": _day(numbers.get("window_to") or numbers.get("latest_date")),
                     "window_from": _day(numbers.get("window_from") or r.get("issued_on")),
                     "before_rain": bool(numbers.get("before_rain"))})
    return sorted(rows, key=lambda r: (r["action"] != "curative", r["latest_date"] or date.max))


def pests_view(status: Mapping, records: list[Mapping]) -> dict:
    """Pest section: levels and probabilities per pest and horizon, and the spray actions of the advice."""
    if not status.get("pests"):
        raise InputError(_not_stored(status["run"], "pests"))
    return {"pests": pest_rows(status["pests"]), "spray": spray_actions(records),
            "weather_source": status["run"].get("sources", {}).get("pests", "")}


# ----------------------------------------------------------------------------------------------------------
# Soil water
# ----------------------------------------------------------------------------------------------------------
def soil_water_frame(balance, days: int = SOIL_CHART_DAYS) -> pd.DataFrame:
    """The last ``days`` of the stored root-zone water (one plot: time) as rows ``date, available_pct,
    threshold_pct, precip_mm``.

    Available water = 100 (1 − Dr / TAW) [%] (FAO-56 Eq. 84's depletion Dr against the total available water);
    below ``threshold_pct`` = 100 (1 − RAW / TAW) the trees are stressed and irrigation is advised.
    """
    one = balance.isel(time=slice(-days, None))
    taw = one["taw_mm"].values.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        available = 100.0 * (1.0 - one["depletion_mm"].values.astype(float) / taw)
        threshold = 100.0 * (1.0 - one["raw_mm"].values.astype(float) / taw)
    precip = one["precip_mm"].values.astype(float) if "precip_mm" in one else np.full(len(taw), np.nan)
    return pd.DataFrame({"date": pd.DatetimeIndex(one["time"].values), "available_pct": available.round(1),
                         "threshold_pct": threshold.round(1), "precip_mm": precip.round(1)})


def soil_view(status: Mapping, records: list[Mapping]) -> dict | None:
    """Soil section: Ks, depletion, RAW, TAW and the irrigation call of the plot_status row, the advised
    gross irrigation, and the last weeks' available water from the stored balance."""
    if status.get("ks") is None:
        raise InputError(_not_stored(status["run"], "soil"))
    irrigate = next((r for r in records if r.get("topic") == "irrigate"), None)
    gross = _float((irrigate.get("action_numbers") or {}).get("gross_mm")) if irrigate else None
    out = {"date": _day(status["issued_on"]), "ks": float(status["ks"]),
           "depletion_mm": _float(status.get("depletion_mm")), "raw_mm": _float(status.get("raw_mm")),
           "taw_mm": _float(status.get("taw_mm")), "irrigate": bool(status.get("irrigate")),
           "gross_mm": gross, "sensor_days": 0, "water": None,
           "state": water_state(ks=float(status["ks"]), depletion_mm=_float(status.get("depletion_mm")),
                                raw_mm=_float(status.get("raw_mm")))}
    balance = results.module_output(status, "soil")
    if balance is not None:
        out["water"] = soil_water_frame(balance)
        if "depletion_from_sensor" in balance:
            out["sensor_days"] = int(balance["depletion_from_sensor"].sum())
    return out


# ----------------------------------------------------------------------------------------------------------
# Crop condition
# ----------------------------------------------------------------------------------------------------------
def _local_days(times) -> pd.DatetimeIndex:
    times = pd.DatetimeIndex(times)
    if times.tz is None:
        times = times.tz_localize("UTC")
    return times.tz_convert(f"Etc/GMT-{config.CHINA_UTC_OFFSET_H}").tz_localize(None).normalize()


def ndvi_frame(series) -> pd.DataFrame:
    """The stored NDVI series of one plot (time) as rows ``date, ndvi, ndvi_smooth`` (``ndvi`` NaN where the
    scene was cloudy). Dates are local (China standard time) days of the scene acquisitions."""
    clear = series["clear"].values.astype(bool)
    return pd.DataFrame({"date": _local_days(series["time"].values),
                         "ndvi": np.where(clear, series["ndvi_median"].values.astype(float), np.nan).round(3),
                         "ndvi_smooth": series["ndvi_smooth"].values.astype(float).round(3)})


def ndvi_trend(series) -> float | None:
    """Change of the smoothed NDVI between the last two clear scenes, per 30 days (None with fewer)."""
    clear = np.flatnonzero(series["clear"].values.astype(bool))
    if clear.size < 2:
        return None
    times = pd.DatetimeIndex(series["time"].values)
    last, prev = clear[-1], clear[-2]
    days = max((times[last] - times[prev]).days, 1)
    smooth = series["ndvi_smooth"].values.astype(float)
    return round(float((smooth[last] - smooth[prev]) / days * 30), 3)


#: Change of the smoothed NDVI per 30 days below which growth counts as steady: smaller changes are within the
#: scatter of a cloud-masked plot median between scenes (the sample's clear-scene series: ±0.01-0.02).
NDVI_STEADY_PER_30D = 0.02
#: Share of the readily available water (RAW) already used from which the plot counts as drying: an early
#: word before the trees are stressed (FAO-56: Ks < 1 only once the depletion passes RAW).
DRYING_SHARE_OF_RAW = 0.5


def growth_direction(trend_per_30d: float | None) -> str:
    """长势 in words: ``better``, ``steady`` or ``worse`` from the NDVI change per 30 days; ``unknown``
    without one."""
    if trend_per_30d is None or not np.isfinite(trend_per_30d):
        return "unknown"
    if trend_per_30d >= NDVI_STEADY_PER_30D:
        return "better"
    return "worse" if trend_per_30d <= -NDVI_STEADY_PER_30D else "steady"


def water_state(*, ks: float, depletion_mm: float | None, raw_mm: float | None) -> str:
    """水分 in words: ``short`` when the trees are stressed (Ks < 1: the depletion passed RAW), ``dry`` past
    :data:`DRYING_SHARE_OF_RAW` of RAW, else ``ample``."""
    if ks < 1.0 - 1e-6:
        return "short"
    if depletion_mm is not None and raw_mm and depletion_mm >= DRYING_SHARE_OF_RAW * raw_mm:
        return "dry"
    return "ample"


def crop_alerts(text: str) -> list[dict]:
    """The plot's stored alerts (``alerts_json``) as the page's message fields: signal, severity,
    message_key, since (date), area_mu and the evidence numbers."""
    out = []
    for a in json.loads(text) if text else []:
        evidence = a.get("evidence") or {}
        if isinstance(evidence, str):
            evidence = json.loads(evidence or "{}")
        out.append({"signal": a.get("signal"), "severity": int(a.get("severity") or 0),
                    "message_key": a.get("message_key"), "since": _day(a.get("since")),
                    "area_mu": round(float(a.get("area_mu") or 0.0), 1), **evidence})
    return out


def zone_features(text: str) -> list[dict]:
    """The plot's stored poor-growth zones (``zones_geojson``, EPSG:4326) as GeoJSON features."""
    if not text:
        return []
    features = json.loads(text).get("features") or []
    for f in features:
        area = (f.get("properties") or {}).get("area_mu")
        f["properties"] = {"area_mu": None if area is None else round(float(area), 1)}
    return features


def crop_view(status: Mapping, outline: dict | None = None) -> dict:
    """Crop-condition section: the latest clear NDVI of the plot_status row, its 30-day trend, the alerts,
    the NDVI series and the poor-growth zones (with the plot's outline) of the stored monitoring output."""
    series = results.module_output(status, "monitoring")
    if series is None:
        raise InputError(_not_stored(status["run"], "monitoring"))
    times = pd.DatetimeIndex(series["time"].values)
    alerts = str(series["alerts_json"].values[()]) if "alerts_json" in series else ""
    zones = str(series["zones_geojson"].values[()]) if "zones_geojson" in series else ""
    return {"ndvi": _float(status.get("ndvi")), "last_clear": _day(status.get("ndvi_date")),
            "trend_per_30d": ndvi_trend(series), "direction": growth_direction(ndvi_trend(series)),
            "latest_scene": _local_days(times).max().date() if len(times) else None,
            "alerts": crop_alerts(alerts), "series": ndvi_frame(series), "zones": zone_features(zones),
            "outline": outline, "source": series.attrs.get("source", "")}


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------
def plot_page(session: Session, caller: str, plot_id: str, run_id: str) -> dict:
    """Everything the plot page shows of one stored run for one plot, after the caller's access check.

    Returns
    -------
    dict
        ``run`` (:func:`run_summary`), ``advice`` (the run's recommendations for the plot the caller may get,
        most severe first: :func:`orchard.store.approved_recommendations`), ``review`` (its review state)
        and per section ``growth``, ``pests``, ``crop``, ``soil``: ``{"ok": ...}`` or ``{"error": sentence}``.

    Raises
    ------
    orchard.errors.AccessError, InputError
        A plot the caller may not open; a run that does not exist.
    """
    plot = store.get_plot(session, caller, plot_id)  # the access check, and the outline for the zone map
    status = results.plot_status(session, caller, plot_id, run_id)
    # what the caller may get: a grower only advice that is not held (and approved where the district
    # requires review; issue #19), with the reviewer's note
    records = store.approved_recommendations(session, caller, plot_id=plot_id, run_id=run_id)
    review = store.review_state(session, run_id, plot_id)
    if status is None:  # a run without this plot's status (or stored before plot_status existed): its advice
        run = results.get_run(session, run_id)
        missing = {"error": f"the weekly run of {run['issued_on']} stored no results for plot {plot_id}; run "
                            f"`orchard run-week --date {run['issued_on']}` for every plot."}
        return {"run": run_summary(run), "advice": records, "review": review,
                **{s: missing for s in SECTION_MODULES}}
    outline = json.loads(plot["geometry_geojson"]) if plot.get("geometry_geojson") else None
    return {"run": run_summary(status["run"]), "advice": records, "review": review,
            "growth": _soft(lambda: growth_view(status)),
            "pests": _soft(lambda: pests_view(status, records)),
            "crop": _soft(lambda: crop_view(status, outline)),
            "soil": _soft(lambda: soil_view(status, records))}


# ----------------------------------------------------------------------------------------------------------
# The grower's home: this week per plot
# ----------------------------------------------------------------------------------------------------------
def _urgency(record: Mapping) -> tuple:
    """Sort key, most urgent first: severity, then the action that must be done soonest."""
    return (-int(record["severity"]), _day(record.get("valid_to")) or date.max, str(record["plot_id"]))


def week_by_plot(records: list[Mapping]) -> dict:
    """This week's stored advice per plot, for the home tiles, the map and the plot list.

    Returns
    -------
    dict
        ``plots``: {plot_id: {"severity" (1-5), "topic" and "record" of the most urgent recommendation,
        "n" (recommendations)}}; ``urgent_plot``: the plot whose most urgent advice is most urgent (ties:
        the one to act on soonest); ``pest_plot``: the plot of the most urgent spray (None without one).
    """
    plots: dict[str, dict] = {}
    for r in sorted(records, key=_urgency):
        entry = plots.setdefault(r["plot_id"], {"severity": int(r["severity"]), "topic": r["topic"],
                                                "record": r, "n": 0})
        entry["n"] += 1
    ranked = sorted(records, key=_urgency)
    sprays = [r for r in ranked if r["topic"] == "spray"]
    return {"plots": plots, "urgent_plot": ranked[0]["plot_id"] if ranked else None,
            "pest_plot": sprays[0]["plot_id"] if sprays else None}
