"""What the agronomist and extension pages show, computed without Streamlit (tested on its own).

Parameter sets (which exist, where versions are stored, the editor table and its validation, version
history and diffs), re-running the weekly advice for the plots a change affects, calibration uploads,
stored advice, the weekly risk-map exports (listing, reading the class raster for an offline map, the plot
table, a zip of the bundle) and the district account of pesticide use and carbon.

Every function takes plain values (a database session, a user id, paths) and returns plain data; project
errors (:class:`orchard.errors.OrchardError`) propagate and the pages show their sentence. Access is checked
in the data layer (``orchard.store``) with the signed-in user's id; nothing here trusts an id from a form.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from orchard import config, params, store
from orchard.bundle import declared_sets
from orchard.errors import InputError, OrchardError, ParameterError

# ----------------------------------------------------------------------------------------------------------
# Parameter sets
# ----------------------------------------------------------------------------------------------------------
#: Separator between a set's name and a district in the name of a district variant (``growth.valencia@X``).
DISTRICT_SEPARATOR = params.DISTRICT_SEPARATOR
#: Longest stored set name (``parameter_versions.name`` is VARCHAR(100)).
MAX_SET_NAME = 100
#: Columns of the parameter editor, in order; only ``value``, ``source`` and ``assumption`` are editable
#: (units and ranges change in the parameter file with a source, as ``ParameterSet.with_overrides`` rules).
EDITOR_COLUMNS = ("key", "value", "unit", "min", "max", "source", "assumption", "description")
EDITABLE_COLUMNS = ("value", "source", "assumption")
#: Fields compared in a version diff.
DIFF_FIELDS = ("value", "unit", "min", "max", "source", "assumption", "note")

#: Default issue date of a re-run when no run is stored: a summer day inside the sample weather (2010-2017).
DEFAULT_ISSUE_DATE = date(2016, 7, 15)

PEST_SETS = ("black_spot", "canker", "mites", "leaf_miner", "host", "outlook")


@dataclass(frozen=True)
class SetSpec:
    """A parameter set the agronomist pages can edit (one declared set of the registry,
    :func:`orchard.bundle.declared_sets`, or a district variant of one).

    Attributes
    ----------
    name : str
        Name under which versions are stored (``orchard.params.save_version``); for the sets the models
        read from the database it is the name their loader looks up.
    kind : {"core", "cultivar", "pest", "soil", "monitoring", "advice"}
    code : str or None
        Cultivar or pest code (or the set's short name in its package).
    used_by : str
        ``"weekly"`` when the weekly run reads the latest stored version (through its parameter bundle,
        ``orchard.bundle.resolve``), ``"accounting"`` when the season account does, ``"none"`` when the
        models still read the shipped file only (a stored version is kept for review, not used).
    district : str or None
        District of a district variant (``<name>@<district>``); the growth model reads cultivar variants
        for the plots of that district, the other modules not yet.
    """

    name: str
    kind: str
    code: str | None
    used_by: str
    district: str | None = None

    @property
    def base_name(self) -> str:
        return self.name.split(DISTRICT_SEPARATOR, 1)[0]


def parameter_specs() -> list[SetSpec]:
    """Every editable parameter set, as the packages declare them (:func:`orchard.bundle.declared_sets`):
    the core weather set, one per cultivar, the pest sets, the soil and monitoring sets, the advice sets.

    The weekly advice reads the latest stored version of each set declared ``used_by="weekly"``
    (``orchard.params.in_force``); the season account reads ``carbon``.
    """
    return [SetSpec(d.name, d.kind, d.code, d.used_by) for d in declared_sets().values()]


def district_set_name(name: str, district: str | None) -> str:
    """The stored name of a district variant (``name@district``); ``name`` itself for all districts."""
    if not district:
        return name
    full = f"{name}{DISTRICT_SEPARATOR}{district.strip()}"
    if len(full) > MAX_SET_NAME:
        raise InputError(f"the set name '{full}' is longer than {MAX_SET_NAME} characters; use a shorter "
                         "district name.")
    return full


def spec_for(name: str) -> SetSpec:
    """The spec of a set name, district variants (``name@district``) included."""
    base, _, district = name.partition(DISTRICT_SEPARATOR)
    declared = declared_sets()
    if base in declared:
        spec = SetSpec(base, declared[base].kind, declared[base].code, declared[base].used_by)
        if district:  # the growth model prefers a district's cultivar set for that district's plots
            return SetSpec(name, spec.kind, spec.code, "weekly" if spec.kind == "cultivar" else "none",
                           district)
        return spec
    known = ", ".join(declared)
    raise InputError(f"unknown parameter set '{name}'; known sets are {known}.")


def shipped_set(spec: SetSpec) -> params.ParameterSet:
    """The set as shipped with the code (no stored version), named as stored."""
    shipped = declared_sets()[spec.base_name].load_shipped()
    return params.ParameterSet(spec.name, shipped.entries, source_path=shipped.source_path)


def check_consistency(spec: SetSpec, pset: params.ParameterSet) -> None:
    """Rules across parameters a per-entry range cannot express (pest sets: tmin < topt < tmax, …): the
    check the set's package declares (``SetDeclaration.check``)."""
    declared_sets()[spec.base_name].run_check(pset)


def _stored_over_shipped(shipped: params.ParameterSet, stored: params.ParameterSet, name: str,
                         version: int) -> params.ParameterSet:
    """A stored version checked against the shipped set: same keys, units and ranges (a release that
    renames a parameter or changes a range fails loudly instead of running on a stale set)."""
    fields = {}
    for key, entry in stored.entries.items():
        item = entry.as_dict()
        if item.get("note") is None:
            item.pop("note", None)
        fields[key] = item
    merged = shipped.with_overrides(fields)
    return params.ParameterSet(name, merged.entries, version=version)


def current_set(session, name: str) -> params.ParameterSet:
    """The set in force: its latest stored version (checked against the shipped set), else the shipped one.

    A district variant without a version starts from the set for all districts.
    """
    spec = spec_for(name)
    shipped = shipped_set(SetSpec(spec.base_name, spec.kind, spec.code, spec.used_by))
    versions = params.list_versions(session, name)
    if versions:
        stored = params.load_version(session, name)
        return _stored_over_shipped(shipped, stored, name, stored.version)
    if spec.district:
        base = current_set(session, spec.base_name)
        return params.ParameterSet(name, base.entries)
    return params.ParameterSet(name, shipped.entries)


def value_text(value) -> str:
    """A parameter value as editable text: ``13.0``, ``12`` or ``1.0, 2.5, 3.0`` for a list."""
    if isinstance(value, (tuple, list)):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def editor_frame(pset: params.ParameterSet) -> pd.DataFrame:
    """One row per parameter for ``st.data_editor``: key, value (as text, lists comma-separated), unit,
    min, max, source, assumption, description."""
    rows = [{"key": key, "value": value_text(p.value), "unit": p.unit, "min": float(p.min),
             "max": float(p.max), "source": p.source, "assumption": bool(p.assumption),
             "description": p.description} for key, p in pset.entries.items()]
    return pd.DataFrame(rows, columns=list(EDITOR_COLUMNS))


class EditError(ParameterError):
    """An edit that fails validation: ``reason`` and ``fields`` let the page translate the sentence.

    Reasons: ``not_number`` (name, text), ``out_of_range`` (name, value, min, max, unit), ``length`` (name,
    n), ``empty_source`` (name), ``unknown_key`` (name), ``rule`` (message: a cross-parameter rule).
    """

    def __init__(self, reason: str, sentence: str, **fields):
        super().__init__(sentence)
        self.reason = reason
        self.fields = fields


_SPLIT = re.compile(r"[,，;；\s]+")


def _parse_number(key: str, text: str, integer: bool) -> int | float:
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise EditError("not_number", f"{key}: '{text}' is not a number; type a number such as 12.5.",
                        name=key, text=text) from None
    if not math.isfinite(number):
        raise EditError("not_number", f"{key}: '{text}' is not a number; type a number such as 12.5.",
                        name=key, text=text)
    if integer and number.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return int(number)
    return number


def _parse_value(key: str, raw, entry: params.Parameter):
    """The edited cell as the entry's type (a number, or a list of as many numbers)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and not isinstance(entry.value, tuple):
        text = repr(raw)
    else:
        text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
    if isinstance(entry.value, tuple):
        parts = [p for p in _SPLIT.split(text) if p]
        if len(parts) != len(entry.value):
            raise EditError("length", f"{key}: give {len(entry.value)} numbers separated by commas.",
                            name=key, n=len(entry.value))
        return tuple(_parse_number(f"{key}[{i}]", part, isinstance(old, int))
                     for i, (part, old) in enumerate(zip(parts, entry.value, strict=True)))
    if not text:
        raise EditError("not_number", f"{key}: the value is empty; type a number.", name=key, text="")
    return _parse_number(key, text, isinstance(entry.value, int))


def apply_edits(pset: params.ParameterSet, edited: pd.DataFrame,
                spec: SetSpec | None = None) -> tuple[params.ParameterSet, list[str]]:
    """Validate the editor's table and return the edited set and the keys that changed.

    Nothing is saved here. Values must be numbers (lists keep their length) inside the entry's
    [min, max]; a source may not be emptied; for pest sets the cross-parameter rules are checked too.

    Raises
    ------
    EditError
        The first problem, naming the parameter (one sentence).
    """
    overrides: dict[str, dict] = {}
    for row in edited.to_dict("records"):
        key = str(row.get("key"))
        if key not in pset.entries:
            raise EditError("unknown_key", f"'{key}' is not a parameter of this set; reload the page.",
                            name=key)
        entry = pset.entry(key)
        value = _parse_value(key, row.get("value"), entry)
        items = value if isinstance(value, tuple) else (value,)
        for i, x in enumerate(items):
            if not entry.min <= x <= entry.max:
                label = f"{key}[{i}]" if isinstance(value, tuple) else key
                raise EditError("out_of_range",
                                f"{label} = {x:g} {entry.unit} is outside its range "
                                f"{entry.min:g}–{entry.max:g} {entry.unit}; correct the value.",
                                name=label, value=f"{x:g}", min=f"{entry.min:g}", max=f"{entry.max:g}",
                                unit=entry.unit)
        source = row.get("source")
        source = "" if source is None or (isinstance(source, float) and math.isnan(source)) else str(source)
        if not source.strip():
            raise EditError("empty_source", f"{key}: the source is empty; say where the value comes from.",
                            name=key)
        assumption = bool(row.get("assumption")) if row.get("assumption") is not None else entry.assumption
        changed = {}
        old_value = entry.value
        if (tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)) != \
                (tuple(float(v) for v in old_value) if isinstance(old_value, tuple) else float(old_value)):
            changed["value"] = list(value) if isinstance(value, tuple) else value
        if source.strip() != entry.source:
            changed["source"] = source.strip()
        if assumption != entry.assumption:
            changed["assumption"] = assumption
        if changed:
            overrides[key] = changed
    if not overrides:
        return pset, []
    try:
        new = pset.with_overrides(overrides)
    except ParameterError as exc:  # anything the checks above missed: the model layer's sentence
        raise EditError("rule", str(exc), message=str(exc)) from None
    new = params.ParameterSet(pset.name, new.entries)
    if spec is not None:
        try:
            check_consistency(spec, new)
        except ParameterError as exc:
            raise EditError("rule", str(exc), message=str(exc)) from None
    return new, sorted(overrides)


def local_time(moment: datetime | None) -> str:
    """A stored UTC time as China local time "YYYY-MM-DD HH:MM" ("" for None)."""
    return _local_time(moment)


def _local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(config.CHINA_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def version_history(session, name: str) -> list[dict]:
    """Stored versions of ``name``, newest first: version, author (id and display name), local time,
    number of changes, comment, hash."""
    names = {u["user_id"]: u["display_name"] for u in store.list_users(session)}
    rows = [{"version": r.version, "author": r.author, "author_name": names.get(r.author, r.author),
             "created": _local_time(r.created_utc), "n_changes": r.n_changes, "comment": r.comment,
             "hash": r.hash} for r in params.list_versions(session, name)]
    return rows[::-1]


def version_changes(session, name: str, version: int) -> list[dict]:
    """What changed in ``version`` against the version before: ``[{key, field, old, new}]`` as stored."""
    from sqlalchemy import select

    row = session.scalars(select(store.ParameterVersion).where(
        store.ParameterVersion.name == name, store.ParameterVersion.version == int(version))).first()
    if row is None:
        raise InputError(f"version {version} of parameter set '{name}' is not stored; pick one from the "
                         "list.")
    return [{"key": c["key"], "field": c["field"], "old": _cell(c.get("old")), "new": _cell(c.get("new"))}
            for c in (row.changes or [])]


def _cell(value) -> str:
    """A stored value as table text (lists comma-separated, whole entries as JSON)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value_text(value) if isinstance(value, (int, float, list, tuple)) and not isinstance(value, bool) \
        else str(value)


def set_at(session, name: str, version: int) -> params.ParameterSet:
    """Version ``version`` of set ``name``; 0 is the shipped set."""
    if int(version) == 0:
        spec = spec_for(name)
        return shipped_set(SetSpec(name, spec.kind, spec.code, spec.used_by))
    return params.load_version(session, name, int(version))


def version_diff(session, name: str, old: int, new: int) -> list[dict]:
    """Field differences between two versions of a set (0 = shipped): ``[{key, field, old, new}]``."""
    a, b = set_at(session, name, old).entries, set_at(session, name, new).entries
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            out.append({"key": key, "field": "entry", "old": "" if key not in a else _cell(a[key].as_dict()),
                        "new": "" if key not in b else _cell(b[key].as_dict())})
            continue
        da, db = a[key].as_dict(), b[key].as_dict()
        for name_ in DIFF_FIELDS:
            va, vb = da.get(name_), db.get(name_)
            if name_ == "value":
                same = np.allclose(np.atleast_1d(np.asarray(va, float)), np.atleast_1d(np.asarray(vb, float)),
                                   rtol=0, atol=0) if np.size(va) == np.size(vb) else False
            else:
                same = va == vb
            if not same:
                out.append({"key": key, "field": name_, "old": _cell(va), "new": _cell(vb)})
    return out


def affected_plots(plots: Sequence[Mapping], spec: SetSpec) -> list[str]:
    """Plots whose advice a change of ``spec`` can change: a cultivar's plots, all plots for the core set,
    none for sets the weekly run does not read from the database."""
    if spec.used_by != "weekly":
        return []
    if spec.kind == "cultivar":
        return [p["plot_id"] for p in plots if p.get("cultivar") == spec.code
                and (spec.district is None or p.get("district") == spec.district)]
    return [p["plot_id"] for p in plots]


# ----------------------------------------------------------------------------------------------------------
# Re-running the weekly chain: a background job (the page starts it and shows its state, never waits on it)
# ----------------------------------------------------------------------------------------------------------
#: Roles that may start a re-run (it rewrites the stored run every page shows).
RERUN_ROLES = ("agronomist", "admin")
#: Job states: still going, and how a job ends.
ACTIVE_STATES = ("starting", "running")
#: plot_status numbers the re-run comparison lists when they changed.
STATUS_COMPARED = ("stage", "fruit_diameter_mm", "brix", "maturity_p50", "maturity_delay_days",
                   "max_pest_level_15d", "ks", "irrigate", "ndvi", "top_severity")
#: Popen objects of the jobs this server process started (polled, so no finished job stays a zombie).
_CHILDREN: dict[str, object] = {}


@dataclass
class RerunSummary:
    """How a re-run changed the stored run, for the plots compared (read from the two stored runs)."""

    job_id: str
    issued_on: date
    base_run_id: str | None
    run_id: str
    plot_ids: list[str]
    n_before: int
    n_after: int
    n_changed: int
    n_added: int
    n_removed: int
    n_unchanged: int
    same_run: bool
    status_changes: list[dict] = field(default_factory=list)

    @property
    def n_differences(self) -> int:
        """Recommendations that are new, gone or different (the number the page reports)."""
        return self.n_changed + self.n_added + self.n_removed


def _identity(rec: Mapping) -> tuple:
    numbers = rec.get("action_numbers") or {}
    return (rec["plot_id"], rec["topic"], rec.get("module"), numbers.get("pest"))


def _content(rec: Mapping) -> tuple:
    numbers = json.dumps(rec.get("action_numbers") or {}, sort_keys=True, default=str)
    return (int(rec["severity"]), rec["action_key"], numbers, str(rec.get("valid_from")),
            str(rec.get("valid_to")))


def compare_recommendations(before: Iterable[Mapping], after: Iterable[Mapping]) -> dict[str, int]:
    """Counts of recommendations changed, added, removed and unchanged between two lists.

    Two recommendations are the same advice when plot, topic, module and pest match; they changed when
    their severity, action, numbers or validity differ.
    """
    def grouped(recs):
        out: dict[tuple, list] = {}
        for r in recs:
            out.setdefault(_identity(r), []).append(_content(r))
        return {k: sorted(v) for k, v in out.items()}

    old, new = grouped(before), grouped(after)
    counts = {"changed": 0, "added": 0, "removed": 0, "unchanged": 0}
    for key in set(old) | set(new):
        a, b = old.get(key, []), new.get(key, [])
        same = [x for x in a if x in b]
        counts["unchanged"] += len(same)
        rest_a = len(a) - len(same)
        rest_b = len(b) - len(same)
        paired = min(rest_a, rest_b)
        counts["changed"] += paired
        counts["removed"] += rest_a - paired
        counts["added"] += rest_b - paired
    return counts


def merge_labels(old: str, new: str) -> str:
    """Merge two ``"; "``-separated parameter-set labels, the new entry winning per cultivar or set name
    (``valencia: growth.valencia v2 …`` / ``black_spot@hash``)."""
    def parts(text):
        out = {}
        for part in (p.strip() for p in str(text or "").split(";")):
            if part:
                out[re.split(r"[:@]", part, maxsplit=1)[0].strip()] = part
        return out

    merged = parts(old)
    merged.update(parts(new))
    return "; ".join(merged[k] for k in sorted(merged))


def latest_run(session, issued_on: date | None = None) -> dict | None:
    """The latest stored weekly run (the one ``store.list_recommendations`` shows), or the latest for one
    issue date: run_id, issued_on, created (local), parameter_sets, sources, n_plots, notes."""
    from sqlalchemy import select

    query = select(store.AdviceRun)
    if issued_on is not None:
        query = query.where(store.AdviceRun.issued_on == issued_on)
    row = session.scalars(query.order_by(store.AdviceRun.issued_on.desc(),
                                         store.AdviceRun.created_utc.desc()).limit(1)).first()
    if row is None:
        return None
    return {"run_id": row.run_id, "issued_on": row.issued_on, "created": _local_time(row.created_utc),
            "parameter_sets": dict(row.parameter_sets or {}), "sources": dict(row.sources or {}),
            "n_plots": row.n_plots, "notes": list(row.notes or [])}


def jobs_root() -> Path:
    """The folder of the app's job status files and logs (``ORCHARD_HOME/jobs``)."""
    return config.orchard_home().resolve() / "jobs"


def rerun_command(day: date, plot_ids: Sequence[str] | None = None) -> list[str]:
    """``orchard run-week --date D`` (``--plots`` for each plot when not every plot), in this Python."""
    command = [sys.executable, "-m", "orchard.cli", "run-week", "--date", day.isoformat()]
    for pid in plot_ids or ():
        command += ["--plots", pid]
    return command


def _job_alive(job: Mapping) -> bool:
    """Whether a job's process still runs: a child of this server is polled (so it is reaped when done);
    another's pid is looked up; a job not yet started by its runner counts as alive for a minute."""
    child = _CHILDREN.get(str(job.get("job_id")))
    if child is not None:
        return child.poll() is None
    pid = job.get("pid")
    if not pid:
        try:
            age = datetime.now(ZoneInfo("UTC")) - datetime.fromisoformat(job.get("created_utc") or "")
        except ValueError:
            return False
        return age.total_seconds() < 60
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (finished, not yet reaped by its parent) is not running
        return Path(f"/proc/{int(pid)}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def job_status(job_id: str) -> dict:
    """A job's status file, with a job whose process is gone without an end marked "failed".

    Raises
    ------
    orchard.errors.InputError
        No such job (an id that is not a job file name is refused before any path is built).
    """
    import jobs

    if not re.fullmatch(r"rerun-[0-9A-Za-z_-]+", str(job_id)):
        raise InputError(f"'{job_id}' is not a job id; start a re-run from the parameters page.")
    path = jobs_root() / f"{job_id}.json"
    try:
        job = jobs.read_job(path)
    except (OSError, ValueError):
        raise InputError(f"there is no job '{job_id}'; start a re-run from the parameters page.") from None
    if job["state"] in ACTIVE_STATES and not _job_alive(job):
        job = jobs.read_job(path)  # it may have written its end just now
        if job["state"] in ACTIVE_STATES:
            tail = jobs.last_sentence(jobs.log_tail(job["log"]))
            job.update(state="failed", error=f"the job's process {job.get('pid')} stopped without a result"
                       + (f" (last output: {tail})" if tail else "") + "; start the re-run again.")
    return job


def list_jobs(issued_on: date | None = None) -> list[dict]:
    """Re-run jobs (optionally of one issue date), newest first."""
    root = jobs_root()
    out = []
    for path in sorted(root.glob("rerun-*.json"), reverse=True) if root.exists() else []:
        try:
            job = job_status(path.stem)
        except InputError:
            continue
        if issued_on is None or job.get("issued_on") == issued_on.isoformat():
            out.append(job)
    return sorted(out, key=lambda j: j.get("created_utc", ""), reverse=True)


def _snapshot(session, caller: str, run_id: str, plot_ids: Sequence[str]) -> dict:
    """The base run's recommendations and plot_status rows of some plots, for the comparison when the
    re-run replaces the base run under the same id (same parameters and plots)."""
    from orchard import results

    wanted = set(plot_ids)
    recs = [r for r in store.list_recommendations(session, caller, run_id=run_id) if r["plot_id"] in wanted]
    table = results.status_table(session, caller, run_id)
    rows = table[table["plot_id"].isin(wanted)][["plot_id", *STATUS_COMPARED]].to_dict("records")
    return {"run_id": run_id, "recommendations": recs, "status": rows}


def start_rerun(engine, issue_date, *, caller: str, reason: str = "",
                compare_plots: Sequence[str] | None = None) -> dict:
    """Start ``orchard run-week --date D`` in the background for every plot of the stored run of that date
    (every plot without one), so the stored run stays complete, and return the job's status.

    The job is a status file under ``ORCHARD_HOME/jobs/`` (pid, start, state, exit code, log path; see
    ``app/jobs.py``) that :func:`job_status` reads; :func:`rerun_comparison` compares the new run with the
    base run once the job is done. ``compare_plots`` (default: every plot of the run) are the plots the
    comparison lists.

    Raises
    ------
    orchard.errors.AccessError
        The caller may not re-run (growers, extension staff).
    orchard.errors.InputError
        A re-run of the same date is still running.
    """
    import subprocess
    import uuid

    import jobs
    from orchard import results
    from orchard.errors import AccessError

    day = pd.Timestamp(issue_date).date()
    with store.session_scope(engine) as session:
        user = session.get(store.User, caller) if isinstance(caller, str) else None
        if user is None or user.role not in RERUN_ROLES:
            raise AccessError(f"only agronomists and administrators may re-run the weekly chain, not "
                              f"'{caller}'; ask one of them.")
        every = sorted(p["plot_id"] for p in store.list_plots(session, caller))
        base = latest_run(session, day)
        plots = [] if base is None else sorted(
            results.status_table(session, caller, base["run_id"])["plot_id"])
        plots = plots or every  # a run stored before plot_status existed: every plot
        for pid in compare_plots or ():
            store.get_plot(session, caller, pid)  # an id from a form is checked like any other
        focus = sorted(set(compare_plots or plots) & set(plots)) or plots
        snapshot = _snapshot(session, caller, base["run_id"], focus) if base is not None else None
    running = [j for j in list_jobs(day) if j["state"] in ACTIVE_STATES]
    if running:
        raise InputError(f"a re-run of {day} is already running (job {running[0]['job_id']}, started "
                         f"{running[0].get('created_utc', '')}); wait for it to finish.")
    root = jobs_root()
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%S")
    job_id = f"rerun-{stamp}-{uuid.uuid4().hex[:6]}"
    path = root / f"{job_id}.json"
    if snapshot is not None:
        with open(root / f"{job_id}.before.json", "w", encoding="utf-8") as f:
            json.dump(snapshot, f, ensure_ascii=False, default=str)
    job = {"job_id": job_id, "kind": "run-week", "issued_on": day.isoformat(),
           "command": rerun_command(day, None if plots == every else plots), "n_plots": len(plots),
           "compare_plots": focus, "base_run_id": base["run_id"] if base else None, "caller": caller,
           "reason": reason, "state": "starting", "created_utc": jobs.now_utc(), "started_utc": None,
           "finished_utc": None, "pid": None, "exit_code": None, "run_id": None, "error": None,
           "log": str(root / f"{job_id}.log"), "cwd": os.getcwd()}
    jobs.write_job(path, job)
    env = dict(os.environ, ORCHARD_HOME=str(config.orchard_home().resolve()), COLUMNS="240",
               PYTHONUNBUFFERED="1")
    try:
        child = subprocess.Popen([sys.executable, str(Path(__file__).with_name("jobs.py")), str(path)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    except OSError as exc:
        jobs.update_job(path, state="failed", error=f"the re-run could not start ({exc}).")
        raise InputError(f"the re-run could not start ({exc}); check the server's Python.") from None
    _CHILDREN[job_id] = child  # the runner writes its own pid and state: the page only reads from here on
    return dict(job, runner_pid=child.pid)


def job_log(job: Mapping, n_bytes: int = 4000) -> str:
    """The end of a job's log (what the command printed)."""
    import jobs

    path = Path(str(job.get("log") or ""))
    if path.parent != jobs_root():  # only logs of the jobs folder
        return ""
    return jobs.log_tail(path, n_bytes)


def wait_for_job(job_id: str, timeout_s: float = 600.0, poll_s: float = 0.5) -> dict:
    """Block until a job has ended (or ``timeout_s`` has passed) and return its status (tests, scripts)."""
    import time

    end = time.monotonic() + timeout_s
    job = job_status(job_id)
    while job["state"] in ACTIVE_STATES and time.monotonic() < end:
        time.sleep(poll_s)
        job = job_status(job_id)
    return job


def _new_run_id(session, job: Mapping) -> str | None:
    """The run a finished job stored: from its log, else the latest run of its date made after it began."""
    if job.get("run_id"):
        return job["run_id"]
    run = latest_run(session, date.fromisoformat(job["issued_on"]))
    return run["run_id"] if run is not None else None


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value.item() if hasattr(value, "item") else value)


def rerun_comparison(engine, caller: str, job: Mapping) -> RerunSummary:
    """Before and after of a finished re-run, read from the two stored runs (the base run's snapshot when
    the re-run replaced it under the same id): recommendation counts and the changed plot_status numbers of
    the compared plots."""
    from orchard import results

    if job.get("state") != "done":
        raise InputError(f"the job {job.get('job_id')} has not finished; wait for it to be done.")
    focus = list(job.get("compare_plots") or [])
    wanted = set(focus)
    with store.session_scope(engine) as session:
        run_id = _new_run_id(session, job)
        if run_id is None:
            raise InputError(f"the re-run of {job['issued_on']} stored no run; see its log {job['log']}.")
        after = [r for r in store.list_recommendations(session, caller, run_id=run_id)
                 if not wanted or r["plot_id"] in wanted]
        after_status = results.status_table(session, caller, run_id)
        base_id = job.get("base_run_id")
        same = base_id == run_id
        if base_id and not same and _run_exists(session, base_id):
            before = [r for r in store.list_recommendations(session, caller, run_id=base_id)
                      if not wanted or r["plot_id"] in wanted]
            before_status = results.status_table(session, caller, base_id).to_dict("records")
        else:
            snapshot = _read_snapshot(job)
            before, before_status = snapshot["recommendations"], snapshot["status"]
    if not wanted:
        focus = sorted(set(after_status["plot_id"]))
        wanted = set(focus)
    old = {r["plot_id"]: r for r in before_status if r["plot_id"] in wanted}
    changes = []
    for r in after_status.to_dict("records"):
        if r["plot_id"] not in wanted or r["plot_id"] not in old:
            continue
        for name in STATUS_COMPARED:
            a, b = _plain(old[r["plot_id"]].get(name)), _plain(r.get(name))
            if a != b and not _close(a, b):
                changes.append({"plot_id": r["plot_id"], "field": name, "before": a, "after": b})
    counts = compare_recommendations(before, after)
    return RerunSummary(job_id=str(job["job_id"]), issued_on=date.fromisoformat(job["issued_on"]),
                        base_run_id=base_id, run_id=run_id, plot_ids=focus, n_before=len(before),
                        n_after=len(after), n_changed=counts["changed"], n_added=counts["added"],
                        n_removed=counts["removed"], n_unchanged=counts["unchanged"], same_run=same,
                        status_changes=changes)


def _close(a: str | None, b: str | None) -> bool:
    try:
        return a is not None and b is not None and math.isclose(float(a), float(b), abs_tol=1e-9)
    except ValueError:
        return False


def _run_exists(session, run_id: str) -> bool:
    return session.get(store.AdviceRun, run_id) is not None


def _read_snapshot(job: Mapping) -> dict:
    path = jobs_root() / f"{job['job_id']}.before.json"
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"recommendations": [], "status": []}


# ----------------------------------------------------------------------------------------------------------
# Uploads and calibration
# ----------------------------------------------------------------------------------------------------------
#: Largest observation file the calibration page accepts [MB] (a season of observations is a few kB): the one
#: limit its label states, its uploader enforces in the browser and :func:`read_observation_upload` checks.
MAX_OBSERVATION_MB = 2
MAX_OBSERVATION_BYTES = MAX_OBSERVATION_MB * 1024 * 1024


class UploadError(InputError):
    """An upload refused before or while it is read, with ``reason`` and ``fields`` so that a page can say it
    in its own language (the sentence itself is English, for the log and the English page).

    Reasons: ``wrong_type`` (name, types), ``empty`` (name), ``too_large`` (name, mb, max), ``binary``
    (name), ``no_rows`` (name).
    """

    def __init__(self, reason: str, sentence: str, **fields):
        super().__init__(sentence)
        self.reason = reason
        self.fields = fields


def check_upload(name: str, data: bytes, *, suffixes: Sequence[str], max_bytes: int, what: str) -> None:
    """Refuse an upload by name and size before anything parses it (one sentence)."""
    suffix = Path(name or "").suffix.lower()
    if suffix not in suffixes:
        raise UploadError("wrong_type",
                          f"{name}: is not a {what} ({' or '.join(suffixes)}); upload a {what}.", name=name,
                          types=" / ".join(s.lstrip(".").upper() for s in suffixes))
    if not data:
        raise UploadError("empty", f"{name}: the file is empty.", name=name)
    if len(data) > max_bytes:
        raise UploadError("too_large", f"{name}: the file is {len(data) / 1024**2:.1f} MB, more than the "
                          f"{max_bytes / 1024**2:.0f} MB this page accepts; split it.", name=name,
                          mb=len(data) / 1024**2, max=round(max_bytes / 1024**2))


def read_observation_upload(name: str, data: bytes) -> pd.DataFrame:
    """Observations from an uploaded CSV (``plot_id, date, variable, value``), read as
    ``orchard growth calibrate`` reads a file; errors name the uploaded file."""
    from growth import calibrate

    check_upload(name, data, suffixes=(".csv",), max_bytes=MAX_OBSERVATION_BYTES, what="CSV file")
    if b"\x00" in data[:4096]:
        raise UploadError("binary", f"{name}: is not a text CSV file (it holds binary data); upload a CSV "
                          "file.", name=name)
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name) or "observations.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / safe
        path.write_bytes(data)
        try:
            frame = calibrate.read_observations(path)
        except calibrate.ObservationFileError as exc:
            if [f.kind for f in exc.faults] != ["empty"]:
                raise
            frame = pd.DataFrame()
    if frame.empty:  # said as an upload error: the file is there, its rows are not
        raise UploadError("no_rows", f"{name}: holds no observations; add rows under the header.", name=name)
    return frame


#: Rows named in one fault before "…" (a file with a bad column of dates has one fault per row).
FAULT_ROWS_SHOWN = 10


def fault_lines(error, translate: Callable[..., str], comma: str = ", ") -> list[str]:
    """Every fault of an observation file (``growth.calibrate.ObservationFileError.faults``), one line each
    in the reader's language (``translate(key, **fields)``, keys ``staff.cal.fault.<kind>``), so the whole
    file is fixed in one go; a kind the catalogue does not know yet keeps the fault's own sentence."""
    lines = []
    for fault in error.faults:
        rows = comma.join(str(r) for r in fault.rows[:FAULT_ROWS_SHOWN])
        rows += "…" if len(fault.rows) > FAULT_ROWS_SHOWN else ""
        key = f"staff.cal.fault.{fault.kind}"
        text = translate(key, rows=rows, value=fault.value)
        lines.append(fault.sentence if text == key else text)
    return lines


@dataclass
class CalibrationOutcome:
    """A calibration run for the page: the fitted set, tables of parameters, errors and residuals."""

    cultivar: str
    result: object  # growth.calibrate.CalibrationResult
    parameters: pd.DataFrame
    errors: pd.DataFrame
    residuals: pd.DataFrame

    @property
    def params(self) -> params.ParameterSet:
        return self.result.params


def _residual_rows(ds, obs: pd.DataFrame, pset, column: str) -> pd.Series:
    from growth import calibrate

    parts = calibrate.residuals(ds, obs, pset)
    out = pd.Series(np.nan, index=obs.index, dtype=float)
    for variable, values in parts.items():
        index = obs.index[(obs["variable"] == variable).to_numpy()]
        out.loc[index] = values
    return out.rename(column)


def run_calibration(session, caller: str, observations: pd.DataFrame, *,
                    slope_correction: bool = True) -> CalibrationOutcome:
    """Fit the observed cultivar's parameters (``growth.calibrate.calibrate``) starting from its set in force.

    Plots come from ``store.list_plots(caller)``: observations on a plot the caller may not see are an
    error naming the plot.
    """
    from growth import calibrate, cultivars, model
    from growth.model import bloom_year_of, season_start
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet

    rows = store.list_plots(session, caller)
    known = {r["plot_id"] for r in rows}
    unknown = sorted(set(observations["plot_id"]) - known)
    if unknown:  # every one of them, so the file is fixed in one go
        names = ", ".join(f"'{p}'" for p in unknown)
        sentence = (f"the observations name plot {names}, which is not among your plots" if len(unknown) == 1
                    else f"the observations name plots {names}, which are not among your plots")
        raise calibrate.ObservationFileError("the observations", [calibrate.ObservationFault(
            "unknown_plot", (), ", ".join(unknown), sentence + "; check the plot_id column")])
    rows = [r for r in rows if r["plot_id"] in set(observations["plot_id"])]
    plots = PlotSet.from_records(rows)
    plots_ds = plots.to_dataset()
    code = calibrate.cultivar_of_observations(plots_ds, observations)
    first = season_start(bloom_year_of(observations["date"].min()))
    last = observations["date"].max() + pd.Timedelta(days=15)
    weather = plot_weather(session, plots, resolution="daily", start=str(first.date()),
                           end=f"{last.date()} 23:59:59")
    start_set = cultivars.cultivar_parameters(code, session=session)
    result = calibrate.calibrate(plots_ds, weather, observations, start_set,
                                 slope_correction=slope_correction)
    parameters = pd.DataFrame([{
        "key": key, "unit": start_set.entry(key).unit, "min": float(start_set.entry(key).min),
        "max": float(start_set.entry(key).max), "prior": result.values_before[key],
        "fitted": result.values_after[key]} for key in result.keys])
    prior_ds = model.run(plots_ds, weather, start_set, slope_correction=slope_correction)
    fitted_ds = model.run(plots_ds, weather, result.params, slope_correction=slope_correction)
    obs = observations.reset_index(drop=True)
    residuals = pd.concat([
        obs[["plot_id", "date", "variable", "value"]].assign(date=obs["date"].dt.date),
        _residual_rows(prior_ds, obs, start_set, "residual_prior"),
        _residual_rows(fitted_ds, obs, result.params, "residual_fitted"),
    ], axis=1)
    return CalibrationOutcome(cultivar=code, result=result, parameters=parameters, errors=result.table(),
                              residuals=residuals)


# ----------------------------------------------------------------------------------------------------------
# Image library review (pests.images.library)
# ----------------------------------------------------------------------------------------------------------
#: Largest side of a thumbnail [px].
THUMBNAIL_PX = 320


def image_library():
    """The image-library module, or None while it is not installed."""
    try:
        from pests.images import library
    except ImportError:
        return None
    return library


def review_samples(session, caller: str, *, state: str = "unverified", label: str | None = None,
                   plot_id: str | None = None) -> list[dict]:
    """Samples the caller may see for review: ``state`` "unverified", "verified" or "all" (unverified
    first, then by sample id), optionally of one label or plot (checked against the caller's rights)."""
    library = image_library()
    if library is None:
        raise InputError("the image library (pests.images.library) is not installed.")
    if state not in ("unverified", "verified", "all"):
        raise InputError(f"'{state}' is not one of unverified, verified, all.")
    verified = {"unverified": False, "verified": True, "all": None}[state]
    samples = library.list_samples(session, caller, label=label or None, plot_id=plot_id or None,
                                   verified=verified)
    names = {u["user_id"]: u["display_name"] for u in store.list_users(session)}
    for sample in samples:  # who uploaded it, by name (the library keeps the user id; extension: hidden)
        adder = sample.get("added_by")
        sample["added_by_name"] = names.get(adder, adder) if adder else None
    return sorted(samples, key=lambda s: (bool(s.get("verified")), s["sample_id"]))


def photo_origin(sample: Mapping) -> dict:
    """Who took a photo and when, as far as the library knows: the collector and the capture time (EXIF or
    given), else the user who uploaded it (a grower's photo from the identify page names no collector) and
    when it was uploaded, in China time. Returns ``{"who": (kind, text), "when": (kind, text)}`` with kinds
    ``taken_by``/``uploaded_by`` and ``taken_at``/``uploaded_at``; text None when nothing is stored."""
    if sample.get("collector"):
        who = ("taken_by", str(sample["collector"]))
    elif sample.get("added_by"):
        who = ("uploaded_by", str(sample.get("added_by_name") or sample["added_by"]))
    else:
        who = ("taken_by", None)
    if sample.get("taken_utc") is not None:
        when = ("taken_at", _local_time(sample["taken_utc"]))
    elif sample.get("created_utc") is not None:
        when = ("uploaded_at", _local_time(sample["created_utc"]))
    else:
        when = ("taken_at", None)
    return {"who": who, "when": when}


def thumbnail(path: str | Path, max_px: int = THUMBNAIL_PX) -> bytes:
    """A PNG thumbnail of an image file (longest side ``max_px``); a corrupt or oversized file is one
    sentence."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced size
            image = image.convert("RGB")
            image.thumbnail((max_px, max_px))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path.name}: the image cannot be shown ({type(exc).__name__}); check the file.") \
            from None
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Stored advice
# ----------------------------------------------------------------------------------------------------------
def advice_text(record: Mapping, translate: Callable[..., str], lang: str | None = None) -> str:
    """A recommendation's action in the reader's language (``translate`` is ``i18n.t`` with the language
    bound); a message whose numbers are missing falls back to the English evidence. With ``lang`` the
    growers' own formatter (``i18n.advice_text``: windows and dates in the language's one format)."""
    if lang is not None:
        from i18n import advice_text as grower_text

        return grower_text(dict(record), lang)
    numbers = {k: ("–" if v is None else v) for k, v in (record.get("action_numbers") or {}).items()}
    if "pest" in numbers:
        numbers["pest"] = translate(f"pest.{numbers['pest']}")
    try:  # the template, filled here: a message whose numbers are missing must not show "{net_mm}"
        return translate(record["action_key"]).format(**numbers)
    except (KeyError, IndexError, ValueError):
        return record.get("evidence") or record["action_key"]


def advice_frame(records: Sequence[Mapping], translate: Callable[..., str],
                 lang: str | None = None) -> pd.DataFrame:
    """Stored recommendations as a table: plot, topic, severity, valid window, action, evidence, source,
    module, confidence (most severe first, as stored)."""
    rows = [{"plot_id": r["plot_id"], "topic": r["topic"], "severity": int(r["severity"]),
             "valid_from": r["valid_from"], "valid_to": r["valid_to"],
             "action": advice_text(r, translate, lang),
             "evidence": r.get("evidence") or "", "source": r.get("source") or "", "module": r["module"],
             "confidence": r.get("confidence")} for r in records]
    columns = ["plot_id", "topic", "severity", "valid_from", "valid_to", "action", "evidence", "source",
               "module", "confidence"]
    return pd.DataFrame(rows, columns=columns)


def filter_advice(frame: pd.DataFrame, plot_ids: Sequence[str] | None = None,
                  topics: Sequence[str] | None = None, min_severity: int = 1) -> pd.DataFrame:
    """Rows of the chosen plots and topics at or above a severity (empty choices mean all)."""
    keep = frame["severity"] >= int(min_severity)
    if plot_ids:
        keep &= frame["plot_id"].isin(list(plot_ids))
    if topics:
        keep &= frame["topic"].isin(list(topics))
    return frame[keep].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------
# Weekly risk-map exports (exports.riskmap.export_riskmap writes them)
# ----------------------------------------------------------------------------------------------------------
#: Risk classes of the maps (pest outlook levels 1-5, as Chinese forecast levels 轻 … 大发生).
RISK_CLASSES = (1, 2, 3, 4, 5)
#: Kinds of export files, in the order the downloads page lists them.
FILE_KINDS = ("cog", "probability", "png", "pdf", "gpkg", "geojson", "kml", "csv")
#: The manifest's kinds (``exports.riskmap``) -> the kinds above.
MANIFEST_KINDS = {"class_cog": "cog", "probability_cog": "probability", "map_png": "png", "map_pdf": "pdf",
                  "plots_gpkg": "gpkg", "plots_geojson": "geojson", "plots_kml": "kml", "plots_csv": "csv"}
_KIND_BY_SUFFIX = {".tif": "cog", ".tiff": "cog", ".png": "png", ".pdf": "pdf", ".gpkg": "gpkg",
                   ".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".kmz": "kml", ".csv": "csv"}
ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


def riskmap_root() -> Path:
    """Where weekly risk-map exports live: ``<ORCHARD_HOME>/exports/riskmaps``."""
    return config.orchard_home() / "exports" / "riskmaps"


def parse_week(text: str) -> str:
    """An ISO week as ``YYYY-Www`` (``2016-W29``; ``2016W29`` accepted); anything else is one sentence."""
    match = ISO_WEEK.match(str(text or "").strip().upper())
    if not match:
        raise InputError(f"'{text}' is not an ISO week; write it as YYYY-Www, e.g. 2016-W29.")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError(f"{year} has no week {week}; pick a week between 1 and 52 (or 53).") from None
    return f"{year}-W{week:02d}"


def week_of(day: date) -> str:
    """The ISO week of a day (``2016-W28``)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    year, number = (int(x) for x in ISO_WEEK.match(parse_week(week)).groups())
    return date.fromisocalendar(year, number, 1)


