"""`orchard weather fetch` (orchard/weather_fetch.py, orchard/forecast_store.py) against recorded Open-Meteo
responses served on 127.0.0.1 (tests/data/openmeteo_live/README.md): what is stored, the cache, the
reanalysis for a station without observations, and one sentence for each way the service can fail."""

from __future__ import annotations

import json
import socket
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from orchard import cma, forecast_store, store
from orchard.weather_fetch import FetchSettings, fetch_weather
from tests.openmeteo_server import RECORDED, OpenMeteoStub

ISSUE = date(2016, 7, 15)
STATIONS = [
    {"station_id": "58911", "name": "Changting", "lat": 25.75, "lon": 116.333, "elevation_m": 265.0,
     "kind": "weather"},
    {"station_id": "chengdu", "name": "Chengdu", "lat": 30.66, "lon": 104.07, "elevation_m": 506.0,
     "kind": "weather"},
]


@pytest.fixture
def engine(tmp_path):
    engine = store.init_db(f"sqlite:///{tmp_path / 'o.db'}")
    with store.session_scope(engine) as session:
        store.upsert_stations(session, STATIONS)
        # both sample stations have observations of their own (one reading is enough to say so)
        store.upsert_weather(session, pd.DataFrame({
            "station_id": ["58911", "chengdu"], "resolution": ["daily", "hourly"],
            "variable": ["tmax_c", "t_c"],
            "time_utc": pd.to_datetime(["2016-07-01 12:00", "2016-07-01 04:00"]).tz_localize("UTC"),
            "value": [33.0, 28.0], "qc_flags": [0, 0], "source": ["station: test", "station: test"]}))
    return engine


@pytest.fixture
def stub():
    with OpenMeteoStub() as server:
        yield server


def settings(stub, tmp_path, **kw) -> FetchSettings:
    return FetchSettings(**{"base_url": stub.url, "timeout_s": 2.0, "tries": 3, "backoff_s": 0.5,
                            "cache_dir": tmp_path / "cache", **kw})


def _issues(engine) -> list[dict]:
    with store.session_scope(engine) as session:
        return forecast_store.list_forecast_issues(session)


def test_fetch_stores_every_kind_with_its_issue_date_and_source(engine, stub, tmp_path):
    report = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), sleep=lambda s: None)
    assert not report.errors and report.unreachable is None
    issues = _issues(engine)
    assert {(i["station_id"], i["kind"]) for i in issues} == {(s, k) for s in ("58911", "chengdu")
                                                             for k in ("forecast", "ensemble", "seasonal")}
    assert all(i["issued_on"] == ISSUE and i["source"].startswith(stub.url) for i in issues)
    members = {(i["station_id"], i["kind"]): i["n_members"] for i in issues}
    assert members[("58911", "ensemble")] == 11 and members[("58911", "seasonal")] == 5
    assert members[("58911", "forecast")] == 1
    # the request asked for daily variables at the station, downscaled to its elevation
    asked = next(p for p in stub.requests if p.startswith("/v1/ensemble") and "latitude=25.75" in p)
    assert "daily=temperature_2m_max" in asked and "elevation=265.0" in asked and "forecast_days=16" in asked
    with store.session_scope(engine) as session:
        ens = forecast_store.stored_forecast(session, ISSUE, "ensemble")
        none = forecast_store.stored_forecast(session, date(2016, 7, 16), "ensemble")
    assert none is None
    assert dict(ens.sizes) == {"time": 16, "station": 2, "member": 11}
    recorded = json.loads((RECORDED / "ensemble_58911.json").read_text())["daily"]
    assert float(ens["tmax_c"].sel(station="58911", member=3).isel(time=4)) == pytest.approx(
        recorded["temperature_2m_max_member03"][4])
    # wind is stored at 2 m (FAO-56 Eq. 47 from the API's 10 m)
    assert float(ens["wind_ms"].sel(station="58911", member=0).isel(time=0)) == pytest.approx(
        recorded["wind_speed_10m_mean"][0] * 0.748, rel=0.01)
    assert ens.attrs["source"].startswith("ensemble: Open-Meteo, issued 2016-07-15")


def test_a_second_fetch_the_same_morning_asks_nothing_and_changes_nothing(engine, stub, tmp_path):
    fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), sleep=lambda s: None)
    first, n_requests = _issues(engine), len(stub.requests)
    report = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), sleep=lambda s: None)
    assert len(stub.requests) == n_requests and all(r["cached"] for r in report.stored)
    again = _issues(engine)
    assert [(i["station_id"], i["kind"], i["n_members"]) for i in again] == \
        [(i["station_id"], i["kind"], i["n_members"]) for i in first]
    with store.session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(store.ForecastValue)) == sum(
            r["values"] for r in report.stored)


