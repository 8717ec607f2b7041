"""Fixtures the app test modules share."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import pytest

#: The day of the stored weekly advice the app tests read.
ISSUED = date(2016, 7, 15)


@pytest.fixture(scope="session")
def advised_home(sample_home, tmp_path_factory):
    """A copy of the sample home with the weekly run of 2016-07-15 stored (orchard run-week: advice, plot
    status and module outputs under results/), built once per test session (tests that write use their own
    copy)."""
    from advice.pipeline import run_week
    from orchard import store

    home = tmp_path_factory.getbasetemp() / "advised_home"
    # the sample's files (image library, identification model), then a consistent snapshot of its database,
    # whatever its write-ahead log holds
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("orchard.db*"), dirs_exist_ok=True)
    source, copy = sqlite3.connect(sample_home / "orchard.db"), sqlite3.connect(home / "orchard.db")
    source.backup(copy)
    source.close()
    copy.close()
    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    mp = pytest.MonkeyPatch()
    mp.setenv("ORCHARD_HOME", str(home))  # the run's module outputs go to home/results, beside its database
    mp.delenv("ORCHARD_DB_URL", raising=False)
    try:
        run_week(engine, ISSUED)
    finally:
        engine.dispose()
        mp.undo()
    assert any((home / "results").glob("week-*/growth-*.nc"))
    return home


@pytest.fixture
def advised_copy(advised_home, tmp_path, monkeypatch):
    """A private copy of ``advised_home`` (for tests that write, e.g. a re-run of the week); the stored
    run's module outputs stay in advised_home/results, where its row points."""
    copy = tmp_path / "advised"
    shutil.copytree(advised_home, copy, ignore=shutil.ignore_patterns("orchard.db*", "results", "jobs"))
    source, target = sqlite3.connect(advised_home / "orchard.db"), sqlite3.connect(copy / "orchard.db")
    source.backup(target)
    source.close()
    target.close()
    monkeypatch.setenv("ORCHARD_HOME", str(copy))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return copy
