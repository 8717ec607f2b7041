"""Extension page: the district's plots with area, cultivar, latest advice and this week's risk per pest.

Plots come from ``store.list_plots`` for the signed-in extension user, which leaves owners out in the data
layer (``owner_id`` None) and gives each plot its pseudonymous label for a name (``orchard.privacy``), so the
table never names a grower or a family's plot. The risk columns are the chosen weekly export's
plot table (``plots.csv`` of ``exports.riskmap``), the severity the latest stored advice.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import cultivar_label, t  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("extension",)
HORIZONS = ("15d", "1m", "3m")


def export_label(manifest: dict, lang: str) -> str:
    if manifest.get("error"):
        return t("staff.exp.broken", lang, folder=Path(manifest["folder"]).name)
    return t("staff.exp.label", lang, week=manifest.get("week", ""), district=manifest.get("district") or "–",
             date=manifest.get("issue_date") or "")


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.plots.title", lang))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            plots = store.list_plots(db, user["user_id"])
            advice = store.list_recommendations(db, user["user_id"])
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    if not plots:
        st.info(t("staff.plots.none", lang))
        return
    districts = sorted({p.get("district") or "" for p in plots})
    columns = st.columns(3)
    def district_label(d: str) -> str:
        return t("staff.acc.all_districts", lang) if d == "*" else (d or "–")

    district = columns[0].selectbox(t("staff.plots.district", lang), ["*"] + districts,
                                    key="staff_plots_district", format_func=district_label)
    exports = [m for m in sd.list_exports() if not m.get("error")]
    chosen = columns[1].selectbox(t("staff.plots.export", lang), [None] + list(range(len(exports))),
                                  key="staff_plots_export", index=1 if exports else 0,
                                  format_func=lambda i: t("staff.plots.no_export", lang) if i is None
                                  else export_label(exports[i], lang))
    horizon = columns[2].selectbox(t("staff.map.horizon", lang), HORIZONS, key="staff_plots_horizon",
                                   format_func=lambda h: t(f"staff.horizon.{h}", lang))
    manifest = exports[chosen] if chosen is not None else None
    try:
        risk = sd.plot_risk_classes(manifest, horizon) if manifest else None
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        risk = None
    if district != "*":
        plots = [p for p in plots if (p.get("district") or "") == district]
    table = sd.plots_table(plots, advice, risk)
    table["cultivar"] = table["cultivar"].map(lambda c: cultivar_label(c, lang))
    pest_columns = [c for c in table.columns if c in sd.PEST_SETS]
    names = {c: t(f"staff.plots.col.{c}", lang) for c in table.columns if c not in pest_columns}
    names |= {c: t("staff.plots.col.risk", lang, pest=t(f"pest.{c}", lang)) for c in pest_columns}
    area_ha = float(table["area_ha"].sum())
    st.markdown(t("staff.plots.summary", lang, n=len(table), ha=area_ha, mu=area_ha * 1e4 / sd.M2_PER_MU))
    st.dataframe(table.rename(columns=names), hide_index=True, width="stretch")
    st.caption(t("staff.plots.legend", lang))
    if manifest is None:
        st.caption(t("staff.plots.no_risk", lang))


main()
