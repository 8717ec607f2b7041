"""``orchard pests outlook`` and ``orchard pests spray`` on the sample district."""

import json

import pytest
import xarray as xr

from orchard.cli import main


def _run(args, monkeypatch, home, capsys):
    monkeypatch.setenv("ORCHARD_HOME", str(home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_outlook_table_json_and_netcdf(sample_home, monkeypatch, capsys, tmp_path):
    code, out, err = _run(
        ["pests", "outlook", "--date", "2016-06-01", "--plots", "CT01,CT02"], monkeypatch, sample_home, capsys
    )
    assert code == 0
    assert "CT01" in out and "black_spot" in out and "citrus black spot: P(≥1 infection event in 15 d)" in out
    assert "climatology" in err and "default calendar" in err
    nc = tmp_path / "outlook.nc"
    code, out, _ = _run(
        [
            "pests",
            "outlook",
            "--date",
            "2016-06-01",
            "--plots",
            "CT03",
            "--pests",
            "mites",
            "--json",
            "--out",
            str(nc),
        ],
        monkeypatch,
        sample_home,
        capsys,
    )
    records = json.loads(out)
    assert code == 0 and len(records) == 3
    assert {r["horizon"] for r in records} == {"15d", "1m", "3m"}
    assert all(0 <= r["probability"] <= 1 and r["level"] in (1, 2, 3, 4, 5) for r in records)
    with xr.open_dataset(nc) as ds:
        assert ds.attrs["issue_date"] == "2016-06-01" and ds.sizes["plot"] == 1


def test_spray_command(sample_home, monkeypatch, capsys):
    code, out, _ = _run(
        ["pests", "spray", "--date", "2016-06-01", "--plots", "CT01", "--json"],
        monkeypatch,
        sample_home,
        capsys,
    )
    rows = json.loads(out)
    assert code == 0 and {r["pest"] for r in rows} == {"black_spot", "canker", "mites", "leaf_miner"}
    assert all(r["action"] in ("none", "protective", "curative") for r in rows)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--date", "2016-06-01", "--pests", "aphid"], "unknown pest 'aphid'; known pests are black_spot"),
        (["--date", "2016-06-01", "--plots", "XX9"], "plot XX9 is not in the database"),
        (["--date", "2020-06-01"], "weather record ends 2017-12-31"),
        (["--date", "June"], "is not a date"),
    ],
)
def test_bad_input_one_sentence(sample_home, monkeypatch, capsys, args, message):
    code, _, err = _run(["pests", "outlook", *args], monkeypatch, sample_home, capsys)
    assert code == 1 and message in err and "Traceback" not in err
