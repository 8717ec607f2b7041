"""Agronomist page: parameter sets in an editor, validated before saving, with versions, diffs and a re-run.

A set is chosen (the core weather set, one per cultivar, the pest sets, the advice sets; optionally a
district variant); its entries show value, unit, range, source and the assumption flag, and only value,
source and assumption can be edited (ranges and units change in the parameter file, with a source). Saving
validates first (one sentence naming the parameter, nothing saved) and stores a new version with the
signed-in user as author and a comment. The version history says who changed what and when, and diffs any
two versions. For sets the weekly run reads from the database, the week can be re-run: a background job
(``orchard run-week`` for every plot of the stored run) whose state the page shows, then the affected plots
before and after, read from the two stored runs.
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

ROLES = ("agronomist", "admin")
#: Message of the last save, shown once after the page reruns with the new version in force.
FLASH_KEY = "staff_params_flash"
#: Session key of the re-run job this session started, and how often its state is re-read while it runs [s].
JOB_KEY = "staff_rerun_job"
JOB_REFRESH_S = 2.0


def editor_key(name: str, version: int | None) -> str:
    """Widget key of the editor: a new version (or another set) starts a fresh editor."""
    return f"staff_params_editor::{name}::{version or 0}"


def set_label(spec: sd.SetSpec, lang: str) -> str:
    if spec.kind == "core":
        label = t("staff.set.weather", lang)
    elif spec.kind == "cultivar":
        label = t("staff.set.cultivar", lang, name=cultivar_label(spec.code, lang))
    elif spec.kind == "pest":
        label = t(f"staff.set.{spec.code}", lang) if spec.code in ("host", "outlook") else \
            t("staff.set.pest", lang, name=t(f"pest.{spec.code}", lang))
    else:
        label = t(f"staff.set.{spec.code}", lang)
    return f"{label} · {spec.name}"


def edit_error_text(exc: sd.EditError, lang: str) -> str:
    fields = dict(exc.fields)
    if "unit" in fields:
        fields["unit"] = i18n_params.unit_text(fields["unit"], lang)
    try:
        return t(f"staff.params.error.{exc.reason}", lang, **fields)
    except (KeyError, IndexError):
        return str(exc)


def editor_table(spec: sd.SetSpec, current: params.ParameterSet, lang: str) -> pd.DataFrame:
    """The editor's rows in the reader's language: each key's section, unit and description from the
    parameter-text catalogue (the files carry English; keys stay the codes the files use). Only value,
    source and assumption are read back (``staff_data.apply_edits``)."""
    frame = sd.editor_frame(current)
    frame.insert(1, "section", [i18n_params.section_text(k, lang) for k in frame["key"]])
    frame["unit"] = [i18n_params.unit_text(u, lang) for u in frame["unit"]]
    frame["description"] = [i18n_params.description_text(spec.name, spec.kind, k, d, lang)
                            for k, d in zip(frame["key"], frame["description"])]
    return frame


def column_config(lang: str) -> dict:
    return {
        "key": st.column_config.TextColumn(t("staff.params.col.key", lang), disabled=True),
        "section": st.column_config.TextColumn(t("staff.params.col.section", lang), disabled=True),
        "value": st.column_config.TextColumn(t("staff.params.col.value", lang), required=True),
        "unit": st.column_config.TextColumn(t("staff.params.col.unit", lang), disabled=True),
        "min": st.column_config.NumberColumn(t("staff.params.col.min", lang), disabled=True),
        "max": st.column_config.NumberColumn(t("staff.params.col.max", lang), disabled=True),
        "source": st.column_config.TextColumn(t("staff.params.col.source", lang), width="large"),
        "assumption": st.column_config.CheckboxColumn(t("staff.params.col.assumption", lang)),
        "description": st.column_config.TextColumn(t("staff.params.col.description", lang), disabled=True),
    }


def editor_section(engine, user: dict, spec: sd.SetSpec, current: params.ParameterSet, lang: str) -> None:
    st.subheader(t("staff.params.editor", lang))
    st.caption(t("staff.params.editor_help", lang))
    edited = st.data_editor(editor_table(spec, current, lang), key=editor_key(spec.name, current.version),
                            column_config=column_config(lang), hide_index=True, num_rows="fixed",
                            width="stretch")
    comment = st.text_input(t("staff.params.comment", lang), key=f"staff_params_comment::{spec.name}")
    if not st.button(t("staff.params.save", lang), type="primary", key="staff_params_save"):
        return
    try:
        new, changed = sd.apply_edits(current, edited, spec)
    except sd.EditError as exc:
        st.error(edit_error_text(exc, lang))
        return
    if not changed:
        st.info(t("staff.params.unchanged", lang))
        return
    if not comment.strip():
        st.error(t("staff.params.need_comment", lang))
        return
    try:
        with store.session_scope(engine) as db:
            version = params.save_version(db, new, author=user["user_id"], comment=comment.strip())
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    st.session_state[FLASH_KEY] = t("staff.params.saved", lang, version=version, n=len(changed),
                                    keys=", ".join(changed[:5]))
    st.rerun()  # the new version is now in force: caption, editor and history show it


def history_section(engine, spec: sd.SetSpec, lang: str) -> None:
    st.subheader(t("staff.params.history", lang))
    with store.session_scope(engine) as db:
        history = sd.version_history(db, spec.name)
    if not history:
        st.info(t("staff.params.no_versions", lang))
        return
    table = pd.DataFrame(history)[["version", "author_name", "created", "n_changes", "comment", "hash"]]
    st.dataframe(table.rename(columns={c: t(f"staff.params.hist.{c}", lang) for c in table.columns}),
                 hide_index=True, width="stretch")
    versions = [h["version"] for h in history]  # newest first
    # Keyed by the newest version: a widget keeps its value across reruns, so after a save the choices
    # would stay on the version that was newest before it (issue #19); a new version starts fresh widgets.
    newest = versions[0]
    chosen = st.selectbox(t("staff.params.changes_of", lang), versions,
                          key=f"staff_changes::{spec.name}::{newest}")
    with store.session_scope(engine) as db:
        changes = sd.version_changes(db, spec.name, chosen)
    if changes:
        st.dataframe(_named(pd.DataFrame(changes), lang), hide_index=True, width="stretch")
    else:
        st.caption(t("staff.params.first_version", lang))

    st.markdown(f"**{t('staff.params.diff', lang)}**")
    options = sorted(versions) + [0]
    def label(v: int) -> str:
        return t("staff.params.shipped", lang) if v == 0 else t("staff.params.version_n", lang, n=v)

    left, right = st.columns(2)
    old = left.selectbox(t("staff.params.diff_from", lang), options, index=len(options) - 1,
                         format_func=label, key=f"staff_diff_from::{spec.name}::{newest}")
    new = right.selectbox(t("staff.params.diff_to", lang), options, index=len(options) - 2, format_func=label,
                          key=f"staff_diff_to::{spec.name}::{newest}")
    with store.session_scope(engine) as db:
        diff = sd.version_diff(db, spec.name, old, new)
    if diff:
        st.dataframe(_named(pd.DataFrame(diff), lang), hide_index=True, width="stretch")
    else:
        st.caption(t("staff.params.no_diff", lang))


def _named(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table of changes for the reader: its columns, and the changed fields named as the editor names
    them."""
    if "field" in frame:
        names = [t("staff.params.field.note" if f == "note" else f"staff.params.col.{f}", lang)
                 for f in frame["field"]]
        frame = frame.assign(field=names)
    return frame.rename(columns={c: t(f"staff.params.diffcol.{c}", lang) for c in frame.columns})


