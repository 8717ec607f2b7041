"""Data integrity (issue #18, findings 1, 2, 3, 7, 8, 9, 10 and 12): nothing lost, nothing nonsensical stored.

Each test reproduces what a new user did on a fresh ``orchard init --sample`` and failed before the fix. A
refusal is checked the same way everywhere (:func:`assert_refused`): exit code 1 or 2, one sentence on stderr
and nothing else there, and every file under ORCHARD_HOME (the database included) byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchard import store
from orchard.cli import main
from orchard.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
DEM = str(SAMPLE / "dem" / "changting_youwuzhen_dem30m.tif")
PLOTS = str(SAMPLE / "plots.geojson")
S2 = SAMPLE / "imagery" / "s2_synthetic"


# ----------------------------------------------------------------------------------------------------------
# Helpers: a private sample home, its fingerprint, and the refusal contract
# ----------------------------------------------------------------------------------------------------------
def _release_database(home: Path) -> None:
    """Close this home's pooled connections, so SQLite folds its WAL into the file and removes it."""
    from orchard import cli_common

    url = f"sqlite:///{(home / 'orchard.db').resolve()}"
    cli_common.engine_for(url).dispose()


def fingerprint(home: Path) -> dict[str, str]:
    """sha256 of every file under ``home`` (after closing the database)."""
    _release_database(home)
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()}


@pytest.fixture
def home(sample_home, tmp_path, monkeypatch):
    """A private copy of the sample ORCHARD_HOME with its WAL folded in, so its bytes are a baseline."""
    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy)
    with sqlite3.connect(copy / "orchard.db") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    monkeypatch.setenv("ORCHARD_HOME", str(copy))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return copy


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def assert_refused(home, capsys, args, *expected) -> str:
    """Run ``orchard ARGS``; assert it is refused in one sentence, exit 1 or 2, and changes no file."""
    before = fingerprint(home)
    code, _, err = run(capsys, *args)
    assert code in (1, 2), f"exit {code}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orchard: error: "), err
    assert "unexpected error" not in err and "Traceback" not in err
    for words in expected:
        assert words in err, err
    assert fingerprint(home) == before, "a refused command changed files under ORCHARD_HOME"
    return lines[0]


def plots_table(home: Path) -> list[tuple]:
    _release_database(home)
    with sqlite3.connect(home / "orchard.db") as connection:
        rows = connection.execute("SELECT * FROM plots ORDER BY plot_id").fetchall()
    connection.close()
    return rows


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ----------------------------------------------------------------------------------------------------------
# 1. Re-importing plots loses nothing and, unchanged, changes nothing
# ----------------------------------------------------------------------------------------------------------
def test_reimporting_plots_with_or_without_dem_leaves_the_table_identical(home, capsys):
    initial = plots_table(home)
    assert all(row[7] is not None for row in initial)  # elevation_m from init --sample's DEM
    for _ in range(3):
        code, _, err = run(capsys, "import-plots", PLOTS)
        assert code == 0, err
        assert plots_table(home) == initial  # terrain kept, updated_utc unchanged
    for _ in range(3):
        code, _, err = run(capsys, "import-plots", PLOTS, "--dem", DEM)
        assert code == 0, err
        assert plots_table(home) == initial


def test_upsert_keeps_absent_columns_and_the_time_of_the_last_change(home):
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        before = store.get_plot(session, "agronomist_zhao", "CT01")
        store.upsert_plots(session, [{"plot_id": "CT01", "owner_id": "grower_li", "name": before["name"]}])
    with store.session_scope(engine) as session:
        same = store.get_plot(session, "agronomist_zhao", "CT01")
        assert same == before  # nothing new: updated_utc unchanged, terrain and horizon kept
        store.upsert_plots(session, [{"plot_id": "CT01", "owner_id": "grower_li", "name": "new name"}])
    with store.session_scope(engine) as session:
        after = store.get_plot(session, "agronomist_zhao", "CT01")
    assert after["name"] == "new name" and after["updated_utc"] > before["updated_utc"]
    assert (after["elevation_m"], after["horizon_deg"]) == (before["elevation_m"], before["horizon_deg"])
    engine.dispose()


