"""Shared fixtures: paths of the sample district and small geometry helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def test_data_dir() -> Path:
    return TEST_DATA


@pytest.fixture
def write_geojson(tmp_path):
    """Write a FeatureCollection of ``(properties, coordinates-ring)`` pairs and return its path."""

    def _write(features, name="plots.geojson", crs=None, raw=None):
        path = tmp_path / name
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
            return path
        collection = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": props,
             "geometry": None if ring is None else {"type": "Polygon", "coordinates": [ring]}}
            for props, ring in features]}
        if crs:
            collection["crs"] = {"type": "name", "properties": {"name": crs}}
        path.write_text(json.dumps(collection), encoding="utf-8")
        return path

    return _write


def square(lon, lat, size_deg=0.001):
    """A closed counter-clockwise square ring with its south-west corner at (lon, lat) [deg]."""
    return [[lon, lat], [lon + size_deg, lat], [lon + size_deg, lat + size_deg], [lon, lat + size_deg], [lon, lat]]


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory):
    """An ORCHARD_HOME holding the sample district's database, built once per test session."""
    from orchard.cli import main as cli_main

    home = tmp_path_factory.mktemp("orchard_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("ORCHARD_HOME", str(home))
    mp.delenv("ORCHARD_DB_URL", raising=False)
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["init", "--sample"])
        assert exit_info.value.code in (0, None)
    finally:
        mp.undo()
    return home


@pytest.fixture
def run_cli(capsys):
    """Run ``orchard ARGS...`` in-process; return (exit code, stdout, stderr)."""
    from orchard.cli import main as cli_main

    def _run(args):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(list(args))
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err

    return _run


@pytest.fixture
def sample_home_copy(sample_home, tmp_path, monkeypatch):
    """A private copy of the sample ORCHARD_HOME (for tests that write to the database)."""
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy)
    monkeypatch.setenv("ORCHARD_HOME", str(copy))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return copy
