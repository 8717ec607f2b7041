"""Agronomist page: calibrate a cultivar's parameters against uploaded observations, then save a version.

The upload is the CSV ``orchard growth calibrate`` reads (``plot_id, date, variable, value``; variables
bloom_date, maturity_date, fruit_diameter_mm, brix). The fit (``growth.calibrate.calibrate``) starts from the
cultivar's set in force; the page shows the fitted values against the prior, the error before and after
per observed variable and each observation's residual, warns of each fitted value that ended on a bound of
its published range, and saves the fitted set as a new version with the signed-in user as author. A bad
upload (not CSV, too large) is one sentence; a file with faulty rows lists every fault, in the page's
language.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import i18n_params  # noqa: E402
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import cultivar_label, t  # noqa: E402

from orchard import config, params, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("agronomist",)
#: Where the last fit is kept between reruns (not a widget key: it survives widgets being hidden).
RESULT_KEY = "staff_calibration_result"
EXAMPLE = "plot_id,date,variable,value\nCT02,2015-03-25,bloom_date,\nCT02,2015-07-15,fruit_diameter_mm,41.5\n"


def _translated(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A result table for the reader: observed variables by name, and an empty cell (an observed date has no
    value; a variable without a model value has no error) as "–" instead of Streamlit's "None"."""
    frame = frame.copy()
    if "variable" in frame:
        frame["variable"] = frame["variable"].map(lambda v: t(f"staff.cal.var.{v}", lang))
    if "unit" in frame:
        frame["unit"] = frame["unit"].map(lambda u: i18n_params.unit_text(u, lang))
    for column in frame.columns:
        if frame[column].isna().any():
            frame[column] = frame[column].map(
                lambda v: t("staff.cal.empty", lang) if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float)
                                                                        else str(v)))
    return frame.rename(columns={c: t(f"staff.cal.col.{c}", lang) for c in frame.columns})


def show_error(error, file_name: str, lang: str) -> None:
    """A refused upload in the page's language: every fault of a faulty file, or the one reason a file was
    refused (English pages show the project's own sentence)."""
    faults = getattr(error, "faults", None)
    if not faults:
        if isinstance(error, sd.UploadError) and lang != "en":
            st.error(t("staff.error", lang, error=t(f"staff.upload.{error.reason}", lang, **error.fields)))
        else:
            st.error(t("staff.error", lang, error=sd.one_sentence(error)))
        return
    heading = "staff.cal.fault_one" if len(faults) == 1 else "staff.cal.faults"
    lines = sd.fault_lines(error, lambda key, **fields: t(key, lang, **fields), t("list.comma", lang))
    st.error(t(heading, lang, file=file_name, n=len(faults)) + "\n\n" + "\n".join(f"- {line}" for line in lines))


def bound_warnings(outcome: sd.CalibrationOutcome, lang: str) -> list[str]:
    """One sentence per fitted value that ended on (or within 1 % of the range from) a bound of its published
    range (``CalibrationResult.at_bounds``): the observations pull it outside the range."""
    rows = outcome.parameters.set_index("key")
    return [t(f"staff.cal.at_bound.{side}", lang, parameter=key, value=f"{rows.at[key, 'fitted']:g}",
              unit=i18n_params.unit_text(rows.at[key, "unit"], lang), min=f"{rows.at[key, 'min']:g}",
              max=f"{rows.at[key, 'max']:g}")
            for key, side in outcome.result.at_bounds.items()]


def show_result(engine, user: dict, outcome: sd.CalibrationOutcome, lang: str) -> None:
    st.subheader(t("staff.cal.result", lang, cultivar=cultivar_label(outcome.cultivar, lang),
                   name=outcome.params.name))
    st.markdown(f"**{t('staff.cal.parameters', lang)}**")
    st.dataframe(_translated(outcome.parameters, lang), hide_index=True, width="stretch")
    for line in bound_warnings(outcome, lang):
        st.warning(line)
    st.markdown(f"**{t('staff.cal.errors', lang)}**")
    st.dataframe(_translated(outcome.errors, lang), hide_index=True, width="stretch")
    st.markdown(f"**{t('staff.cal.residuals', lang)}**")
    st.dataframe(_translated(outcome.residuals, lang), hide_index=True, width="stretch")
    chart = outcome.residuals[["residual_prior", "residual_fitted"]].rename(
        columns={"residual_prior": t("staff.cal.col.residual_prior", lang),
                 "residual_fitted": t("staff.cal.col.residual_fitted", lang)})
    st.bar_chart(chart, stack=False)
    st.caption(t("staff.cal.residual_help", lang))

    comment = st.text_input(t("staff.cal.comment", lang), key="staff_cal_comment",
                            value=t("staff.cal.default_comment", lang, file=st.session_state.get(
                                "staff_cal_file", "")))
    if st.button(t("staff.cal.save", lang), type="primary", key="staff_cal_save"):
        try:
            with store.session_scope(engine) as db:
                version = params.save_version(db, outcome.params, author=user["user_id"],
                                              comment=comment.strip() or "calibration")
        except OrchardError as exc:
            st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
            return
        st.success(t("staff.cal.saved", lang, name=outcome.params.name, version=version))


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.cal.title", lang))
    st.markdown(t("staff.cal.intro", lang))
    with st.expander(t("staff.cal.format", lang)):
        st.code(EXAMPLE, language="text")
        st.caption(t("staff.cal.format_help", lang))
    engine = session.engine_for(config.database_url())
    # No ``type=``: Streamlit would refuse another extension with an exception of its own; staff_data checks
    # name, size and content and answers with one sentence. The size limit is one constant: the label says
    # it, the browser enforces it (``max_upload_size``) and staff_data checks it again on the server.
    with st.container(key="staff_cal_box"):  # Streamlit's own English words replaced on other languages
        session.uploader_in_language("staff_cal_box", t("staff.cal.choose", lang), lang)
        upload = st.file_uploader(t("staff.cal.upload", lang, max=sd.MAX_OBSERVATION_MB),
                                  key="staff_cal_upload", max_upload_size=sd.MAX_OBSERVATION_MB)
    slope = st.checkbox(t("staff.cal.slope", lang), value=True, key="staff_cal_slope")
    if upload is not None and st.button(t("staff.cal.run", lang), key="staff_cal_run"):
        st.session_state.pop(RESULT_KEY, None)
        try:
            observations = sd.read_observation_upload(upload.name, upload.getvalue())
            with st.spinner(t("staff.cal.running", lang, n=len(observations))):
                with store.session_scope(engine) as db:
                    outcome = sd.run_calibration(db, user["user_id"], observations, slope_correction=slope)
        except OrchardError as exc:
            show_error(exc, upload.name, lang)
            return
        except Exception as exc:  # noqa: BLE001 - an upload must never show a traceback
            st.error(t("staff.unexpected", lang, kind=type(exc).__name__))
            return
        st.session_state[RESULT_KEY] = outcome
        st.session_state["staff_cal_file"] = upload.name
    outcome = st.session_state.get(RESULT_KEY)
    if outcome is not None:
        show_result(engine, user, outcome, lang)


main()
