"""The extension accounting page: no reduction (and no bar) without records, and the season replay's projected
account of the advised programme beside the recorded one."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.advice.replay_dirs import ADVICE, CALENDAR, write_replay

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
from i18n import t  # noqa: E402

PAGES = APP / "pages"
ADMIN = {"user_id": "admin", "display_name": "Administrator", "role": "admin"}
EXTENSION = {"user_id": "extension_county", "display_name": "县农技推广站", "role": "extension"}


def page(user, lang="en"):
    at = AppTest.from_file(str(PAGES / "extension_accounting.py"), default_timeout=120)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


@pytest.fixture
def home(sample_home_copy):
    return sample_home_copy


def test_nothing_recorded_no_reduction_no_bar_and_no_replay_says_how(home):
    at = page(ADMIN).run()
    assert not at.exception and not at.error
    season = at.selectbox(key="staff_acc_season").value
    table = at.dataframe[0].value
    assert table[t("staff.acc.col.n_plots_recorded", "en")].iloc[0] == 0
    assert table[t("staff.acc.col.reduction_tfi_pct", "en")].isna().all()
    assert len(at.get("vega_lite_chart")) == 0            # no 100 % bars
    assert t("staff.acc.no_chart", "en") in [c.value for c in at.caption]
    assert [i.value for i in at.info] == [t("staff.acc.no_replay", "en", season=season)]
    assert "orchard replay --season" in at.info[0].value


def test_replay_is_shown_beside_the_recorded_account(home):
    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        store.add_application(db, "agronomist_zhao", "CT01", product_id="mancozeb_80wp",
                              applied_on="2016-05-01", amount=3.0, unit="kg", target="black_spot")
    folder = write_replay(home, 2016, "advice", plot_ids=("CT01", "CT02", "CT03"))
    # A season chart as the replay writes it (any PNG).
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(folder / "season.png")
    plt.close(fig)

    at = page(EXTENSION).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="staff_acc_season").value == 2016
    recorded = at.dataframe[0].value
    assert recorded[t("staff.acc.col.n_plots_recorded", "en")].iloc[0] == 1
    assert 0 < recorded[t("staff.acc.col.reduction_tfi_pct", "en")].iloc[0] < 100
    assert len(at.get("vega_lite_chart")) == 1             # the recorded plot's bar
    assert "29 of 30 plots have no applications recorded in 2016" in at.info[0].value

    projected = at.dataframe[1].value.set_index(t("staff.acc.proj.col.measure", "en"))
    tfi = projected.loc[t("staff.acc.measure.tfi", "en")]
    assert tfi[t("staff.acc.proj.col.advice_median", "en")] == ADVICE["tfi"][0]
    assert tfi[t("staff.acc.proj.col.calendar_median", "en")] == CALENDAR["tfi"][0]
    assert tfi[t("staff.acc.proj.col.ratio_to_calendar", "en")] == pytest.approx(0.6)
    assert tfi[t("staff.acc.proj.col.advice_range", "en")] == "6 – 9.5"
    assert tfi[t("staff.acc.proj.col.recorded", "en")] > 0       # the recorded plot's TFI beside it
    copper = projected.loc[t("staff.acc.measure.kg_cu_ha", "en")]
    assert pd.isna(copper[t("staff.acc.proj.col.recorded", "en")])  # the account has no copper measure
    assert len(projected) == 9      # the 8 measures and label breaches; not the per-pest detail
    assert "events_mites" not in projected.index
    captions = [c.value for c in at.caption]
    assert t("staff.acc.projected_meta", "en", season=2016, follow="advice", plots=3,
             created="2026-12-07 21:00") in captions
    assert len(at.get("image")) == 1


def test_a_replayed_season_without_records_is_offered_and_shown(home):
    write_replay(home, 2015, "advice")
    at = page(ADMIN).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="staff_acc_season").value == 2015       # the newest replay: no records at all
    assert "No spray or fertiliser was recorded in 2015" in at.warning[0].value
    assert at.dataframe[0].value[t("staff.acc.col.reduction_tfi_pct", "en")].isna().all()
    assert len(at.get("vega_lite_chart")) == 0
    projected = at.dataframe[1].value.set_index(t("staff.acc.proj.col.measure", "en"))
    assert projected.loc[t("staff.acc.measure.sprays", "en"), t("staff.acc.proj.col.advice_median", "en")] == 5
    assert pd.isna(projected.loc[t("staff.acc.measure.sprays", "en"), t("staff.acc.proj.col.recorded", "en")])


def test_malformed_replay_is_one_sentence_on_the_page(home):
    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        store.add_application(db, "agronomist_zhao", "CT01", product_id="mancozeb_80wp",
                              applied_on="2016-05-01", amount=3.0, unit="kg", target="black_spot")
    folder = write_replay(home, 2016, "advice")
    (folder / "summary.json").write_text("{broken", encoding="utf-8")
    at = page(ADMIN, lang="zh-CN").run()
    assert not at.exception
    assert len(at.error) == 1 and "summary.json is not valid JSON" in at.error[0].value


def test_the_season_shown_first_is_the_year_of_the_latest_stored_run(advised_copy):
    """The run of 2016-07-15 is the advice the app shows, so its season opens first, not the calendar year
    (issue #19, finding 6)."""
    at = page(EXTENSION).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="staff_acc_season").value == 2016
