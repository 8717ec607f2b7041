"""The weekly chain (advice/chain.py): one plot weather for every module, named steps, one parameter bundle,
runs stored whole or not at all, the same result on a dask cluster, and the season replay."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from advice import chain as advice_chain
from advice.chain import WeeklyChain, run_chain
from advice.replay import replay_season
from orchard import config, results, store
from orchard.bundle import resolve
from orchard.errors import InputError, OrchardError, ParameterError, StorageError

ISSUE = "2016-07-15"
PLOTS = ["CT01", "CT02", "CT13", "CT18", "CT19", "CT22", "CT29"]


@pytest.fixture
def engine(sample_home_copy):
    return store.init_db(config.database_url())


def _counts(engine) -> tuple[int, int, int]:
    with store.session_scope(engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(t))
                     for t in (store.AdviceRun, store.PlotStatus, store.RecommendationRecord))


def test_run_is_stored_whole_and_every_face_reads_the_same_numbers(engine, sample_home_copy):
    result = run_chain(engine, ISSUE, plot_ids=PLOTS)
    folder = sample_home_copy / "results" / result.run_id
    assert result.results_path == str(folder)
    assert {p.name.split("-")[0] for p in folder.glob("*.nc")} >= {"growth", "growth_outlook", "expected",
                                                                    "pests", "soil"}
    assert not list(folder.glob(".rows-*")) and not list((sample_home_copy / "results").glob(".*partial"))
    with store.session_scope(engine) as session:
        run = results.latest_run(session)
        assert run["run_id"] == result.run_id and run["bundle"]["advice.chain"]["hash"]
        table = results.status_table(session, "agronomist_zhao")
        assert sorted(table["plot_id"]) == sorted(PLOTS)
        li = results.status_table(session, "grower_li")  # a grower reads only their own plots
        assert 0 < len(li) < len(PLOTS)
        stored = store.list_recommendations(session, "agronomist_zhao")
        status = {pid: results.plot_status(session, "agronomist_zhao", pid) for pid in PLOTS}
    assert len(stored) == len(result.recommendations)
    for r in stored:
        s = status[r["plot_id"]]
        if r["topic"] == "harvest":  # the advice's delay and window are the plot status's
            assert r["reason_numbers"]["delay_days"] == pytest.approx(s["maturity_delay_days"], abs=0.5)
        if r["topic"] == "spray":
            pest = r["action_numbers"]["pest"]
            assert r["reason_numbers"]["probability_15d"] == pytest.approx(
                s["pests"][pest]["15d"]["probability"], abs=0.006)
            assert r["reason_numbers"]["level"] == s["pests"][pest]["15d"]["level"]
        assert {"topic": r["topic"], "severity": r["severity"]}.items() <= next(
            a for a in s["actions"] if a["topic"] == r["topic"]
            and a.get("pest") == r["action_numbers"].get("pest")).items()
    # the stored module outputs behind the status: the last day of the season is the status's size and Brix
    one = status["CT13"]
    growth = results.module_output(one, "growth")
    assert round(float(growth["fruit_diameter_mm"].values[-1]), 1) == one["fruit_diameter_mm"]
    assert round(float(growth["brix"].values[-1]), 1) == one["brix"]
    pests = results.module_output(one, "pests")
    assert float(pests["probability"].sel(pest="mites", horizon="15d")) == pytest.approx(
        one["pests"]["mites"]["15d"]["probability"], abs=0.006)
    soil = results.module_output(one, "soil")
    assert round(float(soil["ks"].values[-1]), 2) == one["ks"]


def test_one_plot_weather_for_every_module(engine):
    seen = {}

    def pests_probe(state):
        seen["weather"] = state.weather
        seen["growth_source"] = state.growth.attrs["weather_source"]
        seen["ks"] = state.ks
        seen["ks_source"] = state.growth.attrs["ks_source"]
        advice_chain.pests_step(state)

    WeeklyChain(steps={"pests": pests_probe}).run(engine, ISSUE, plot_ids=PLOTS, store_result=False)
    weather = seen["weather"]
    assert "slope/aspect corrected per terrain class" in weather.attrs["source"]
    assert seen["growth_source"] == weather.attrs["source"]  # growth ran on the same weather
    assert weather["tmax_c"].dtype == np.float32 and "tmax_flat_c" in weather
    # soil's Ks went into growth (water stress recorded in the growth attrs)
    assert seen["ks"] is not None and seen["ks_source"] == "given"
    # north- and south-facing plots at one station differ on the slope, not on the flat
    diff_slope = float(abs(weather["tmax_c"].sel(plot="CT29") - weather["tmax_c"].sel(plot="CT22")).mean())
    assert diff_slope > 0


def test_steps_can_be_skipped_and_swapped_by_name(engine):
    result = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False, skip=("pests", "monitoring"))
    assert not [r for r in result.recommendations if r.topic in ("spray", "scout", "skip_spray")]
    assert "pests" not in result.status or result.status["pests"].isna().all()
    with pytest.raises(InputError, match="cannot be skipped"):
        WeeklyChain(skip=("weather",))
    with pytest.raises(InputError, match="unknown chain step 'pest'"):
        WeeklyChain(steps={"pest": print})


def test_the_bundle_in_force_is_what_the_run_uses(engine):
    from orchard import params

    with store.session_scope(engine) as session:
        shipped = resolve(session)["mites"]
        changed = shipped.with_overrides({"action.threshold": float(shipped["action.threshold"]) * 2}) \
            if "action.threshold" in shipped else None
        if changed is None:
            key = next(k for k in shipped.keys() if isinstance(shipped[k], float))
            entry = shipped.entries[key]
            changed = shipped.with_overrides({key: (entry.min + entry.max) / 2})
        params.save_version(session, changed, author="agronomist_zhao", comment="test")
    result = run_chain(engine, ISSUE, plot_ids=PLOTS[:2])
    assert result.bundle["mites"]["version"] >= 1
    assert result.bundle["mites"]["hash"] == changed.hash


def test_bad_input_gives_one_sentence_and_stores_nothing(engine, sample_home_copy, tmp_path):
    before = _counts(engine)
    with pytest.raises(InputError, match="no daily weather between .* and 2030-07-15"):
        run_chain(engine, "2030-07-15")
    with pytest.raises(InputError, match="not a date"):
        run_chain(engine, "2016-13-45")
    with pytest.raises(InputError, match="no plot lies in a district matching 'Atlantis'"):
        run_chain(engine, ISSUE, district="Atlantis")
    with store.session_scope(engine) as session:
        bad = resolve(session, overrides=None)
    outlook = bad["outlook"]
    bounds_key = next(k for k in outlook.keys() if "bound" in k)
    broken = outlook.with_overrides({bounds_key: list(reversed(list(outlook[bounds_key])))})
    with pytest.raises(ParameterError, match="outlook"):
        with store.session_scope(engine) as session:
            run_chain(engine, ISSUE, bundle=resolve(session, overrides={"outlook": broken}))
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the results folder should be")
    with pytest.raises(StorageError, match="cannot be written"):
        run_chain(engine, ISSUE, plot_ids=PLOTS[:2], results_root=blocker / "results")

    def failing_products(state):
        raise StorageError("disk full while choosing products (test)")

    with pytest.raises(OrchardError, match="disk full"):
        WeeklyChain(steps={"products": failing_products}).run(engine, ISSUE, plot_ids=PLOTS[:2])
    assert _counts(engine) == before  # nothing half-stored
    leftovers = list((sample_home_copy / "results").glob("*")) if (sample_home_copy / "results").exists() \
        else []
    assert leftovers == []


def test_a_failed_database_commit_leaves_the_previous_run(engine, sample_home_copy):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    first = run_chain(engine, ISSUE, plot_ids=PLOTS[:2])
    folder = sample_home_copy / "results" / first.run_id
    files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    before = _counts(engine)

    def refuse(session):  # the commit fails after the new folder was moved into place
        raise StorageError("the database refused the run (test)")

    event.listen(Session, "before_commit", refuse)
    try:
        with pytest.raises(StorageError, match="refused"):
            run_chain(engine, ISSUE, plot_ids=PLOTS[:2])  # the same run id: a re-run
    finally:
        event.remove(Session, "before_commit", refuse)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == files  # the old run's files
    assert _counts(engine) == before
    assert [p.name for p in (sample_home_copy / "results").iterdir()] == [first.run_id]


def test_a_dask_cluster_gives_exactly_the_local_result(engine, monkeypatch):
    from distributed import LocalCluster

    local = run_chain(engine, ISSUE, plot_ids=PLOTS, chunk_size=3, store_result=False)
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_chain(engine, ISSUE, plot_ids=PLOTS, chunk_size=3, store_result=False,
                           scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.status, remote.status)
    assert local.records() == remote.records()
    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        run_chain(engine, ISSUE, plot_ids=PLOTS[:1], store_result=False, scheduler="tcp://127.0.0.1:9")


def test_replay_sees_only_what_was_known_on_each_date(engine):
    dates = ["2016-05-02", "2016-07-15", "2016-09-20"]
    replay = replay_season(engine, dates=dates, plot_ids=PLOTS, hindcast=False)  # members as a live run
    assert replay.dates == [pd.Timestamp(d).date() for d in dates]
    for day in dates:  # each date equals a run made on that day alone
        alone = run_chain(engine, day, plot_ids=PLOTS, store_result=False).status
        got = replay.status[replay.status["issued_on"] == pd.Timestamp(day).date()].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, alone, check_dtype=False)
    # the season moves: fruit grows between the dates on every plot
    size = replay.status.pivot(index="plot_id", columns="issued_on", values="fruit_diameter_mm")
    assert (size.diff(axis=1).iloc[:, 1:] > 0).all().all()


def test_monitoring_reads_only_scenes_it_has_not_seen(engine, sample_home_copy, monkeypatch):
    first = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False)
    assert (sample_home_copy / "cache" / "monitoring_scene_stats.pkl").exists()

    def no_reading(*args, **kwargs):
        raise AssertionError("a scene seen by an earlier run was read again")

    monkeypatch.setattr("monitoring.zonal.scene_index_stats", no_reading)
    again = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False)
    pd.testing.assert_frame_equal(first.status, again.status)