def test_a_new_boundary_without_terrain_is_refused(home, capsys, tmp_path):
    collection = json.loads(Path(PLOTS).read_text(encoding="utf-8"))
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    collection["features"][0]["geometry"]["coordinates"][0] = [[x + 0.0002, y] for x, y in ring]
    moved = write(tmp_path / "moved.geojson", json.dumps(collection, ensure_ascii=False))
    assert_refused(home, capsys, ["import-plots", moved], "plot CT01: its boundary changed",
                   "--dem DEM")


# ----------------------------------------------------------------------------------------------------------
# 2. Nonsense is refused, not stored
# ----------------------------------------------------------------------------------------------------------
APPLICATION = ["applications", "add", "--user", "grower_li", "--plot", "CT01", "--product", "mancozeb_80wp",
               "--unit", "kg"]
PURCHASE = ["purchases", "add", "--user", "grower_li", "--product", "mancozeb_80wp"]
NONSENSE = {
    "amount 1e308": (APPLICATION + ["--amount", "1e308", "--date", "2016-07-16"], "kg/ha, more than"),
    "area 1e9 ha": (APPLICATION + ["--amount", "4", "--area", "1e9", "--date", "2016-07-16"],
                    "treated area 1e+09 ha is larger than the plot"),
    "applied 2099": (APPLICATION + ["--amount", "4", "--date", "2099-01-01"],
                     "2099-01-01 lies in the future"),
    "applied 0001": (APPLICATION + ["--amount", "4", "--date", "0001-01-01"], "0001-01-01 is not plausible"),
    "price nan": (PURCHASE + ["--quantity", "2", "--date", "2016-07-01", "--price", "nan"], "price is nan"),
    "price inf": (PURCHASE + ["--quantity", "2", "--date", "2016-07-01", "--price", "inf"], "price is inf"),
    "bought 2999": (PURCHASE + ["--quantity", "2", "--date", "2999-07-01"], "2999-07-01 lies in the future"),
    "quantity 1e308": (PURCHASE + ["--quantity", "1e308", "--date", "2016-07-01"],
                       "quantity 1e+308 kg is not"),
}


@pytest.mark.parametrize("case", sorted(NONSENSE))
def test_nonsense_inputs_are_refused(case, home, capsys):
    args, expected = NONSENSE[case]
    assert_refused(home, capsys, args, expected)


def test_calibration_with_impossible_measurements_saves_nothing(home, capsys, tmp_path):
    observations = write(tmp_path / "obs.csv", "plot_id,date,variable,value\n"
                         "CT01,2016-09-01,fruit_diameter_mm,-40\nCT01,2016-10-01,brix,-3\n")
    assert_refused(home, capsys, ["growth", "calibrate", observations, "--author", "agronomist_zhao"],
                   "fruit_diameter_mm -40 mm is not plausible")
    brix = write(tmp_path / "brix.csv", "plot_id,date,variable,value\nCT01,2016-10-01,brix,-3\n")
    assert_refused(home, capsys, ["growth", "calibrate", brix], "brix -3 degBrix is not plausible")


@pytest.mark.parametrize("lat, expected", [("999", "station lat 999 degrees_north is not plausible"),
                                           ("nan", "station lat is nan")])
def test_a_station_at_an_impossible_latitude_is_refused(lat, expected, home, capsys, tmp_path):
    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2016-07-01,20,30\n2016-07-02,21,31\n")
    assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv", "--lat", lat,
                                  "--lon", "116"], expected)


def test_a_new_station_without_a_position_is_refused(home, capsys, tmp_path):
    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2016-07-01,20,30\n2016-07-02,21,31\n")
    assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv"],
                   "station X1 is new and its position is unknown")


def test_reimporting_a_station_without_its_position_keeps_the_stored_one(home, capsys, tmp_path):
    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2016-07-01,20,30\n2016-07-02,21,31\n")
    code, _, err = run(capsys, "import-weather", path, "--station", "X1", "--format", "csv", "--lat", "25.7",
                       "--lon", "116.4", "--elevation", "300")
    assert code == 0, err
    code, _, err = run(capsys, "import-weather", path, "--station", "X1", "--format", "csv")
    assert code == 0, err
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        station = session.get(store.Station, "X1")
        assert (station.lat, station.lon, station.elevation_m) == (25.7, 116.4, 300.0)
    engine.dispose()


