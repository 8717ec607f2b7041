"""The monitoring commands through orchard.cli.main: import-imagery, monitor, monitor zones."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from imagery_helpers import STACK

from orchard.cli import main


def _run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_monitor_without_imagery_says_what_to_do(sample_home, monkeypatch, capsys, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    monkeypatch.setenv("ORCHARD_HOME", str(home))
    import sqlite3

    with sqlite3.connect(home / "orchard.db") as db:  # the sample registers its scenes: forget them here
        db.execute("DELETE FROM scenes")
    code, _, err = _run(["monitor"], capsys)
    assert code == 1 and "no imagery is registered; run orchard import-imagery" in err


def test_import_monitor_and_zones(sample_home, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    code, out, _ = _run(["import-imagery", str(STACK)], capsys)
    assert code == 0 and "registered 100 scene(s)" in out
    code, out, _ = _run(["import-imagery", str(STACK)], capsys)  # twice: nothing changes
    assert code == 0
    from orchard import store
    from orchard.cli_common import engine

    with store.session_scope(engine()) as session:
        assert len(store.list_scenes(session)) == 100
    code, out, _ = _run(["monitor", "--json"], capsys)
    assert code == 0
    records = {r["plot_id"]: r for r in json.loads(out)}
    assert records["CT13"]["status"] == "alert" and records["CT01"]["status"] == "ok"
    assert records["CT23"]["signals"] == "peer, seasonal"
    assert records["CT13"]["alerts"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    out_file = tmp_path / "zones.gpkg"
    code, out, _ = _run(["monitor", "zones", "CT13", "--date", "2017-12-18", "--out", str(out_file)], capsys)
    assert code == 0 and "weak_patch" in out
    zones = gpd.read_file(out_file)
    assert {"weak_patch", "percentile", "kmeans"} == set(zones["kind"])
    code, _, err = _run(["monitor", "zones", "CT99", "--date", "2017-12-18", "--out", str(out_file)], capsys)
    assert code == 1 and "plot 'CT99' is not among the plots" in err
    code, _, err = _run(["import-imagery", str(tmp_path / "missing.tif")], capsys)
    assert code == 1 and "no such file or folder" in err
