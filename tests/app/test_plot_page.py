"""The plot page (app/pages/plot.py) run headless with AppTest on the sample district with stored weekly
advice, and its pure helpers (app/plot_view.py, the advice texts of app/i18n.py).

The AppTest runs share one user, plot and date, so the page's st.cache_data computes the models once.
"""

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import plot_view as pv  # noqa: E402
from i18n import advice_csv, advice_text, date_label, reason_text, t, unnecessary_text  # noqa: E402

PAGE = str(APP / "pages" / "plot.py")
ISSUED = date(2016, 7, 15)
GROWER, PLOT = "grower_li", "CT13"  # CT13 (grower_li's, 2.8 ha) has a weak-growth zone in the sample imagery
USERS = {"grower_li": ("李明", "grower"), "agronomist_zhao": ("赵农艺师", "agronomist"),
         "admin": ("Administrator", "admin")}


@pytest.fixture
def app_env(advised_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(advised_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)


def _page(user=GROWER, plot=PLOT, lang=None, **params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    name, role = USERS[user]
    at.session_state["user"] = {"user_id": user, "display_name": name, "role": role}
    if lang:
        at.session_state["lang"] = lang
    at.query_params["plot"] = plot
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _chart_frames(at) -> list[pd.DataFrame]:
    frames = []
    for chart in at.get("vega_lite_chart"):
        (dataset,) = chart.proto.datasets
        frames.append(dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data))
    return frames


def _stored(what, caller="admin", **kwargs):
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            return getattr(store, f"list_{what}")(session, caller, **kwargs)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------
def test_grower_sees_this_weeks_advice_with_reasons_first(app_env):
    at = _page()
    assert not at.exception and not at.error
    assert at.selectbox(key="plot_choice").value == PLOT
    assert at.date_input(key="plot_date").value == ISSUED  # the stored run's date, not an arbitrary day
    subheaders = [s.value for s in at.subheader]
    assert subheaders == ["本周建议", "生长", "病虫害", "长势（卫星）", "土壤水分"]
    stored = _stored("recommendations", GROWER, plot_id=PLOT)
    markdown = [m.value for m in at.markdown]
    advice_lines = [m for m in markdown if "●] **" in m]
    assert len(advice_lines) == len(stored) > 3
    assert advice_lines[0] == f":orange[●] **{advice_text(stored[0], 'zh-CN')}**"  # most severe first
    assert advice_lines[0].endswith("**柑橘黑斑病：已有侵染，尽快喷治疗性药剂（2016-07-15 前）**")
    captions = [c.value for c in at.caption]
    assert "原因：柑橘黑斑病：未来15天发生概率 75%，风险 3 级 · 紧急程度 4/5" in captions
    assert "如果侵染前已喷过保护性药剂，可以不喷。" in captions
    assert any(c.startswith("可选药剂/肥料：77%氢氧化铜可湿性粉剂 7.9kg") for c in captions)
    assert "面积 42.0 亩（2.80 公顷）" in captions[0]
    (download,) = at.get("download_button")
    assert download.proto.label == "下载本周建议（CSV 表格）"


def test_grower_sees_the_outlook_chart_pests_ndvi_zone_and_soil_water(app_env):
    at = _page()
    frames = _chart_frames(at)
    assert len(frames) == 4  # expansion rate, Brix, NDVI series, soil water
    expansion, brix, ndvi, soil = frames
    for frame in (expansion, brix):
        assert len(frame) == 30 and pd.Timestamp(frame["date"].iloc[0]) == pd.Timestamp("2016-07-16")
        assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
        assert (frame["p90"] > frame["p10"]).any()
    assert brix["p50"].iloc[-1] > brix["p50"].iloc[0]  # sugar rises
    assert _metric(at, t("growth.stage", "zh-CN")) == t("stage.fruit_stage_II_expansion", "zh-CN")

    markdown = " ".join(m.value for m in at.markdown)
    for pest in ("black_spot", "canker", "mites", "leaf_miner"):
        assert t(f"pest.{pest}", "zh-CN") in markdown
    for horizon in ("15天内", "1个月内", "3个月内"):
        assert horizon in markdown

    assert len(ndvi) == 18 and ndvi["ndvi"].notna().sum() >= 6 and ndvi["ndvi"].isna().any()  # clouds
    assert ndvi["ndvi"].dropna().between(0.3, 0.9).all()
    assert pd.Timestamp(ndvi["date"].iloc[-1]) == pd.Timestamp("2022-12-11")
    (deck,) = at.get("deck_gl_json_chart")
    import json

    spec = json.loads(deck.proto.json)
    assert [layer["@@type"] for layer in spec["layers"]] == ["BitmapLayer", "GeoJsonLayer", "GeoJsonLayer"]
    zones = spec["layers"][2]["data"]["features"]
    assert len(zones) >= 1 and zones[0]["properties"]["colour"] == [215, 38, 38, 200]
    assert "mapProvider" not in spec
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("地块内约") and "亩长势偏弱" in w for w in warnings)

    assert len(soil) == pv.SOIL_CHART_DAYS and pd.Timestamp(soil["date"].iloc[-1]) == pd.Timestamp(ISSUED)
    assert soil["available_pct"].between(0, 100).all() and soil["threshold_pct"].between(0, 100).all()
    assert 0 <= float(_metric(at, t("soil.ks", "zh-CN"))) <= 1


