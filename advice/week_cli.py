"""``orchard run-week`` and ``orchard advice PLOT``: the weekly pipeline and one plot's advice."""

from __future__ import annotations

from typing import Annotated

import typer

from orchard.cli_common import engine, err, out, print_records, progress

ADVICE_COLUMNS = ("plot_id", "topic", "severity", "valid_from", "valid_to", "action_key", "evidence")


def register(app: typer.Typer) -> None:
    """Add ``run-week`` and ``advice`` to the ``orchard`` command."""
    app.command("run-week")(run_week_command)
    app.command("replay")(replay_command)
    app.command("advice")(advice_command)


def _rows(records: list[dict]) -> list[dict]:
    return [
        {
            **r,
            "valid_from": str(r["valid_from"]),
            "valid_to": str(r["valid_to"]),
            "issued_on": str(r["issued_on"]),
        }
        for r in records
    ]


def run_week_command(
    date: Annotated[str, typer.Option("--date", help="Issue date, YYYY-MM-DD.")],
    plots: Annotated[list[str] | None, typer.Option("--plots", help="Only these plot ids (repeat).")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only plots of this district.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="threads (default), processes, or a dask.distributed scheduler address (tcp://host:8786).")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", min=1, help="Plots per task (default advice.chain plots.chunk_size).")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip a chain step (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every recommendation as JSON.")] = False,
) -> None:
    """Run the weekly chain for a date and store it whole: module outputs, plot status and advice."""
    from advice.chain import run_chain

    with progress() as bar:
        task = bar.add_task("weekly run", total=None)
        result = run_chain(
            engine(),
            date,
            plot_ids=plots,
            district=district,
            scheduler=scheduler,
            chunk_size=chunk_size,
            skip=tuple(skip or ()),
            keep_recommendations=as_json,
            progress=lambda step: bar.update(task, description=f"weekly run: {step}"),
        )
    if as_json:
        import json

        from orchard.cli_common import json_default

        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "issued_on": str(result.issued_on),
                    "notes": result.notes,
                    "sources": result.sources,
                    "parameter_sets": result.parameter_sets,
                    "bundle": result.bundle,
                    "results_path": result.results_path,
                    "recommendations": _rows(result.records()),
                },
                ensure_ascii=False,
                indent=1,
                default=json_default,
            )
        )
        return
    counts: dict[str, int] = {}
    for actions in result.status["actions"]:
        for a in actions or []:
            counts[a["topic"]] = counts.get(a["topic"], 0) + 1
    out.print(f"advice issued {result.issued_on} for {len(result.status)} plots "
              f"({sum(counts.values())} recommendations; `orchard advice PLOT` shows one plot's)")
    out.print("by topic: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for note in result.notes:
        err.print(f"note: {note}")
    out.print(f"stored as run {result.run_id} (results in {result.results_path})")


def replay_command(
    season: Annotated[int, typer.Option("--season", help="Season (year) to replay week by week.")],
    follow: Annotated[str, typer.Option(
        "--follow", help="Programme the replay sprays: advice (the first product of each advised spray) or "
        "calendar (the calendar programme).")] = "advice",
    plots: Annotated[list[str] | None, typer.Option("--plots", help="Only these plot ids (repeat).")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only plots of this district.")] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="Calendar programme CSV (default: the shipped example).")] = None,
    out_dir: Annotated[str | None, typer.Option(
        "--out", help="Folder for summary.json, plots.csv, weekly.csv and season.png (default: "
        "ORCHARD_HOME/replays/SEASON-FOLLOW, where the app and `orchard account` find it).")] = None,
    past_only: Annotated[bool, typer.Option(
        "--past-years-only", help="Climatology members from the years before the season only (as a live run "
        "has); by default every other year of the record, never the season's own future.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Replay a season as if live: the weekly chain on every week from 1 March to 29 November, each date
    seeing only what was known on it, following the advice or the calendar programme; then both programmes
    measured on the season's weather (sprays, TFI, kg a.i./ha, kg Cu/ha, EIQ, CO2e, cost per 亩, unprotected
    infection events). Nothing is written to the database."""
    import json
    import time

    from advice.replay import replay_season, write_replay
    from advice.replay_store import replay_dir
    from orchard.errors import InputError

    if follow not in ("advice", "calendar"):
        raise InputError(f"--follow {follow!r} is not one of advice, calendar; choose one.")
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("replay", total=None)
        result = replay_season(engine(), season, plot_ids=plots, district=district, follow=follow,
                               baseline=baseline, hindcast=not past_only,
                               progress=lambda step: bar.update(task, description=f"replay: {step}"))
    result.summary["district"] = district
    folder = write_replay(result, out_dir or replay_dir(None, season, follow))
    if as_json:
        print(json.dumps({**result.summary, "folder": str(folder)}, ensure_ascii=False, default=str))
        return
    rows = []
    for name, measures in result.summary["programmes"].items():
        rows.append({"programme": name, **{m: measures[m]["median"] for m in
                     ("sprays", "tfi", "kg_ai_ha", "kg_cu_ha", "field_eiq", "kg_co2e_ha", "cost_cny_per_mu",
                      "unprotected_infections", "unprotected_events", "label_breaches")}})
    print_records(rows, tuple(rows[0]), False,
                  title=f"season {season} replayed on {len(result.dates)} dates, following the {follow} "
                  f"(median plot of {result.summary['plots']})")
    for measure, ratio in result.summary["ratio_to_calendar"].items():
        if ratio is not None:
            out.print(f"advice / calendar, {measure}: {ratio:.2f}")
    out.print(f"wrote {folder} in {time.perf_counter() - t0:.1f} s")


def advice_command(
    plot: Annotated[str, typer.Argument(help="Plot id.")],
    user: Annotated[
        str, typer.Option(help="Signed-in user (growers see only their own plots).")
    ] = "agronomist_zhao",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest stored advice for one plot, most urgent first (run `orchard run-week` first)."""
    from orchard import store
    from orchard.errors import InputError

    with store.session_scope(engine()) as session:
        records = store.list_recommendations(session, user, plot_id=plot)
    if not records:
        raise InputError(f"no advice stored for plot {plot}; run `orchard run-week --date YYYY-MM-DD` first.")
    print_records(_rows(records), ADVICE_COLUMNS, as_json, title=f"advice for {plot}")
