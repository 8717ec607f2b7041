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

ROLES = ("agronomist",)


def topic_label(topic: str, lang: str) -> str:
    key = f"staff.topic.{topic}"
    text = t(key, lang)
    return topic if text == key else text


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

    frame = sd.advice_frame(records, lambda key, **fields: t(key, lang, **fields))
    visible = sorted({p["plot_id"] for p in plots})
    columns = st.columns(3)
    chosen_plots = columns[0].multiselect(t("staff.advice.plots", lang), visible, key="staff_advice_plots")
    topics = [x for x in TOPICS if x in set(frame["topic"])]
    chosen_topics = columns[1].multiselect(t("staff.advice.topics", lang), topics, key="staff_advice_topics",
                                           format_func=lambda x: topic_label(x, lang))
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


main()