def test_weather_dated_in_the_future_is_refused(home, capsys, tmp_path):
    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2099-01-01,5,10\n2099-01-02,6,11\n")
    assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv", "--lat", "25",
                                  "--lon", "116"],
                   "w.csv: a time stamp (2099-01-01 00:00 China time) lies in the future")


def test_the_store_refuses_future_readings_from_any_caller(home):
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    tomorrow_week = pd.Timestamp.now(tz="Asia/Shanghai").normalize() + pd.Timedelta(days=8)
    frame = pd.DataFrame({"station_id": ["58911"], "resolution": ["daily"], "variable": ["tmax_c"],
                          "time_utc": [tomorrow_week], "value": [30.0]})
    with pytest.raises(InputError, match="lies in the future"):
        with store.session_scope(engine) as session:
            store.upsert_weather(session, frame)
    engine.dispose()


def _scene(folder: Path, **changes) -> Path:
    folder.mkdir()
    shutil.copy(S2 / "S2_20150103.tif", folder / "S2_20150103.tif")
    meta = json.loads((S2 / "S2_20150103.json").read_text(encoding="utf-8"))
    meta.update(scene_id=folder.name, **changes)
    (folder / "S2_20150103.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder / "S2_20150103.tif"


def test_an_imagery_sidecar_with_a_negative_cloud_fraction_is_refused(home, capsys, tmp_path):
    scene = _scene(tmp_path / "neg", cloud_fraction=-3)
    assert_refused(home, capsys, ["import-imagery", scene], "cloud_fraction -3 is not plausible",
                   "between 0 and 1")


def test_a_four_pixel_photo_is_refused(home, capsys, tmp_path):
    from PIL import Image

    tiny = tmp_path / "tiny.jpg"
    Image.new("RGB", (4, 4), (60, 140, 50)).save(tiny)
    assert_refused(home, capsys, ["images", "add", tiny, "--label", "canker"], "only 4 x 4 pixels")


def test_observations_the_store_is_given_are_range_checked(home):
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        with pytest.raises(InputError, match="fruit_diameter_mm -40 mm is not plausible"):
            store.add_observation(session, "grower_li", "CT01", observed_on="2016-09-01", kind="fruit_size",
                                  variable="fruit_diameter_mm", value=-40.0, unit="mm")
        with pytest.raises(InputError, match="brix -3 degBrix is not plausible"):
            store.add_observation(session, "grower_li", "CT01", observed_on="2016-09-01", kind="brix",
                                  variable="brix", value=-3.0)
        with pytest.raises(InputError, match="lies in the future"):
            store.add_observation(session, "grower_li", "CT01", observed_on=date.today() + timedelta(days=30),
                                  kind="other", variable="note")
    engine.dispose()


# ----------------------------------------------------------------------------------------------------------
# 3. Ids are checked, and the last admin stays an admin
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user_id, expected", [
    ("", "user id is empty or blank"),
    ("   ", "user id is empty or blank"),
    ("grower\nli", "holds a control or invisible character"),
    ("x" * 10_000, "has 10000 characters, more than 64"),
    (" grower_li", "starts or ends with a blank"),
])
def test_malformed_user_ids_are_refused(user_id, expected, home, capsys):
    assert_refused(home, capsys, ["users", "add", user_id, "--role", "grower"], expected)


def test_the_only_admin_cannot_be_demoted(home, capsys):
    assert_refused(home, capsys, ["users", "add", "admin", "--role", "grower"],
                   "user admin is the only admin")
    code, _, err = run(capsys, "users", "add", "admin_two", "--role", "admin")
    assert code == 0, err
    code, _, err = run(capsys, "users", "add", "admin", "--role", "grower")  # another admin remains
    assert code == 0, err


