"""The export's plot table shows the stored weekly run's numbers (issue #15): the same level and probability
per plot, pest and horizon as plot_status and ``orchard advice``; the grid uses the parameter sets in force;
no stored run, no export; no owner in the files extension services read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from orchard.errors import InputError
from exports.riskmap import export_riskmap

DEM = "sample_data/dem/changting_youwuzhen_dem30m.tif"  # as in conftest.py
WEEK = "2016-W28"  # the week of conftest.py's stored run (2016-07-15)
PESTS = ("black_spot", "canker", "mites", "leaf_miner")
HORIZONS = ("15d", "1m", "3m")


def read_csv(folder):
    return pd.read_csv(
        folder / "plots.csv", encoding="utf-8-sig", dtype={"plot_id": str}, keep_default_na=False
    )


def test_plot_table_is_plot_status_and_orchard_advice(exported, engine, run_home, run_cli, monkeypatch):
    from orchard import results, store

    folder, manifest, *_ = exported
    csv = read_csv(folder).set_index("plot_id")
    with store.session_scope(engine) as session:
        run = results.latest_run(session)
        status = results.status_table(session, "agronomist_zhao").set_index("plot_id")
    assert str(run["issued_on"]) == "2016-07-15"
    assert manifest["plots"]["run"]["run_id"] == run["run_id"]
    assert manifest["plots"]["run"]["issued_on"] == "2016-07-15" and manifest["plots"]["not_in_run"] == []
    assert sorted(csv.index) == sorted(status.index) and len(csv) == 30
    assert (csv["issued_on"] == "2016-07-15").all()

    # every plot, pest and horizon: the export's numbers are plot_status's
    for pid, row in status.iterrows():
        for pest in PESTS:
            for h in HORIZONS:
                stored = row["pests"][pest][h]
                assert csv.loc[pid, f"{pest}_{h}_level"] == stored["level"], (pid, pest, h)
                assert csv.loc[pid, f"{pest}_{h}_prob"] == stored["probability"], (pid, pest, h)
        assert csv.loc[pid, "max_level_15d"] == row["max_pest_level_15d"]
    # the reasons are the run's stored outlook's (read as the plot page reads them)
    with store.session_scope(engine) as session:
        for pid in ("CT01", "CT13", "CT30"):
            outlook = results.module_output(results.plot_status(session, "agronomist_zhao", pid), "pests")
            for pest in PESTS:
                for h in HORIZONS:
                    reason = str(outlook["reason"].sel(pest=pest, horizon=h).values)
                    assert csv.loc[pid, f"{pest}_{h}_reason"] == reason and reason.startswith("citrus")

    # ... and those `orchard advice PLOT --json` gives: every pest recommendation's 15-day level and P
    monkeypatch.setenv("ORCHARD_HOME", str(run_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    compared = {"spray": 0, "skip_spray": 0}
    for pid in csv.index:
        code, out, err = run_cli(["advice", pid, "--json"])
        assert code == 0, err
        for rec in json.loads(out):
            numbers = rec["reason_numbers"] or {}
            if rec["module"] != "pests" or "pest" not in numbers:
                continue
            pest = numbers["pest"]
            assert csv.loc[pid, f"{pest}_15d_level"] == numbers["level"], (pid, rec["topic"], pest)
            assert csv.loc[pid, f"{pest}_15d_prob"] == numbers["probability_15d"], (pid, rec["topic"], pest)
            compared[rec["topic"]] = compared.get(rec["topic"], 0) + 1
    assert sum(compared.values()) >= 30, compared  # every pest recommendation of the week was compared

    # the other formats carry the same numbers (they are written from one table)
    for ext in ("gpkg", "geojson", "kml"):
        frame = pyogrio.read_dataframe(folder / f"plots.{ext}").set_index("plot_id").loc[csv.index]
        for pest in PESTS:
            for h in HORIZONS:
                level = f"{pest}_{h}_level"
                np.testing.assert_array_equal(frame[level].astype(int), csv[level])
                np.testing.assert_allclose(frame[f"{pest}_{h}_prob"].astype(float), csv[f"{pest}_{h}_prob"])


def test_the_grid_stays_the_weather_class_grid(exported):
    """The rasters are not touched by the run: somewhere a plot's own level differs from the cell under it
    (the difference docs/riskmap.md measures), and the manifest says which rule each part follows."""
    folder, manifest, *_ = exported
    plots = pyogrio.read_dataframe(folder / "plots.gpkg")
    differ = 0
    for pest in PESTS:
        with rasterio.open(folder / f"{pest}.tif") as src:
            points = plots.to_crs(src.crs).geometry.representative_point()
            cells = np.array([v[0] for v in src.sample([(p.x, p.y) for p in points])])
        assert set(np.unique(cells)) <= {1, 2, 3, 4, 5}
        differ += int((cells != plots[f"{pest}_15d_level"].to_numpy()).sum())
    assert differ > 0
    assert "plot_status" in manifest["plots"]["rule"] and manifest["issue_date"] == "2016-07-11"


def test_no_owner_in_what_extension_services_read(exported):
    folder, manifest, *_ = exported
    owners = ("grower_li", "grower_wang", "grower_chen", "owner")
    for name in ("plots.csv", "plots.geojson", "plots.kml", "manifest.json"):
        text = (folder / name).read_text(encoding="utf-8-sig").lower()
        assert not [o for o in owners if o in text], name
    gpkg = pyogrio.read_dataframe(folder / "plots.gpkg")
    assert not [c for c in gpkg.columns if "owner" in c.lower()]
    values = gpkg.drop(columns="geometry").astype(str)
    assert not values.apply(lambda s: s.str.contains("grower_")).any().any()


def test_a_stored_agronomist_version_changes_the_grid_and_the_manifest(exported, run_home_copy, tmp_path):
    """An agronomist stores a new mites set after the run: the grid uses it (the bundle in force) and the
    manifest records its version and hash; the plot table still shows the stored run."""
    from orchard import params, store
    from orchard.bundle import resolve
    from orchard.cli_common import engine_for

    folder0, manifest0, *_ = exported
    engine = engine_for(f"sqlite:///{run_home_copy / 'orchard.db'}")
    with store.session_scope(engine) as session:
        mites = resolve(session)["mites"].with_overrides({"action.threshold": 5.0})
        version = params.save_version(
            session, mites, author="agronomist_zhao", comment="test: later threshold"
        )
    with store.session_scope(engine) as session:
        in_force = resolve(session)["mites"]
    assert version == 1 and in_force.version == 1 and in_force["action.threshold"] == 5.0

    folder = export_riskmap(WEEK, DEM, tmp_path, engine=engine, pests=["mites"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    used = manifest["parameter_bundle"]["used"]
    used0 = manifest0["parameter_bundle"]["used"]
    assert used["mites"] == {"version": 1, "hash": in_force.hash} != used0["mites"]
    assert manifest0["parameter_bundle"]["used"]["mites"]["version"] == 0
    assert manifest["parameter_sets"]["mites"] == f"mites@{in_force.hash}"
    assert manifest["parameter_bundle"]["versions"]["mites"] == used["mites"]
    with store.session_scope(engine) as session:
        bundle_hash = resolve(session).hash
    assert manifest["parameter_bundle"]["hash"] == bundle_hash != manifest0["parameter_bundle"]["hash"]
    assert manifest["plots"]["run"]["parameter_sets_differ_from_grid"] == ["mites"]
    for name in ("mites.tif", "mites_1m.tif", "mites_3m.tif", "mites_probability.tif"):
        with rasterio.open(folder / name) as new, rasterio.open(folder0 / name) as old:
            assert new.tags()["parameter_set"] != old.tags()["parameter_set"]
            if name == "mites_probability.tif":
                assert (new.read() != old.read()).any()
    for name in ("mites.tif", "mites_1m.tif", "mites_3m.tif"):  # a later action threshold lowers no class
        with rasterio.open(folder / name) as new, rasterio.open(folder0 / name) as old:
            assert (new.read(1) <= old.read(1)).all(), name
    # and lowers most of the 3-month map (level 3 everywhere with the shipped threshold; the mid-July 15-day
    # and 1-month maps are almost all level 1 already, with the sample's low summer mite densities)
    with rasterio.open(folder / "mites_3m.tif") as new, rasterio.open(folder0 / "mites_3m.tif") as old:
        assert (new.read(1) < old.read(1)).mean() > 0.5
    # the plot table is still the stored run's (run before the new version)
    table, table0 = read_csv(folder), read_csv(folder0)
    for h in HORIZONS:
        assert table[f"mites_{h}_level"].tolist() == table0[f"mites_{h}_level"].tolist()
        assert table[f"mites_{h}_prob"].tolist() == table0[f"mites_{h}_prob"].tolist()


def test_no_stored_run_is_one_sentence_and_writes_nothing(
    sample_home, engine, tmp_path, run_cli, monkeypatch
):
    from orchard.cli_common import engine_for

    bare = engine_for(f"sqlite:///{(sample_home / 'orchard.db').resolve()}")  # the sample: no run stored
    out = tmp_path / "out"
    message = (
        "no weekly run is stored for week 2016-W28: the plot table needs one issued between 2016-07-04 and "
        "2016-07-17; run `orchard run-week --date 2016-07-11` first, then export again."
    )
    with pytest.raises(InputError) as info:
        export_riskmap(WEEK, DEM, out, engine=bare, pests=["mites"])
    assert str(info.value) == message
    assert not out.exists()
    # a run older than the week before: the same sentence, naming the latest run
    stale = (
        r"2016-W30: .* between 2016-07-18 and 2016-07-31 \(the latest was issued on 2016-07-15\); "
        r"run `orchard run-week --date 2016-07-25` first"
    )
    with pytest.raises(InputError, match=stale):
        export_riskmap("2016-W30", DEM, out, engine=engine, pests=["mites"])
    assert not out.exists()
    # the command: the sentence on stderr, exit code 1, nothing written
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    code, stdout, err = run_cli(["export-riskmap", "--week", WEEK, "--dem", DEM, "--out", str(out)])
    assert code == 1 and stdout == ""
    assert message in " ".join(err.split()) and "Traceback" not in err
    assert not out.exists()


def test_export_through_a_localcluster_writes_the_local_grid(exported, engine, monkeypatch, tmp_path):
    """A whole export through ``scheduler=`` (2 worker processes) writes the rasters of the local threads and
    the same plot table."""
    import sys
    import types

    from distributed import LocalCluster

    folder0, *_ = exported
    # spawned workers re-run the parent's __main__ file: give them one without a file (as on a real cluster)
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        folder = export_riskmap(WEEK, DEM, tmp_path, engine=engine, pests=["mites"],
                                scheduler=cluster.scheduler_address)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scheduler"].startswith("tcp://127.0.0.1:")
    for name in ("mites.tif", "mites_1m.tif", "mites_3m.tif", "mites_probability.tif"):
        with rasterio.open(folder / name) as got, rasterio.open(folder0 / name) as local:
            np.testing.assert_array_equal(got.read(), local.read())
    table, table0 = read_csv(folder), read_csv(folder0)
    columns = [c for c in table.columns if c != "max_level_15d" and c != "description"]
    pd.testing.assert_frame_equal(table[columns], table0[columns])
