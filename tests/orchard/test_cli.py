"""The `orchard` command end to end on the sample district, and its handling of bad input."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import square
from orchard import store
from orchard.cli import main

DEM = "sample_data/dem/changting_youwuzhen_dem30m.tif"


@pytest.fixture
def home(sample_home, tmp_path, monkeypatch):
    """A private copy of the sample database, so a test may change it."""
    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy)
    monkeypatch.setenv("ORCHARD_HOME", str(copy))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return copy


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def counts(home):
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with engine.connect() as connection:
        result = {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                  for table in ("plots", "stations", "weather_readings", "users", "parameter_versions")}
    engine.dispose()
    return result


def test_plots_list_json_lists_the_sample_with_terrain(home, capsys):
    code, out, _ = run(capsys, "plots", "list", "--json")
    assert code == 0
    plots = json.loads(out)
    assert len(plots) == 30
    slopes = [p["slope_deg"] for p in plots]
    assert all(0 <= s <= 35 for s in slopes) and max(slopes) > 12
    assert all(278 <= p["elevation_m"] <= 550 for p in plots)
    aspects = [p["aspect_deg"] for p in plots]
    assert any(a >= 315 or a <= 45 for a in aspects), "no north-facing plot"
    assert any(135 <= a <= 225 for a in aspects), "no south-facing plot"
    assert all(0.3 < p["sky_view_factor"] <= 1 for p in plots)


def test_plots_list_as_a_grower_shows_only_their_plots(home, capsys):
    code, out, _ = run(capsys, "plots", "list", "--json", "--user", "grower_li")
    assert code == 0
    owners = {p["owner_id"] for p in json.loads(out)}
    assert owners == {"grower_li"}


def test_init_sample_twice_changes_nothing(home, capsys):
    before = counts(home)
    code, _, _ = run(capsys, "init", "--sample")
    assert code == 0
    assert counts(home) == before
    assert before["plots"] == 30 and before["weather_readings"] > 100_000


def test_terrain_command_prints_each_plot(capsys):
    code, out, _ = run(capsys, "terrain", "sample_data/plots.geojson", "--dem", DEM, "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 30
    assert set(rows[0]) == {"plot_id", "area_ha", "elevation_m", "slope_deg", "aspect_deg", "sky_view_factor"}
    assert all(0 <= r["aspect_deg"] < 360 for r in rows)


def test_import_plots_is_idempotent(home, capsys, write_geojson):
    path = write_geojson([({"plot_id": "NEW1", "name": "新地"}, square(116.46, 25.68, 0.001))])
    code, out, err = run(capsys, "import-plots", str(path), "--owner", "grower_wang", "--dem", DEM)
    assert code == 0, err
    first = counts(home)
    assert first["plots"] == 31
    run(capsys, "import-plots", str(path), "--owner", "grower_wang", "--dem", DEM)
    assert counts(home) == first


BAD_PLOT_FILES = {
    "malformed": ('{"type": "FeatureCollection", "features": [', "is not a readable GeoJSON file"),
    "self_intersecting": (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"plot_id": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[116.46, 25.68],
        [116.461, 25.681], [116.461, 25.68], [116.46, 25.681], [116.46, 25.68]]]}}]}), "Self-intersection"),
    "outside_dem": (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"plot_id": "FAR"}, "geometry": {"type": "Polygon", "coordinates": [square(106.5, 29.5)]}}]}),
        "FAR"),
}


@pytest.mark.parametrize("case", sorted(BAD_PLOT_FILES))
def test_bad_plot_files_fail_cleanly_and_change_nothing(case, home, capsys, write_geojson):
    raw, expected = BAD_PLOT_FILES[case]
    path = write_geojson(None, raw=raw)
    before = counts(home)
    code, _, err = run(capsys, "import-plots", str(path), "--owner", "grower_li", "--dem", DEM)
    assert code == 1
    assert expected in err and err.startswith("orchard: error: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert counts(home) == before


def test_plot_owned_by_another_grower_is_not_taken_over(home, capsys, write_geojson):
    path = write_geojson([({"plot_id": "CT01"}, square(116.46, 25.68, 0.001))])
    before = counts(home)
    code, _, err = run(capsys, "import-plots", str(path), "--owner", "grower_chen")
    assert code == 1 and "CT01" in err
    assert counts(home) == before


def test_unknown_coords_value(capsys, write_geojson):
    path = write_geojson([({"plot_id": "A"}, square(116.46, 25.68))])
    code, _, err = run(capsys, "terrain", str(path), "--dem", DEM, "--coords", "wgs99")
    assert code == 1 and "unknown coordinate system 'wgs99'" in err


def test_weather_file_with_missing_column_changes_nothing(home, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("#LOCALTIME 8\nStationID,DATETIME,TMEAN,TMIN,RM,WS,SSD\n58911,2018-01-01 20:00:00,10,8,80,1,2\n")
    before = counts(home)
    code, _, err = run(capsys, "import-weather", str(bad), "--station", "58911", "--format", "changting")
    assert code == 1 and "TMAX" in err and "Traceback" not in err
    assert counts(home) == before


def test_import_weather_twice_changes_nothing(home, capsys):
    before = counts(home)
    code, _, err = run(capsys, "import-weather", "sample_data/weather/changting_58911_meteo_daily.csv",
                       "--station", "58911", "--format", "changting",
                       "--rain", "sample_data/weather/changting_hetian_81502750_pcp_daily.csv")
    assert code == 0, err
    assert counts(home) == before


def test_missing_file_is_one_sentence(capsys):
    code, _, err = run(capsys, "terrain", "no/such.geojson", "--dem", DEM)
    assert code == 1 and "no such plot file" in err


def test_console_script_prints_no_traceback(tmp_path):
    bad = tmp_path / "plots.geojson"
    bad.write_text("{ not json")
    result = subprocess.run([sys.executable, "-m", "orchard.cli", "terrain", str(bad), "--dem", DEM],
                            capture_output=True, text=True, env={"ORCHARD_HOME": str(tmp_path), "PATH": ""})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "is not a readable GeoJSON file" in result.stderr


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


HOURLY_HEADER = "time,t_c,rh_pct\n"
BAD_WEATHER = {
    # case: (file name, content, extra CLI options, words the one-sentence error must contain)
    "degF undeclared": ("f.csv", "time,tmin_c,tmax_c\n2016-07-01,75.2,93.2\n2016-07-02,77.0,95.0\n", [], "°F"),
    "rh as fraction": ("h.csv", "#LOCALTIME 8\n" + HOURLY_HEADER + "2016-07-01 00:00,26.1,0.91\n"
                       "2016-07-01 01:00,25.8,0.93\n2016-07-01 02:00,25.4,0.94\n", [], "fraction"),
    "duplicated times": ("d.csv", "time,tmin_c,tmax_c\n2016-07-01,20,30\n2016-07-01,21,31\n2016-07-02,20,30\n",
                         [], "2016-07-01"),
    "out of order": ("o.csv", "time,tmin_c,tmax_c\n2016-07-02,20,30\n2016-07-01,21,31\n2016-07-03,20,30\n",
                     [], "not in time order"),
    "hourly without time zone": ("z.csv", HOURLY_HEADER + "2016-07-01 00:00,26.1,91\n2016-07-01 01:00,25.8,93\n"
                                 "2016-07-01 02:00,25.4,94\n", [], "time zone"),
    "bad column option": ("c.csv", "time,tmin_c,tmax_c\n2016-07-01,20,30\n", ["--column", "tmax_c"], "NAME=VALUE"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEATHER))
def test_bad_weather_files_fail_cleanly_and_change_nothing(case, home, capsys, tmp_path):
    name, content, extra, expected = BAD_WEATHER[case]
    path = _write(tmp_path, name, content)
    before = counts(home)
    code, _, err = run(capsys, "import-weather", str(path), "--station", "X1", "--format", "csv", *extra)
    assert code == 1, err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert counts(home) == before


def test_declared_units_are_converted(home, capsys, tmp_path):
    path = _write(tmp_path, "f.csv", "date,low_F,high_F\n2016-07-01,75.2,93.2\n2016-07-02,77.0,95.0\n")
    code, _, err = run(capsys, "import-weather", str(path), "--station", "X1", "--format", "csv",
                       "--time-column", "date", "--column", "tmin_c=low_F", "--column", "tmax_c=high_F",
                       "--unit", "tmin_c=degF", "--unit", "tmax_c=degF", "--lat", "29.5", "--lon", "106.5")
    assert code == 0, err
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        latest = store.latest_weather(session, "X1")
    assert latest["tmax_c"][1] == pytest.approx(35.0)  # 95 °F


def test_plots_without_crs_fail_cleanly(home, capsys, tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"plot_id": ["P1"]}, geometry=[shapely.box(116.46, 25.68, 116.461, 25.681)])
    frame.to_file(tmp_path / "nocrs.gpkg", engine="pyogrio")
    before = counts(home)
    code, _, err = run(capsys, "import-plots", str(tmp_path / "nocrs.gpkg"), "--owner", "grower_li")
    assert code == 1 and "has no coordinate reference system" in err
    assert counts(home) == before


def test_dem_without_crs_fails_cleanly(home, capsys, tmp_path, write_geojson):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    dem = tmp_path / "nocrs.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32",
                       transform=from_origin(0, 20, 1, 1)) as dst:
        dst.write(np.ones((1, 20, 20), dtype="float32"))
    path = write_geojson([({"plot_id": "A"}, square(116.46, 25.68))])
    before = counts(home)
    code, _, err = run(capsys, "import-plots", str(path), "--owner", "grower_li", "--dem", str(dem))
    assert code == 1 and "has no coordinate reference system" in err
    assert counts(home) == before


def test_parameter_file_with_unknown_key(capsys, test_data_dir):
    code, _, err = run(capsys, "params", "show", str(test_data_dir / "params" / "unknown_field.toml"))
    assert code == 1 and "unknown_field.toml" in err and "Traceback" not in err


def test_huge_weather_file_is_refused_before_reading(home, capsys, tmp_path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:
        handle.truncate(4 * 1024**3)
    before = counts(home)
    code, _, err = run(capsys, "import-weather", str(huge), "--station", "X1", "--format", "csv")
    assert code == 1 and "4.0 GB" in err
    assert counts(home) == before


@pytest.mark.parametrize("name", ["plots.gpkg", "plots.geojson"])
def test_plots_export_opens_as_a_valid_plot_file(home, capsys, tmp_path, name):
    from orchard.plots import read_plots

    code, _, err = run(capsys, "plots", "export", str(tmp_path / name), "--user", "grower_wang")
    assert code == 0, err
    exported = read_plots(tmp_path / name)
    assert len(exported) == 10 and set(exported.frame["owner_id"]) == {"grower_wang"}
    assert exported.frame["slope_deg"].notna().all()


def test_plots_export_refuses_an_unknown_format(home, capsys, tmp_path):
    code, _, err = run(capsys, "plots", "export", str(tmp_path / "plots.kml"))
    assert code == 1 and "use .geojson or .gpkg" in err


def test_weather_command_writes_netcdf(home, capsys, tmp_path):
    import xarray as xr

    out_file = tmp_path / "july.nc"
    code, out, err = run(capsys, "weather", "--start", "2016-07-01", "--end", "2016-07-31", "--out",
                         str(out_file), "--json", "--user", "grower_chen")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 10 and all(r["station_id"] == "58911" for r in rows)
    ds = xr.open_dataset(out_file)
    assert ds.sizes == {"time": 31, "plot": 10}


def test_params_set_stores_a_version_with_who_and_what(home, capsys):
    code, out, err = run(capsys, "params", "set", "elevation.lapse_rate=0.55", "--author", "agronomist_zhao",
                         "--comment", "two loggers, winter 2025")
    assert code == 0, err
    assert "saved weather version 2" in out
    code, out, _ = run(capsys, "params", "history")
    assert "agronomist_zhao" in out and "two loggers" in out
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    from orchard import params

    with store.session_scope(engine) as session:
        latest = params.load_version(session, "weather")
    assert latest["elevation.lapse_rate"] == 0.55 and latest.version == 2


@pytest.mark.parametrize("change, expected", [
    ("elevation.lapse_rate=3", "outside its range"),
    ("elevation.lapse_rat=0.5", "elevation.lapse_rat"),
    ("elevation.lapse_rate=fast", "not a number"),
])
def test_params_set_refuses_bad_values_and_stores_nothing(home, capsys, change, expected):
    before = counts(home)
    code, _, err = run(capsys, "params", "set", change, "--author", "agronomist_zhao")
    assert code == 1 and expected in err and "Traceback" not in err
    assert counts(home) == before


def test_growers_cannot_change_parameters(home, capsys):
    code, _, err = run(capsys, "params", "set", "elevation.lapse_rate=0.5", "--author", "grower_li")
    assert code == 1 and "grower_li" in err


def test_init_sample_again_keeps_the_agronomists_parameters(home, capsys):
    run(capsys, "params", "set", "elevation.lapse_rate=0.5", "--author", "agronomist_zhao")
    before = counts(home)
    code, _, err = run(capsys, "init", "--sample")
    assert code == 0, err
    assert counts(home) == before  # no revert to the shipped values stored as a new version
    code, out, _ = run(capsys, "params", "show")
    assert "│ 0.5 " in out


def test_semicolon_csv_names_the_cli_option_and_works_with_it(home, capsys, tmp_path):
    path = _write(tmp_path, "semi.csv", "time;tmin_c;tmax_c\n2016-07-01;20;30\n2016-07-02;21;31\n")
    code, _, err = run(capsys, "import-weather", str(path), "--station", "S1", "--format", "csv")
    assert code == 1 and "--delimiter ';'" in err
    code, out, err = run(capsys, "import-weather", str(path), "--station", "S1", "--format", "csv",
                         "--delimiter", ";", "--lat", "25.7", "--lon", "116.4")
    assert code == 0, err


def test_sample_accounts_sign_in_and_plots_carry_the_district(home, capsys, monkeypatch):
    from orchard.sample import SAMPLE_DISTRICT, SAMPLE_PASSWORD, SAMPLE_USERS

    assert (home / "models" / "images" / "model.skops").is_file()  # the identify page works out of the box
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        for user in SAMPLE_USERS:
            assert store.authenticate(session, user["user_id"], SAMPLE_PASSWORD)["role"] == user["role"]
        assert {p["district"] for p in store.all_plots(session)} == {SAMPLE_DISTRICT}
    engine.dispose()
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new secret\n"))
    code, out, err_text = run(capsys, "users", "passwd", "grower_li", "--password-stdin")
    assert code == 0 and "changed" in out and err_text == ""
    code, out, err_text = run(capsys, "init", "--sample")  # loading the sample again keeps a changed password
    # issue #18: the accounts still on the public password are named, on stderr, in one warning
    (warning,) = [line for line in err_text.splitlines() if line.startswith("warning:")]
    others = [u["user_id"] for u in SAMPLE_USERS if u["user_id"] != "grower_li"]
    assert f"{len(others)} sample accounts ({', '.join(others)})" in warning and SAMPLE_PASSWORD in warning
    assert "orchard users passwd USER" in warning
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        assert store.authenticate(session, "grower_li", "a new secret") is not None
        assert store.authenticate(session, "grower_li", SAMPLE_PASSWORD) is None
    engine.dispose()
    monkeypatch.setenv("ORCHARD_NEW_PASSWORD", "short")
    code, _, err_text = run(capsys, "users", "passwd", "grower_li")
    assert code != 0 and "at least 8 characters" in err_text
    code, out, _ = run(capsys, "users", "list", "--json")
    assert all(u["has_password"] for u in json.loads(out))


def test_users_passwd_keeps_the_password_out_of_the_process_list(home, capsys, monkeypatch):
    # issue #18: `--password` put the password in the process list and the shell history
    prompts = []
    monkeypatch.setattr("typer.prompt", lambda text, **kw: prompts.append(kw) or "typed at a prompt")
    monkeypatch.delenv("ORCHARD_NEW_PASSWORD", raising=False)
    code, out, err_text = run(capsys, "users", "passwd", "grower_wang")
    assert code == 0 and err_text == "" and prompts == [{"hide_input": True, "confirmation_prompt": True}]
    monkeypatch.setenv("ORCHARD_NEW_PASSWORD", "from the environment")
    code, _, err_text = run(capsys, "users", "passwd", "grower_chen")
    assert code == 0 and err_text == "" and len(prompts) == 1
    code, _, err_text = run(capsys, "users", "passwd", "admin", "--password", "on the command line")
    assert code == 0 and err_text.startswith("warning: --password puts the password in the process list")
    engine = store.init_db(f"sqlite:///{home / 'orchard.db'}")
    with store.session_scope(engine) as session:
        for user_id, password in [("grower_wang", "typed at a prompt"),
                                  ("grower_chen", "from the environment"), ("admin", "on the command line")]:
            assert store.authenticate(session, user_id, password) is not None
    engine.dispose()


def test_orchard_app_runs_streamlit_where_the_production_settings_are(monkeypatch):
    import tomllib

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, cwd=None: calls.append((command, cwd)) or 0)
    with pytest.raises(SystemExit) as exit_info:
        main(["app", "--port", "8600"])
    assert exit_info.value.code in (0, None)
    (command, cwd), = calls
    # issue #18: this machine only, unless the operator says otherwise
    assert command[-6:] == ["--server.port", "8600", "--server.address", "127.0.0.1",
                            "--server.headless", "true"]
    with pytest.raises(SystemExit):
        main(["app", "--address", "0.0.0.0"])
    assert calls[-1][0][-5:-2] == ["8501", "--server.address", "0.0.0.0"]
    settings = tomllib.loads((Path(cwd) / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert settings["client"] == {"showErrorDetails": "none", "toolbarMode": "viewer"}
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["server"]["enableXsrfProtection"] is True and settings["server"]["maxUploadSize"] == 10