@pytest.mark.parametrize("plot_id, expected", [
    ("", "plot id of feature 1 is empty or blank"),
    ("P" * 5000, "has 5000 characters, more than 64"),
    ("CT\n01", "holds a control or invisible character"),
])
def test_malformed_plot_ids_are_refused(plot_id, expected, home, capsys, tmp_path):
    collection = json.loads(Path(PLOTS).read_text(encoding="utf-8"))
    collection["features"][0]["properties"]["plot_id"] = plot_id
    path = write(tmp_path / "plots.geojson", json.dumps(collection, ensure_ascii=False))
    message = assert_refused(home, capsys, ["import-plots", path], expected)
    assert len(message) < 300


# ----------------------------------------------------------------------------------------------------------
# 7. No "unexpected error": every bad input is a sentence
# ----------------------------------------------------------------------------------------------------------
def test_bad_dates_on_the_command_line_are_sentences(home, capsys):
    assert_refused(home, capsys, ["weather", "--start", "2016-13-45", "--end", "2016-07-31"],
                   "--start '2016-13-45' is not a date")
    assert_refused(home, capsys, ["growth", "outlook", "--date", "2016-02-30"],
                   "--date '2016-02-30' is not a date")
    assert_refused(home, capsys, ["run-week", "--date", "0001-01-01"],
                   "issue date 0001-01-01 is not plausible")
    assert_refused(home, capsys, ["run-week", "--date", "9999-12-31"],
                   "issue date 9999-12-31 is not plausible")


def test_bad_values_of_typed_options_are_sentences(home, capsys):
    assert_refused(home, capsys, APPLICATION + ["--amount", "four", "--date", "2016-07-16"],
                   "Invalid value for '--amount'", "see 'orchard applications add --help'")
    assert_refused(home, capsys, ["images", "verify", "-1", "--label", "canker", "--user", "agronomist_zhao"],
                   "No such option: -1")


def test_an_imagery_sidecar_with_an_unreadable_time_is_refused(home, capsys, tmp_path):
    scene = _scene(tmp_path / "late", acquired_utc="yesterday-ish")
    assert_refused(home, capsys, ["import-imagery", scene], "acquisition time 'yesterday-ish' is not a time")


