"""Season replay: the weekly chain run for every issue date of a season, each date seeing only what was
known on it, so that rules and models are judged by their decisions over whole seasons.

What does not change between the dates is read and computed once: the plots, the parameter bundle, the
stations' record (cut to each issue date before use), the plot weather on the slope (a day's slope correction
does not depend on the issue date; each date takes the days up to it) and each satellite scene's plot
statistics (a date uses the scenes registered up to it). Sensors and applications are read per date, up to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from advice.chain import (
    WeeklyChain,
    _history_start,
    _issue,
    _load_plots,
    _assign_stations,
    _in_district,
    plot_weather_on_slope,
    station_weather,
)
from orchard import store
from orchard.errors import InputError

__all__ = ["ReplayResult", "replay_season", "season_dates"]


@dataclass
class ReplayResult:
    """Every date's plot status (with ``issued_on``) and recommendations, and the time each date took."""

    status: pd.DataFrame
    recommendations: pd.DataFrame
    dates: list
    seconds: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    bundle: dict = field(default_factory=dict)


def season_dates(season: int, *, start: str = "03-01", end: str = "11-29", freq: str = "7D") -> list:
    """Weekly issue dates of a season (default 1 March to 29 November, every 7 days)."""
    days = pd.date_range(f"{season}-{start}", f"{season}-{end}", freq=freq)
    return [d.date() for d in days]


def replay_season(engine, season: int | None = None, *, dates: Sequence | None = None, plot_ids=None,
                  district: str | None = None, bundle=None, skip: Sequence[str] = (),
                  store_result: bool = False, progress: Callable[[str], None] = lambda step: None
                  ) -> ReplayResult:
    """Run the weekly chain on each issue date of a season (:func:`season_dates`) or on ``dates``.

    Each date uses only the weather, sensors, scenes and applications up to it. ``store_result`` stores
    every date as a run (as ``orchard run-week`` would); by default nothing is stored.
    """
    from orchard.bundle import resolve

    if dates is None:
        if season is None:
            raise InputError("give a season (e.g. 2016) or a list of issue dates to replay.")
        dates = season_dates(season)
    issues = sorted(_issue(d) for d in dates)
    if not issues:
        raise InputError("no issue dates to replay.")
    chain = WeeklyChain(skip=skip)
    t0 = time.perf_counter()
    with store.session_scope(engine) as session:
        plot_set = _load_plots(session, plot_ids)
        if district is not None:
            plot_set = _in_district(plot_set, district)
        bundle = bundle if bundle is not None else resolve(session, district)
        bundle.check()
        member_years = int(bundle["advice.chain"]["members.years"])
        first = issues[0]
        stations = station_weather(session, issues[-1], member_years + (issues[-1].year - first.year) + 1)
        stations = stations.sel(time=slice(_history_start(first, member_years), None))
        plots_ds = _assign_stations(session, plot_set.to_dataset(), stations)
    weather = plot_weather_on_slope(plots_ds, stations, bundle)
    preloaded = {"plot_set": plot_set, "bundle": bundle, "stations": stations, "plot_weather": weather,
                 "monitoring_cache": {}}
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
        notes[issue.date()] = result.notes
        seconds[str(issue.date())] = time.perf_counter() - t1
    status = pd.concat(statuses, ignore_index=True)
    recs = pd.concat(recommendations, ignore_index=True) if recommendations else pd.DataFrame()
    return ReplayResult(status=status, recommendations=recs, dates=[i.date() for i in issues],
                        seconds=seconds, notes=notes, bundle=bundle.versions())
