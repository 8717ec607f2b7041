"""The daily cycle (advice/cycle.py, `orchard cycle`, issue #20) on the sample district with recorded
Open-Meteo responses on 127.0.0.1, a local SMTP server and a webhook receiver: it fetches, runs, stores and
notifies; the 15-day pest outlook says it used the forecast; a second cycle for the date changes and sends
nothing; offline it still runs on what is stored; two cycles never overlap."""

from __future__ import annotations

import shutil
import socket
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from advice import notify
from advice.cycle import CycleBusy, cycle_lock, cycle_parameters, due_reasons, run_cycle
from orchard import config, forecast_store, results, store
from orchard.weather_fetch import FetchSettings
from tests.notify_receivers import TinySMTP, WebhookReceiver
from tests.openmeteo_server import OpenMeteoStub

DAY = date(2016, 7, 15)
PLOTS = ["CT01", "CT02", "CT03", "CT04", "CT05", "CT06"]  # li: CT01, CT04; wang: CT02, CT05; chen: CT03, CT06
NOON_UTC = datetime(2016, 7, 15, 2, 0, tzinfo=timezone.utc)
TABLES = (store.ForecastIssue, store.ForecastValue, store.WeatherReading, store.AdviceRun,
          store.RecommendationRecord, store.PlotStatus, store.OutboxMessage, store.CycleRun,
          store.IngestedFile, store.SensorReading)


def _counts(engine) -> dict:
    with store.session_scope(engine) as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


@pytest.fixture(scope="module")
def cycled(sample_home, tmp_path_factory):
    """One cycle for 2016-07-15 on a private copy of the sample home, then a second one for the same date."""
    home = tmp_path_factory.mktemp("cycle") / "home"
    shutil.copytree(sample_home, home)
    mp = pytest.MonkeyPatch()
    mp.setenv("ORCHARD_HOME", str(home))
    mp.delenv("ORCHARD_DB_URL", raising=False)
    try:
        engine = store.init_db(config.database_url())
        with OpenMeteoStub() as stub, WebhookReceiver() as hook, TinySMTP() as smtp:
            with store.session_scope(engine) as session:
                notify.set_channel(session, "grower_li", channel="webhook", address=hook.url("/li"),
                                   language="zh")
                notify.set_channel(session, "grower_wang", channel="email", address="wang@example.org",
                                   language="en")
            senders = {"webhook": notify.WebhookSender(timeout_s=2),
                       "email": notify.EmailSender(host="127.0.0.1", port=smtp.port,
                                                   sender="orchard@example.cn")}
            settings = FetchSettings(base_url=stub.url, cache_dir=home / "cache", backoff_s=0.01)
            kwargs = dict(fetch_settings=settings, senders=senders, now=NOON_UTC,
                          run_chain_kwargs={"plot_ids": PLOTS})
            first = run_cycle(engine, DAY, **kwargs)
            after_first = _counts(engine)
            requests_first = len(stub.requests)
            hooks_first, mails_first = list(hook.received), list(smtp.messages)
            second = run_cycle(engine, DAY, **kwargs)
            yield {"engine": engine, "first": first, "second": second, "after_first": after_first,
                   "after_second": _counts(engine), "requests": (requests_first, len(stub.requests)),
                   "hooks": (hooks_first, list(hook.received)), "mails": (mails_first, list(smtp.messages)),
                   "home": home}
    finally:
        mp.undo()


def test_the_cycle_fetches_runs_stores_and_notifies(cycled):
    first, engine = cycled["first"], cycled["engine"]
    assert first.code == 0 and first.warnings == [] and first.run_id
    with store.session_scope(engine) as session:
        issues = forecast_store.list_forecast_issues(session, DAY)
        run = session.get(store.AdviceRun, first.run_id)
        cycle = session.get(store.CycleRun, DAY)
        outbox = notify.list_outbox(session, DAY)
    assert len(issues) == 6 and run.issued_on == DAY and run.n_plots == len(PLOTS)
    assert cycle.state == "done" and cycle.run_id == first.run_id and cycle.finished_utc is not None
    assert any(line.startswith("advice: due (weekly") for line in cycle.log)
    assert sorted((m["user_id"], m["channel"], m["state"]) for m in outbox) == [
        ("grower_li", "webhook", "sent"), ("grower_wang", "email", "sent")]  # chen has no channel
    (li,) = cycled["hooks"][0]
    assert li["key"] == f"orchard-outbox-{next(m['id'] for m in outbox if m['user_id'] == 'grower_li')}"
    assert li["body"].startswith("李明，您好：") and "李家湾" in li["body"] and "王家坡" not in li["body"]
    (mail,) = cycled["mails"][0]
    body = mail.get_content()
    assert mail["Subject"] == "Orchard advice for 15 Jul 2016" and body.startswith("Dear 王芳,")
    assert "王家坡" in body and "李家湾" not in body
    for line in (li["body"] + "\n" + body).splitlines():
        if "喷药" in line or "spray against" in line:  # a spray line carries its dose per 亩
            assert "每亩" in line or "per mu" in line


