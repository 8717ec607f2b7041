"""The plot page (app/pages/1_Plot.py) run headless with AppTest on the sample database, and its helpers.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app"))
import plot_view as pv  # noqa: E402
from i18n import CATALOGUES, date_label, t  # noqa: E402

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "pages" / "1_Plot.py")
GROWER, OWN_PLOT, OTHERS_PLOT = "grower_li", "CT01", "CT02"  # CT02 belongs to grower_wang


@pytest.fixture
def app_env(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)


def _page(user=GROWER, plot=OWN_PLOT, **params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["user"] = user
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


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------
def test_grower_sees_growth_stage_outlook_band_and_every_section(app_env):
    at = _page()
    assert not at.exception
    assert not at.error and not at.info  # every section computed: no soft failure
    assert at.selectbox[0].value == OWN_PLOT
    assert _metric(at, t("growth.stage", "zh-CN")) == t("stage.fruit_stage_II_expansion", "zh-CN")
    assert "年" in _metric(at, t("growth.maturity", "zh-CN"))  # a date, not "not reached"
    markdown = " ".join(m.value for m in at.markdown)
    assert "盛花期：2016年" in markdown and (
        "晚熟约" in markdown or "早熟约" in markdown or "成熟时间相同" in markdown
    )
    frames = _chart_frames(at)
    assert len(frames) == 2  # expansion rate and Brix
    for frame in frames:
        assert len(frame) == 30
        assert pd.Timestamp(frame["date"].iloc[0]) == pd.Timestamp("2016-07-16")
        assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
        assert (frame["p90"] > frame["p10"]).any()  # a real band, not one member
    brix = frames[1]
    assert 5 < brix["p50"].iloc[0] < 15 and brix["p50"].iloc[-1] > brix["p50"].iloc[0]  # sugar rises
    for pest in ("black_spot", "canker", "mites", "leaf_miner"):
        assert t(f"pest.{pest}", "zh-CN") in markdown
    assert "-badge[" in markdown and "级" in markdown
    spray = [w.value for w in at.warning] + [s.value for s in at.success]
    assert any(text.startswith("需要喷药") or text == t("spray.none", "zh-CN") for text in spray)
    assert 0 <= float(_metric(at, t("soil.ks", "zh-CN"))) <= 1
    assert 0 < float(_metric(at, t("crop.ndvi", "zh-CN", date=date_label(date(2022, 12, 11), "zh-CN")))) < 1
    assert at.query_params["date"] in ("2016-07-15", ["2016-07-15"])


def test_grower_gets_an_access_message_for_another_growers_plot(app_env):
    at = _page(plot=OTHERS_PLOT)
    assert not at.exception
    assert len(at.error) == 1 and "does not belong to grower_li" in at.error[0].value
    assert at.error[0].value.startswith(t("plot.denied", "zh-CN", error="")[:4])
    options = at.selectbox[0].options
    assert at.selectbox[0].value is None and len(options) == 10  # grower_li's own plots to pick from
    assert not any(o.startswith(OTHERS_PLOT) for o in options)
    assert not at.metric and not at.subheader and not at.get("vega_lite_chart")  # nothing of the plot


def test_an_agronomist_opens_any_growers_plot(app_env):
    at = _page(user="agronomist_zhao", plot=OTHERS_PLOT, date="2019-07-15")  # a date the models refuse: fast
    assert not at.exception and not at.error
    assert at.selectbox[0].value == OTHERS_PLOT and len(at.selectbox[0].options) == 30
    assert len(at.subheader) == 5  # advice, growth, pests, soil, crop


def test_english_switch_shows_english_labels(app_env):
    at = _page()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Plot"
    assert _metric(at, "Growth stage now") == "Fruit expansion"
    assert [s.value for s in at.subheader] == [
        "This week's advice",
        "Growth",
        "Pests and diseases",
        "Soil water",
        "Crop condition (satellite)",
    ]
    markdown = " ".join(m.value for m in at.markdown)
    assert "Citrus black spot" in markdown and "Full bloom:" in markdown
    assert "level " in markdown and any(f"({t(f'level.{n}', 'zh-CN')})" in markdown for n in range(1, 6))
    assert "柑橘" not in markdown


def test_a_date_outside_the_weather_fails_soft_with_the_reason(app_env):
    at = _page(date="2019-07-15")
    assert not at.exception
    messages = [i.value for i in at.info]
    assert any("2017-12-31" in m and "2019-07-15" in m for m in messages)  # growth says what is covered
    assert all(m.startswith(t("section.error", "zh-CN", error="")) for m in messages)
    assert at.metric  # crop condition still shows the latest scene


# ----------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------
def test_new_texts_are_in_both_catalogues():
    new = [
        k
        for k in CATALOGUES["en"]
        if k.split(".")[0] in ("plot", "growth", "stage", "pest", "soil", "crop", "spray", "level", "horizon")
    ]
    assert len(new) > 50 and set(CATALOGUES["zh-CN"]) == set(CATALOGUES["en"])
    from growth.phenology import STAGES

    assert all(f"stage.{name}" in CATALOGUES["zh-CN"] for name in STAGES.values())


def test_date_label():
    assert date_label(date(2017, 3, 22), "zh-CN") == "2017年3月22日"
    assert date_label(date(2017, 3, 22), "en") == "22 Mar 2017"
    assert date_label(None, "en") == ""


def test_parse_as_of_falls_back_on_anything_but_a_date():
    assert pv.parse_as_of("2017-08-01") == date(2017, 8, 1)
    for bad in (None, "", "2017-13-01", "yesterday", ["2017-08-01"]):
        assert pv.parse_as_of(bad) == pv.DEFAULT_AS_OF


def test_outlook_frame_gives_one_row_per_lead_day():
    lead = np.arange(1, 31)
    values = np.stack([lead * 0.1, lead * 0.2, lead * 0.3])[None, :, :]  # (plot, quantile, lead_day)
    ds = xr.Dataset(
        {"brix": (("plot", "quantile", "lead_day"), values)},
        coords={
            "plot": ["P1"],
            "quantile": [0.1, 0.5, 0.9],
            "lead_day": lead,
            "time": ("lead_day", pd.date_range("2016-07-16", periods=30)),
        },
    )
    frame = pv.outlook_frame(ds, "P1", "brix")
    assert list(frame.columns) == ["date", "p10", "p50", "p90"] and len(frame) == 30
    assert frame["p90"].iloc[-1] == pytest.approx(9.0) and frame["date"].iloc[0] == pd.Timestamp("2016-07-16")


def test_growth_today_reads_the_last_day():
    times = pd.date_range("2016-07-13", periods=3)
    ds = xr.Dataset(
        {
            "stage": (("plot", "time"), np.array([[3, 4, 4]], dtype=np.int8)),
            "fruit_diameter_mm": (("plot", "time"), [[40.0, 41.0, 42.04]]),
            "brix": (("plot", "time"), [[7.0, 7.1, np.nan]]),
            "bloom_date": ("plot", np.array(["2016-04-03"], dtype="datetime64[ns]")),
        },
        coords={"plot": ["P1"], "time": times},
    )
    today = pv.growth_today(ds, "P1")
    assert today == {
        "date": date(2016, 7, 15),
        "stage_code": 4,
        "stage": "fruit_stage_II_expansion",
        "bloom_date": date(2016, 4, 3),
        "fruit_diameter_mm": 42.0,
        "brix": None,
    }


def test_pest_rows_and_spray_actions():
    level = np.array([[[3, 4, 4], [1, 1, 5]]], dtype=np.int8)
    prob = np.array([[[0.8, 0.8, 1.0], [0.0, 0.0, 0.8]]])
    ds = xr.Dataset(
        {"level": (("plot", "pest", "horizon"), level), "probability": (("plot", "pest", "horizon"), prob)},
        coords={"plot": ["P1"], "pest": ["black_spot", "mites"], "horizon": ["15d", "1m", "3m"]},
    )
    rows = pv.pest_rows(ds, "P1")
    assert rows[1] == {
        "pest": "mites",
        "level": {"15d": 1, "1m": 1, "3m": 5},
        "probability": {"15d": 0.0, "1m": 0.0, "3m": 0.8},
    }
    signals = pd.DataFrame(
        {
            "plot": ["P1", "P1", "P1", "P2"],
            "pest": ["canker", "black_spot", "mites", "canker"],
            "action": ["protective", "curative", "none", "curative"],
            "latest_date": [date(2016, 7, 17), date(2016, 7, 20), None, date(2016, 7, 15)],
            "probability_15d": [0.8, 0.8, 0.1, 0.9],
        }
    )
    actions = pv.spray_actions(signals, "P1")
    assert [a["pest"] for a in actions] == ["black_spot", "canker"]  # curative first; P2 and none left out


def _balance(end="2017-07-20", days=5, sensor=(0, 0, 1, 1, 0)):
    times = pd.date_range(end=end, periods=days)
    return xr.Dataset(
        {"depletion_from_sensor": (("time", "plot"), np.array(sensor, dtype=bool)[:, None])},
        coords={"time": times, "plot": ["P1"]},
    )


def test_soil_summary_on_the_day_and_none_after_the_balance_ends():
    advice = pd.DataFrame(
        {
            "plot_id": ["P1"],
            "ks": [0.734],
            "depletion_mm": [61.4],
            "raw_mm": [52.3],
            "taw_mm": [90.0],
            "irrigate": [True],
            "gross_mm": [68.2],
        }
    )
    summary = pv.soil_summary(_balance(), advice, "P1", "2017-07-20")
    assert summary == {
        "date": date(2017, 7, 20),
        "ks": 0.73,
        "depletion_mm": 61.0,
        "raw_mm": 52.0,
        "taw_mm": 90.0,
        "irrigate": True,
        "gross_mm": 68.0,
        "sensor_days": 2,
    }
    assert pv.soil_summary(_balance(), advice, "P1", "2017-07-21") is None


def test_crop_summary_takes_the_last_clear_scene_and_the_alerts():
    times = pd.to_datetime(["2022-10-12", "2022-11-16", "2022-12-11"])
    series = xr.Dataset(
        {
            "clear": (("plot", "time"), [[True, True, False]]),
            "ndvi_median": (("plot", "time"), [[0.60, 0.66, np.nan]]),
            "ndvi_smooth": (("plot", "time"), [[0.60, 0.635, 0.64]]),
            "clear_fraction": (("plot", "time"), [[1.0, 0.9, 0.0]]),
        },
        coords={"plot": ["P1"], "time": times},
    )
    alerts = pd.DataFrame(
        [
            {
                "plot_id": "P1",
                "signal": "within_plot",
                "severity": 3,
                "area_mu": 6.14,
                "message_key": "monitoring.alert.weak_patch",
                "since": date(2022, 5, 5),
                "evidence": {"percent_below": 28.5},
            }
        ]
    )
    out = pv.crop_summary(series, alerts, "P1")
    assert out["last_clear"] == date(2022, 11, 16) and out["ndvi"] == 0.66 and out["clear_fraction"] == 0.9
    assert out["trend_per_30d"] == pytest.approx(0.03)  # 0.035 over 35 days
    assert out["latest_scene"] == date(2022, 12, 11)
    assert out["alerts"] == [
        {
            "signal": "within_plot",
            "severity": 3,
            "since": date(2022, 5, 5),
            "message_key": "monitoring.alert.weak_patch",
            "area_mu": 6.1,
            "percent_below": 28.5,
        }
    ]
    text = t(
        "monitoring.alert.weak_patch",
        "zh-CN",
        since="2022年5月5日",
        **{k: v for k, v in out["alerts"][0].items() if k != "since"},
    )
    assert "6.1 亩" in text and "28%" in text  # 28.5 rounds half to even


def test_views_check_the_callers_right_to_the_plot(app_env):
    from orchard import config, store
    from orchard.errors import AccessError

    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:
        with pytest.raises(AccessError, match="does not belong to grower_li"):
            pv.crop_view(session, GROWER, OTHERS_PLOT)
        with pytest.raises(AccessError, match="does not belong to grower_li"):
            pv.soil_view(session, GROWER, OTHERS_PLOT, "2017-07-20")


def test_stored_advice_is_shown_translated(app_env):
    """After a weekly run, the page lists the plot's advice in the reader's language, with products."""
    from datetime import date

    from advice.recommendation import Recommendation
    from orchard import config, store

    engine = store.init_db(config.database_url())
    rec = Recommendation(
        plot_id="CT01",
        issued_on=date(2016, 7, 15),
        valid_from=date(2016, 7, 15),
        valid_to=date(2016, 7, 18),
        topic="spray",
        severity=4,
        action_key="advice.action.spray_protective",
        reason_key="advice.reason.pest_outlook",
        module="pests",
        action_numbers={"pest": "black_spot", "latest_date": "2016-07-18"},
        evidence="wet warm days ahead on susceptible fruit",
        products=[
            {
                "product_id": "mancozeb_80wp",
                "name_zh": "80%代森锰锌可湿性粉剂",
                "name_en": "mancozeb 80% WP",
                "moa_groups": "FRAC M03",
                "amount": 3.9,
                "unit": "kg",
                "cost_cny": 97.5,
                "phi_days": 21,
            }
        ],
    )
    with store.session_scope(engine) as session:
        store.store_advice_run(
            session, {"run_id": "test-week", "issued_on": date(2016, 7, 15)}, [rec.record()]
        )
    try:
        at = _page(date="2019-07-15")  # the models refuse this date quickly; the stored advice still shows
        markdown = " ".join(m.value for m in at.markdown)
        assert "柑橘黑斑病：2016-07-18 前喷一次保护性药剂" in markdown
        captions = " ".join(c.value for c in at.caption)
        assert "80%代森锰锌可湿性粉剂 3.9kg" in captions and "安全间隔期 21 天" in captions
    finally:
        with store.session_scope(engine) as session:
            session.delete(session.get(store.AdviceRun, "test-week"))
