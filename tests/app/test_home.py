"""The app's home page, run headless with Streamlit's AppTest on the sample database."""

import pytest
from streamlit.testing.v1 import AppTest

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app"))
from i18n import CATALOGUES, aspect_label, cultivar_label, t  # noqa: E402

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")


@pytest.fixture
def app_env(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)


def test_catalogues_have_the_same_keys():
    assert set(CATALOGUES["zh-CN"]) == set(CATALOGUES["en"])


def test_cultivar_labels_fall_back_to_the_code():
    assert cultivar_label("valencia", "zh-CN") == "伏令夏橙"
    assert cultivar_label("tarocco_blood", "zh-CN") == "tarocco_blood"
    assert cultivar_label(None, "en") == ""


def test_aspect_labels():
    assert aspect_label(180.0, 15.0, "zh-CN") == "南"
    assert aspect_label(355.0, 15.0, "en") == "N"
    assert aspect_label(90.0, 0.5, "en") == "flat"


def test_home_in_chinese_by_default_shows_map_plots_and_weather(app_env):
    at = AppTest.from_file(HOME, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == t("app.title", "zh-CN")
    assert len(at.get("deck_gl_json_chart")) == 1
    table = at.dataframe[0].value
    assert len(table) == 30 and t("col.slope_deg", "zh-CN") in table.columns
    assert set(table[t("col.aspect", "zh-CN")]) & {"北", "南"}
    assert "伏令夏橙" in set(table[t("col.cultivar", "zh-CN")])
    labels = [m.label for m in at.metric]
    assert t("var.tmax_c", "zh-CN") in labels


def test_home_switches_to_english(app_env):
    at = AppTest.from_file(HOME, default_timeout=60).run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Citrus orchard advisor"
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"


def test_home_on_an_empty_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    at = AppTest.from_file(HOME, default_timeout=60).run()
    assert not at.exception
    assert "orchard init --sample" in at.info[0].value


def test_a_grower_sees_only_their_plots_in_the_app(app_env):
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params["user"] = "grower_li"
    at.run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 10


def test_map_has_the_shaded_relief_under_the_plots_as_a_literal_image(app_env):
    import json as _json

    at = AppTest.from_file(HOME, default_timeout=60).run()
    spec = _json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer_types = [layer["@@type"] for layer in spec["layers"]]
    assert layer_types == ["BitmapLayer", "GeoJsonLayer"]
    bitmap = spec["layers"][0]
    assert bitmap["image"].startswith("data:image/png;base64,")  # not an "@@=" expression
    west, south, east, north = bitmap["bounds"]
    assert 116.43 < west < east < 116.49 and 25.66 < south < north < 25.70
    assert "mapProvider" not in spec and "mapStyle" not in spec  # no basemap tiles: works offline
