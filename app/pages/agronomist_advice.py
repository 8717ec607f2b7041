"""Agronomist page: the stored weekly advice for the plots the agronomist may see, filtered, with its basis.

Reads the latest stored run (``store.list_recommendations``, scoped to the signed-in user in the data layer):
filters by plot, topic and minimum severity; shows each recommendation's action in the reader's language with
its evidence and data source, and the run's parameter-set versions, data sources and notes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import date_label, t  # noqa: E402

from advice.recommendation import TOPICS  # noqa: E402
from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("agronomist",)  # admins review too (store.REVIEWERS) but have no advice page in their menu


def topic_label(topic: str, lang: str) -> str:
    key = f"staff.topic.{topic}"
    text = t(key, lang)
    return topic if text == key else text


def review_state_label(state: dict) -> str:
    """approved / held / pending (review required, none yet) / open (no review needed, none yet)."""
    if state["decision"] is not None:
        return state["decision"] if state["decision"] == "held" else "approved"
    return "pending" if state["review_required"] else "open"


def review_section(user: dict, run: dict, plots: list[dict], lang: str) -> None:
    """Approve (with a note for the grower) or hold a plot's or a district's advice of this run, set whether
    a district requires review, and show the state per plot and the review record (issue #19)."""
    st.subheader(t("staff.review.title", lang))
    engine = session.engine_for(config.database_url())
    districts = sorted({p["district"] for p in plots if p.get("district")})
    for district in districts:
        with store.session_scope(engine) as db:
            required = store.review_required(db, district)
        wanted = st.toggle(t("staff.review.required", lang, district=district), value=required,
                           key=f"review_required_{district}", help=t("staff.review.required_help", lang))
        if wanted != required:
            with store.session_scope(engine) as db:
                store.set_review_required(db, user["user_id"], district, wanted)
    with st.form("review_form", border=True):
        scope = st.radio(t("staff.review.scope", lang), ["plot", "district"], horizontal=True,
                         key="review_scope", format_func=lambda s: t(f"staff.review.scope.{s}", lang))
        plot_id = st.selectbox(t("staff.review.plot", lang), [p["plot_id"] for p in plots], key="review_plot")
        district = st.selectbox(t("staff.review.district", lang), districts, key="review_district")
        note = st.text_input(t("staff.review.note", lang), key="review_note", max_chars=300)
        left, right = st.columns(2)
        approve = left.form_submit_button(t("staff.review.approve", lang), type="primary", width="stretch")
        hold = right.form_submit_button(t("staff.review.hold", lang), width="stretch")
    if approve or hold:
        decision = "approved" if approve else "held"
        target = plot_id if scope == "plot" else district
        with store.session_scope(engine) as db:
            store.review_advice(db, user["user_id"], run["run_id"], decision=decision, note=note,
                                **({"plot_id": plot_id} if scope == "plot" else {"district": district}))
        st.success(t(f"staff.review.done.{decision}", lang, target=target))
    with store.session_scope(engine) as db:
        states = [{"plot_id": p["plot_id"], **store.review_state(db, run["run_id"], p["plot_id"])}
                  for p in plots]
        record = store.list_reviews(db, user["user_id"], run_id=run["run_id"])
    st.markdown(f"**{t('staff.review.state', lang)}**")
    yes_no = {True: t("staff.review.yes", lang), False: t("staff.review.no", lang)}
    frame = pd.DataFrame([{"plot_id": s["plot_id"],
                           "state": t(f"staff.review.state.{review_state_label(s)}", lang),
                           "grower_sees": yes_no[s["visible"]], "note": s["note"] or ""} for s in states])
    st.dataframe(frame.rename(columns={c: t(f"staff.review.col.{c}", lang) for c in frame.columns}),
                 hide_index=True, width="stretch", key="review_states")
    st.markdown(f"**{t('staff.review.record', lang)}**")
    if not record:
        st.caption(t("staff.review.none", lang))
        return
    rows = pd.DataFrame([{"reviewed": sd.local_time(r["reviewed_utc"]), "reviewer": r["reviewer_id"],
                          "decision": t(f"staff.review.state.{r['decision']}", lang),
                          "target": r["plot_id"] or r["district"], "note": r["note"] or ""} for r in record])
    st.dataframe(rows.rename(columns={c: t(f"staff.review.col.{c}", lang) for c in rows.columns}),
                 hide_index=True, width="stretch", key="review_record")


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.advice.title", lang))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            records = store.list_recommendations(db, user["user_id"])
            run = sd.latest_run(db)
            plots = store.list_plots(db, user["user_id"])
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    if not records or run is None:
        st.info(t("staff.advice.none", lang))
        return
    st.caption(t("staff.advice.run", lang, date=date_label(run["issued_on"], lang), created=run["created"],
                 n=len(records), plots=run["n_plots"]))

    frame = sd.advice_frame(records, lambda key, **fields: t(key, lang, **fields), lang=lang)
    visible = sorted({p["plot_id"] for p in plots})
    columns = st.columns(3)
    chosen_plots = columns[0].multiselect(t("staff.advice.plots", lang), visible, key="staff_advice_plots",
                                          placeholder=t("staff.choose", lang))
    topics = [x for x in TOPICS if x in set(frame["topic"])]
    chosen_topics = columns[1].multiselect(t("staff.advice.topics", lang), topics, key="staff_advice_topics",
                                           format_func=lambda x: topic_label(x, lang),
                                           placeholder=t("staff.choose", lang))
    min_severity = columns[2].selectbox(t("staff.advice.min_severity", lang), [1, 2, 3, 4, 5],
                                        key="staff_advice_severity")
    shown = sd.filter_advice(frame, chosen_plots, chosen_topics, min_severity)
    st.markdown(t("staff.advice.count", lang, n=len(shown), total=len(frame)))
    if shown.empty:
        st.info(t("staff.advice.none_match", lang))
    else:
        shown = shown.assign(topic=shown["topic"].map(lambda x: topic_label(x, lang)))
        st.dataframe(shown.rename(columns={c: t(f"staff.advice.col.{c}", lang) for c in shown.columns}),
                     hide_index=True, width="stretch")

    st.subheader(t("staff.advice.basis", lang))
    sets = pd.DataFrame([{"module": k, "sets": v} for k, v in sorted(run["parameter_sets"].items())])
    st.markdown(f"**{t('staff.advice.parameter_sets', lang)}**")
    if sets.empty:
        st.caption(t("staff.advice.no_sets", lang))
    else:
        st.dataframe(sets.rename(columns={"module": t("staff.advice.col.module", lang),
                                          "sets": t("staff.advice.col.sets", lang)}),
                     hide_index=True, width="stretch")
    st.markdown(f"**{t('staff.advice.sources', lang)}**")
    sources = pd.DataFrame([{"module": k, "source": v} for k, v in sorted(run["sources"].items())])
    if not sources.empty:
        st.dataframe(sources.rename(columns={"module": t("staff.advice.col.module", lang),
                                             "source": t("staff.advice.col.source", lang)}),
                     hide_index=True, width="stretch")
    if run["notes"]:
        st.markdown(f"**{t('staff.advice.notes', lang)}**")
        for note in run["notes"]:
            st.caption(note)

    try:
        review_section(user, run, plots, lang)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))


main()
