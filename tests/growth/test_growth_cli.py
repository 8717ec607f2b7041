"""`orchard growth run | outlook | calibrate` on the sample district."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import xarray as xr


@pytest.fixture
def home(sample_home_copy):
    return sample_home_copy


def test_growth_run_prints_the_summary_and_writes_netcdf(home, run_cli, tmp_path):
    out_file = tmp_path / "growth.nc"
    code, out, err = run_cli(["growth", "run", "--season", "2015", "--json", "--out", str(out_file)])
    assert code == 0, err
    records = json.loads(out)
    assert len(records) == 30
    assert set(records[0]) == {"plot_id", "cultivar", "bloom_date", "colour_break_date", "maturity_date",
                               "maturity_delay_days", "fruit_diameter_mm", "brix"}
    assert all("2015-03-20" <= r["bloom_date"][:10] <= "2015-04-30" for r in records)  # late March-April
    delays = [r["maturity_delay_days"] for r in records if r["maturity_delay_days"] is not None]
    assert len(delays) >= 25 and min(delays) < 0 < max(delays)  # the sample has north and south slopes
    ds = xr.open_dataset(out_file)
    assert ds["fruit_diameter_mm"].dims == ("plot", "time") and ds.attrs["model"] == "citrus-growth"
    assert "parameter_set" in ds.attrs and "ks_source" in ds.attrs


def test_growth_outlook_json(home, run_cli):
    code, out, err = run_cli(["growth", "outlook", "--date", "2016-07-15", "--json"])
    assert code == 0, err
    records = json.loads(out)
    first = records[0]
    assert first["expansion_mm_d_p10"] <= first["expansion_mm_d_p50"] <= first["expansion_mm_d_p90"]


def test_growth_calibrate_saves_a_version_and_reports_errors(home, run_cli, tmp_path):
    code, out, _ = run_cli(["growth", "run", "--season", "2015", "--json", "--no-slope"])
    valencia = [r for r in json.loads(out) if r["cultivar"] == "valencia"][:3]
    rows = [{"plot_id": r["plot_id"], "date": str(pd.Timestamp(r["bloom_date"]) + pd.Timedelta(days=6))[:10],
             "variable": "bloom_date", "value": ""} for r in valencia]
    observations = tmp_path / "obs.csv"
    pd.DataFrame(rows).to_csv(observations, index=False)
    code, out, err = run_cli(["growth", "calibrate", str(observations), "--no-slope", "--json",
                           "--comment", "bloom a week later than modelled"])
    assert code == 0, err
    result = json.loads(out)
    assert result["cultivar"] == "valencia" and result["version"] == 1
    bloom = result["errors"][0]
    assert bloom["variable"] == "bloom_date" and bloom["rmse_after"] < 1.5 < bloom["rmse_before"]
    assert result["after"]["bloom.required_gdd"] > result["before"]["bloom.required_gdd"]
    code, out, _ = run_cli(["params", "history", "--name", "growth.valencia"])
    assert code == 0 and "bloom a week later" in out


def test_growth_cli_bad_input_is_one_sentence(home, run_cli, tmp_path):
    code, _, err = run_cli(["growth", "run"])
    expected = "orchard: error: give --season YEAR (the bloom year) or both --start and --end."
    assert code == 1 and err.strip() == expected
    bad = tmp_path / "obs.csv"
    bad.write_text("plot_id,date,variable,value\nCT01,2015-04-01,fruit_weight,120\n", encoding="utf-8")
    code, _, err = run_cli(["growth", "calibrate", str(bad)])
    assert code == 1 and "unknown variable 'fruit_weight'" in err and "Traceback" not in err
