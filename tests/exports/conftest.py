"""Fixtures of the export tests: the sample database with a stored weekly run, and one full export of it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings

import pytest

DEM = "sample_data/dem/changting_youwuzhen_dem30m.tif"
#: The stored weekly run the export tests read (a Friday of ISO week 2016-W28, as the app's default).
RUN_DATE = "2016-07-15"
WEEK = "2016-W28"


def copy_home(source, target):
    """A copy of an ORCHARD_HOME: its files, then a consistent snapshot of its SQLite database."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("orchard.db*"), dirs_exist_ok=True)
    src, dst = sqlite3.connect(source / "orchard.db"), sqlite3.connect(target / "orchard.db")
    src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture(scope="session")
def run_home(sample_home, tmp_path_factory):
    """A copy of the sample ORCHARD_HOME with the weekly run of 2016-07-15 stored (``orchard run-week``),
    built once per session; tests that write use :func:`run_home_copy`."""
    from advice.chain import run_chain
    from orchard import store

    home = copy_home(sample_home, tmp_path_factory.mktemp("export_home"))
    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    try:
        run_chain(engine, RUN_DATE, results_root=home / "results")
    finally:
        engine.dispose()
    return home


@pytest.fixture
def run_home_copy(run_home, tmp_path, monkeypatch):
    """A private copy of :func:`run_home` as ORCHARD_HOME (its run's results stay in run_home)."""
    home = copy_home(run_home, tmp_path / "home")
    monkeypatch.setenv("ORCHARD_HOME", str(home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return home


@pytest.fixture(scope="session")
def engine(run_home):
    from orchard.cli_common import engine_for

    return engine_for(f"sqlite:///{(run_home / 'orchard.db').resolve()}")


@pytest.fixture(scope="session")
def exported(engine, tmp_path_factory):
    """One full export of the sample district for 2016-W28 (all four pests), with the warnings it raised."""
    from exports.riskmap import export_riskmap
    from orchard.sample import SAMPLE_DISTRICT

    out = tmp_path_factory.mktemp("riskmaps")
    steps = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = export_riskmap(
            WEEK,
            DEM,
            out,
            engine=engine,
            district=SAMPLE_DISTRICT,
            progress=lambda step, fraction: steps.append((step, fraction)),
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, manifest, steps, [str(w.message) for w in caught]