def read_manifest(folder: str | Path) -> dict:
    """An export folder's ``manifest.json``, with each file's absolute path (``file``), whether it exists and
    its kind (:data:`FILE_KINDS`; the manifest's own kind is kept as ``manifest_kind``) filled in.

    Raises
    ------
    InputError
        Missing or unreadable manifest, or a manifest without week or files.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputError(f"{folder.name}: no manifest.json; the export is incomplete, make it again.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{folder.name}/manifest.json: not readable JSON ({exc}); make the export again.") \
            from None
    if not isinstance(manifest, dict) or "week" not in manifest or \
            not isinstance(manifest.get("files"), list):
        raise InputError(f"{folder.name}/manifest.json: has no week or no file list; make the export again.")
    files = []
    for item in manifest["files"]:
        if not isinstance(item, dict) or "path" not in item:
            continue
        file_path = (folder / str(item["path"])).resolve()
        if folder.resolve() not in file_path.parents:  # a manifest may not point outside its folder
            continue
        given = item.get("kind")
        kind = MANIFEST_KINDS.get(given, given) or _KIND_BY_SUFFIX.get(file_path.suffix.lower(), "other")
        files.append({**item, "kind": kind, "manifest_kind": given, "file": file_path,
                      "exists": file_path.is_file()})
    manifest["files"] = files
    manifest["folder"] = folder
    return manifest


def list_exports(root: str | Path | None = None) -> list[dict]:
    """Export folders under ``root`` (default :func:`riskmap_root`), newest week first; folders whose
    manifest cannot be read are listed with an ``error`` sentence instead of raising."""
    root = Path(root) if root is not None else riskmap_root()
    if not root.is_dir():
        return []
    out = []
    for manifest_path in sorted(root.glob("**/manifest.json")):
        parts = manifest_path.relative_to(root).parts
        if len(parts) > 4 or any(part.startswith(".") for part in parts):  # hidden: an export being written
            continue
        try:
            manifest = read_manifest(manifest_path.parent)
        except InputError as exc:
            out.append({"folder": manifest_path.parent, "week": "", "district": "", "error": str(exc)})
            continue
        out.append(manifest)
    return sorted(out, key=lambda m: (str(m.get("week", "")), str(m.get("district", ""))), reverse=True)


def export_pests(manifest: Mapping) -> list[str]:
    """Pests with a class raster in the export, in the order of the manifest."""
    pests = [f.get("pest") for f in manifest.get("files", []) if f.get("kind") == "cog" and f.get("pest")]
    return list(dict.fromkeys(pests))


def export_horizons(manifest: Mapping) -> list[str]:
    """Horizons with a class raster in the export (``15d``, ``1m``, ``3m``), else the three horizons."""
    found = [f.get("horizon") for f in manifest.get("files", [])
             if f.get("kind") == "cog" and f.get("horizon")]
    return list(dict.fromkeys(found)) or ["15d", "1m", "3m"]


def export_file(manifest: Mapping, kind: str, pest: str | None = None,
                horizon: str | None = None) -> Path | None:
    """The path of one file of the export (kind and, for per-pest files, pest; for class rasters made per
    horizon, the horizon: an entry without one serves every horizon), or None."""
    for f in manifest.get("files", []):
        if f.get("kind") != kind or not f.get("exists"):
            continue
        if pest is not None and f.get("pest") not in (pest, None):
            continue
        if horizon is not None and f.get("horizon") not in (horizon, None):
            continue
        return f["file"]
    return None


def manifest_text(value) -> str:
    """A manifest field (text, list or dict) as one line for a caption."""
    if isinstance(value, Mapping):
        if "epsg" in value or "wkt" in value:
            return f"EPSG:{value['epsg']}" if value.get("epsg") else "custom CRS"
        parts = [f"{k}: {manifest_text(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        return "; ".join(parts) or "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(manifest_text(v) for v in value) or "–"
    return str(value) if value not in (None, "") else "–"


def class_colours(colormap: Mapping[int, Sequence[int]] | None) -> dict[int, list[int]]:
    """RGBA of each risk class from a raster's colour table (a fixed green-to-red ramp when it has none)."""
    fallback = {1: [26, 150, 65, 200], 2: [166, 217, 106, 200], 3: [255, 255, 191, 200],
                4: [253, 174, 97, 200], 5: [215, 25, 28, 200]}
    out = {}
    for level in RISK_CLASSES:
        colour = (colormap or {}).get(level)
        out[level] = [int(c) for c in colour][:4] if colour is not None else fallback[level]
        if len(out[level]) == 3:
            out[level].append(255)
    return out


