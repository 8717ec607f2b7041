# ruff: noqa: F811  (pytest fixtures imported from soil_fixtures are redefined as test arguments)
"""Sensor ingest: planted faults flagged, clean data not, idempotent upserts, atomic files, bad input."""

import numpy as np
import pandas as pd
import pytest

from monitoring.soil import ingest, qc
from orchard.errors import InputError
from tests.soil.soil_fixtures import readings, sensor_dir, soil_db  # noqa: F401

FILES = [
    ("station_ws01_hourly.csv", {"sensor_id": "WS01"}),
    ("station_ws02_toa5.dat", {"tz": "Asia/Shanghai"}),
    ("probes_gateway_a_7in1.csv", {"tz": "Asia/Shanghai"}),
    ("probes_gateway_b_7in1.csv", {}),
    ("deep_moisture_long.csv", {}),
]


def ingest_all(engine, sensor_dir):
    return [ingest.ingest_file(engine, sensor_dir / name, **options) for name, options in FILES]


def test_every_planted_fault_is_flagged_and_nothing_clean(soil_db, sensor_dir):
    reports = ingest_all(soil_db, sensor_dir)
    assert [r.format for r in reports] == ["wide", "toa5", "7in1", "7in1", "long"]
    df = readings(soil_db)
    local = df["time_utc"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    faults = pd.read_csv(sensor_dir / "faults.csv")
    assert set(faults["flag"]) == {"D06", "PERSIST", "GAP", "DUP", "SPIKE", "TZ"}
    expected = np.zeros(len(df), bool)
    for f in faults.itertuples():
        rows = (df["sensor_id"] == f.sensor_id) & (local >= f.start_local) & (local <= f.end_local)
        if f.variable != "*":
            rows &= df["variable"] == f.variable
        assert rows.sum() > 0, f
        flag = f.flag
        assert df.loc[rows, "qc_flags"].str.split(",").map(lambda codes, flag=flag: flag in codes).all(), f
        expected |= rows.to_numpy()
    flagged = df["qc_flags"].str.replace("IDX", "").str.strip(",") != ""
    assert not (flagged & ~expected).any(), df[flagged & ~expected].head()
    # N/P/K are an index, always flagged; cleaned values are NaN exactly where a rejecting flag is set
    npk = df["variable"].isin(["n_index_mg_kg", "p_index_mg_kg", "k_index_mg_kg"])
    assert (
        df.loc[npk, "qc_flags"].str.contains("IDX").all()
        and not df.loc[~npk, "qc_flags"].str.contains("IDX").any()
    )
    rejected = (qc.text_to_flags(df["qc_flags"]) & qc.REJECT_MASK) != 0
    assert (df["value"].isna() == (rejected | df["raw_value"].isna())).all()
    assert df["raw_value"].notna().all()  # raw values are never dropped
    # units were converted: moisture % -> m3/m3, EC uS/cm -> dS/m
    assert df.loc[df["variable"] == "moisture_m3_m3", "raw_value"].between(0.05, 0.6).mean() > 0.99
    assert df.loc[df["variable"] == "ec_ds_m", "raw_value"].median() < 2


def test_import_twice_and_in_overlapping_halves_gives_same_database(soil_db, sensor_dir, tmp_path):
    from orchard import store

    # One probe of gateway B (its export holds the re-sent block, so DUP must survive the split too).
    lines = (sensor_dir / "probes_gateway_b_7in1.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "sp09.csv"
    source.write_text(
        "\n".join([lines[0]] + [x for x in lines[1:] if ",SP09," in x]) + "\n", encoding="utf-8"
    )
    ingest.ingest_file(soil_db, source)
    whole = readings(soil_db)
    ingest.ingest_file(soil_db, source)
    pd.testing.assert_frame_equal(readings(soil_db), whole)

    assert whole["qc_flags"].str.contains("DUP").sum() == 7 * 12
    with store.session_scope(soil_db) as session:
        session.execute(store.SensorReading.__table__.delete())
    lines = source.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    cut = len(body) // 2
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("\n".join([header] + body[: cut + 200]) + "\n", encoding="utf-8")
    second.write_text("\n".join([header] + body[cut - 200 :]) + "\n", encoding="utf-8")
    ingest.ingest_file(soil_db, second)
    ingest.ingest_file(soil_db, first)
    pd.testing.assert_frame_equal(readings(soil_db), whole)


def test_file_failing_half_way_leaves_database_unchanged(soil_db, sensor_dir, tmp_path):
    ingest.ingest_file(soil_db, sensor_dir / "deep_moisture_long.csv")
    before = readings(soil_db)
    bad = tmp_path / "bad.csv"
    text = (sensor_dir / "probes_gateway_b_7in1.csv").read_text(encoding="utf-8").splitlines()
    text[-1] = text[-1].replace(",", ",oops,", 1).replace(",oops,", ",", 1)[:-3] + "abc"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line \d+, column 'k \(mg/kg\)': 'abc' is not a number"):
        ingest.ingest_file(soil_db, bad)
    pd.testing.assert_frame_equal(readings(soil_db), before)


def write(tmp_path, text, name="f.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_unit(soil_db, tmp_path):
    path = write(
        tmp_path, "time,sensor,variable,value,unit\n2017-07-01T00:00+08:00,SD01,moisture,30,furlongs\n"
    )
    with pytest.raises(
        InputError, match="unit 'furlongs' is not a known unit of volumetric soil water content"
    ):
        ingest.ingest_file(soil_db, path)


def test_time_without_zone(soil_db, tmp_path):
    path = write(tmp_path, "time,sensor,variable,value,unit\n2017-07-01 00:00,SD01,moisture,30,%\n")
    with pytest.raises(InputError, match="have no time zone; .* --tz Asia/Shanghai"):
        ingest.ingest_file(soil_db, path)
    toa5 = write(
        tmp_path,
        '"TOA5","WS02","CR1000X"\n"TIMESTAMP","RECORD","AirTC_Avg"\n"TS","RN","Deg C"\n'
        '"","","Avg"\n"2017-07-01 00:00:00",0,25.1\n',
        "x.dat",
    )
    with pytest.raises(InputError, match="TOA5 time stamps have no time zone"):
        ingest.ingest_file(soil_db, toa5)


def test_unknown_sensor(soil_db, tmp_path):
    path = write(tmp_path, "time,sensor,variable,value,unit\n2017-07-01T00:00+08:00,XX99,moisture,30,%\n")
    with pytest.raises(InputError, match="line 2: sensor 'XX99' is not registered"):
        ingest.ingest_file(soil_db, path)


def test_non_numeric_value(soil_db, tmp_path):
    path = write(tmp_path, "time,sensor,variable,value,unit\n2017-07-01T00:00+08:00,SD01,moisture,wet,%\n")
    with pytest.raises(InputError, match="line 2, column 'value': 'wet' is not a number"):
        ingest.ingest_file(soil_db, path)


def test_negative_rainfall(soil_db, tmp_path):
    path = write(tmp_path, "time,rain (mm)\n2017-07-01T00:00+08:00,0.2\n2017-07-01T01:00+08:00,-1.5\n")
    with pytest.raises(InputError, match="line 3: rainfall -1.5 mm is negative"):
        ingest.ingest_file(soil_db, path, sensor_id="WS01")


def test_missing_markers_are_kept_and_flagged(soil_db, tmp_path):
    path = write(
        tmp_path,
        "time,sensor,variable,value,unit\n2017-07-01T00:00+08:00,SD01,moisture,NAN,%\n"
        "2017-07-01T01:00+08:00,SD01,moisture,65535,%\n2017-07-01T02:00+08:00,SD01,moisture,1.2,%\n",
    )
    ingest.ingest_file(soil_db, path)
    df = readings(soil_db)
    assert df["qc_flags"].tolist()[:2] == ["M", "M"] and df["value"].isna().tolist() == [True, True, False]


def test_implausible_but_possible_values_are_flagged_not_refused(soil_db):
    records = [
        {"sensor_id": "SP01", "variable": "ph", "time": f"2017-07-01T0{h}:00:00+08:00", "value": v}
        for h, v in enumerate([6.1, 11.5, 6.2])
    ]
    report = ingest.ingest_readings(soil_db, records)
    assert report.flag_counts == {"RNG": 1, "SPIKE": 1}  # 11.5 is out of range and a one-reading spike
    again = ingest.ingest_readings(soil_db, records)
    assert again.batch == report.batch  # a re-sent push is recognised


def test_records_api_requires_time_zone(soil_db):
    with pytest.raises(InputError, match="have no time zone"):
        ingest.ingest_readings(
            soil_db, [{"sensor_id": "SP01", "variable": "ph", "time": "2017-07-01 00:00", "value": 6.0}]
        )


def test_registry_rejects_unknown_kind(tmp_path):
    path = write(tmp_path, "sensor_id,plot_id,kind,depth_m,lon,lat\nA1,CT01,lysimeter,0.2,116.4,25.6\n")
    with pytest.raises(InputError, match="kind 'lysimeter' is not one of"):
        ingest.read_registry(path)
