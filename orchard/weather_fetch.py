"""Fetching weather for every station in the database (``orchard weather fetch``, issue #20).

For each station: the Open-Meteo forecast (16 days), ensemble (members, 16 days) and seasonal forecast
(members, 92 days), daily, stored with the date they were issued for and their source
(:mod:`orchard.forecast_store`); and for a station without its own observations (the belt's county stations
come with none) the archive's reanalysis series, stored as that station's daily weather with source
``reanalysis: …`` so the chain's climatology and season have something to run on.

The responses are read by :func:`orchard.sources.openmeteo.parse_openmeteo` (the same reader as saved
files). Transport: ``requests`` with a timeout per request, a few tries with exponential backoff on network
errors, timeouts and HTTP 5xx (not on 4xx: a refused request does not get better), and a file cache
(``ORCHARD_HOME/cache/openmeteo``, fresh for 3 hours) so a cycle re-run the same morning asks nothing twice.
``ORCHARD_OPENMETEO_URL`` points every request at another host with Open-Meteo's paths (a self-hosted
Open-Meteo, a proxy, or the tests' recorded responses on 127.0.0.1).

Errors: when the service cannot be reached (no network, no answer within the timeout), fetching stops at
once with one sentence (:class:`Unreachable`) and what is stored stays in use; a bad answer for one station
(HTTP error, malformed or truncated JSON, a forecast for another date) is one sentence for that station and
the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import requests
from sqlalchemy import func, select

from orchard import config, forecast_store, store
from orchard import weather as ow
from orchard.errors import InputError
from orchard.forecast import DAILY_REQUEST
from orchard.sources import openmeteo

__all__ = ["FetchSettings", "FetchReport", "Unreachable", "get_json", "fetch_weather", "local_today",
           "FORECAST_KINDS"]

FORECAST_KINDS = ("forecast", "ensemble", "seasonal")


class Unreachable(InputError):
    """Open-Meteo could not be reached or did not answer in time: no point asking for the next station."""


@dataclass(frozen=True)
class FetchSettings:
    """How to fetch: where, how long to wait, how often to try, how long a cached answer is fresh.

    ``base_url`` replaces the scheme and host of every Open-Meteo URL (default: the public API);
    ``timeout_s`` [s] is per request (connect and read); ``tries`` attempts with waits of ``backoff_s``,
    2·``backoff_s``, … [s] between them; ``cache_dir`` None disables the cache; ``cache_ttl_s`` [s].
    Days per kind: forecast 16 and ensemble 16 (the APIs' deterministic range), seasonal 92 (3 months);
    ``archive_years`` of reanalysis for a station without observations (the chain's six member years plus
    the season).
    """

    base_url: str | None = None
    timeout_s: float = 20.0
    tries: int = 3
    backoff_s: float = 2.0
    cache_dir: Path | None = None
    cache_ttl_s: float = 3 * 3600.0
    days: dict = field(default_factory=lambda: {"forecast": 16, "ensemble": 16, "seasonal": 92})
    archive_years: int = 7

    @classmethod
    def from_env(cls, **overrides) -> FetchSettings:
        """Settings from ``ORCHARD_OPENMETEO_URL``, ``ORCHARD_FETCH_TIMEOUT_S``, ``ORCHARD_FETCH_TRIES``
        and the cache in ``ORCHARD_HOME/cache/openmeteo``; keyword arguments override them."""
        values = {"base_url": os.environ.get("ORCHARD_OPENMETEO_URL") or None,
                  "cache_dir": config.orchard_home() / "cache" / "openmeteo"}
        for key, name, kind in (("timeout_s", "ORCHARD_FETCH_TIMEOUT_S", float),
                                ("tries", "ORCHARD_FETCH_TRIES", int)):
            raw = os.environ.get(name)
            if raw:
                try:
                    values[key] = kind(raw)
                except ValueError:
                    raise InputError(f"{name}={raw!r} is not a number; set it to a "
                                     f"{kind.__name__}.") from None
        return replace(cls(**values), **overrides)


@dataclass
class FetchReport:
    """What a fetch stored (one dict per station and kind) and the sentences of what failed."""

    issued_on: date
    stored: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    unreachable: str | None = None


def local_today() -> date:
    """Today in China Standard Time (the date a forecast fetched now is issued for)."""
    return (datetime.now(timezone.utc) + timedelta(hours=config.CHINA_UTC_OFFSET_H)).date()


def _with_base(url: str, base_url: str | None) -> str:
    if not base_url:
        return url
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlsplit(base_url.rstrip("/"))
    return urllib.parse.urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


def _cache_path(settings: FetchSettings, url: str) -> Path | None:
    if settings.cache_dir is None:
        return None
    return Path(settings.cache_dir) / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"


def _cached(settings: FetchSettings, url: str) -> dict | None:
    path = _cache_path(settings, url)
    if path is None or not path.exists() or time.time() - path.stat().st_mtime > settings.cache_ttl_s:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged cache file is only a missed shortcut


def _keep(settings: FetchSettings, url: str, payload: dict) -> None:
    path = _cache_path(settings, url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    tmp.replace(path)  # never half a file under the cache name


def get_json(url: str, *, what: str, settings: FetchSettings, http=requests,
             sleep: Callable[[float], None] = time.sleep) -> tuple[dict, bool]:
    """GET ``url`` and decode its JSON object, with the cache, the timeout and the retries of ``settings``.

    Returns
    -------
    (payload, from_cache)

    Raises
    ------
    Unreachable
        No connection or no answer within the timeout after every try.
    InputError
        HTTP 4xx (at once) or 5xx (after every try), a body that is not a JSON object (malformed or
        truncated), or Open-Meteo's ``{"error": true, "reason": …}``.
    """
    cached = _cached(settings, url)
    if cached is not None:
        return cached, True
    host = urllib.parse.urlsplit(url).netloc
    problem = ""
    for attempt in range(max(1, settings.tries)):
        if attempt:
            sleep(settings.backoff_s * 2 ** (attempt - 1))
        try:
            response = http.get(url, timeout=settings.timeout_s)
            if response.status_code >= 500:
                problem = f"http {response.status_code}"
                continue
            body = response.content
        except requests.exceptions.Timeout:
            problem = "timeout"
            continue
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            problem = "truncated"  # the connection closed before the announced length: try again
            continue
        except requests.exceptions.RequestException as exc:
            problem = f"connection ({type(exc).__name__})"
            continue
        if response.status_code >= 400:
            reason = ""
            try:
                reason = json.loads(body.decode("utf-8")).get("reason", "")
            except (ValueError, AttributeError):
                pass
            raise InputError(f"{what}: Open-Meteo refused the request with HTTP {response.status_code}"
                             f"{': ' + reason if reason else ''}; check the station's position.")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{what}: Open-Meteo answered with {len(body)} bytes that are not JSON "
                             "(malformed or truncated); nothing was stored for it, try again later.") \
                from None
        if not isinstance(payload, dict):
            raise InputError(f"{what}: Open-Meteo answered with JSON that is not an object; nothing was "
                             "stored for it, try again later.")
        if payload.get("error"):
            raise InputError(f"{what}: Open-Meteo refused the request: {payload.get('reason', 'no reason')}.")
        _keep(settings, url, payload)
        return payload, False
    tries = max(1, settings.tries)
    if problem == "timeout":
        raise Unreachable(f"Open-Meteo at {host} did not answer within {settings.timeout_s:g} s "
                          f"({tries} tries); the weather stored before stays in use, try again later.")
    if problem.startswith("connection"):
        raise Unreachable(f"could not reach Open-Meteo at {host} ({tries} tries); check the network "
                          "connection or try again later: the weather stored before stays in use.")
    if problem == "truncated":
        raise InputError(f"{what}: Open-Meteo's answer was cut off {tries} times (truncated); nothing was "
                         "stored for it, try again later.")
    raise InputError(f"{what}: Open-Meteo failed with {problem.upper()} {tries} times; nothing was stored "
                     "for it, try again later.")


def _request_url(kind: str, station: dict, settings: FetchSettings, *, start=None, end=None) -> str:
    url = openmeteo.openmeteo_url(kind, station["lat"], station["lon"], daily=DAILY_REQUEST,
                                  days=settings.days.get(kind, 16), start_date=start, end_date=end)
    if station.get("elevation_m") is not None:  # Open-Meteo downscales its cell to the station's elevation
        url += f"&elevation={float(station['elevation_m']):.1f}"
    return _with_base(url, settings.base_url)


def _has_observations(session, station_id: str) -> bool:
    """Whether the station has readings of its own, daily or hourly (not reanalysis)."""
    count = session.scalar(select(func.count()).select_from(store.WeatherReading).where(
        store.WeatherReading.station_id == station_id,
        func.coalesce(store.WeatherReading.source, "").not_like("reanalysis%")))
    return bool(count)


def _last_reanalysis_day(session, station_id: str) -> date | None:
    last = session.scalar(select(func.max(store.WeatherReading.time_utc)).where(
        store.WeatherReading.station_id == station_id, store.WeatherReading.resolution == "daily"))
    if last is None:
        return None
    last = pd.Timestamp(last)
    last = last.tz_localize("UTC") if last.tzinfo is None else last
    return (last + pd.Timedelta(hours=config.CHINA_UTC_OFFSET_H)).date()


def _fetch_forecast(engine, station: dict, kind: str, issued_on: date, settings, http, sleep) -> dict:
    sid = station["station_id"]
    what = f"{kind} for station {sid}"
    url = _request_url(kind, station, settings)
    payload, from_cache = get_json(url, what=what, settings=settings, http=http, sleep=sleep)
    ds = openmeteo.parse_openmeteo(payload, sid, resolution="daily", kind=kind, where=f"Open-Meteo {what}",
                                   lat=station["lat"], lon=station["lon"],
                                   elevation_m=station.get("elevation_m"))
    first = pd.Timestamp(ds["time"].values[0]).date()
    if abs((first - issued_on).days) > 1:
        raise InputError(f"{what}: the answer starts {first}, not at the issue date {issued_on}; Open-Meteo "
                         "serves only current forecasts, so fetch without --date (or give today's date).")
    with store.session_scope(engine) as session:
        n = forecast_store.store_forecast(session, ds, station_id=sid, kind=kind, issued_on=issued_on,
                                          source=url)
    members = int(ds.sizes.get("member", 1))
    return {"station_id": sid, "kind": kind, "days": int(ds.sizes["time"]), "members": members, "values": n,
            "cached": from_cache}


def _fetch_archive(engine, station: dict, issued_on: date, settings, http, sleep) -> dict | None:
    sid = station["station_id"]
    with store.session_scope(engine) as session:
        if _has_observations(session, sid):
            return None
        last = _last_reanalysis_day(session, sid)
    end = issued_on - timedelta(days=1)
    start = (last + timedelta(days=1)) if last else date(end.year - settings.archive_years, 1, 1)
    if start > end:
        return {"station_id": sid, "kind": "reanalysis", "days": 0, "members": 1, "values": 0,
                "cached": False}
    what = f"reanalysis for station {sid}"
    url = _request_url("archive", station, settings, start=start, end=end)
    payload, from_cache = get_json(url, what=what, settings=settings, http=http, sleep=sleep)
    ds = openmeteo.parse_openmeteo(payload, sid, resolution="daily", kind="reanalysis",
                                   where=f"Open-Meteo archive for station {sid}", lat=station["lat"],
                                   lon=station["lon"], elevation_m=station.get("elevation_m"))
    ds, _ = ow.qc(ds, max_fill_gap=3)
    readings = ow.weather_to_long(ds)
    readings["resolution"] = "daily"
    readings["source"] = f"reanalysis: Open-Meteo archive (ERA5), fetched {local_today()}"
    with store.session_scope(engine) as session:
        n = store.upsert_weather(session, readings)
    return {"station_id": sid, "kind": "reanalysis", "days": int(ds.sizes["time"]), "members": 1, "values": n,
            "cached": from_cache}


def fetch_weather(engine, *, issued_on: date | None = None, settings: FetchSettings | None = None,
                  kinds: Sequence[str] = FORECAST_KINDS, archive: bool = True, skip_stored: bool = False,
                  http=requests,
                  sleep: Callable[[float], None] = time.sleep,
                  progress: Callable[[str], None] = lambda step: None) -> FetchReport:
    """Fetch and store the forecasts of every station (and the reanalysis of those without observations).

    Each station and kind is stored in its own transaction: a failure keeps what was fetched before it. When
    Open-Meteo cannot be reached the fetch stops and ``report.unreachable`` holds the sentence; the other
    errors are collected in ``report.errors``, one sentence each. ``skip_stored`` leaves out the stations
    and kinds already stored for the issue date (a resumed daily cycle asks only for what it lacks).
    """
    settings = settings or FetchSettings.from_env()
    issued_on = issued_on or local_today()
    bad = sorted(set(kinds) - set(FORECAST_KINDS))
    if bad:
        raise InputError(f"unknown forecast kind '{bad[0]}'; use {', '.join(FORECAST_KINDS)}.")
    with store.session_scope(engine) as session:
        stations = store.list_stations(session)
    if not stations:
        raise InputError("there are no stations in the database; add one first "
                         "(orchard stations add --cma ID).")
    report = FetchReport(issued_on=issued_on)
    stored = set()
    if skip_stored:
        with store.session_scope(engine) as session:
            issues = forecast_store.list_forecast_issues(session, issued_on)
            stored = {(i["station_id"], i["kind"]) for i in issues}
    for station in stations:
        sid = station["station_id"]
        if station.get("lat") is None or station.get("lon") is None:
            report.errors.append(f"station {sid} has no position; add its lat and lon to fetch its weather.")
            continue
        jobs = [(kind, _fetch_forecast, (kind,)) for kind in kinds if (sid, kind) not in stored]
        if archive:
            jobs.append(("reanalysis", _fetch_archive, ()))
        for label, job, extra in jobs:
            progress(f"{label} for station {sid}")
            try:
                done = job(engine, station, *extra, issued_on, settings, http, sleep)
            except Unreachable as exc:
                report.unreachable = str(exc)
                return report
            except InputError as exc:
                report.errors.append(str(exc))
                continue
            if done is not None:
                report.stored.append(done)
    return report