def class_band(descriptions: Sequence[str | None], horizon: str | None = None) -> int:
    """The band (1-based) holding the risk classes for ``horizon``: the band whose description names the
    horizon and "class" or "level", else the first band (the export's class band)."""
    if horizon:
        for i, text in enumerate(descriptions, start=1):
            words = str(text or "").lower()
            if horizon.lower() in words and ("class" in words or "level" in words):
                return i
    return 1


def class_overlay(tif_path: str | Path, horizon: str | None = None, max_pixels: int = 1_000_000) -> dict:
    """The class band of a risk-map COG as an RGBA PNG (data URL) in lon/lat for a deck.gl BitmapLayer.

    The class band (:func:`class_band`; band 1 by default) holds classes 1-5 (uint8) with a colour table;
    other values (nodata, 0, 255) are transparent.
    The band is reprojected to EPSG:4326 with nearest-neighbour resampling (classes are categories), read
    from an overview when the raster is larger than ``max_pixels``.

    Returns
    -------
    dict
        ``image`` (data URL), ``bounds`` [west, south, east, north] in degrees, ``colours`` {class: RGBA},
        ``counts`` {class: pixels in the source raster}.
    """
    import rasterio
    import rasterio.warp
    from PIL import Image
    from rasterio.enums import Resampling

    from orchard.errors import check_input_file

    path = check_input_file(tif_path, what="risk-map GeoTIFF")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(f"{path.name}: has no coordinate reference system; make the export again.")
            scale = max(1.0, math.sqrt(src.width * src.height / max_pixels))
            out_shape = (max(1, int(src.height / scale)), max(1, int(src.width / scale)))
            band = class_band(src.descriptions, horizon)
            classes = src.read(band, out_shape=out_shape, resampling=Resampling.nearest)
            try:
                colormap = src.colormap(band)
            except ValueError:
                try:
                    colormap = src.colormap(1)
                except ValueError:
                    colormap = None
            src_transform = src.transform * src.transform.scale(src.width / out_shape[1],
                                                                src.height / out_shape[0])
            src_crs, bounds = src.crs, src.bounds
            nodata = src.nodata
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path.name}: not a readable GeoTIFF ({exc}); make the export again.") from None
    valid = np.isin(classes, RISK_CLASSES)
    if nodata is not None:
        valid &= classes != nodata
    counts = {int(level): int((classes == level).sum()) for level in RISK_CLASSES}
    masked = np.where(valid, classes, 0).astype(np.uint8)
    transform, width, height = rasterio.warp.calculate_default_transform(
        src_crs, "EPSG:4326", out_shape[1], out_shape[0], *bounds)
    lonlat = np.zeros((height, width), dtype=np.uint8)
    rasterio.warp.reproject(masked, lonlat, src_transform=src_transform, src_crs=src_crs, src_nodata=0,
                            dst_transform=transform, dst_crs="EPSG:4326", dst_nodata=0,
                            resampling=Resampling.nearest)
    colours = class_colours(colormap)
    lut = np.zeros((256, 4), dtype=np.uint8)
    for level, rgba in colours.items():
        lut[level] = [rgba[0], rgba[1], rgba[2], 200 if rgba[3] == 255 else rgba[3]]
    rgba = lut[lonlat]
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=True)
    west, north = transform * (0, 0)
    east, south = transform * (width, height)
    return {"image": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
            "bounds": [west, south, east, north], "colours": colours, "counts": counts, "band": band}