def test_english_switch_shows_english_texts(app_env):
    at = _page(lang="en")
    assert not at.exception
    assert at.title[0].value == "Plot"
    assert [s.value for s in at.subheader] == ["This week's advice", "Growth", "Pests and diseases",
                                               "Crop condition (satellite)", "Soil water"]
    markdown = " ".join(m.value for m in at.markdown)
    assert "Citrus black spot: infection under way, curative spray now (by 2016-07-15)" in markdown
    captions = " ".join(c.value for c in at.caption)
    assert "Why: Citrus black spot: 75% chance in the next 15 days, risk level 3" in captions
    assert "Area 42.0 mu (2.80 ha)" in captions and "柑橘" not in markdown
    assert at.get("download_button")[0].proto.label == "Download this week's advice (CSV)"


def test_grower_records_an_advised_product_as_applied_and_bought(app_env):
    at = _page()
    choice = at.selectbox(key="advice_product")
    first = choice.options[0]
    assert first.startswith("77%氢氧化铜可湿性粉剂 · 7.88 kg（柑橘黑斑病）")
    assert at.number_input(key="advice_amount_0").value == pytest.approx(7.88)
    before = len(_stored("applications", GROWER, plot_ids=[PLOT]))
    at.number_input(key="advice_amount_0").set_value(7.5)
    at.date_input(key="advice_date").set_value(date(2016, 7, 15))
    (apply,) = [b for b in at.button if b.label == "记录施用"]
    at = apply.click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [
        "已记录：2016-07-15，地块 CT13，77%氢氧化铜可湿性粉剂 7.5 kg（柑橘黑斑病）。"]
    rows = _stored("applications", GROWER, plot_ids=[PLOT])
    assert len(rows) == before + 1
    new = rows[-1]
    assert (new["product_id"], new["amount"], new["unit"], new["target"], new["recorded_by"]) == (
        "cu_hydroxide_77wp", 7.5, "kg", "black_spot", GROWER)

    purchases = len(_stored("purchases", GROWER))
    (buy,) = [b for b in at.button if b.label == "记录购买"]
    at = buy.click().run()
    assert [s.value for s in at.success][0].startswith("已记录购买：")
    mine = _stored("purchases", GROWER)
    assert len(mine) == purchases + 1 and mine[-1]["grower_id"] == GROWER


def test_an_agronomist_records_a_purchase_for_the_plots_owner(app_env):
    at = _page(user="agronomist_zhao", plot="CT02", date="2019-07-15")  # a date the models refuse: fast
    assert not at.exception and not at.error
    choice = at.selectbox(key="plot_choice")
    assert choice.value == "CT02" and len(choice.options) == 30
    before = len(_stored("purchases", "grower_wang"))
    (buy,) = [b for b in at.button if b.label == "记录购买"]
    at = buy.click().run()
    assert not at.error
    rows = _stored("purchases", "grower_wang")
    assert len(rows) == before + 1 and rows[-1]["recorded_by"] == "agronomist_zhao"


def test_admin_may_record_purchases_but_not_applications(app_env):
    at = _page(user="admin", plot="CT02", date="2019-07-15")
    buttons = {b.label: b.disabled for b in at.button if b.label in ("记录施用", "记录购买")}
    assert buttons == {"记录施用": True, "记录购买": False}


def test_a_date_outside_the_weather_fails_soft_with_the_reason(app_env):
    at = _page(date="2019-07-15")
    assert not at.exception
    messages = [i.value for i in at.info]
    assert any("2017-12-31" in m and "2019-07-15" in m for m in messages)
    assert all(m.startswith(t("section.error", "zh-CN", error="")) for m in messages)
    assert any(m.label.startswith("植被指数") for m in at.metric)  # crop condition still shows
    assert [s.value for s in at.subheader][0] == "本周建议"  # and the stored advice