def test_a_truncated_geotiff_scene_is_refused(home, capsys, tmp_path):
    scene = _scene(tmp_path / "cut")
    data = scene.read_bytes()
    scene.write_bytes(data[: len(data) // 3])
    assert_refused(home, capsys, ["import-imagery", scene], "the scene file cannot be read")


def test_a_geotiff_whose_pixels_are_cut_off_is_refused(home, capsys, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    folder = tmp_path / "cog"
    folder.mkdir()
    whole = folder / "whole.tif"
    with rasterio.open(whole, "w", driver="COG", width=512, height=512, count=3, dtype="uint16",
                       crs="EPSG:32650", transform=from_origin(400000, 2850000, 10, 10)) as dst:
        dst.write(np.random.default_rng(1).integers(0, 10000, (3, 512, 512), dtype=np.uint16))
    data = whole.read_bytes()
    scene = folder / "S2_cut.tif"
    scene.write_bytes(data[: len(data) // 2])  # the header (at the start of a COG) survives, pixels do not
    whole.unlink()
    (folder / "S2_cut.json").write_text(json.dumps({
        "scene_id": "cut", "platform": "Sentinel-2A", "acquired_utc": "2015-01-03T02:55:00Z",
        "processing_baseline": "02.01", "bands": ["B04", "B08", "SCL"], "cloud_fraction": 0.2}))
    assert_refused(home, capsys, ["import-imagery", scene], "cannot be read to its end")


def test_a_calibration_file_naming_an_unknown_plot_is_refused(home, capsys, tmp_path):
    observations = write(tmp_path / "obs.csv", "plot_id,date,variable,value\nZZ99,2016-04-01,bloom_date,\n")
    assert_refused(home, capsys, ["growth", "calibrate", observations, "--no-save"],
                   "the observations name plot 'ZZ99', which is not in the database")


def test_exporting_plots_into_a_missing_folder_is_refused(home, capsys, tmp_path):
    assert_refused(home, capsys, ["plots", "export", tmp_path / "no" / "such" / "plots.gpkg"],
                   "the folder", "does not exist")


def test_a_garbled_time_cell_in_a_weather_file_is_a_sentence(home, capsys, tmp_path):
    lines = (SAMPLE / "weather" / "changting_58911_meteo_daily.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = "58911,2010-01-02 20:0-01-13 20:00:00,10.6,12.3,9.2,94,0.2,0.0"
    path = write(tmp_path / "meteo.csv", "\n".join(lines[:40]) + "\n")
    assert_refused(home, capsys, ["import-weather", path, "--station", "58911", "--format", "changting"],
                   "row 3, column 'DATETIME': '2010-01-02 20:0-01-13 20:00:00' is not a date/time")


# ----------------------------------------------------------------------------------------------------------
# 8. A folder of photos is added whole or not at all
# ----------------------------------------------------------------------------------------------------------
def test_a_folder_with_one_bad_photo_adds_nothing(home, capsys, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(
        folder / "good.jpg")
    (folder / "fake.jpg").write_text("not a photo")
    assert_refused(home, capsys, ["images", "add", folder, "--label", "canker"],
                   "nothing was added, because 1 of 2 photos cannot be", "fake.jpg: the file is not an image")
    (folder / "fake.jpg").unlink()
    code, out, err = run(capsys, "images", "add", folder, "--label", "canker")
    assert code == 0 and "1 added" in out, err


# ----------------------------------------------------------------------------------------------------------
# 9. Nothing accepted silently: unknown CRS, malformed #LOCALTIME, GBK sensor files
# ----------------------------------------------------------------------------------------------------------
def test_a_geojson_declaring_an_unknown_crs_is_refused(home, capsys, tmp_path):
    collection = json.loads(Path(PLOTS).read_text(encoding="utf-8"))
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::99999"}}
    path = write(tmp_path / "plots.geojson", json.dumps(collection, ensure_ascii=False))
    assert_refused(home, capsys, ["import-plots", path],
                   "declares the coordinate reference system 'urn:ogc:def:crs:EPSG::99999', which is not "
                   "known")


def test_a_geojson_declaring_a_known_crs_is_read_in_it(tmp_path):
    from orchard.plots import read_plots

    collection = json.loads(Path(PLOTS).read_text(encoding="utf-8"))
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path = write(tmp_path / "plots.geojson", json.dumps(collection, ensure_ascii=False))
    assert len(read_plots(path)) == 30


def test_a_malformed_localtime_line_is_refused(home, capsys, tmp_path):
    path = write(tmp_path / "h.csv", "#LOCALTIME abc\ntime,t_c\n2016-07-01 00:00,25\n2016-07-01 01:00,24\n")
    assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv", "--lat", "25",
                                  "--lon", "116"], "'#LOCALTIME abc' gives no UTC offset")


def test_seven_in_one_sensor_files_in_gbk_are_read_like_utf8(tmp_path):
    from monitoring.soil.readers import read_sensor_file

    source = SAMPLE / "sensors" / "probes_gateway_a_7in1.csv"
    gbk = write(tmp_path / "probes_gbk.csv", source.read_text(encoding="utf-8"), encoding="gbk")
    utf8_frame, utf8_info = read_sensor_file(source, tz="Asia/Shanghai")
    gbk_frame, gbk_info = read_sensor_file(gbk, tz="Asia/Shanghai")
    assert gbk_info["format"] == utf8_info["format"] == "7in1"
    pd.testing.assert_frame_equal(gbk_frame, utf8_frame)


# ----------------------------------------------------------------------------------------------------------
# 10. Messages: the sentence alone, about the right thing, short
# ----------------------------------------------------------------------------------------------------------
def _console(args, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ORCHARD_HOME": str(home)}
    env.pop("ORCHARD_DEBUG", None)
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-m", "orchard.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("case", ["delimiter", "garbled time"])
def test_no_library_warning_is_printed_above_the_sentence(case, home, tmp_path):
    if case == "delimiter":  # pandas' ParserWarning about regex separators, before the fix
        path = write(tmp_path / "semi.csv", "time;tmin_c;tmax_c\n2016-07-01;20;30\n2016-07-02;21;31\n")
        args = ["import-weather", path, "--station", "X1", "--format", "csv", "--delimiter", ";;"]
    else:  # pandas' FutureWarning about mixed time zones, before the fix
        meteo = SAMPLE / "weather" / "changting_58911_meteo_daily.csv"
        lines = meteo.read_text(encoding="utf-8").splitlines()
        lines[2] = "58911,2010-01-02 20:0-01-13 20:00:00,10.6,12.3,9.2,94,0.2,0.0"
        path = write(tmp_path / "meteo.csv", "\n".join(lines[:40]) + "\n")
        args = ["import-weather", path, "--station", "58911", "--format", "changting"]
    before = fingerprint(home)
    result = _console(args, home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("orchard: error: "), result.stderr
    assert fingerprint(home) == before


def test_a_huge_temperature_is_not_called_kelvin(tmp_path):
    from orchard.sources import read_station_csv

    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2016-01-01,5,1e308\n2016-01-02,6,11\n")
    with pytest.raises(InputError) as info:
        read_station_csv(path, station_id="X", lat=25.0, lon=116.0)
    message = str(info.value)
    assert "looks like kelvin" not in message
    assert "row 2, column 'tmax_c' (tmax_c): 1e+308 is not an air temperature in °C, °F or kelvin" in message


def test_a_two_character_delimiter_is_named_as_such(home, capsys, tmp_path):
    path = write(tmp_path / "semi.csv", "time;tmin_c;tmax_c\n2016-07-01;20;30\n2016-07-02;21;31\n")
    message = assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv",
                                            "--delimiter", ";;"], "the delimiter ';;' is not one character")
    assert "use ','" not in message and "delimiter ','" not in message


def test_huge_coordinates_give_a_short_message(home, capsys, tmp_path):
    collection = json.loads(Path(PLOTS).read_text(encoding="utf-8"))
    collection["features"] = collection["features"][:1]
    collection["features"][0]["geometry"]["coordinates"] = [[[1e300, 1e300], [2e300, 1e300], [2e300, 2e300],
                                                             [1e300, 1e300]]]
    path = write(tmp_path / "huge.geojson", json.dumps(collection))
    message = assert_refused(home, capsys, ["import-plots", path], "coordinates reach (2e+300, 2e+300)")
    assert len(message) < 300 and not re.search(r"\d{20}", message)


def test_a_short_row_is_reported_as_short(home, capsys, tmp_path):
    path = write(tmp_path / "w.csv", "time,tmin_c,tmax_c\n2016-01-01,5,10\n2016-01-02\n2016-01-03,5,10\n")
    message = assert_refused(home, capsys, ["import-weather", path, "--station", "X1", "--format", "csv",
                                            "--lat", "25", "--lon", "116"],
                             "row 3 has 1 field but the header names 3 columns")
    assert "time order" not in message
    truncated = write(tmp_path / "t.csv", "time,tmin_c,tmax_c\n2016-01-01,5,10\n2016-01-0\n2016-01-03,5,10\n")
    message = assert_refused(home, capsys, ["import-weather", truncated, "--station", "X1", "--format", "csv",
                                            "--lat", "25", "--lon", "116"], "row 3 has 1 field")
    assert "time order" not in message


# ----------------------------------------------------------------------------------------------------------
# 12. A plot's own station is never replaced without a word
# ----------------------------------------------------------------------------------------------------------
def _name_station(home: Path, station: str, plots=("CT01", "CT02")) -> None:
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        for plot_id in plots:
            session.get(store.Plot, plot_id).station_id = station
    engine.dispose()


def test_a_station_with_hourly_readings_only_gives_daily_weather_derived_from_them(home, capsys):
    _name_station(home, "chengdu")
    code, out, err = run(capsys, "weather", "--start", "2012-07-01", "--end", "2012-07-03", "--json")
    assert code == 0, err
    assert "note: station chengdu holds hourly readings only" in err
    rows = {r["plot_id"]: r for r in json.loads(out)}
    assert rows["CT01"]["station_id"] == rows["CT02"]["station_id"] == "chengdu"
    assert rows["CT03"]["station_id"] == "58911"
    # the same days aggregated from the file: mean of the hourly temperatures (plus the plot's lapse-rate
    # offset) and the rain of the hours ending in each day
    raw = pd.read_csv(SAMPLE / "weather" / "chengdu_hourly_2010_2015.csv", na_values=["NA"])
    stamp = pd.to_datetime(raw[["year", "month", "day", "hour"]])
    days = (stamp >= "2012-07-01") & (stamp < "2012-07-04")
    mean_t = raw.loc[days].groupby(stamp[days].dt.date)["TEMP"].mean().mean()
    rain_hours = (stamp > "2012-07-01") & (stamp <= "2012-07-04")
    station_mean = rows["CT01"]["mean_tmean_c"] - rows["CT01"]["temperature_offset_c"]
    assert station_mean == pytest.approx(mean_t, abs=1e-6)
    assert rows["CT01"]["precip_mm"] == pytest.approx(raw.loc[rain_hours, "precipitation"].sum())


def test_a_station_without_readings_for_the_period_is_refused_not_replaced(home, capsys):
    _name_station(home, "chengdu")  # its hourly record ends in 2015
    assert_refused(home, capsys, ["weather", "--start", "2016-07-01", "--end", "2016-07-31"],
                   "plot CT01 (and 1 more plots) names station chengdu, which has no daily readings (nor "
                   "hourly ones to derive them from) between 2016-07-01 and 2016-07-31")


def test_the_weekly_run_uses_the_plots_own_hourly_station(home):
    from advice.chain import _assign_stations, _named_stations, station_weather
    from orchard.plots import PlotSet

    _name_station(home, "chengdu", plots=("CT01",))
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        plot_set = PlotSet.from_records(store.all_plots(session))
        issue = pd.Timestamp("2014-07-15")
        stations = station_weather(session, issue, 1, named=_named_stations(plot_set))
        assigned = _assign_stations(session, plot_set.to_dataset(), stations)
        assert assigned["weather_station"].sel(plot="CT01").item() == "chengdu"
        assert assigned["weather_station"].sel(plot="CT03").item() == "58911"
        plots_ds = plot_set.to_dataset()
        plots_ds["station_id"] = plots_ds["station_id"].where(plots_ds["plot"] != "CT02", "nowhere")
        with pytest.raises(InputError, match="plot CT02 names station nowhere, which has no daily readings"):
            _assign_stations(session, plots_ds, stations)
    engine.dispose()


def test_store_functions_keep_the_checks_for_every_face(home):
    """The app and imports call the store directly: the same refusals hold there."""
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        with pytest.raises(InputError, match="user id is empty or blank"):
            store.upsert_users(session, [{"user_id": "", "display_name": "x", "role": "grower"}])
        with pytest.raises(InputError, match="plot id is empty or blank"):
            store.upsert_plots(session, [{"plot_id": " ", "owner_id": "grower_li"}])
        with pytest.raises(InputError, match="station id"):
            store.upsert_stations(session, [{"station_id": "a\tb", "kind": "weather"}])
        with pytest.raises(InputError, match="lat 999 degrees_north is not plausible"):
            store.upsert_stations(session, [{"station_id": "S9", "kind": "weather", "lat": 999.0}])
        with pytest.raises(InputError, match="cloud_fraction -3 is not plausible"):
            store.upsert_scenes(session, [{"scene_id": "x", "path": "x.tif",
                                           "acquired_utc": "2015-01-03T02:55Z", "cloud_fraction": -3}])
        with pytest.raises(InputError, match="acquired_utc: a time stamp .* lies in the future"):
            store.upsert_scenes(session, [{"scene_id": "x", "path": "x.tif",
                                           "acquired_utc": "2099-01-03T02:55Z"}])
        with pytest.raises(InputError, match="price is nan"):
            store.add_purchase(session, "grower_li", product_id="urea_46n", quantity=1.0, unit="kg",
                               purchased_on="2016-07-01", price_cny=float("nan"))
        with pytest.raises(InputError, match="kg/ha, more than the plausible 5000 kg/ha"):
            store.add_application(session, "grower_li", "CT01", product_id="urea_46n",
                                  applied_on="2016-07-01", amount=1e308, unit="kg")
    engine.dispose()