def plot_features(plots: Sequence[Mapping], risk: pd.DataFrame | None = None, pest: str | None = None,
                  names: Mapping[int, str] | None = None) -> dict:
    """Plot outlines as a GeoJSON FeatureCollection for a deck.gl GeoJsonLayer, each with its id, name and
    (when the export has it) the pest's risk class and class name."""
    levels = {}
    if risk is not None and pest is not None and pest in risk.columns:
        levels = {str(k): v for k, v in zip(risk["plot_id"], risk[pest], strict=True) if pd.notna(v)}
    features = []
    for p in plots:
        if not p.get("geometry_geojson"):
            continue
        level = levels.get(str(p["plot_id"]))
        features.append({"type": "Feature", "geometry": json.loads(p["geometry_geojson"]), "properties": {
            "plot_id": p["plot_id"], "name": p.get("name") or "",
            "level": "" if level is None else int(level),
            "level_name": "" if level is None else (names or {}).get(int(level), str(int(level)))}})
    return {"type": "FeatureCollection", "features": features}


def export_module():
    """The risk-map export module (``exports.riskmap``), or None while it is not installed."""
    try:
        from exports import riskmap
    except ImportError:
        return None
    return riskmap


def make_export(engine, week: str, *, district: str | None = None, pests: Sequence[str] | None = None,
                dem_path: str | Path | None = None, overwrite: bool = False,
                progress: Callable | None = None) -> Path:
    """Make the weekly export of ``week`` under :func:`riskmap_root` and return its folder."""
    module = export_module()
    if module is None:
        raise InputError("the risk-map export (exports.riskmap) is not installed; ask the "
                         "administrator.")
    dem = Path(dem_path) if dem_path else default_dem()
    if dem is None or not Path(dem).is_file():
        raise InputError("no DEM for the risk map: set ORCHARD_BASEMAP_DEM to the district's DEM GeoTIFF.")
    root = riskmap_root()
    root.mkdir(parents=True, exist_ok=True)
    return module.export_riskmap(parse_week(week), dem, root, engine=engine, district=district or None,
                                 pests=list(pests) if pests else None, overwrite=overwrite, progress=progress)


