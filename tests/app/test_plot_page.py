"""The plot page (app/pages/plot.py) run headless with AppTest on the sample district with a stored weekly
run, and its pure helpers (app/plot_view.py, the advice texts of app/i18n.py).

The page reads the stored run only (orchard.results): the numbers it shows are the plot_status row's and
``orchard advice``'s, and opening it runs no model.
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
#: The page's colour dot of each advice severity (app/pages/plot.py SEVERITY_DOTS).
SEVERITY_DOTS = {5: ":red[●]", 4: ":orange[●]", 3: ":yellow[●]", 2: ":blue[●]", 1: ":green[●]"}
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


def _status(plot=PLOT, caller=GROWER) -> dict:
    from orchard import config, results, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            status = results.plot_status(session, caller, plot)
            status["modules"] = {m: results.module_output(status, m)
                                 for m in ("growth_outlook", "soil", "monitoring")}
            return status
    finally:
        engine.dispose()


#: Model entry points the plot page must never call (a page reads the stored run).
MODEL_CALLS = ("growth.model.run", "growth.outlook.outlook", "growth.outlook.expected_dates",
               "pests.outlook.outlook", "pests.spray.spray_signals", "monitoring.run.run",
               "monitoring.soil.model.run", "monitoring.soil.model.balance_from_db", "advice.chain.run_chain")


@pytest.fixture
def no_models(monkeypatch):
    """Every model entry point raises: a page that still renders ran none of them."""
    import importlib

    def refuse(*args, **kwargs):
        raise AssertionError("a page ran a model")

    for path in MODEL_CALLS:
        module, name = path.rsplit(".", 1)
        monkeypatch.setattr(importlib.import_module(module), name, refuse)


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------
def test_grower_sees_this_weeks_advice_with_reasons_first(app_env):
    at = _page()
    assert not at.exception and not at.error
    assert at.selectbox(key="plot_choice").value == PLOT
    captions = [c.value for c in at.caption]
    assert t("plot.as_of_run", "zh-CN", date=date_label(ISSUED, "zh-CN")) in captions  # the run's date
    assert "date" not in at.query_params  # the latest run needs no date in the address
    subheaders = [s.value for s in at.subheader]
    assert subheaders == ["本周建议", "生长", "病虫害", "长势（卫星）", "土壤水分"]
    stored = _stored("recommendations", GROWER, plot_id=PLOT)
    markdown = [m.value for m in at.markdown]
    advice_lines = [m for m in markdown if "●] **" in m]
    assert len(advice_lines) == len(stored) > 3
    first = stored[0]  # most severe first, coloured by its severity
    assert first["severity"] == max(r["severity"] for r in stored)
    assert advice_lines[0] == f"{SEVERITY_DOTS[first['severity']]} **{advice_text(first, 'zh-CN')}**"
    why = " · ".join([t("advice.reason_label", "zh-CN", reason=reason_text(first, "zh-CN")),
                      t("advice.severity", "zh-CN", severity=first["severity"])])
    assert why in captions
    with_products = next(r for r in stored if r["products"])
    assert "可选药剂/肥料：" in captions  # one line per product under it
    assert any(c.startswith(f"• {with_products['products'][0]['name_zh']}：全块") for c in captions)
    assert "面积 42.0 亩（2.80 公顷）" in captions[0]
    (download,) = at.get("download_button")
    assert download.proto.label == "下载本周建议（CSV 表格）"


def test_page_shows_the_stored_plot_status_and_the_cli_advice_and_runs_no_model(app_env, no_models, run_cli):
    at = _page()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    status = _status()
    lang = "zh-CN"
    markdown = [m.value for m in at.markdown]
    # growth: stage, size, Brix, maturity P50, the slope's delay
    assert _metric(at, t("growth.stage", lang)) == t(f"stage.{pv.STAGE_NAMES[status['stage']]}", lang)
    assert t("growth.fruit_now", lang, diameter=status["fruit_diameter_mm"], brix=status["brix"]) in markdown
    assert _metric(at, t("growth.maturity", lang)) == date_label(status["maturity_p50"], lang)
    assert _metric(at, t("growth.colour_break", lang)) == date_label(status["colour_break_p50"], lang)
    delay = int(status["maturity_delay_days"])
    assert delay > 0 and t("growth.delay_later", lang, n=delay) in markdown
    # pests: the 15-day level badge and the probability of every horizon
    for pest, horizons in status["pests"].items():
        level = horizons["15d"]["level"]
        badge = t("level.badge", lang, n=level, name=t(f"level.{level}", lang), zh=t(f"level.{level}", lang))
        assert f"#### {t(f'pest.{pest}', lang)} :{pv.LEVEL_COLOURS[level]}-badge[{badge}]" in markdown
        items = [t("pests.horizon_item", lang, horizon=t(f"horizon.{h}", lang),
                   p=round(100 * v["probability"]), level=t(f"level.{v['level']}", lang))
                 for h, v in horizons.items()]
        assert t("pests.probabilities", lang, items=t("list.sep", lang).join(items)) in markdown
    # soil and crop condition
    # in plain words: 水分 from the stored Ks and depletion, 长势 from the stored NDVI series' direction
    state = pv.water_state(ks=status["ks"], depletion_mm=status["depletion_mm"], raw_mm=status["raw_mm"])
    water = next(m for m in at.metric if m.label == t("soil.water", lang))
    assert water.value == t(f"soil.water.{state}", lang) and f"{status['depletion_mm']:.0f} 毫米" in water.help
    growth_label = t("crop.growth", lang, date=date_label(status["ndvi_date"], lang))
    direction = pv.growth_direction(pv.ndvi_trend(status["modules"]["monitoring"]))
    assert _metric(at, growth_label) == t(f"crop.trend.{direction}", lang)
    assert all("Ks" not in m.label and "NDVI" not in m.label for m in at.metric)
    # the charts are the stored module outputs
    expansion, brix, ndvi, soil = _chart_frames(at)
    outlook = status["modules"]["growth_outlook"]
    assert np.allclose(brix["p50"], outlook["brix"].sel(quantile=0.5).values, atol=1e-5)
    assert np.allclose(expansion["p90"], outlook["fruit_expansion_mm_d"].sel(quantile=0.9).values, atol=1e-5)
    assert len(ndvi) == status["modules"]["monitoring"].sizes["time"]
    assert len(soil) == status["modules"]["soil"].sizes["time"]

    # `orchard advice PLOT --json` says the same
    import json

    code, out, _ = run_cli(["advice", PLOT, "--user", GROWER, "--json"])
    assert code in (0, None)
    advice = json.loads(out)
    assert {r["run_id"] for r in advice} == {status["run_id"]}
    checked = set()
    for r in advice:
        numbers = r["reason_numbers"] or {}
        if r["topic"] in ("spray", "skip_spray", "scout"):
            stored = status["pests"][numbers["pest"]]["15d"]
            assert (numbers["level"], numbers["probability_15d"]) == (stored["level"], stored["probability"])
            checked.add(r["topic"])
        elif r["topic"] == "harvest":
            assert r["action_numbers"]["expected"] == str(status["maturity_p50"])
            assert numbers["delay_days"] == pytest.approx(status["maturity_delay_days"], abs=0.5)
            checked.add("harvest")
        elif r["topic"] == "irrigate":
            assert numbers["ks"] == pytest.approx(status["ks"], abs=0.005)
    assert "harvest" in checked and checked & {"spray", "skip_spray", "scout"}


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

    # NDVI: the scenes up to the run's issue date, cloudy ones blank
    assert ndvi["ndvi"].notna().sum() >= 6 and ndvi["ndvi"].isna().any()
    assert ndvi["ndvi"].dropna().between(0.3, 0.9).all()
    assert pd.Timestamp(ndvi["date"].iloc[-1]) <= pd.Timestamp(ISSUED)
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
    words = {t(f"soil.water.{s}", "zh-CN") for s in ("ample", "dry", "short")}
    assert _metric(at, t("soil.water", "zh-CN")) in words


def test_english_switch_shows_english_texts(app_env):
    at = _page(lang="en")
    assert not at.exception
    assert at.title[0].value == "Plot"
    assert [s.value for s in at.subheader] == ["This week's advice", "Growth", "Pests and diseases",
                                               "Crop condition (satellite)", "Soil water"]
    markdown = " ".join(m.value for m in at.markdown)
    first = _stored("recommendations", GROWER, plot_id=PLOT)[0]
    assert advice_text(first, "en") in markdown and advice_text(first, "en") != advice_text(first, "zh-CN")
    captions = " ".join(c.value for c in at.caption)
    assert "As of 15 Jul 2016 (the weekly run)." in captions
    assert "Why: " + reason_text(first, "en") in captions
    assert "Area 42.0 mu (2.80 ha)" in captions and "柑橘" not in markdown
    assert at.get("download_button")[0].proto.label == "Download this week's advice (CSV)"


def test_grower_records_an_advised_product_as_applied_and_bought(advised_copy):
    # a private copy: a recorded spray changes the next runs' advice (it protects the plot)
    at = _page()
    choice = at.selectbox(key="advice_product")
    first = choice.options[0]
    advised = next(r for r in _stored("recommendations", GROWER, plot_id=PLOT) if r["products"])
    product = advised["products"][0]
    target = advised["action_numbers"].get("pest") or "N"
    label = t(f"pest.{target}", "zh-CN") if target != "N" else t("inputs.nutrient", "zh-CN", nutrient="N")
    assert first.startswith(f"{product['name_zh']} · {product['amount']:.2f} {product['unit']}（{label}）")
    assert at.number_input(key="advice_amount_0").value == pytest.approx(product["amount"])
    before = len(_stored("applications", GROWER, plot_ids=[PLOT]))
    at.number_input(key="advice_amount_0").set_value(7.5)
    at.date_input(key="advice_date").set_value(date(2016, 7, 15))
    (apply,) = [b for b in at.button if b.label == "记录施用"]
    at = apply.click().run()
    assert not at.exception and not at.error
    assert f"已记录：2016-07-15，地块 CT13，{product['name_zh']} 7.5 {product['unit']}（{label}）。" in [
        s.value for s in at.success]
    rows = _stored("applications", GROWER, plot_ids=[PLOT])
    assert len(rows) == before + 1
    new = rows[-1]
    assert (new["product_id"], new["amount"], new["unit"], new["target"], new["recorded_by"]) == (
        product["product_id"], 7.5, product["unit"], target, GROWER)

    purchases = len(_stored("purchases", GROWER))
    (buy,) = [b for b in at.button if b.label == "记录购买"]
    at = buy.click().run()
    assert [s.value for s in at.success][0].startswith("已记录购买：")
    mine = _stored("purchases", GROWER)
    assert len(mine) == purchases + 1 and mine[-1]["grower_id"] == GROWER


def test_an_agronomist_records_a_purchase_for_the_plots_owner(advised_copy):
    at = _page(user="agronomist_zhao", plot="CT02")
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
    at = _page(user="admin", plot="CT02")
    buttons = {b.label: b.disabled for b in at.button if b.label in ("记录施用", "记录购买")}
    assert buttons == {"记录施用": True, "记录购买": False}


def test_a_date_in_the_address_picks_the_latest_run_on_or_before_it(app_env):
    at = _page(date="2019-07-15")  # after the stored run: that run, and the page says its date
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert t("plot.as_of_run", "zh-CN", date=date_label(ISSUED, "zh-CN")) in captions
    assert at.query_params["date"] == [ISSUED.isoformat()] or at.query_params["date"] == ISSUED.isoformat()
    assert [s.value for s in at.subheader][0] == "本周建议"

    at = _page(date="2016-07-01", lang="en")  # before every stored run: one sentence on what to do
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [t("plot.no_run_before", "en", date="2016-07-01")]
    assert "2016-07-01" in at.info[0].value and "orchard" not in at.info[0].value  # no command for growers
    assert not at.subheader and not at.get("download_button")


def test_without_a_stored_run_the_page_says_how_to_get_one(sample_home, monkeypatch, no_models):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    at = _page(plot="CT01", lang="en")
    assert not at.exception and not at.error
    (info,) = [i.value for i in at.info]
    assert info.startswith("No weekly advice is stored yet: ask the administrator") and "orchard" not in info
    assert not at.subheader and not at.get("download_button") and not at.metric


# ----------------------------------------------------------------------------------------------------------
# Advice texts
# ----------------------------------------------------------------------------------------------------------
SPRAY = {"plot_id": "CT01", "issued_on": date(2016, 7, 15), "valid_to": date(2016, 7, 17), "severity": 4,
         "topic": "spray", "action_key": "advice.action.spray_curative",
         "action_numbers": {"pest": "black_spot", "latest_date": "2016-07-17", "window_from": "2016-07-15",
                            "window_to": "2016-07-17", "before_rain": False},
         "reason_key": "advice.reason.pest_outlook",
         "reason_numbers": {"pest": "black_spot", "probability_15d": 0.75, "level": 3,
                            "unnecessary_if": "pests.unnecessary.protected_before_event"},
         "evidence": "infection event 3 d ago on susceptible fruit",
         "products": [{"product_id": "cu_hydroxide_77wp", "name_zh": "77%氢氧化铜可湿性粉剂",
                       "name_en": "copper hydroxide 77% WP", "amount": 2.92, "unit": "kg", "cost_cny": 81.7,
                       "phi_days": 30, "rei_hours": 24.0,
                       "dose": {"per_mu": 187.5, "per_mu_unit": "g", "per_plot": 2.9, "per_plot_unit": "kg",
                                "dilution": 800, "water_l_per_mu": 150.0, "water_l_plot": 3150.0,
                                "per_knapsack": 18.8, "per_knapsack_unit": "g", "knapsack_l": 15.0,
                                "knapsacks": 210, "drone_tank_l": 30.0, "drone_water_l_per_mu": 3.0,
                                "mu_per_drone_tank": 10.0, "per_drone_tank": 1.9,
                                "per_drone_tank_unit": "kg"}}]}


def test_advice_texts_translate_action_reason_and_what_makes_a_spray_unnecessary():
    assert advice_text(SPRAY, "zh-CN") == "柑橘黑斑病：已有侵染，7月15日–7月17日喷治疗性药剂"
    assert advice_text(SPRAY, "en") == ("Citrus black spot: infection under way, curative spray "
                                        "15 Jul 2016 – 17 Jul 2016")
    rain = {**SPRAY, "action_key": "advice.action.spray_protective",
            "action_numbers": {**SPRAY["action_numbers"], "before_rain": True}}
    assert advice_text(rain, "zh-CN") == "柑橘黑斑病：7月15日–7月17日，下雨前喷一次保护性药剂"
    # a run stored before windows had only a latest date: one day, never "before" it
    old = {**SPRAY, "action_numbers": {"pest": "black_spot", "latest_date": "2016-07-15"}}
    assert advice_text(old, "zh-CN") == "柑橘黑斑病：已有侵染，7月15日喷治疗性药剂"
    assert reason_text(SPRAY, "en") == "Citrus black spot: 75% chance in the next 15 days, risk level 3"
    assert unnecessary_text(SPRAY, "zh-CN") == "如果侵染前已喷过保护性药剂，可以不喷。"
    nitrogen = {"action_key": "advice.action.fertilise_nitrogen", "action_numbers": {"kg_n_per_ha": 61.9},
                "reason_key": "advice.reason.nitrogen_split",
                "reason_numbers": {"annual_kg_n_per_ha": 177.0, "share": 0.35, "window": "fruit_enlargement"}}
    assert reason_text(nitrogen, "zh-CN") == "全年约需纯氮 177 公斤/公顷，本期施 35%"
    assert advice_text(nitrogen, "zh-CN") == "追施氮肥：每亩 4.1 公斤纯氮"  # 61.9 kg/ha ÷ 15
    zone = {"action_key": "advice.action.inspect_zone", "reason_key": "monitoring.alert.weak_patch",
            "reason_numbers": {"since": "2016-03-28", "signal": "within_plot"}, "evidence": "poor growth"}
    assert reason_text(zone, "en") == "Satellite images show weak growth (since 28 Mar 2016)"
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
    assert row["建议"] == "柑橘黑斑病：已有侵染，7月15日–7月17日喷治疗性药剂"
    assert (row["发布日期"], row["有效至"]) == ("2016年7月15日", "2016年7月17日")
    assert row["可选产品"] == ("77%氢氧化铜可湿性粉剂：全块 2.9kg（约 82 元）：每亩 187.5g，800 倍液，每亩兑水 150 升；"
                           "每 15 升喷雾器加 18.8g；无人机：每亩兑水 3 升，每 30 升药箱加 1.9kg，可喷 10 亩"
                           "（限登记可飞防的药剂）；安全间隔期 30 天；喷后 24 小时内不要进园")
    fertiliser = {**SPRAY, "topic": "fertilise", "products": [
        {"product_id": "urea", "name_zh": "尿素", "name_en": "urea", "amount": 20.0, "unit": "kg",
         "cost_cny": 50.0}]}
    assert "安全间隔期" not in advice_csv([fertiliser], "zh-CN").decode("utf-8-sig")
    assert pd.read_csv(__import__("io").BytesIO(advice_csv([SPRAY], "en"))).columns[4] == "Advice"


# ----------------------------------------------------------------------------------------------------------
# plot_view helpers
# ----------------------------------------------------------------------------------------------------------
def test_date_label_and_parse_as_of():
    assert date_label(date(2017, 3, 22), "zh-CN") == "2017年3月22日"
    assert date_label(date(2017, 3, 22), "en") == "22 Mar 2017"
    assert pv.parse_as_of("2017-08-01") == date(2017, 8, 1)
    for bad in (None, "", "2017-13-01", "yesterday", ["2017-08-01"]):
        assert pv.parse_as_of(bad) is None
        assert pv.parse_as_of(bad, default=ISSUED) == ISSUED


def test_stage_names_and_season_end_are_the_growth_models():
    from growth.model import bloom_year_of
    from growth.phenology import STAGES

    assert pv.STAGE_NAMES == STAGES
    for day in ("2016-07-15", "2017-03-31", "2017-04-01", "2016-12-31"):
        assert pv.season_end(day) == date(bloom_year_of(day) + 1, 6, 30)


def test_outlook_frame_gives_one_row_per_lead_day():
    lead = np.arange(1, 31)
    values = np.stack([lead * 0.1, lead * 0.2, lead * 0.3])
    ds = xr.Dataset({"brix": (("quantile", "lead_day"), values)},
                    coords={"plot": "P1", "quantile": [0.1, 0.5, 0.9], "lead_day": lead,
                            "time": ("lead_day", pd.date_range("2016-07-16", periods=30))})
    frame = pv.outlook_frame(ds, "brix")
    assert list(frame.columns) == ["date", "p10", "p50", "p90"] and len(frame) == 30
    assert frame["p90"].iloc[-1] == pytest.approx(9.0)


def test_pest_rows_and_spray_actions():
    pests = {"black_spot": {"15d": {"level": 3, "probability": 0.8}, "1m": {"level": 4, "probability": 0.8}},
             "mites": {"15d": {"level": 1, "probability": 0.0}, "1m": {"level": 5, "probability": 0.8}}}
    assert pv.pest_rows(pests)[1] == {"pest": "mites", "level": {"15d": 1, "1m": 5},
                                       "probability": {"15d": 0.0, "1m": 0.8}}
    records = [{"topic": "spray", "action_key": "advice.action.spray_protective",
                "action_numbers": {"pest": "canker", "latest_date": "2016-07-17"}},
               {"topic": "spray", "action_key": "advice.action.spray_curative",
                "action_numbers": {"pest": "black_spot", "latest_date": "2016-07-20"}},
               {"topic": "skip_spray", "action_key": "advice.action.skip_calendar_spray",
                "action_numbers": {"pest": "mites"}}]
    actions = pv.spray_actions(records)
    assert [(a["pest"], a["action"]) for a in actions] == [("black_spot", "curative"),
                                                          ("canker", "protective")]
    assert actions[1]["latest_date"] == date(2016, 7, 17)


def test_soil_water_frame_gives_available_water_and_the_irrigation_line():
    times = pd.date_range("2016-05-01", periods=90)
    depletion = np.linspace(0, 90, 90)
    ds = xr.Dataset({"depletion_mm": ("time", depletion), "taw_mm": ("time", np.full(90, 120.0)),
                     "raw_mm": ("time", np.full(90, 60.0)), "precip_mm": ("time", np.zeros(90))},
                    coords={"time": times, "plot": "P1"})
    frame = pv.soil_water_frame(ds, days=60)
    assert len(frame) == 60 and frame["date"].iloc[-1] == times[-1]
    assert frame["available_pct"].iloc[-1] == pytest.approx(25.0)  # 100 (1 - 90/120)
    assert (frame["threshold_pct"] == 50.0).all()  # 100 (1 - 60/120)


def test_ndvi_frame_blanks_cloudy_scenes_and_uses_local_days():
    times = pd.to_datetime(["2016-05-26T18:00", "2016-06-26T02:55", "2016-07-26T02:55"])  # UTC
    series = xr.Dataset({"clear": ("time", [1, 0, 1]), "ndvi_median": ("time", [0.61, 0.2, 0.66]),
                         "ndvi_smooth": ("time", [0.60, 0.63, 0.64])},
                        coords={"plot": "P1", "time": times})
    frame = pv.ndvi_frame(series)
    assert list(frame["date"].dt.strftime("%Y-%m-%d")) == ["2016-05-27", "2016-06-26", "2016-07-26"]
    assert np.isnan(frame["ndvi"].iloc[1]) and frame["ndvi"].iloc[2] == 0.66
    assert frame["ndvi_smooth"].iloc[1] == 0.63
    assert pv.ndvi_trend(series) == pytest.approx((0.64 - 0.60) / 60 * 30, abs=1e-3)  # 2 clear scenes


def test_stored_alerts_and_zones_read_back():
    import json

    alerts = json.dumps([{"signal": "within_plot", "severity": 3, "since": "2016-04-28", "area_mu": 6.04,
                          "message_key": "monitoring.alert.weak_patch", "evidence": {"percent_below": 25.5}}])
    (alert,) = pv.crop_alerts(alerts)
    assert alert == {"signal": "within_plot", "severity": 3, "message_key": "monitoring.alert.weak_patch",
                     "since": date(2016, 4, 28), "area_mu": 6.0, "percent_below": 25.5}
    zones = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.46, 25.66]},
         "properties": {"area_mu": 6.14, "since": "2016-04-28", "severity": 3}}]})
    (feature,) = pv.zone_features(zones)
    assert feature["geometry"]["type"] == "Point" and feature["properties"] == {"area_mu": 6.1}
    assert pv.zone_features("") == [] and pv.crop_alerts("") == []


def test_the_page_reader_checks_the_callers_right_to_the_plot(app_env):
    from orchard import config, store
    from orchard.errors import AccessError

    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:
        run = pv.find_run(session)
        assert run["issued_on"] == ISSUED and pv.run_dates(session) == [ISSUED]
        assert pv.find_run(session, date(2016, 7, 14)) is None
        with pytest.raises(AccessError, match="plot CT02 is not one of yours"):
            pv.plot_page(session, GROWER, "CT02", run["run_id"])
        page = pv.plot_page(session, GROWER, PLOT, run["run_id"])
    assert set(page) == {"run", "advice", "review", "growth", "pests", "crop", "soil"}
    assert page["review"]["visible"] and page["review"]["decision"] is None  # nobody reviewed it yet
    assert all("ok" in page[s] for s in ("growth", "pests", "crop", "soil")), page


def test_an_earlier_week_can_be_chosen_and_goes_into_the_address(advised_copy):
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:  # an earlier run with advice only (no plot status)
            store.store_advice_run(session, {"run_id": "earlier", "issued_on": date(2016, 7, 8)}, [])
    finally:
        engine.dispose()
    at = _page(lang="en")
    assert t("plot.as_of_run", "en", date=date_label(ISSUED, "en")) in [c.value for c in at.caption]
    week = at.selectbox(key="plot_week")
    assert week.options == [date_label(ISSUED, "en"), date_label(date(2016, 7, 8), "en")]
    at = week.select_index(1).run()
    assert not at.exception and not at.error
    assert t("plot.as_of_run", "en", date=date_label(date(2016, 7, 8), "en")) in [c.value for c in at.caption]
    assert at.query_params["date"] in ("2016-07-08", ["2016-07-08"])
    assert sum("stored no results for plot CT13" in i.value for i in at.info) == 4


def test_water_and_growth_in_plain_words_at_their_edges():
    assert pv.water_state(ks=0.8, depletion_mm=60.0, raw_mm=50.0) == "short"
    assert pv.water_state(ks=1.0, depletion_mm=25.0, raw_mm=50.0) == "dry"  # half the easy water used
    assert pv.water_state(ks=1.0, depletion_mm=24.0, raw_mm=50.0) == "ample"
    assert pv.water_state(ks=1.0, depletion_mm=None, raw_mm=50.0) == "ample"
    assert pv.growth_direction(0.05) == "better" and pv.growth_direction(-0.023) == "worse"
    assert pv.growth_direction(0.0) == "steady" and pv.growth_direction(None) == "unknown"
    assert pv.growth_direction(float("nan")) == "unknown"


def test_errors_and_the_weather_source_are_in_the_pages_language():
    from i18n import error_text, weather_source_text

    from orchard.errors import AccessError, InputError

    denied = AccessError("plot CT02 does not belong to grower_li")
    assert error_text(denied, "en") == "plot CT02 does not belong to grower_li"
    assert error_text(denied, "zh-CN") == t("error.access", "zh-CN")
    assert "CT02" not in error_text(denied, "zh-CN")
    assert error_text(InputError("bad"), "zh-CN") == t("error.input", "zh-CN")
    assert error_text("the weekly run stored no soil results", "zh-CN") == t("error.not_stored", "zh-CN")
    source = "climatology: 5 past years (2015, 2014, 2013, …); station CT (daily)"
    assert weather_source_text(source, ISSUED, "en") == source
    assert weather_source_text(source, ISSUED, "zh-CN") == ("到 7月15日 为本地气象站实测，之后按往年同期天气推算"
                                                           "（5 年：2015，2014，2013…）")
    assert weather_source_text("Open-Meteo forecast", ISSUED, "zh-CN").endswith("之后为天气预报")
