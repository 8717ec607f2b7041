"""Season replay: the weekly chain run for every issue date of a season, each date seeing only what was
known on it, so that rules and models are judged by their decisions over whole seasons.

What does not change between the dates is read and computed once: the plots, the parameter bundle, the
stations' record (cut to each issue date before use), the plot weather on the slope (a day's slope correction
does not depend on the issue date; each date takes the days up to it) and each satellite scene's plot
statistics (a date uses the scenes registered up to it). Sensors and applications are read per date, up to it.

``follow`` makes the replay act on the advice as a grower would: ``"advice"`` sprays the first product of
every spray advised on its issue date, ``"calendar"`` sprays the calendar programme
(advice/parameters/baseline_calendar.csv); the next dates see those sprays as applications (protection,
label maximum uses, copper cap), on top of what is recorded. :func:`evaluate` then runs the pest models once
on the season's observed weather and measures both programmes on it (advice.season_report): sprays, TFI,
kg a.i./ha, kg Cu/ha, field EIQ, kg CO2e/ha, cost per 亩 and the events left unprotected.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from advice.chain import (
    ChunkState,
    WeeklyChain,
    _assign_stations,
    _growth_params,
    _history_start,
    _in_district,
    _issue,
    _load_plots,
    _named_stations,
    _season_start,
    host_from_growth,
    plot_weather_on_slope,
    soil_step,
    station_weather,
    weather_step,
)
from orchard import store
from orchard.errors import InputError

__all__ = ["FOLLOWS", "ReplayResult", "evaluate", "replay_season", "season_dates", "weekly_decisions",
           "write_replay"]

FOLLOWS = ("advice", "calendar")
APPLICATION_COLUMNS = ["plot_id", "product_id", "applied_on", "amount", "unit", "area_ha", "target"]


@dataclass
class ReplayResult:
    """Every date's plot status (with ``issued_on``) and recommendations, the applications followed, the
    weekly decisions per plot and pest, and the time each date took; :func:`evaluate` adds ``plots`` (the
    programmes' measures per plot) and ``summary``."""

    status: pd.DataFrame
    recommendations: pd.DataFrame
    dates: list
    seconds: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    bundle: dict = field(default_factory=dict)
    follow: str | None = None
    season: int | None = None
    applications: pd.DataFrame | None = None
    weekly: pd.DataFrame | None = None
    plots: pd.DataFrame | None = None
    summary: dict | None = None
    chart: dict | None = None


def season_dates(season: int, *, start: str = "03-01", end: str = "11-29", freq: str = "7D") -> list:
    """Weekly issue dates of a season (default 1 March to 29 November, every 7 days)."""
    days = pd.date_range(f"{season}-{start}", f"{season}-{end}", freq=freq)
    return [d.date() for d in days]


def _followed(recs: pd.DataFrame, area: pd.Series) -> pd.DataFrame:
    """The applications a grower following ``recs`` makes on their issue date: the first product of every
    spray (one application per plot, product and day; a spray folded into another adds nothing)."""
    if recs.empty:
        return pd.DataFrame(columns=APPLICATION_COLUMNS)
    sprays = recs[(recs["topic"] == "spray") & recs["products"].map(bool)]
    rows = [{"plot_id": str(r.plot_id), "product_id": r.products[0]["product_id"],
             "applied_on": pd.Timestamp(r.issued_on), "amount": float(r.products[0]["amount"]),
             "unit": r.products[0]["unit"], "area_ha": float(area.get(str(r.plot_id), np.nan)),
             "target": r.action_numbers.get("pest")} for r in sprays.itertuples()]
    frame = pd.DataFrame(rows, columns=APPLICATION_COLUMNS)
    return frame.drop_duplicates(["plot_id", "product_id", "applied_on"])


def _calendar(plot_set, season: int, baseline) -> pd.DataFrame:
    from advice.accounting import baseline_applications, load_baseline

    programme = baseline if isinstance(baseline, pd.DataFrame) else load_baseline(baseline)
    plots = pd.DataFrame({"plot_id": plot_set.plot_ids, "area_ha": plot_set.to_dataset()["area_ha"].values})
    apps = baseline_applications(programme, plots, season)
    apps["target"] = ""
    return apps[APPLICATION_COLUMNS]


def replay_season(engine, season: int | None = None, *, dates: Sequence | None = None, plot_ids=None,
                  district: str | None = None, bundle=None, skip: Sequence[str] = (),
                  store_result: bool = False, follow: str | None = None, baseline=None,
                  hindcast: bool = True, progress: Callable[[str], None] = lambda step: None) -> ReplayResult:
    """Run the weekly chain on each issue date of a season (:func:`season_dates`) or on ``dates``.

    Each date uses only the weather, sensors, scenes and applications up to it. ``follow`` ("advice" or
    "calendar", or None) adds the sprays of that programme to the applications the next dates see (nothing
    is written to the database); ``baseline`` is the calendar programme (a file or a table; default the
    shipped example). ``hindcast`` (default) gives the outlooks every other year of the record as
    climatology members, later years included, never the season's own future (a year after each issue
    date is left out), so early seasons of a short record can be replayed; False: past years only, as a
    live run has. ``store_result`` stores every date as a run (as ``orchard run-week`` would); by default
    nothing is stored.
    """
    from orchard.bundle import resolve

    if follow is not None and follow not in FOLLOWS:
        raise InputError(f"--follow {follow!r} is not one of {', '.join(FOLLOWS)}; choose one.")
    if dates is None:
        if season is None:
            raise InputError("give a season (e.g. 2016) or a list of issue dates to replay.")
        dates = season_dates(season)
    issues = sorted(_issue(d) for d in dates)
    if not issues:
        raise InputError("no issue dates to replay.")
    season = issues[0].year if season is None else int(season)
    chain = WeeklyChain(skip=skip)
    t0 = time.perf_counter()
    with store.session_scope(engine) as session:
        plot_set = _load_plots(session, plot_ids)
        if district is not None:
            plot_set = _in_district(plot_set, district)
        plot_set, unplanted = _planted_by(plot_set, issues[-1].year)
        bundle = bundle if bundle is not None else resolve(session, district)
        bundle.check()
        member_years = int(bundle["advice.chain"]["members.years"])
        first = issues[0]
        years_back = member_years + (issues[-1].year - first.year) + 1
        named = _named_stations(plot_set)
        stations = station_weather(session, issues[-1], years_back, named=named)
        _check_season_weather(stations, issues)
        if hindcast:
            stations = station_weather(session, issues[-1], years_back, end=pd.Timestamp("2200-01-01"),
                                       named=named)
        stations = stations.sel(time=slice(_history_start(first, member_years), None))
        plots_ds = _assign_stations(session, plot_set.to_dataset(), stations)
    weather = plot_weather_on_slope(plots_ds, stations, bundle)
    area = pd.Series(plots_ds["area_ha"].values.astype(float), index=plots_ds["plot"].values.astype(str))
    followed = (_calendar(plot_set, season, baseline) if follow == "calendar"
                else pd.DataFrame(columns=APPLICATION_COLUMNS))
    preloaded = {"plot_set": plot_set, "bundle": bundle, "stations": stations, "plot_weather": weather,
                 "monitoring_cache": {}, "applications": followed, "hindcast": hindcast}
    seconds = {"load": time.perf_counter() - t0}
    statuses, recommendations, notes = [], [], {}
    for issue in issues:
        progress(str(issue.date()))
        t1 = time.perf_counter()
        result = chain.run(engine, issue, bundle=bundle, store_result=store_result, preloaded=preloaded)
        statuses.append(result.status)
        records = pd.DataFrame(result.records())
        if not records.empty:
            recommendations.append(records)
            advised = _followed(records, area) if follow == "advice" else None
            if advised is not None and not advised.empty:
                followed = advised if followed.empty else pd.concat([followed, advised], ignore_index=True)
                preloaded["applications"] = followed
        notes[issue.date()] = result.notes
        seconds[str(issue.date())] = time.perf_counter() - t1
    status = pd.concat(statuses, ignore_index=True)
    recs = pd.concat(recommendations, ignore_index=True) if recommendations else pd.DataFrame()
    if unplanted:
        notes["plots"] = [f"{len(unplanted)} plot(s) planted after {issues[-1].year} left out (no trees yet): "
                          + ", ".join(unplanted)]
    out = ReplayResult(status=status, recommendations=recs, dates=[i.date() for i in issues], seconds=seconds,
                       notes=notes, bundle=bundle.versions(), follow=follow, season=season,
                       applications=followed if follow else None)
    out.weekly = weekly_decisions(status, recs)
    if follow is not None:
        progress("evaluate")
        t2 = time.perf_counter()
        evaluate(engine, out, preloaded=preloaded, plots_ds=plots_ds, baseline=baseline)
        seconds["evaluate"] = time.perf_counter() - t2
    return out


def _planted_by(plot_set, year: int):
    """The plots with trees in ``year`` (planting year up to it, or unknown) and the ids of those planted
    later: a replay of an earlier season has nothing to advise on them."""
    from orchard.plots import PlotSet

    records = plot_set.to_records()
    kept, later = [], []
    for r in records:
        planted = r.get("planting_year")
        (later if planted is not None and not pd.isna(planted) and int(planted) > year else kept).append(r)
    if not kept:
        raise InputError(f"every plot asked for was planted after {year}; replay a later season.")
    if not later:
        return plot_set, []
    return PlotSet.from_records(kept), [str(r["plot_id"]) for r in later]


def _check_season_weather(stations, issues) -> None:
    """A season whose issue dates the weather does not reach, or without rain, cannot be replayed."""
    last = pd.Timestamp(stations["time"].values[-1]) if stations.sizes.get("time", 0) else None
    if last is None or last < issues[-1]:
        stop = None if last is None else last.date()
        raise InputError(f"the weather stops on {stop}, before the last issue date {issues[-1].date()}; "
                         "import weather for the whole season first.")
    season = stations.sel(time=slice(issues[0], issues[-1]))
    if "precip_mm" not in season or not np.isfinite(season["precip_mm"].values).any():
        raise InputError(f"the weather has no rainfall from {issues[0].date()} to {issues[-1].date()}; a "
                         "season without a rain gauge cannot be replayed (rain drives infection and "
                         "wash-off).")


def weekly_decisions(status: pd.DataFrame, recs: pd.DataFrame) -> pd.DataFrame:
    """One row per plot, issue date and pest: the levels (15 d, 1 month, 3 months), P(event in 15 d) and
    the spray decision the advice showed (spray, curative, protected, too_soon, missed, low_risk), the
    product of the spray or of the protecting deposit and the end of protection."""
    rows = []
    for row in status.itertuples(index=False):
        pests = getattr(row, "pests", None)
        if not isinstance(pests, dict):
            continue
        for pest, horizons in pests.items():
            rows.append({"plot_id": str(row.plot_id), "issued_on": pd.Timestamp(row.issued_on).date(),
                         "pest": pest, "level_15d": horizons["15d"]["level"],
                         "level_1m": horizons["1m"]["level"], "level_3m": horizons["3m"]["level"],
                         "probability_15d": horizons["15d"]["probability"], "decision": "low_risk",
                         "protected_until": None, "product_id": None})
    weekly = pd.DataFrame(rows, columns=["plot_id", "issued_on", "pest", "level_15d", "level_1m", "level_3m",
                                         "probability_15d", "decision", "protected_until", "product_id"])
    if weekly.empty or recs.empty:
        return weekly
    index = {(r.plot_id, r.issued_on, r.pest): i for i, r in enumerate(weekly.itertuples(index=False))}

    def put(plot_id, day, pest, decision, product=None, until=None):
        i = index.get((str(plot_id), pd.Timestamp(day).date(), pest))
        if i is not None:
            weekly.iat[i, 7], weekly.iat[i, 8], weekly.iat[i, 9] = decision, until, product

    for r in recs.itertuples(index=False):
        numbers = r.action_numbers or {}
        pest = numbers.get("pest")
        if r.topic == "spray":
            product = r.products[0]["product_id"] if r.products else None
            code = "curative" if r.action_key.endswith("curative") else "spray"
            put(r.plot_id, r.issued_on, pest, code, product)
            for other in numbers.get("also_controls", []):
                put(r.plot_id, r.issued_on, other, "spray", product)
        elif r.action_key == "advice.action.protected":
            put(r.plot_id, r.issued_on, pest, "protected", numbers.get("product_id"), numbers.get("until"))
        elif r.action_key == "advice.action.too_soon":
            put(r.plot_id, r.issued_on, pest, "too_soon", numbers.get("product_id"))
        elif r.action_key == "advice.action.scout_symptoms":
            put(r.plot_id, r.issued_on, pest, "missed")
    return weekly


def _season_events(engine, result: ReplayResult, preloaded, plots_ds):
    """The pest models' daily events on the season's observed weather (growth's host state), once: the
    weather, soil and growth steps of the chain on the last issue date, then pests.model.run."""
    from growth import model as growth_model
    from pests import model as pests_model
    from pests.paramsets import load_all

    chain = WeeklyChain()
    last = _issue(result.dates[-1])
    with store.session_scope(engine) as session:
        plots, inputs, _ = chain.prepare(session, last, preloaded=preloaded)
    state = ChunkState(chunk=0, plots=plots, inputs=inputs)
    weather_step(state)
    soil_step(state)
    season = state.weather.sel(time=slice(_season_start(last), last))
    growth = growth_model.run(state.plots, season, _growth_params(state), ks=state.ks, flat_reference=False)
    year = state.weather.sel(time=slice(pd.Timestamp(last.year, 1, 1), last))
    params = load_all(params=inputs.bundle)
    events = pests_model.run(state.plots, year, params=params, host=host_from_growth(growth))
    rain = year["precip_mm"].transpose("time", "plot").values.astype(float)
    return events, rain, state.plots


def evaluate(engine, result: ReplayResult, *, preloaded, plots_ds, baseline=None) -> None:
    """Measure the advice (as followed) and the calendar programme on the season's observed weather
    (advice.season_report); fills ``result.plots``, ``result.summary`` and ``result.chart``."""
    from advice import protection, season_report
    from advice.catalogue import default_catalogue

    events, rain, plots = _season_events(engine, result, preloaded, plots_ds)
    plot_ids = plots["plot"].values.astype(str)
    frame = pd.DataFrame({"plot_id": plot_ids, "area_ha": plots["area_ha"].values.astype(float)})
    catalogue = default_catalogue()
    params = preloaded["bundle"]["advice.protection"]
    pests = [str(p) for p in events["pest"].values]
    event_array = events["event"].transpose("pest", "time", "plot").values.astype(bool)
    times = events["time"].values
    window = (result.dates[0], result.dates[-1])
    programmes = {"calendar": _calendar_for(preloaded["plot_set"], result.season, baseline, plot_ids)}
    if result.follow == "advice":
        programmes = {"advice": result.applications, **programmes}
    tables = []
    for name, apps in programmes.items():
        table = season_report.programme_measures(apps, frame, result.season, catalogue, events=event_array,
                                                 event_times=times, pests=pests, rain_mm=rain, params=params,
                                                 window=window)
        tables.append(table.assign(programme=name))
    plots_table = pd.concat(tables, ignore_index=True)
    columns = ["programme", "plot_id", *season_report.MEASURES]
    columns += [c for c in plots_table.columns if c not in columns]
    result.plots = plots_table[columns]
    summary = {name: season_report.summarise(plots_table[plots_table["programme"] == name],
                                             [c for c in columns if c not in ("programme", "plot_id")])
               for name in programmes}
    ratio = {}
    if "advice" in summary:
        for measure in ("sprays", "tfi", "kg_ai_ha", "kg_cu_ha", "field_eiq", "kg_co2e_ha", "cost_cny_per_mu",
                        "unprotected_events", "unprotected_infections"):
            cal = summary["calendar"][measure]["median"]
            ratio[measure] = None if cal == 0 else round(summary["advice"][measure]["median"] / cal, 3)
    result.summary = {"season": result.season, "follow": result.follow, "district": None,
                      "created": datetime.now().isoformat(timespec="seconds"), "plots": len(plot_ids),
                      "dates": [str(result.dates[0]), str(result.dates[-1])], "programmes": summary,
                      "ratio_to_calendar": ratio, "bundle": result.bundle,
                      "seconds": round(sum(v for k, v in result.seconds.items()), 1),
                      "notes": ["unprotected events: the pest models' events on the season's observed "
                                "weather (infection events on susceptible tissue, leaf-miner generations on "
                                "flush, days above the mite action threshold) on days no deposit of the "
                                "programme covered"]}
    # the chart shows the plot with the median number of advised (else calendar) sprays
    first = "advice" if "advice" in programmes else "calendar"
    own = plots_table[plots_table["programme"] == first].sort_values(["sprays", "plot_id"])
    median_plot = str(own["plot_id"].iloc[len(own) // 2])
    col = list(plot_ids).index(median_plot)
    protected = {}
    for name, apps in programmes.items():
        deps = protection.deposits(apps[apps["plot_id"].astype(str) == median_plot],
                                   protection.product_protection(catalogue, params))
        mask = season_report.protected_mask(deps, times, rain[:, [col]], [median_plot], pests, params)
        protected[name] = mask[:, :, 0]
    targets = {p: tuple(str(t).split(";")) for p, t in catalogue.products["targets"].items()}
    result.chart = {"plot_id": median_plot, "programmes": programmes, "protected": protected, "times": times,
                    "events": event_array[:, :, col], "pests": pests, "targets": targets}


def _calendar_for(plot_set, season, baseline, plot_ids) -> pd.DataFrame:
    apps = _calendar(plot_set, season, baseline)
    return apps[apps["plot_id"].astype(str).isin(set(plot_ids))]


def write_replay(result: ReplayResult, folder) -> Path:
    """Write a replay's folder (advice.replay_store layout): summary.json, plots.csv, weekly.csv and
    season.png; written to a temporary folder first and moved into place, so a folder is whole or absent."""
    import shutil
    import tempfile

    from advice import season_report

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        text = json.dumps(result.summary, indent=2, ensure_ascii=False, default=str)
        (tmp / "summary.json").write_text(text, encoding="utf-8")
        result.plots.to_csv(tmp / "plots.csv", index=False)
        result.weekly.to_csv(tmp / "weekly.csv", index=False)
        chart = result.chart
        season_report.season_chart(
            tmp / "season.png", weekly=result.weekly, programmes=chart["programmes"],
            plot_id=chart["plot_id"], pests=chart["pests"], protected=chart["protected"],
            event_times=chart["times"],
            events=chart["events"], targets=chart["targets"],
            title=f"Season {result.season}, plot {chart['plot_id']} (median plot): risk, sprays against "
                  "each pest (triangles), protection (bands)")
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