def test_the_15_day_pest_outlook_of_the_cycle_used_the_forecast(cycled):
    with store.session_scope(cycled["engine"]) as session:
        status = results.plot_status(session, "agronomist_zhao", "CT01")
        run = session.get(store.AdviceRun, cycled["first"].run_id)
    pests = results.module_output(status, "pests")
    assert pests.attrs["forecast_source"].startswith("ensemble: Open-Meteo, issued 2016-07-15")
    assert pests.attrs["weather_source_15d"].startswith("12 members: ensemble: Open-Meteo")
    assert run.sources["pests"].startswith("ensemble: Open-Meteo")


def test_a_second_cycle_for_the_date_changes_nothing_and_sends_nothing(cycled):
    second = cycled["second"]
    assert second.already_done and second.code == 0 and second.queued == 0 and second.sent == 0
    assert cycled["after_second"] == cycled["after_first"]
    assert cycled["requests"][0] == cycled["requests"][1]  # not even a request to Open-Meteo
    assert cycled["hooks"][0] == cycled["hooks"][1] and len(cycled["mails"][0]) == len(cycled["mails"][1])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_the_cycle_runs_on_what_is_stored(sample_home_copy):
    engine = store.init_db(config.database_url())
    offline = FetchSettings(base_url=f"http://127.0.0.1:{_closed_port()}", cache_dir=None, tries=2,
                            backoff_s=0.01)
    result = run_cycle(engine, DAY, fetch_settings=offline, senders={}, now=NOON_UTC,
                       run_chain_kwargs={"plot_ids": PLOTS[:2]})
    assert result.code == 2 and result.run_id
    (warning,) = result.warnings
    assert warning.startswith("weather: could not reach Open-Meteo at 127.0.0.1:") and "\n" not in warning
    with store.session_scope(engine) as session:
        status = results.plot_status(session, "agronomist_zhao", "CT01")
        assert session.get(store.CycleRun, DAY).state == "done"
    assert results.module_output(status, "pests").attrs["forecast_source"] == "none (climatology)"


def test_two_cycles_never_overlap(sample_home_copy, run_cli):
    engine = store.init_db(config.database_url())
    before = _counts(engine)
    with cycle_lock(config.orchard_home() / "cycle.lock"):
        busy = r"another cycle is running \(pid \d+, lock .*cycle.lock\); this one stops without changing"
        with pytest.raises(CycleBusy, match=busy):
            run_cycle(engine, DAY, senders={})
        code, out, err = run_cli(["cycle", "--date", "2016-07-15", "--no-fetch"])
        assert code == 75 and err.startswith("orchard: another cycle is running") and err.count("\n") == 1
    assert _counts(engine) == before


def test_the_cli_cycle_logs_and_exits_with_a_code_the_scheduler_reads(sample_home_copy, run_cli):
    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:  # a run issued yesterday: the weekly run is not due today
        store.store_advice_run(session, {"run_id": "week-yesterday", "issued_on": DAY - timedelta(days=1)},
                               [])
    code, out, err = run_cli(["cycle", "--date", "2016-07-15", "--no-fetch"])
    assert code == 0 and "advice: not due" in out
    log = (sample_home_copy / "logs" / "cycle.log").read_text(encoding="utf-8")
    assert "advice: not due" in log and "cycle 2016-07-15: exit 0" in log


