"""Extension page: the district account of pesticide use and carbon against the calendar-spray baseline.

The same account as ``orchard account --season S --by district`` (``advice.accounting.season_account``):
kg a.i./ha, treatment frequency index, field-use EIQ, sprays and kg CO2e/ha, each with the baseline and the
reduction. A plot or group with nothing recorded has no reduction figure (and no bar): the page says so.
Beside the recorded account, the projected account of the advised programme from the season's replay
(``ORCHARD_HOME/replays/<season>-advice/``, read by ``advice.replay_store``) and the calendar programme on the
same weather; without a replay the page says how to make one. Extension users see growers only as pseudonyms
("grower 1", …); the table downloads as CSV for Excel (UTF-8 with BOM, formula-looking cells neutralised).
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

from advice import accounting, replay_store  # noqa: E402
from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("extension", "admin")
#: Columns of the table on the page (the CSV has every column).
SHOWN = ("district", "grower", "plot_id", "area_ha", "n_plots", "n_plots_recorded", "n_applications",
         *sd.ACCOUNT_METRICS,
         "reduction_tfi_pct", "reduction_field_eiq_per_ha_pct", "reduction_co2e_kg_per_ha_pct")
#: Metrics on the chart: their reduction against the baseline [%] (one scale for all).
CHART_METRICS = ("tfi", "field_eiq_per_ha", "co2e_kg_per_ha")


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.acc.title", lang))
    st.caption(t("staff.acc.intro", lang))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            seasons = sd.seasons_with_data(db)
            plots = store.list_plots(db, user["user_id"])
            run = sd.latest_run(db)
        districts = sorted({p["district"] for p in plots if p.get("district")})
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    # The season in force is the year of the latest stored weekly run (the advice the app shows), not the
    # calendar's: a district replaying 2016 reads the account of 2016 first (issue #19). Without a run,
    # the newest season with records, else with a stored replay, else this year.
    run_year = run["issued_on"].year if run else None
    replayed = sorted({r["season"] for r in replay_store.list_replays(config.orchard_home())}, reverse=True)
    options = sorted(set(seasons) | set(replayed) | {run_year or date.today().year}, reverse=True)
    first = run_year or (seasons[0] if seasons else (replayed[0] if replayed else options[0]))
    columns = st.columns(3)
    season = columns[0].selectbox(t("staff.acc.season", lang), options, key="staff_acc_season",
                                  index=options.index(first))
    by = columns[1].selectbox(t("staff.acc.by", lang), ["district", "grower"], key="staff_acc_by",
                              format_func=lambda b: t(f"staff.acc.by.{b}", lang))
    district = columns[2].selectbox(t("staff.acc.district", lang), [""] + districts, key="staff_acc_district",
                                    format_func=lambda d: d or t("staff.acc.all_districts", lang))
    try:
        with store.session_scope(engine) as db:
            table, n_apps = sd.season_account_for(db, user["user_id"], season, by=by,
                                                  district=district or None)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    n_plots, n_recorded = int(table["n_plots"].sum()), int(table["n_plots_recorded"].sum())
    if n_apps == 0 or n_recorded == 0:
        st.warning(t("staff.acc.no_applications", lang, season=season))
    elif n_recorded < n_plots:
        st.info(t("staff.acc.some_unrecorded", lang, season=season, missing=n_plots - n_recorded,
                  total=n_plots))
    if user["role"] == "extension" and by == "grower":
        st.caption(t("staff.acc.pseudonyms", lang))
    shown = table[[c for c in SHOWN if c in table.columns]].round(2)
    st.dataframe(shown.rename(columns={c: t(f"staff.acc.col.{c}", lang) for c in shown.columns}),
                 hide_index=True, width="stretch")

    group = "grower" if by == "grower" else "district"
    measured = table[table["n_plots_recorded"] > 0]  # nothing recorded: no reduction, so no bar
    reductions = {t(f"staff.acc.col.reduction_{m}_pct", lang): measured[f"reduction_{m}_pct"].to_numpy()
                  for m in CHART_METRICS if f"reduction_{m}_pct" in measured}
    st.subheader(t("staff.acc.chart", lang))
    if reductions and not measured.empty:
        st.bar_chart(pd.DataFrame(reductions, index=measured[group].astype(str)), stack=False,
                     horizontal=True)
        st.caption(t("staff.acc.chart_help", lang))
    else:
        st.caption(t("staff.acc.no_chart", lang))
    st.download_button(t("staff.acc.download", lang), sd.safe_csv(table),
                       file_name=f"account_{season}_{by}.csv", mime="text/csv", key="staff_acc_csv")
    projected_section(lang, season, table)


def recorded_means(table: pd.DataFrame) -> dict:
    """Each account metric over the plots with records (area-weighted across the groups); {} when none."""
    measured = table[table["n_plots_recorded"] > 0]
    area = measured["area_recorded_ha"].to_numpy(dtype=float)
    if measured.empty or area.sum() <= 0:
        return {}
    return {m: float((measured[m].to_numpy(dtype=float) * area).sum() / area.sum())
            for m in sd.ACCOUNT_METRICS}


def projected_section(lang: str, season: int, table: pd.DataFrame) -> None:
    """The replay's projected account of the advised programme beside the recorded one, or how to make it."""
    st.subheader(t("staff.acc.projected", lang))
    try:
        replay = replay_store.latest_replay(config.orchard_home(), season)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    if replay is None:
        st.info(t("staff.acc.no_replay", lang, season=season))
        return
    st.caption(t("staff.acc.projected_intro", lang))
    st.caption(t("staff.acc.projected_meta", lang, season=replay.season,
                 follow=t(f"staff.acc.follow.{replay.follow}", lang), plots=replay.summary.get("plots", "?"),
                 created=str(replay.summary.get("created", "?"))[:16].replace("T", " ")))
    projected = accounting.projected_account(replay.summary)
    recorded = recorded_means(table)
    rows = []
    for m in projected["measures"]:
        if m["measure"] not in accounting.REPLAY_MEASURES:  # per-pest detail: in the CSV and orchard account
            continue
        p10, p90 = m["advice_p10"], m["advice_p90"]
        rows.append({
            "measure": t(f"staff.acc.measure.{m['measure']}", lang),
            "recorded": recorded.get(m["account_metric"]) if m["account_metric"] else None,
            "advice_median": m["advice_median"],
            "advice_range": "–" if p10 is None or p90 is None else f"{p10:.3g} – {p90:.3g}",
            "calendar_median": m["calendar_median"],
            "ratio_to_calendar": m["ratio_to_calendar"],
        })
    frame = pd.DataFrame(rows).round(2)
    st.dataframe(frame.rename(columns={c: t(f"staff.acc.proj.col.{c}", lang) for c in frame.columns}),
                 hide_index=True, width="stretch")
    if replay.chart is not None:
        st.image(str(replay.chart), caption=t("staff.acc.season_chart", lang))


main()
