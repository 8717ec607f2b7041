"""Extension page: the district account of pesticide use and carbon against the calendar-spray baseline.

The same account as ``orchard account --season S --by district`` (``advice.accounting.season_account``):
kg a.i./ha, treatment frequency index, field-use EIQ, sprays and kg CO2e/ha, each with the baseline and the
reduction. Extension users see growers only as pseudonyms ("grower 1", …); the table downloads as CSV for
Excel (UTF-8 with BOM, formula-looking cells neutralised).
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

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("extension", "admin")
#: Columns of the table on the page (the CSV has every column).
SHOWN = ("district", "grower", "plot_id", "area_ha", "n_plots", "n_applications", *sd.ACCOUNT_METRICS,
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
        districts = sorted({p["district"] for p in plots if p.get("district")})
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    this_year = date.today().year
    options = sorted(set(seasons) | {this_year}, reverse=True)
    columns = st.columns(3)
    season = columns[0].selectbox(t("staff.acc.season", lang), options, key="staff_acc_season",
                                  index=options.index(seasons[0]) if seasons else 0)
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
    if n_apps == 0:
        st.warning(t("staff.acc.no_applications", lang, season=season))
    if user["role"] == "extension" and by == "grower":
        st.caption(t("staff.acc.pseudonyms", lang))
    shown = table[[c for c in SHOWN if c in table.columns]].round(2)
    st.dataframe(shown.rename(columns={c: t(f"staff.acc.col.{c}", lang) for c in shown.columns}),
                 hide_index=True, width="stretch")

    group = "grower" if by == "grower" else "district"
    reductions = {t(f"staff.acc.col.reduction_{m}_pct", lang): table[f"reduction_{m}_pct"].to_numpy()
                  for m in CHART_METRICS if f"reduction_{m}_pct" in table}
    if reductions:
        st.subheader(t("staff.acc.chart", lang))
        st.bar_chart(pd.DataFrame(reductions, index=table[group].astype(str)), stack=False, horizontal=True)
        st.caption(t("staff.acc.chart_help", lang))
    st.download_button(t("staff.acc.download", lang), sd.safe_csv(table),
                       file_name=f"account_{season}_{by}.csv", mime="text/csv", key="staff_acc_csv")


main()