def plot_risk_classes(manifest: Mapping | None, horizon: str = "15d") -> pd.DataFrame:
    """Risk class per plot and pest from the export's ``plots.csv``: ``plot_id`` plus one column per pest.

    Reads the columns ``pests.riskmap.plot_risk`` writes (``{pest}_{horizon}_level``); a long table
    (``plot_id, pest, level``) or plain ``{pest}_level`` / ``{pest}`` columns are accepted too. An export
    without a plots table gives a frame with the ``plot_id`` column only.
    """
    path = export_file(manifest, "csv") if manifest else None
    if path is None:
        return pd.DataFrame(columns=["plot_id"])
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"plot_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{Path(path).name}: not a readable CSV ({str(exc).splitlines()[0]}); make the "
                         "export again.") from None
    if "plot_id" not in frame.columns:
        raise InputError(f"{Path(path).name}: has no plot_id column; make the export again.")
    level_column = next((c for c in ("level", "class", "risk_class") if c in frame.columns), None)
    if "pest" in frame.columns and level_column:
        rows = frame if "horizon" not in frame.columns else frame[frame["horizon"].astype(str) == horizon]
        wide = rows.pivot_table(index="plot_id", columns="pest", values=level_column, aggfunc="max")
        return wide.reset_index().rename_axis(columns=None)
    pests = export_pests(manifest) or list(PEST_SETS[:4])
    out = frame[["plot_id"]].copy()
    for pest in pests:
        for column in (f"{pest}_{horizon}_level", f"{pest}_level", f"{pest}_class", pest):
            if column in frame.columns:
                out[pest] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
                break
    return out.drop_duplicates("plot_id")


