"""Agronomist advice page: the latest stored run, filtered by plot, topic and severity, with its basis."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

PAGE = str(APP / "pages" / "agronomist_advice.py")
AGRONOMIST = {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"}


def page(user, lang="en"):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


@pytest.fixture
def advised(sample_home_copy):
    """The sample database with a weekly run stored for two plots (CT01 Lane Late, CT02 Valencia)."""
    from advice.pipeline import run_week
    from orchard import config, store

    result = run_week(store.init_db(config.database_url()), "2016-07-15", plot_ids=["CT01", "CT02"])
    return result


@pytest.mark.parametrize("role", ["grower", "extension", "admin"])
def test_other_roles_are_refused_in_one_sentence(sample_home, monkeypatch, role):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = page({"user_id": "someone", "display_name": "x", "role": role}).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]


def test_no_stored_advice_says_what_to_run(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = page(AGRONOMIST).run()
    assert not at.exception
    assert "orchard run-week" in at.info[0].value


def test_advice_table_filters_and_basis(advised):
    n = len(advised.recommendations)
    at = page(AGRONOMIST).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == n and set(table[t("staff.advice.col.plot_id", "en")]) == {"CT01", "CT02"}
    assert t("staff.advice.count", "en", n=n, total=n) in [m.value for m in at.markdown]
    # actions are translated, pests by name
    actions = set(table[t("staff.advice.col.action", "en")])
    assert any(a.startswith("Citrus ") for a in actions)
    severities = table[t("staff.advice.col.severity", "en")]
    assert list(severities) == sorted(severities, reverse=True)  # most urgent first, as stored

    at.multiselect(key="staff_advice_plots").set_value(["CT02"]).run()
    assert set(at.dataframe[0].value[t("staff.advice.col.plot_id", "en")]) == {"CT02"}
    top = int(at.dataframe[0].value[t("staff.advice.col.severity", "en")].max())  # CT02's most urgent
    at.selectbox(key="staff_advice_severity").set_value(top).run()
    shown = at.dataframe[0].value
    assert (shown[t("staff.advice.col.severity", "en")] >= top).all()

    sets = at.dataframe[1].value
    assert set(sets[t("staff.advice.col.module", "en")]) == set(advised.parameter_sets)
    assert any("growth.valencia" in s for s in sets[t("staff.advice.col.sets", "en")])
    sources = at.dataframe[2].value
    assert "weather" in set(sources[t("staff.advice.col.module", "en")])


def test_advice_frame_and_filter_are_pure():
    records = [
        {"plot_id": "CT01", "topic": "spray", "severity": 4, "valid_from": date(2016, 7, 15),
         "valid_to": date(2016, 7, 20), "action_key": "advice.action.spray_protective",
         "action_numbers": {"pest": "canker", "latest_date": "2016-07-20"}, "evidence": "e", "source": "s",
         "module": "pests", "confidence": 0.7},
        {"plot_id": "CT02", "topic": "irrigate", "severity": 2, "valid_from": date(2016, 7, 15),
         "valid_to": date(2016, 7, 22), "action_key": "advice.action.irrigate", "action_numbers": {},
         "evidence": "soil dry", "source": "s", "module": "soil", "confidence": None},
    ]
    frame = sd.advice_frame(records, lambda key, **f: t(key, "zh-CN", **f), lang="zh-CN")
    assert frame.loc[0, "action"] == "柑橘溃疡病：7月15日–7月20日喷一次保护性药剂"  # the growers' formatter
    assert frame.loc[1, "action"] == "soil dry"  # numbers missing: the evidence instead of a crash
    assert list(sd.filter_advice(frame, topics=["irrigate"])["plot_id"]) == ["CT02"]
    assert list(sd.filter_advice(frame, min_severity=3)["plot_id"]) == ["CT01"]
    assert len(sd.filter_advice(frame, plot_ids=["CT09"])) == 0


def test_an_agronomists_hold_hides_the_advice_from_the_grower_and_the_approval_is_recorded(advised):
    plot_page = str(APP / "pages" / "plot.py")

    def grower_view() -> AppTest:
        at = AppTest.from_file(plot_page, default_timeout=60)
        at.session_state["user"] = {"user_id": "grower_li", "display_name": "李明", "role": "grower"}
        at.query_params["plot"] = "CT01"
        return at.run()

    before = grower_view()
    assert any("●] **" in m.value for m in before.markdown)  # CT01's advice reaches its grower
    at = page(AGRONOMIST, lang="zh-CN").run()
    assert not at.exception and not at.error
    at.radio(key="review_scope").set_value("plot")
    at.selectbox(key="review_plot").set_value("CT01")
    at.text_input(key="review_note").input("等雨停再喷")
    at = next(b for b in at.button if b.label == t("staff.review.hold", "zh-CN")).click().run()
    assert [s.value for s in at.success] == [t("staff.review.done.held", "zh-CN", target="CT01")]
    held = grower_view()
    assert not held.exception and not any("●] **" in m.value for m in held.markdown)
    assert t("advice.under_review", "zh-CN", date="2016年7月15日") in [i.value for i in held.info]

    at.radio(key="review_scope").set_value("district")
    at.text_input(key="review_note").input("按时喷药")
    at = next(b for b in at.button if b.label == t("staff.review.approve", "zh-CN")).click().run()
    assert not at.exception and [s.value for s in at.success] == [
        t("staff.review.done.approved", "zh-CN", target="长汀 Changting (Fujian)")]
    record = at.dataframe[-1].value
    assert list(record[t("staff.review.col.reviewer", "zh-CN")]) == ["agronomist_zhao"] * 2
    assert list(record[t("staff.review.col.decision", "zh-CN")]) == ["已批准", "暂缓"]  # newest first
    assert list(record[t("staff.review.col.target", "zh-CN")]) == ["长汀 Changting (Fujian)", "CT01"]
    states = at.dataframe[-2].value.set_index(t("staff.review.col.plot_id", "zh-CN"))
    # a district's approval does not undo a plot's hold
    assert states.loc["CT01", t("staff.review.col.grower_sees", "zh-CN")] == "否"
    assert states.loc["CT02", t("staff.review.col.grower_sees", "zh-CN")] == "是"


def test_an_agronomists_note_on_approved_advice_reaches_the_growers_plot_page(advised):
    """The edit of issue #19: an agronomist approves a plot's advice with a note for the grower, and the
    grower reads the note beside that advice on the plot page."""
    plot_page = str(APP / "pages" / "plot.py")

    def grower_view(plot_id: str) -> AppTest:
        at = AppTest.from_file(plot_page, default_timeout=60)
        at.session_state["user"] = {"user_id": "grower_li", "display_name": "李明", "role": "grower"}
        at.query_params["plot"] = plot_id
        return at.run()

    note = "先喷铜制剂，雨后三天内补喷一次"
    shown = t("advice.review_note", "zh-CN", note=note)
    before = grower_view("CT01")
    assert not before.exception and shown not in [i.value for i in before.info]
    at = page(AGRONOMIST, lang="zh-CN").run()
    at.radio(key="review_scope").set_value("plot")
    at.selectbox(key="review_plot").set_value("CT01")
    at.text_input(key="review_note").input(note)
    at = next(b for b in at.button if b.label == t("staff.review.approve", "zh-CN")).click().run()
    assert not at.exception and [s.value for s in at.success] == [
        t("staff.review.done.approved", "zh-CN", target="CT01")]

    after = grower_view("CT01")
    assert not after.exception and not after.error
    infos = [i.value for i in after.info]
    assert shown in infos
    advice_lines = [m.value for m in after.markdown if "●] **" in m.value]
    assert advice_lines  # the advice is there, with the note above it
    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        records = store.approved_recommendations(db, "grower_li", plot_id="CT01")
    assert records and {r["review_note"] for r in records} == {note}
