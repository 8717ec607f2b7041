"""Tenant isolation: the data layer (app/data.py) returns only what the signed-in user may see, plot ids from
the URL are checked, caches are keyed by user, and pages refuse another grower's plot."""

import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import data  # noqa: E402
from i18n import t  # noqa: E402

from orchard.errors import AccessError, InputError  # noqa: E402

LI_PLOTS = [f"CT{n:02d}" for n in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28)]
USERS = {"grower_li": ("李明", "grower"), "grower_wang": ("王芳", "grower"),
         "agronomist_zhao": ("赵农艺师", "agronomist"), "extension_county": ("县农技推广站", "extension")}


@pytest.fixture
def home(sample_home_copy):
    """A private copy of the sample with one week of stored advice (two plots) and records of both growers."""
    from advice.recommendation import Recommendation
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    recs = [Recommendation(plot_id=pid, issued_on=date(2016, 7, 15), valid_from=date(2016, 7, 15),
                           valid_to=date(2016, 7, 18), topic="spray", severity=severity,
                           action_key="advice.action.spray_protective",
                           reason_key="advice.reason.pest_outlook",
                           module="pests", action_numbers={"pest": "canker", "latest_date": "2016-07-18"},
                           evidence=f"evidence for {pid}").record()
            for pid, severity in (("CT01", 3), ("CT02", 5))]
    try:
        with store.session_scope(engine) as session:
            store.store_advice_run(session, {"run_id": "tenant-test", "issued_on": date(2016, 7, 15)}, recs)
            store.add_purchase(session, "grower_wang", product_id="mancozeb_80wp", quantity=2, unit="kg",
                               purchased_on=date(2016, 7, 1), price_cny=40.0)
            store.add_application(session, "grower_wang", "CT02", product_id="mancozeb_80wp",
                                  applied_on=date(2016, 7, 2), amount=2.0, unit="kg", target="black_spot")
            store.add_purchase(session, "grower_li", product_id="abamectin_18ec", quantity=1, unit="L",
                               purchased_on=date(2016, 7, 3))
    finally:
        engine.dispose()
    return sample_home_copy


def _signed_in(page: str, user_id: str, **params) -> AppTest:
    """Run ``page`` (a file under app/pages, or "Home" for the entry point) as a signed-in user."""
    path = APP / "Home.py" if page == "Home" else APP / "pages" / f"{page}.py"
    at = AppTest.from_file(str(path), default_timeout=120)
    name, role = USERS[user_id]
    at.session_state["user"] = {"user_id": user_id, "display_name": name, "role": role}
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


# ----------------------------------------------------------------------------------------------------------
# The data layer
# ----------------------------------------------------------------------------------------------------------
def test_a_grower_gets_only_their_plots_and_any_other_id_is_refused(home):
    assert [p["plot_id"] for p in data.my_plots("grower_li")] == LI_PLOTS
    assert data.plot("grower_li", "CT01")["owner_id"] == "grower_li"
    with pytest.raises(AccessError, match="plot CT02 is not one of yours"):
        data.plot("grower_li", "CT02")
    with pytest.raises(AccessError, match="plot CT99 is not one of yours"):
        data.plot("grower_li", "CT99")  # missing or another grower's: the same refusal (issue #18)
    with pytest.raises(InputError):
        data.plot("grower_li", ["CT01"])  # a query parameter given twice arrives as a list
    with pytest.raises(AccessError, match="unknown user"):
        data.my_plots("intruder")


def test_cached_lists_are_keyed_by_user(home):
    li = data.my_plots("grower_li")
    wang = data.my_plots("grower_wang")  # right after grower_li: the cache must not answer with li's plots
    assert not {p["plot_id"] for p in li} & {p["plot_id"] for p in wang}
    assert len(data.my_plots("agronomist_zhao")) == 30
    extension = data.my_plots("extension_county")
    assert len(extension) == 30 and all(p["owner_id"] is None for p in extension)  # plots, not owners


