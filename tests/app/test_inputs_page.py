"""The inputs page (app/pages/inputs.py) run headless with AppTest, writing to a copy of the sample DB.

Users are signed in by setting ``st.session_state["user"]`` (the sign-in contract; see test_auth.py).
"""

import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app"))
from i18n import CATALOGUES, t  # noqa: E402

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "pages" / "inputs.py")
USERS = {"grower_li": ("李明", "grower"), "grower_wang": ("王芳", "grower"),
         "agronomist_zhao": ("赵农艺师", "agronomist"), "extension_county": ("县农技推广站", "extension")}
GROWER, OWN_PLOT, OTHERS_PLOT = "grower_li", "CT04", "CT02"  # CT02 belongs to grower_wang
PRODUCT = "mancozeb_80wp"  # 80%代森锰锌可湿性粉剂, kg, FRAC M03, against black spot


@pytest.fixture
def home(sample_home_copy):
    return sample_home_copy


def _page(user=GROWER, lang=None, **params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    name, role = USERS[user]
    at.session_state["user"] = {"user_id": user, "display_name": name, "role": role}
    if lang:
        at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _fill_application(at, amount, plot=OWN_PLOT, product=PRODUCT, unit="kg", day=date(2024, 5, 10),
                      target="black_spot"):
    at.selectbox(key="application_product").set_value(product).run()
    at.selectbox(key="application_plot").set_value(plot)
    at.number_input(key="application_amount").set_value(amount)
    at.selectbox(key=f"application_unit_{product}").set_value(unit)
    at.date_input(key="application_date").set_value(day)
    at.selectbox(key=f"application_target_{product}").set_value(target)
    return _submit(at)


def _submit(at):
    (button,) = [b for b in at.button if b.key.startswith("FormSubmitter:")]
    return button.click().run()


def _stored(what, caller="admin"):
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            return getattr(store, f"list_{what}")(session, caller)
    finally:
        engine.dispose()


def _lists(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_grower_records_an_application_on_their_own_plot(home):
    at = _page()
    assert not at.exception and not at.error
    plots = at.selectbox(key="application_plot").options
    assert len(plots) == 10 and not any(p.startswith(OTHERS_PLOT) for p in plots)  # grower_li's plots only
    assert t("inputs.none", "zh-CN") in [c.value for c in at.caption]

    at = _fill_application(at, 3.9)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [
        "已记录：2024-05-10，地块 CT04，80%代森锰锌可湿性粉剂 3.9 kg（柑橘黑斑病）。"
    ]
    assert "2024-05-10 · 80%代森锰锌可湿性粉剂 · 3.9 kg · CT04 柑橘黑斑病" in _lists(at)
    (row,) = _stored("applications")
    assert (row["plot_id"], row["product_id"], row["applied_on"], row["amount"], row["unit"]) == (
        OWN_PLOT, PRODUCT, date(2024, 5, 10), 3.9, "kg")
    assert row["target"] == "black_spot" and row["recorded_by"] == GROWER
    assert row["area_ha"] > 0  # the plot's area, filled in by the store

    at.run()  # any later rerun (a widget touched, the page refreshed) does not write again
    assert not at.success and len(_stored("applications")) == 1


def test_grams_are_stored_as_kilograms_and_listed_newest_first(home):
    at = _fill_application(_page(), 500, unit="g", day=date(2024, 4, 1))
    at = _fill_application(at, 1.5, day=date(2024, 6, 1))
    assert not at.error
    assert sorted(r["amount"] for r in _stored("applications")) == [0.5, 1.5]
    text = _lists(at)
    assert text.index("2024-06-01") < text.index("2024-04-01 · 80%代森锰锌可湿性粉剂 · 0.5 kg")


def test_an_invalid_amount_shows_the_stores_sentence_and_writes_nothing(home):
    at = _page(lang="en")
    for amount in (0.0, -2.0):
        at = _fill_application(at, amount)
        assert not at.exception and not at.success
        assert [e.value for e in at.error] == [
            t("inputs.not_saved", "en", error=f"application of {PRODUCT} on plot {OWN_PLOT}: amount "
                                           f"{amount} is not a positive number.")
        ]
    at = _fill_application(_page(), -2.0)  # a Chinese page says it in Chinese only
    assert [e.value for e in at.error] == [t("inputs.not_saved", "zh-CN", error=t("error.input", "zh-CN"))]
    assert _stored("applications") == []
    assert t("inputs.none", "zh-CN") in [c.value for c in at.caption]


def test_an_extension_user_sees_the_lists_but_cannot_submit(home):
    at = _fill_application(_page(), 2.0)  # a record for the extension user to see
    at = _page(user="extension_county")
    assert not at.exception
    assert [i.value for i in at.info] == [t("inputs.read_only", "zh-CN")]
    (button,) = [b for b in at.button if b.key.startswith("FormSubmitter:")]
    assert button.disabled and at.number_input(key="application_amount").disabled
    assert "80%代森锰锌可湿性粉剂 · 2 kg · CT04" in _lists(at)

    with pytest.raises(AppTestError, match="disabled"):  # as in a browser: no click on a disabled button
        button.click()
    at.radio(key="inputs_kind").set_value("purchase").run()
    assert [b.disabled for b in at.button] == [True] and at.info[0].value == t("inputs.read_only", "zh-CN")
    assert [r["amount"] for r in _stored("applications")] == [2.0] and _stored("purchases") == []


def test_an_agronomist_records_a_purchase_for_a_grower(home):
    at = _page(user="agronomist_zhao")
    assert len(at.selectbox(key="application_plot").options) == 30  # any plot
    at.radio(key="inputs_kind").set_value("purchase").run()
    at.selectbox(key="purchase_product").set_value("abamectin_18ec").run()
    at.selectbox(key="purchase_grower").set_value("grower_wang")
    at.number_input(key="purchase_quantity").set_value(2.0)
    at.selectbox(key="purchase_unit_abamectin_18ec").set_value("L")
    at.date_input(key="purchase_date").set_value(date(2024, 3, 2))
    at.number_input(key="purchase_price").set_value(56.0)
    at.text_input(key="purchase_supplier").set_value("  秭归县农资店 ")
    at = _submit(at)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["已记录购买：2024-03-02，1.8%阿维菌素乳油 2 L。"]
    assert "2024-03-02 · 1.8%阿维菌素乳油 · 2 L · 56 元" in _lists(at)
    (row,) = _stored("purchases")
    assert (row["grower_id"], row["recorded_by"], row["quantity"], row["unit"], row["price_cny"]) == (
        "grower_wang", "agronomist_zhao", 2.0, "L", 56.0)
    assert row["supplier"] == "秭归县农资店"
    assert _stored("purchases", caller=GROWER) == []  # grower_li does not see grower_wang's purchase
    at = _page(user=GROWER)
    assert "1.8%阿维菌素乳油" not in _lists(at)  # nor on the page
    at = _page(user="grower_wang")
    assert "2024-03-02 · 1.8%阿维菌素乳油 · 2 L · 56 元" in _lists(at)


def test_english_labels_with_lang_en(home):
    at = _page(lang="en")
    assert not at.exception
    assert at.title[0].value == "Inputs"
    # a grower sees product names without FRAC/IRAC codes; staff see the mode-of-action groups
    assert at.selectbox(key="application_product").label == "Product"
    assert "mancozeb 80% WP" in at.selectbox(key="application_product").options
    assert not any("FRAC" in o or "IRAC" in o for o in at.selectbox(key="application_product").options)
    staff = _page(user="agronomist_zhao", lang="en")
    assert staff.selectbox(key="application_product").label == "Product (mode-of-action group)"
    assert "mancozeb 80% WP · FRAC M03" in staff.selectbox(key="application_product").options
    assert "urea 46% N · fertiliser" in at.selectbox(key="application_product").options
    assert at.number_input(key="application_amount").label == "Amount"
    assert [b.label for b in at.button] == ["Save application"]
    assert "EXAMPLE" in at.caption[0].value
    assert [s.value for s in at.subheader] == ["Applications", "Purchases"]
    at = _fill_application(at, 1.0)
    assert [s.value for s in at.success] == [
        "Recorded: mancozeb 80% WP 1 kg on plot CT04, 2024-05-10 (Citrus black spot)."
    ]


def test_every_new_text_is_in_both_catalogues():
    new = [k for k in CATALOGUES["en"] if k.startswith("inputs.")]
    assert len(new) > 30 and set(CATALOGUES["zh-CN"]) == set(CATALOGUES["en"])
    assert "nav.inputs" in CATALOGUES["zh-CN"]


def test_dates_start_at_the_stored_runs_issue_day_when_it_is_past(advised_copy):
    """A grower reading the advice of 2016-07-15 records what they did then: the forms start on the run's
    issue date, not on today's date years later (issue #19, finding 6)."""
    at = _page()
    assert not at.exception
    assert at.date_input(key="application_date").value == date(2016, 7, 15)
    at.radio(key="inputs_kind").set_value("purchase").run()
    assert at.date_input(key="purchase_date").value == date(2016, 7, 15)


def test_dates_start_today_without_a_stored_run(home):
    from data import today_in_china

    at = _page()
    assert at.date_input(key="application_date").value == today_in_china()
