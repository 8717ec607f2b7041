"""The agronomist's scouting page: an observation entered in the form is stored and listed; an impossible
value is one sentence next to the form and nothing is stored. (AppTest cannot upload a file: the sheet goes
through the same check as ``orchard skill --store``, tested in tests/advice/test_skill.py.)"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
from i18n import t  # noqa: E402

AGRONOMIST = {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"}


def page(lang="en"):
    at = AppTest.from_file(str(APP / "pages" / "agronomist_scouting.py"), default_timeout=120)
    at.session_state["user"] = AGRONOMIST
    at.session_state["lang"] = lang
    return at


def stored():
    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        return store.list_scouting_observations(db)


def submit(at, plot, day, pest, value):
    at.selectbox(key="scout_plot").set_value(plot)
    at.date_input(key="scout_date").set_value(day)
    at.selectbox(key="scout_pest").set_value(pest)
    at.number_input(key="scout_value").set_value(value)
    next(b for b in at.button if b.label == t("staff.scout.save", "en")).click()
    return at.run()


@pytest.fixture
def home(sample_home_copy):
    return sample_home_copy


def test_form_stores_an_observation_and_lists_it(home):
    at = page().run()
    assert not at.exception and not at.error
    assert at.info[0].value == t("staff.scout.none", "en")
    at = submit(at, "CT02", date(2016, 4, 5), "mites", 2.5)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value == t("staff.scout.saved", "en", n=1)
    (row,) = stored()
    assert (row["plot_id"], row["observed_on"], row["pest"], row["measure"], row["value"]) == \
        ("CT02", date(2016, 4, 5), "mites", "mites_per_leaf", 2.5)
    assert row["recorded_by"] == "agronomist_zhao" and row["observer"] == "赵农艺师"
    listed = at.dataframe[0].value
    assert list(listed[t("staff.scout.col.plot_id", "en")]) == ["CT02"]


@pytest.mark.parametrize("pest, value, message", [
    ("canker", 140.0, "the form: incidence_pct 140.0 is above 100 %"),
    ("mites", -1.0, "the form: mites_per_leaf -1.0 is negative"),
])
def test_impossible_values_are_one_sentence_and_nothing_is_stored(home, pest, value, message):
    at = submit(page().run(), "CT01", date(2016, 6, 1), pest, value)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value
    assert stored() == []


def test_the_date_starts_on_the_stored_runs_issue_day(advised_copy):
    """Scouting of the advised week: the form starts on the run's issue date, not today (issue #19)."""
    at = page().run()
    assert not at.exception and not at.error
    assert at.date_input(key="scout_date").value == date(2016, 7, 15)


def test_the_date_starts_today_without_a_stored_run(home):
    at = page().run()
    assert at.date_input(key="scout_date").value == date.today()