def test_a_station_without_observations_gets_the_reanalysis_once(engine, stub, tmp_path):
    with store.session_scope(engine) as session:
        store.upsert_stations(session, [cma.station_record(cma.cma_station("57348"))])
    report = fetch_weather(engine, issued_on=date(2016, 7, 10),
                           settings=settings(stub, tmp_path, archive_years=2),
                           kinds=("forecast",), sleep=lambda s: None)
    reanalysis = [r for r in report.stored if r["kind"] == "reanalysis"]
    assert [r["station_id"] for r in reanalysis] == ["57348"]  # the sample stations have their own
    assert reanalysis[0]["days"] == (date(2016, 7, 10) - date(2014, 1, 1)).days
    with store.session_scope(engine) as session:
        series = store.read_weather(session, "57348", "daily")
    assert len(series) and all(s.startswith("reanalysis: Open-Meteo archive") for s in series["source"])
    assert {"tmax_c", "tmin_c", "precip_mm", "rh_mean_pct", "rs_mj_m2"} <= set(series["variable"])
    # a later day asks only for the days since, a second fetch for it for nothing
    later = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), kinds=(),
                          sleep=lambda s: None)
    assert later.errors == [] and [r["days"] for r in later.stored] == [5]
    assert "start_date=2016-07-10&end_date=2016-07-14" in stub.requests[-1]
    n_requests = len(stub.requests)
    again = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), kinds=(),
                          sleep=lambda s: None)
    assert [r["days"] for r in again.stored] == [0] and len(stub.requests) == n_requests


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_is_one_sentence_and_keeps_what_is_stored(engine, stub, tmp_path):
    fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), sleep=lambda s: None)
    before = _issues(engine)
    waits = []
    offline = settings(stub, tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}", cache_dir=None)
    report = fetch_weather(engine, issued_on=ISSUE, settings=offline, sleep=waits.append)
    assert report.unreachable.startswith("could not reach Open-Meteo at 127.0.0.1:")
    assert "\n" not in report.unreachable and report.stored == [] and report.errors == []
    assert waits == [0.5, 1.0]  # three tries of the first request, backing off, then no more requests
    assert _issues(engine) == before


def test_offline_cli_ends_in_one_sentence(engine, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORCHARD_DB_URL", str(engine.url))
    monkeypatch.setenv("ORCHARD_OPENMETEO_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("ORCHARD_FETCH_TRIES", "1")
    code, out, err = run_cli(["weather", "fetch", "--date", "2016-07-15"])
    assert code == 1 and out == ""
    assert err.startswith("orchard: error: could not reach Open-Meteo") and err.count("\n") == 1


def test_a_hanging_server_is_one_sentence_after_the_timeout(engine, stub, tmp_path):
    stub.mode, stub.hang_s = "hang", 2.0
    t0 = time.perf_counter()
    report = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path, timeout_s=0.3, tries=2),
                           sleep=lambda s: None)
    assert time.perf_counter() - t0 < 1.9
    assert report.unreachable == ("Open-Meteo at " + stub.url.split("//")[1] + " did not answer within 0.3 s "
                                  "(2 tries); the weather stored before stays in use, try again later.")
    assert _issues(engine) == []


@pytest.mark.parametrize("mode, words", [
    ("500", "failed with HTTP 500 3 times"),
    ("malformed", "that are not JSON (malformed or truncated)"),
    ("truncated", "that are not JSON (malformed or truncated)"),
    ("cut", "was cut off 3 times (truncated)"),
])
def test_a_bad_answer_is_one_sentence_per_station_and_kind_and_loses_nothing(engine, stub, tmp_path, mode,
                                                                             words):
    fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path), sleep=lambda s: None)
    before = _issues(engine)
    stub.mode = mode
    report = fetch_weather(engine, issued_on=ISSUE, settings=settings(stub, tmp_path, cache_dir=None),
                           sleep=lambda s: None)
    assert report.unreachable is None and report.stored == []
    assert len(report.errors) == 6  # 2 stations × 3 kinds
    assert all(words in e and "\n" not in e for e in report.errors)
    assert report.errors[0].startswith("forecast for station 58911: ")
    assert _issues(engine) == before  # the forecasts stored before are all still there


def test_a_forecast_for_another_day_is_refused(engine, stub, tmp_path):
    report = fetch_weather(engine, issued_on=date(2017, 1, 10), settings=settings(stub, tmp_path),
                           kinds=("forecast",), sleep=lambda s: None)
    assert report.errors[0] == ("forecast for station 58911: the answer starts 2016-07-15, not at the issue "
                                "date 2017-01-10; Open-Meteo serves only current forecasts, so fetch without "
                                "--date (or give today's date).")
    assert _issues(engine) == []
    assert np.isfinite(len(report.errors))
