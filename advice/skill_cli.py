"""``orchard skill [OBSERVATIONS.csv]``: hit rate, false alarms and lead time of the pest forecasts against
scouting, per pest and season (:mod:`advice.skill`).

Observations come from the CSV (documented in docs/advice.md, "Skill against scouting") or, without one, from
the observations stored in the database (entered on the agronomist page, or with ``--store``). Forecasts come
from the stored weekly runs, or from a season replay's ``weekly.csv`` with ``--replay DIR``. Bad input is one
sentence and exit code 2, and nothing is stored. Registered through the ``orchard.commands`` entry point.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

#: Exit code of bad observations or options.
BAD_INPUT = 2
TABLE_COLUMNS = ("pest", "season", "n_observations", "n_matched", "hits", "misses", "false_alarms",
                 "correct_negatives", "hit_rate", "false_alarm_ratio", "false_alarm_rate", "mean_lead_days")


def register(app: typer.Typer) -> None:
    """Add ``orchard skill`` to the ``orchard`` command."""
    app.command("skill")(skill)


def skill(
    observations: Annotated[Path | None, typer.Argument(
        help="Scouting CSV: plot_id, date, pest, mites_per_leaf or incidence_pct (optional observer, note). "
             "Without it, the stored observations.", show_default=False)] = None,
    replay: Annotated[Path | None, typer.Option(
        "--replay", help="Score a season replay's forecasts (its folder, with weekly.csv) instead of the "
                         "stored runs.")] = None,
    user: Annotated[str | None, typer.Option(
        "--user", help="Act as this user (growers: own plots only). Needed with --store.")] = None,
    store_rows: Annotated[bool, typer.Option(
        "--store", help="Also store the CSV's observations (all or none).")] = False,
    parameters: Annotated[Path | None, typer.Option(
        "--parameters", help="Outbreak definitions in the schema of advice/parameters/skill.toml.")] = None,
    season: Annotated[int | None, typer.Option(
        "--season", help="Only the observations of this year (--store still stores the whole file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hit rate, false alarm ratio and rate, and mean lead time of the 15-day pest forecasts against scouting
    counts, per pest and season."""
    from orchard.errors import InputError

    try:
        report = skill_report(observations, replay=replay, user=user, store_rows=store_rows,
                              parameters=parameters, season=season)
    except InputError as exc:
        print(f"orchard: error: {exc}", file=sys.stderr)
        raise typer.Exit(BAD_INPUT) from None
    _print(report, as_json)


def read_observations_csv(path: Path):
    """The CSV as text cells (the checks in :func:`advice.skill.check_observations` name bad cells)."""
    import pandas as pd

    from orchard.errors import InputError, check_input_file

    check_input_file(path, "observation CSV")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                           skipinitialspace=True)
    except UnicodeDecodeError:
        raise InputError(f"{path}: the file is not UTF-8 text; save it as 'CSV UTF-8'.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: the file is not a readable CSV ({str(exc).splitlines()[0]}).") from None


def _stored_forecasts(session, user: str | None, start, end):
    """Forecasts of the stored runs issued between ``start`` and ``end``, oldest first."""
    import pandas as pd
    from sqlalchemy import select

    from advice import skill
    from orchard import results, store

    run = store.AdviceRun
    query = (select(run).where(run.issued_on >= start, run.issued_on <= end)
             .order_by(run.issued_on, run.created_utc))
    frames = []
    for run in session.scalars(query).all():
        if user is not None:
            status = results.status_table(session, user, run.run_id)
        else:  # the operator: every plot
            rows = session.scalars(select(store.PlotStatus).where(store.PlotStatus.run_id == run.run_id))
            status = pd.DataFrame([{"plot_id": r.plot_id, "issued_on": r.issued_on, "pests": r.pests}
                                   for r in rows], columns=["plot_id", "issued_on", "pests"])
        if not status.empty:
            frames.append(status[["plot_id", "issued_on", "pests"]])
    if not frames:
        return skill.forecasts_from_status(pd.DataFrame(columns=["plot_id", "issued_on", "pests"]))
    return skill.forecasts_from_status(pd.concat(frames, ignore_index=True))