def test_without_stored_advice_the_page_says_how_to_get_it(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = _page(plot="CT01", date="2019-07-15")
    assert not at.exception
    assert t("advice.none", "zh-CN") in [c.value for c in at.caption]
    assert not at.get("download_button")


# ----------------------------------------------------------------------------------------------------------
# Advice texts
# ----------------------------------------------------------------------------------------------------------
SPRAY = {"plot_id": "CT01", "issued_on": date(2016, 7, 15), "valid_to": date(2016, 7, 15), "severity": 4,
         "topic": "spray", "action_key": "advice.action.spray_curative",
         "action_numbers": {"pest": "black_spot", "latest_date": "2016-07-15"},
         "reason_key": "advice.reason.pest_outlook",
         "reason_numbers": {"pest": "black_spot", "probability_15d": 0.75, "level": 3,
                            "unnecessary_if": "pests.unnecessary.protected_before_event"},
         "evidence": "infection event 3 d ago on susceptible fruit",
         "products": [{"product_id": "cu_hydroxide_77wp", "name_zh": "77%氢氧化铜可湿性粉剂",
                       "name_en": "copper hydroxide 77% WP", "amount": 2.92, "unit": "kg", "cost_cny": 81.7,
                       "phi_days": 30}]}


def test_advice_texts_translate_action_reason_and_what_makes_a_spray_unnecessary():
    assert advice_text(SPRAY, "zh-CN") == "柑橘黑斑病：已有侵染，尽快喷治疗性药剂（2016-07-15 前）"
    assert reason_text(SPRAY, "en") == "Citrus black spot: 75% chance in the next 15 days, risk level 3"
    assert unnecessary_text(SPRAY, "zh-CN") == "如果侵染前已喷过保护性药剂，可以不喷。"
    nitrogen = {"action_key": "advice.action.fertilise_nitrogen", "action_numbers": {"kg_n_per_ha": 61.9},
                "reason_key": "advice.reason.nitrogen_split",
                "reason_numbers": {"annual_kg_n_per_ha": 177.0, "share": 0.35, "window": "fruit_enlargement"}}
    assert reason_text(nitrogen, "zh-CN") == "全年约需纯氮 177 公斤/公顷，本期施 35%"
    zone = {"action_key": "advice.action.inspect_zone", "reason_key": "monitoring.alert.weak_patch",
            "reason_numbers": {"since": "2022-05-05", "signal": "within_plot"}, "evidence": "poor growth"}
    assert reason_text(zone, "en") == "Satellite images show weak growth (since 2022-05-05)"
    unknown = {"action_key": "advice.action.new_rule", "reason_key": "advice.reason.new_rule",
               "evidence": "the English evidence"}
    assert advice_text(unknown, "zh-CN") == "the English evidence"
    assert reason_text(unknown, "zh-CN") == "the English evidence"
    assert unnecessary_text(nitrogen, "en") == ""


def test_advice_csv_is_readable_by_spreadsheets_in_the_readers_language():
    data = advice_csv([SPRAY], "zh-CN")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    frame = pd.read_csv(__import__("io").BytesIO(data), encoding="utf-8-sig")
    assert list(frame.columns) == ["地块", "发布日期", "有效至", "紧急程度", "建议", "原因", "可选产品"]
    row = frame.iloc[0]
    assert (row["地块"], row["紧急程度"]) == ("CT01", 4)
    assert row["建议"] == "柑橘黑斑病：已有侵染，尽快喷治疗性药剂（2016-07-15 前）"
    assert row["可选产品"] == "77%氢氧化铜可湿性粉剂 2.9kg（约 82 元，安全间隔期 30 天）"
    assert pd.read_csv(__import__("io").BytesIO(advice_csv([SPRAY], "en"))).columns[4] == "Advice"


# ----------------------------------------------------------------------------------------------------------
# plot_view helpers
# ----------------------------------------------------------------------------------------------------------
def test_date_label_and_parse_as_of():
    assert date_label(date(2017, 3, 22), "zh-CN") == "2017年3月22日"
    assert date_label(date(2017, 3, 22), "en") == "22 Mar 2017"
    assert pv.parse_as_of("2017-08-01") == date(2017, 8, 1)
    for bad in (None, "", "2017-13-01", "yesterday", ["2017-08-01"]):
        assert pv.parse_as_of(bad, default=ISSUED) == ISSUED


def test_outlook_frame_gives_one_row_per_lead_day():
    lead = np.arange(1, 31)
    values = np.stack([lead * 0.1, lead * 0.2, lead * 0.3])[None, :, :]
    ds = xr.Dataset({"brix": (("plot", "quantile", "lead_day"), values)},
                    coords={"plot": ["P1"], "quantile": [0.1, 0.5, 0.9], "lead_day": lead,
                            "time": ("lead_day", pd.date_range("2016-07-16", periods=30))})
    frame = pv.outlook_frame(ds, "P1", "brix")
    assert list(frame.columns) == ["date", "p10", "p50", "p90"] and len(frame) == 30
    assert frame["p90"].iloc[-1] == pytest.approx(9.0)


def test_pest_rows_and_spray_actions():
    level = np.array([[[3, 4, 4], [1, 1, 5]]], dtype=np.int8)
    prob = np.array([[[0.8, 0.8, 1.0], [0.0, 0.0, 0.8]]])
    ds = xr.Dataset({"level": (("plot", "pest", "horizon"), level),
                     "probability": (("plot", "pest", "horizon"), prob)},
                    coords={"plot": ["P1"], "pest": ["black_spot", "mites"], "horizon": ["15d", "1m", "3m"]})
    assert pv.pest_rows(ds, "P1")[1] == {"pest": "mites", "level": {"15d": 1, "1m": 1, "3m": 5},
                                          "probability": {"15d": 0.0, "1m": 0.0, "3m": 0.8}}
    signals = pd.DataFrame({"plot": ["P1", "P1", "P1", "P2"],
                            "pest": ["canker", "black_spot", "mites", "canker"],
                            "action": ["protective", "curative", "none", "curative"],
                            "latest_date": [date(2016, 7, 17), date(2016, 7, 20), None, date(2016, 7, 15)],
                            "probability_15d": [0.8, 0.8, 0.1, 0.9]})
    assert [a["pest"] for a in pv.spray_actions(signals, "P1")] == ["black_spot", "canker"]


def test_soil_water_frame_gives_available_water_and_the_irrigation_line():
    times = pd.date_range("2016-05-01", periods=90)
    depletion = np.linspace(0, 90, 90)
    ds = xr.Dataset({"depletion_mm": (("time", "plot"), depletion[:, None]),
                     "taw_mm": (("time", "plot"), np.full((90, 1), 120.0)),
                     "raw_mm": (("time", "plot"), np.full((90, 1), 60.0)),
                     "precip_mm": (("time", "plot"), np.zeros((90, 1)))},
                    coords={"time": times, "plot": ["P1"]})
    frame = pv.soil_water_frame(ds, "P1", days=60)
    assert len(frame) == 60 and frame["date"].iloc[-1] == times[-1]
    assert frame["available_pct"].iloc[-1] == pytest.approx(25.0)  # 100 (1 - 90/120)
    assert (frame["threshold_pct"] == 50.0).all()  # 100 (1 - 60/120)


def test_ndvi_frame_blanks_cloudy_scenes_and_uses_local_days():
    times = pd.to_datetime(["2022-10-11T18:00", "2022-11-16T02:55", "2022-12-11T02:55"])  # UTC
    series = xr.Dataset({"clear": (("plot", "time"), [[True, False, True]]),
                         "ndvi_median": (("plot", "time"), [[0.61, 0.2, 0.66]]),
                         "ndvi_smooth": (("plot", "time"), [[0.60, 0.63, 0.64]])},
                        coords={"plot": ["P1"], "time": times})
    frame = pv.ndvi_frame(series, "P1")
    assert list(frame["date"].dt.strftime("%Y-%m-%d")) == ["2022-10-12", "2022-11-16", "2022-12-11"]
    assert np.isnan(frame["ndvi"].iloc[1]) and frame["ndvi"].iloc[2] == 0.66
    assert frame["ndvi_smooth"].iloc[1] == 0.63


def test_zone_features_keep_only_the_plots_zones():
    import geopandas as gpd
    from shapely.geometry import box

    zones = gpd.GeoDataFrame({"plot_id": ["P1", "P2"], "area_mu": [6.14, 1.0]},
                             geometry=[box(116.46, 25.66, 116.461, 25.661), box(0, 0, 1, 1)], crs="EPSG:4326")
    (feature,) = pv.zone_features(zones, "P1")
    assert feature["geometry"]["type"] == "Polygon" and feature["properties"] == {"area_mu": 6.1}
    assert pv.zone_features(zones.iloc[0:0], "P1") == [] and pv.zone_features(None, "P1") == []


def test_views_check_the_callers_right_to_the_plot(app_env):
    from orchard import config, store
    from orchard.errors import AccessError

    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:
        with pytest.raises(AccessError, match="does not belong to grower_li"):
            pv.crop_view(session, GROWER, "CT02")
        with pytest.raises(AccessError, match="does not belong to grower_li"):
            pv.soil_view(session, GROWER, "CT02", "2016-07-15")