def rerun_section(engine, user: dict, spec: sd.SetSpec, plots: list[dict], lang: str) -> None:
    """Re-run the week as a background job (every plot of the stored run, so it stays complete); the page
    shows the job's state and, once it is done, the chosen plots before and after."""
    st.subheader(t("staff.rerun.title", lang))
    if spec.used_by != "weekly":
        st.caption(t(f"staff.rerun.not_read.{spec.used_by}", lang))
        return
    with store.session_scope(engine) as db:
        run = sd.latest_run(db)
    day = st.date_input(t("staff.rerun.date", lang), value=run["issued_on"] if run else sd.DEFAULT_ISSUE_DATE,
                        key="staff_rerun_date")
    affected = sd.affected_plots(plots, spec)
    chosen = st.multiselect(t("staff.rerun.plots", lang), [p["plot_id"] for p in plots], default=affected,
                            key=f"staff_rerun_plots::{spec.name}")
    st.caption(t("staff.rerun.help", lang, n=len(affected), date=day.isoformat()))
    if st.button(t("staff.rerun.button", lang), key="staff_rerun_button"):
        try:
            job = sd.start_rerun(engine, day, caller=user["user_id"], reason=f"parameter set {spec.name}",
                                 compare_plots=chosen)
            st.session_state[JOB_KEY] = job["job_id"]
        except OrchardError as exc:
            st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
    job_id = st.session_state.get(JOB_KEY)
    if job_id is None:  # a page opened anew shows the latest re-run of the date
        earlier = sd.list_jobs(day)
        job_id = earlier[0]["job_id"] if earlier else None
    if job_id is not None:
        job_panel(engine, user, job_id, lang)