def zip_folder(folder: str | Path) -> bytes:
    """Every file of an export folder in one zip (paths relative to the folder)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def default_dem() -> Path | None:
    """The DEM the risk maps are computed on: the basemap DEM setting (``ORCHARD_BASEMAP_DEM``), else the
    sample district's DEM."""
    return config.basemap_dem()


# ----------------------------------------------------------------------------------------------------------
# Plots table for extension staff
# ----------------------------------------------------------------------------------------------------------
M2_PER_MU = 2000.0 / 3.0


def plots_table(plots: Sequence[Mapping], recommendations: Sequence[Mapping],
                risk: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per plot: plot_id, name, district, cultivar, area in 亩 and ha, the highest severity of
    its latest advice, and the week's risk class per pest (from the export). No owner column."""
    top: dict[str, int] = {}
    for r in recommendations:
        top[r["plot_id"]] = max(top.get(r["plot_id"], 0), int(r["severity"]))
    rows = [{"plot_id": p["plot_id"], "name": p.get("name") or "", "district": p.get("district") or "",
             "cultivar": p.get("cultivar") or "",
             "area_mu": None if p.get("area_ha") is None else round(float(p["area_ha"]) * 1e4 / M2_PER_MU, 1),
             "area_ha": None if p.get("area_ha") is None else round(float(p["area_ha"]), 2),
             "severity": top.get(p["plot_id"])} for p in plots]
    frame = pd.DataFrame(rows, columns=["plot_id", "name", "district", "cultivar", "area_mu", "area_ha",
                                        "severity"])
    if risk is not None and len(risk.columns) > 1:
        frame = frame.merge(risk, on="plot_id", how="left")
    return frame


# ----------------------------------------------------------------------------------------------------------
# District accounting
# ----------------------------------------------------------------------------------------------------------
#: Metrics of the account table and chart (advice.accounting.season_account).
ACCOUNT_METRICS = ("n_sprays", "ai_kg_per_ha", "tfi", "field_eiq_per_ha", "co2e_kg_per_ha")


def season_account_for(session, caller: str, season: int, by: str = "district",
                       district: str | None = None) -> tuple[pd.DataFrame, int]:
    """The season account (``orchard account --season S --by ...``) as the caller may see it.

    Extension users get growers as stable pseudonyms ("grower 1", …; ``advice.accounting`` anonymises,
    and with ``by="district"`` owner ids are not even read); admins and agronomists see ids. Returns the
    table and the number of applications counted.
    """
    from advice import accounting
    from advice.catalogue import load_catalogue

    if by not in ("district", "grower", "plot"):
        raise InputError(f"'{by}' is not one of district, grower, plot; choose one.")
    user = session.get(store.User, caller)
    if user is None:
        raise InputError(f"unknown user '{caller}'; sign in again.")
    role = user.role
    if role == "grower":
        plots = store.list_plots(session, caller)
    elif role == "extension" and by == "district":
        plots = store.list_plots(session, caller)  # owner_id None: nothing to anonymise
    else:
        plots = store.all_plots(session)  # pseudonymised below for extension users, as the CLI does
    products = accounting.products_from_catalogue(load_catalogue())
    apps = store.list_applications(session, caller=caller, start=f"{season}-01-01", end=f"{season}-12-31")
    factors = accounting.carbon_parameters(session=session)
    plots = pd.DataFrame(plots)
    if plots.empty:
        raise InputError("there are no plots to account for; import plots first (orchard import-plots).")
    if district:
        plots = plots[plots["district"] == district]
        if plots.empty:
            raise InputError(f"no plots in district '{district}'; check the name.")
    apps = pd.DataFrame(apps, columns=["plot_id", "product_id", "applied_on", "amount", "unit", "area_ha"])
    apps = apps[apps["plot_id"].isin(plots["plot_id"])]
    table = accounting.season_account(apps, products, plots, season, factors=factors, by=by,
                                      anonymise=(role == "extension"))
    if role == "extension" and "plot_id" in table.columns and by == "plot":
        table = table.drop(columns=["grower"], errors="ignore")
    return table, len(apps)


def safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM, text cells starting with = + - @ neutralised (CSV injection)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
    return out.to_csv(index=False).encode("utf-8-sig")


def seasons_with_data(session) -> list[int]:
    """Years with recorded applications, newest first (empty when none are recorded)."""
    years = {pd.Timestamp(a["applied_on"]).year for a in store.list_applications(session)}
    return sorted(years, reverse=True)


def one_sentence(exc: BaseException) -> str:
    """The sentence a page shows for an error: the project's message, or a generic one for the rest."""
    if isinstance(exc, OrchardError):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip(": ")

