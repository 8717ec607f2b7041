# ruff: noqa: F811  (pytest fixtures imported from soil_fixtures are redefined as test arguments)
"""The soil commands end to end on a copy of the sample database."""

import json
import shutil

import pytest

from orchard.cli import main
from tests.soil.soil_fixtures import sensor_dir  # noqa: F401

FILES = ["station_ws01_hourly.csv", "probes_gateway_b_7in1.csv", "deep_moisture_long.csv"]


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


@pytest.fixture
def home(sample_home, tmp_path, monkeypatch):
    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy)
    monkeypatch.setenv("ORCHARD_HOME", str(copy))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return copy


def test_ingest_balance_map(home, sensor_dir, capsys, tmp_path):
    import rasterio

    code, out, err = run(
        [
            "ingest-sensors",
            str(sensor_dir / "station_ws01_hourly.csv"),
            "--sensor",
            "WS01",
            "--registry",
            str(sensor_dir / "sensors.csv"),
        ],
        capsys,
    )
    assert code in (0, None), err
    assert "7440 readings" in out and "SPIKE 2" in err
    code, out, err = run(
        ["ingest-sensors", str(sensor_dir / "probes_gateway_a_7in1.csv"), "--tz", "Asia/Shanghai", "--json"],
        capsys,
    )
    assert code in (0, None), err
    report = json.loads(out)[0]
    assert report["format"] == "7in1" and report["flag_counts"]["PERSIST"] > 0
    code, out, err = run(
        ["soil", "balance", "--start", "2017-06-01", "--end", "2017-08-31", "--json"], capsys
    )
    assert code in (0, None), err
    rows = {r["plot_id"]: r for r in json.loads(out)}
    assert len(rows) == 30 and rows["CT01"]["sensor_days"] > 50 and rows["CT02"]["sensor_days"] == 0
    assert all(0 <= r["ks"] <= 1 for r in rows.values())
    code, out, err = run(
        [
            "soil",
            "map",
            "--variable",
            "moisture",
            "--date",
            "2017-07-15",
            "--out",
            str(tmp_path / "map.tif"),
            "--json",
        ],
        capsys,
    )
    assert code in (0, None), err
    assert "from 12 sensors" in err and "leave-one-out RMSE" in err  # both probe gateways of the sample
    with rasterio.open(tmp_path / "map.tif") as src:
        assert src.count == 2
    assert len(json.loads(out)) == 30


def test_bad_input_is_one_sentence(home, sensor_dir, capsys):
    code, out, err = run(["ingest-sensors", str(sensor_dir / "station_ws02_toa5.dat")], capsys)
    assert code != 0 and "TOA5 time stamps have no time zone" in err and "Traceback" not in err
    code, out, err = run(
        ["soil", "map", "--variable", "moisture", "--date", "2016-01-01", "--out", "x.tif"], capsys
    )
    assert code != 0 and "no QC-passed moisture_m3_m3 readings on 2016-01-01" in err