def job_panel(engine, user: dict, job_id: str, lang: str) -> None:
    """A re-run job's state; refreshed every few seconds while it runs (a fragment: the rest of the page
    stays as it is), then the comparison of the base run and the new run."""
    try:
        active = sd.job_status(job_id)["state"] in sd.ACTIVE_STATES
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return

    @st.fragment(run_every=JOB_REFRESH_S if active else None)
    def panel() -> None:
        job = sd.job_status(job_id)
        if job["state"] in sd.ACTIVE_STATES:
            st.info(t("staff.rerun.job_running", lang, date=job["issued_on"], job=job_id,
                      n=job.get("n_plots"), started=job.get("started_utc") or job.get("created_utc")))
            return
        if active:
            st.rerun()  # it has just ended: the whole page again, without the timer
        if job["state"] == "failed":
            st.error(t("staff.rerun.failed", lang, error=job.get("error") or ""))
        else:
            try:
                summary = sd.rerun_comparison(engine, user["user_id"], job)
            except OrchardError as exc:
                st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
                return
            st.success(t("staff.rerun.done", lang, n=summary.n_differences, changed=summary.n_changed,
                         added=summary.n_added, removed=summary.n_removed, plots=len(summary.plot_ids),
                         before=summary.n_before, after=summary.n_after, date=job["issued_on"],
                         total=job.get("n_plots")))
            st.caption(t("staff.rerun.runs", lang, base=summary.base_run_id or "–", run=summary.run_id)
                       + (" " + t("staff.rerun.same_run", lang) if summary.same_run else ""))
            if summary.status_changes:
                frame = pd.DataFrame(summary.status_changes)
                names = {c: t(f"staff.rerun.col.{c}", lang) for c in frame.columns}
                st.dataframe(frame.rename(columns=names), hide_index=True, width="stretch")
            else:
                st.caption(t("staff.rerun.no_changes", lang))
        with st.expander(t("staff.rerun.log", lang, job=job_id)):
            st.code(sd.job_log(job) or "–", language=None)

    panel()


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.params.title", lang))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            plots = store.list_plots(db, user["user_id"])
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    specs = {s.name: s for s in sd.parameter_specs()}
    name = st.selectbox(t("staff.params.choose", lang), list(specs), key="staff_params_set",
                        format_func=lambda n: set_label(specs[n], lang))
    districts = sorted({p["district"] for p in plots if p.get("district")})
    district = st.selectbox(t("staff.params.district", lang), [""] + districts, key="staff_params_district",
                            format_func=lambda d: d or t("staff.params.all_districts", lang))
    try:
        spec = sd.spec_for(sd.district_set_name(name, district))
        with store.session_scope(engine) as db:
            current = sd.current_set(db, spec.name)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    if spec.district:
        st.warning(t("staff.params.district_note", lang, district=spec.district))
    else:
        st.info(t(f"staff.params.used_by.{spec.used_by}", lang))
    if current.version:
        st.caption(t("staff.params.current_version", lang, version=current.version, hash=current.hash))
    else:
        st.caption(t("staff.params.current_shipped", lang, hash=current.hash))
    editor_section(engine, user, spec, current, lang)
    try:
        history_section(engine, spec, lang)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
    rerun_section(engine, user, spec, plots, lang)


main()