def skill_report(observations: Path | None, *, replay: Path | None = None, user: str | None = None,
                 store_rows: bool = False, parameters: Path | None = None, season: int | None = None) -> dict:
    """Everything ``orchard skill`` prints: the skill table and how it was made."""
    import pandas as pd

    from advice import replay_store, skill
    from orchard import store
    from orchard.cli_common import engine
    from orchard.errors import InputError

    if store_rows and observations is None:
        raise InputError("--store needs an observation CSV; give the file to store.")
    if store_rows and user is None:
        raise InputError("--store needs --user: the agronomist or grower who records the observations.")
    frame = read_observations_csv(observations) if observations is not None else None
    with store.session_scope(engine()) as session:
        if user is not None and session.get(store.User, user) is None:
            raise InputError(f"unknown user '{user}'; give an existing user id.")
        plots = store.list_plots(session, user) if user is not None else store.all_plots(session)
        known = [p["plot_id"] for p in plots]
        params = skill.skill_parameters(parameters, session=session)
        if frame is not None:
            checked = skill.check_observations(frame, known, where=str(observations))
            if store_rows:
                records = checked.assign(observed_on=checked["observed_on"].dt.date).to_dict("records")
                store.add_scouting_observations(session, user, records)
            source_obs = str(observations)
        else:
            stored = store.list_scouting_observations(session, user)
            if not stored:
                raise InputError("no scouting observations are stored; give an observation CSV (see docs/"
                                 "advice.md, 'Skill against scouting') or enter them on the agronomist page.")
            checked = pd.DataFrame(stored)
            checked["observed_on"] = pd.to_datetime(checked["observed_on"])
            checked = checked[checked["plot_id"].isin(known)].reset_index(drop=True)
            if checked.empty:
                raise InputError(f"no scouting observations are stored on the plots {user} may see; give an "
                                 "observation CSV.")
            source_obs = "stored observations"
        if season is not None:
            checked = checked[checked["observed_on"].dt.year == season].reset_index(drop=True)
            if checked.empty:
                raise InputError(f"there are no observations in {season} ({source_obs}); choose another "
                                 "--season.")
        max_lead = float(params["forecast.max_lead_days"])
        if replay is not None:
            forecasts = skill.forecasts_from_weekly(replay_store.read_replay_dir(replay).weekly)
            source_fc = f"replay {replay}"
        else:
            start = (checked["observed_on"].min() - pd.Timedelta(days=max_lead)).date()
            forecasts = _stored_forecasts(session, user, start, checked["observed_on"].max().date())
            source_fc = "stored runs"
    matched = skill.match_forecasts(checked, forecasts, max_lead)
    table = skill.skill_table(matched, params)
    n_unmatched = int(matched["level_15d"].isna().sum())
    return {"observations": source_obs, "forecasts": source_fc, "n_observations": len(matched),
            "n_unmatched": n_unmatched, "stored": len(checked) if store_rows else 0,
            "outbreak_level": float(params["forecast.outbreak_level"]), "max_lead_days": max_lead,
            "observed_thresholds": skill.outbreak_thresholds(params), "parameters_hash": params.hash,
            "skill": table.to_dict("records")}


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _print(report: dict, as_json: bool) -> None:
    import json

    from orchard.cli_common import err, json_default, print_records

    report = {**report, "skill": [{k: _plain(v) for k, v in r.items()} for r in report["skill"]]}
    if report["n_unmatched"]:
        err.print(f"{report['n_unmatched']} of {report['n_observations']} observations have no forecast "
                  f"issued 0-{report['max_lead_days']:g} days before them and are not scored "
                  f"({report['forecasts']}).", markup=False)
    if report["stored"]:
        err.print(f"{report['stored']} observations stored.", markup=False)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=json_default))
        return
    print_records(report["skill"], TABLE_COLUMNS, False,
                  title=f"forecast skill against scouting ({report['forecasts']}; outbreak = level >= "
                        f"{report['outbreak_level']:g} within {report['max_lead_days']:g} d)")