def test_a_grower_sees_only_their_advice_purchases_and_applications(home):
    assert [r["plot_id"] for r in data.advice("grower_li")] == ["CT01"]
    assert [r["plot_id"] for r in data.advice("grower_wang")] == ["CT02"]
    assert [r["plot_id"] for r in data.advice("agronomist_zhao")] == ["CT02", "CT01"]  # most severe first
    with pytest.raises(AccessError, match="plot CT02 is not one of yours"):
        data.advice("grower_li", "CT02")
    summary = data.advice_summary("grower_li")
    assert summary["severity"] == {"CT01": 3} and summary["urgent"] == 0 and summary["pest_alerts"] == 1

    assert [p["product_id"] for p in data.purchases("grower_li")] == ["abamectin_18ec"]
    assert [p["product_id"] for p in data.purchases("grower_wang")] == ["mancozeb_80wp"]
    assert data.applications("grower_li") == []
    assert [a["plot_id"] for a in data.applications("grower_wang")] == ["CT02"]
    with pytest.raises(AccessError):
        data.applications("grower_li", "CT02")
    assert data.growers("grower_li") == {"grower_li": "李明"}  # a grower records only for themselves
    assert set(data.growers("agronomist_zhao")) == {"grower_li", "grower_wang", "grower_chen"}


def test_writes_are_scoped_and_clear_the_users_lists(home):
    with pytest.raises(AccessError, match="plot CT02 is not one of yours"):
        data.record_application("grower_li", "CT02", product_id="mancozeb_80wp", amount=1.0, unit="kg",
                                applied_on=date(2016, 7, 5), target="black_spot")
    with pytest.raises(AccessError, match="only for themselves"):
        data.record_purchase("grower_li", product_id="mancozeb_80wp", quantity=1.0, unit="kg",
                             purchased_on=date(2016, 7, 5), grower_id="grower_wang")
    assert data.applications("grower_li") == []
    data.record_application("grower_li", "CT01", product_id="mancozeb_80wp", amount=1.0, unit="kg",
                            applied_on=date(2016, 7, 5), target="black_spot")
    assert [a["plot_id"] for a in data.applications("grower_li")] == ["CT01"]  # not a stale cached list
    assert len(data.applications("grower_wang")) == 1


# ----------------------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------------------
def test_a_grower_opening_another_growers_plot_in_the_url_is_refused(home):
    at = _signed_in("plot", "grower_li", plot="CT02")
    assert not at.exception
    assert [e.value for e in at.error] == [
        t("plot.denied", "zh-CN", error="plot CT02 is not one of yours; check the plot id.")]
    choice = at.selectbox(key="plot_choice")
    assert choice.value is None and len(choice.options) == 10
    assert not any(o.startswith("CT02") for o in choice.options)
    assert not at.metric and not at.subheader and not at.get("vega_lite_chart")
    assert "evidence for CT02" not in str(at.main) and not at.get("download_button")
    assert at.query_params.get("plot") in ("CT02", ["CT02"])  # left as given; nothing of it shown


def test_a_grower_does_not_see_another_growers_advice_or_records(home):
    at = _signed_in("plot", "grower_li", plot="CT01", date="2019-07-15")  # the latest run up to that day
    assert not at.exception and not at.error
    markdown = " ".join(m.value for m in at.markdown)
    assert markdown.count("柑橘溃疡病：7月15日–7月18日喷一次保护性药剂") == 1  # CT01's only, not CT02's
    # a run stored without plot status: its advice shows, each section says in one sentence what is missing
    assert sum(t("error.not_stored", "zh-CN") in i.value for i in at.info) == 4
    inputs = _signed_in("inputs", "grower_li")
    lists = " ".join(m.value for m in inputs.markdown)
    assert "1.8%阿维菌素乳油 · 1 L" in lists and "80%代森锰锌可湿性粉剂" not in lists  # wang's records


def test_the_grower_home_counts_only_the_growers_own_advice(home):
    at = _signed_in("Home", "grower_li")  # the home page links to other pages: it needs the navigation
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("gh.tile.urgent", "zh-CN")] == "0"  # CT02's severity-5 advice is grower_wang's
    assert metrics[t("gh.tile.pests", "zh-CN")] == "1"


def test_the_identify_page_offers_only_the_growers_plots(home):
    at = _signed_in("identify", "grower_li", plot="CT02")
    assert not at.exception  # nothing uploaded yet: only the uploader
    assert [u.label for u in at.file_uploader] == [t("identify.upload", "zh-CN")]
