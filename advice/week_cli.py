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
    plots: Annotated[list[str] | None, typer.Option("--plots", help="Only these plot ids (repeat).")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only plots of this district.")] = None,
    out_csv: Annotated[str | None, typer.Option("--out", help="Write every date's plot status as CSV.")] = None,
) -> None:
    """Replay a season: the weekly chain on every week from 1 March to 29 November, each date seeing only
    what was known on it (nothing stored); prints the advice per week."""
    import time

    from advice.replay import replay_season

    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("replay", total=None)
        result = replay_season(engine(), season, plot_ids=plots, district=district,
                               progress=lambda step: bar.update(task, description=f"replay: {step}"))
    rows = []
    for day, frame in result.status.groupby("issued_on"):
        topics: dict[str, int] = {}
        for actions in frame["actions"]:
            for a in actions or []:
                topics[a["topic"]] = topics.get(a["topic"], 0) + 1
        rows.append({"issued_on": str(day), "plots": len(frame),
                     "plots_with_spray": int(sum(any(a["topic"] == "spray" for a in (acts or []))
                                                 for acts in frame["actions"])),
                     "mean_max_pest_level_15d": round(float(frame["max_pest_level_15d"].mean()), 2),
                     "topics": ", ".join(f"{k} {v}" for k, v in sorted(topics.items()))})
    print_records(rows, ("issued_on", "plots", "plots_with_spray", "mean_max_pest_level_15d", "topics"),
                  False, title=f"season {season} replayed on {len(result.dates)} dates")
    if out_csv:
        result.status.to_csv(out_csv, index=False)
        out.print(f"wrote {len(result.status)} plot-status rows to {out_csv}")
    out.print(f"replayed in {time.perf_counter() - t0:.1f} s")


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