def _store_forecast(engine, *, tmin: float, rain: float):
    import numpy as np
    import pandas as pd
    import xarray as xr

    days = pd.date_range("2016-07-15", periods=16, freq="D")
    ds = xr.Dataset({"tmin_c": (("time", "station"), np.full((16, 1), 24.0)),
                     "tmax_c": (("time", "station"), np.full((16, 1), 33.0)),
                     "precip_mm": (("time", "station"), np.zeros((16, 1)))},
                    coords={"time": days, "station": ["58911"]}, attrs={"resolution": "daily"})
    ds["tmin_c"][4, 0] = tmin
    ds["precip_mm"][6, 0] = rain
    with store.session_scope(engine) as session:
        forecast_store.store_forecast(session, ds, station_id="58911", kind="forecast", issued_on=DAY,
                                      source="test")


def test_a_forecast_crossing_a_threshold_makes_the_chain_due_outside_its_week(sample_home_copy):
    engine = store.init_db(config.database_url())
    params = cycle_parameters()
    with store.session_scope(engine) as session:
        store.store_advice_run(session, {"run_id": "week-before", "issued_on": DAY - timedelta(days=3)}, [])
    _store_forecast(engine, tmin=20.0, rain=10.0)
    with store.session_scope(engine) as session:
        assert due_reasons(session, DAY, params) == []
    _store_forecast(engine, tmin=1.5, rain=10.0)
    with store.session_scope(engine) as session:
        assert due_reasons(session, DAY, params) == ["frost: forecast minimum 1.5 °C within 7 days"]
    _store_forecast(engine, tmin=20.0, rain=80.0)
    with store.session_scope(engine) as session:
        assert due_reasons(session, DAY, params) == ["heavy rain: forecast 80 mm in a day within 7 days"]
        assert due_reasons(session, DAY + timedelta(days=2), params) == []  # no forecast issued that day


def test_the_cycle_reads_the_thresholds_an_agronomist_saved(sample_home_copy):
    from orchard import params as orchard_params
    from orchard.bundle import declared_sets

    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:
        store.store_advice_run(session, {"run_id": "week-before", "issued_on": DAY - timedelta(days=3)}, [])
    _store_forecast(engine, tmin=20.0, rain=80.0)
    shipped = declared_sets()["advice.cycle"].load_shipped()
    with store.session_scope(engine) as session:
        assert cycle_parameters(session)["threshold.heavy_rain"] == 50.0
        assert due_reasons(session, DAY, cycle_parameters(session))  # 80 mm crosses the shipped 50 mm
        orchard_params.save_version(session, shipped.with_overrides({"threshold.heavy_rain": 100.0}),
                                    author="agronomist_zhao", comment="only rainstorms above 100 mm")
    with store.session_scope(engine) as session:
        assert cycle_parameters(session)["threshold.heavy_rain"] == 100.0
        assert due_reasons(session, DAY, cycle_parameters(session)) == []


def test_new_sensor_files_in_the_watched_folder_are_ingested_once(sample_home_copy, sample_dir, tmp_path):
    from advice.cycle import ingest_new_files

    engine = store.init_db(config.database_url())
    watch = tmp_path / "incoming"
    watch.mkdir()
    shutil.copy(sample_dir / "sensors" / "deep_moisture_long.csv", watch / "deep.csv")
    (watch / "broken.csv").write_text("this is not a sensor file\n1,2\n", encoding="utf-8")
    lines = []
    n, problems = ingest_new_files(engine, watch, lines.append)
    assert n == 1 and lines[0].startswith("ingested deep.csv: ")
    assert len(problems) == 1 and problems[0].startswith("sensor file broken.csv not ingested: ")
    shutil.copy(watch / "deep.csv", watch / "deep_copy.csv")  # the same content under another name
    before = _counts(engine)
    assert ingest_new_files(engine, watch, lines.append)[0] == 0
    assert _counts(engine) == before


def test_a_cycle_whose_advice_could_not_run_is_retried_by_the_next(sample_home_copy):
    """The sample weather ends 2017-12-31: a cycle for 2018-03-01 cannot run the chain; the date stays
    'failed' (not done), so the next cycle for it tries again instead of skipping."""
    engine = store.init_db(config.database_url())
    day = date(2018, 3, 1)
    first = run_cycle(engine, day, fetch=False, senders={}, now=NOON_UTC)
    assert first.code == 2 and first.run_id is None
    assert any(w.startswith("advice: not run: ") and "\n" not in w for w in first.warnings)
    with store.session_scope(engine) as session:
        assert session.get(store.CycleRun, day).state == "failed"
    again = run_cycle(engine, day, fetch=False, senders={}, now=NOON_UTC)
    assert not again.already_done and any(w.startswith("advice: not run: ") for w in again.warnings)
