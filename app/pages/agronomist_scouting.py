"""Agronomist page: enter scouting observations (mites per leaf, disease or leaf-miner incidence in %) that
``orchard skill`` scores the forecasts against.

One observation through the form, or a scouting sheet as CSV (the format of ``orchard skill``, docs/advice.md
"Skill against scouting"). Both are checked by ``advice.skill.check_observations`` and stored all or none
(``store.add_scouting_observations``, which allows agronomists any plot); a bad value is one sentence next to
the form. The stored observations of the plots the user may see are listed below.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from advice import skill  # noqa: E402
from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("agronomist",)
#: Largest scouting sheet accepted from the upload [bytes].
MAX_UPLOAD = 5 * 1024 * 1024
#: Earliest scouting date the form offers.
EARLIEST = date(2000, 1, 1)
LISTED = ("observed_on", "plot_id", "pest", "measure", "value", "observer", "note", "recorded_by")


def store_rows(engine, user_id: str, frame: pd.DataFrame, known, where: str, numbered: bool = True) -> int:
    """Check ``frame`` (text cells in the CSV's columns) and store every row, or none; returns how many."""
    checked = skill.check_observations(frame, known, where=where, numbered=numbered)
    records = checked.assign(observed_on=checked["observed_on"].dt.date).to_dict("records")
    with store.session_scope(engine) as db:
        return store.add_scouting_observations(db, user_id, records)


def form(engine, user: dict, plots: list[str], lang: str, first_day: date) -> None:
    with st.form("scout_form", clear_on_submit=False):
        columns = st.columns(3)
        plot_id = columns[0].selectbox(t("staff.scout.plot", lang), plots, key="scout_plot")
        # Streamlit's default earliest date is 10 years back: older seasons' sheets are entered too.
        observed_on = columns[1].date_input(t("staff.scout.date", lang), value=first_day, key="scout_date",
                                            min_value=EARLIEST, max_value=date.today())
        pest = columns[2].selectbox(t("staff.scout.pest", lang), list(skill.PESTS), key="scout_pest",
                                    format_func=lambda p: t(f"pest.{p}", lang))
        value = st.number_input(t("staff.scout.value", lang), min_value=None, value=0.0, step=0.5,
                                key="scout_value", help=t("staff.scout.value_help", lang))
        observer = st.text_input(t("staff.scout.observer", lang), value=user.get("display_name") or "",
                                 key="scout_observer")
        note = st.text_input(t("staff.scout.note", lang), key="scout_note")
        submitted = st.form_submit_button(t("staff.scout.save", lang), type="primary")
    if not submitted:
        return
    measure = skill.MEASURE_OF[pest]
    row = {"plot_id": plot_id or "", "date": observed_on.isoformat() if observed_on else "", "pest": pest,
           "mites_per_leaf": "", "incidence_pct": "", "observer": observer, "note": note}
    row[measure] = "" if value is None else repr(float(value))
    try:
        store_rows(engine, user["user_id"], pd.DataFrame([row], dtype=str), plots,
                   where=t("staff.scout.the_form", lang), numbered=False)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    st.success(t("staff.scout.saved", lang, n=1))


def upload(engine, user: dict, plots: list[str], lang: str) -> None:
    st.subheader(t("staff.scout.upload", lang))
    st.caption(t("staff.scout.upload_help", lang))
    sheet = st.file_uploader(t("staff.scout.file", lang), type=["csv"], key="scout_file")
    if sheet is None or not st.button(t("staff.scout.store_file", lang), key="scout_store_file"):
        return
    try:
        if sheet.size > MAX_UPLOAD:
            raise OrchardError(f"{sheet.name}: the file is larger than {MAX_UPLOAD // 2**20} MB; split it.")
        try:
            frame = pd.read_csv(sheet, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                skipinitialspace=True)
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
            raise OrchardError(f"{sheet.name}: the file is not a readable UTF-8 CSV; save it as "
                               "'CSV UTF-8'.") from None
        n = store_rows(engine, user["user_id"], frame, plots, where=sheet.name)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    st.success(t("staff.scout.saved", lang, n=n))


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.scout.title", lang))
    st.caption(t("staff.scout.intro", lang))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            plots = [p["plot_id"] for p in store.list_plots(db, user["user_id"])]
            run = sd.latest_run(db)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    # The form starts on the latest stored run's issue date when that is past (the week the advice is of),
    # else today (issue #19: a 2016 run's scouting is not of today's year).
    first_day = run["issued_on"] if run and run["issued_on"] < date.today() else date.today()
    form(engine, user, plots, lang, first_day)
    upload(engine, user, plots, lang)

    st.subheader(t("staff.scout.stored", lang))
    with store.session_scope(engine) as db:
        stored = store.list_scouting_observations(db, user["user_id"])
    if not stored:
        st.info(t("staff.scout.none", lang))
        return
    frame = pd.DataFrame(stored)[list(LISTED)].iloc[::-1]
    frame["pest"] = frame["pest"].map(lambda p: t(f"pest.{p}", lang))
    st.dataframe(frame.rename(columns={c: t(f"staff.scout.col.{c}", lang) for c in frame.columns}),
                 hide_index=True, width="stretch")
    st.caption(t("staff.scout.skill_help", lang))


main()
