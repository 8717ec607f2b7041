"""``orchard export-riskmap``: the weekly risk maps of a district (COG, GeoPackage/GeoJSON/KML/CSV, PNG/PDF).

``orchard export-riskmap --week 2016-W30 --dem DEM [--district NAME] [--out DIR] [--scheduler tcp://HOST:PORT]
[--pests black_spot,canker] [--slope-correction] [--overwrite]``

The plot table shows the stored weekly run of the week (``orchard run-week``); without one the command says
which ``orchard run-week --date`` to run and exits with code 1, writing nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``orchard export-riskmap`` to the ``orchard`` command (entry point group ``orchard.commands``)."""
    app.command("export-riskmap")(export_riskmap_command)


def export_riskmap_command(
    week: Annotated[str, typer.Option(
        "--week", help="ISO week, e.g. 2016-W30: the grid is issued on its Monday, the plot table is the "
                       "latest weekly run (orchard run-week) of that week or the week before.")],
    dem: Annotated[Path, typer.Option("--dem", help="DEM of the district (GeoTIFF with a CRS).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder in which the export folder is made (default: ORCHARD_HOME/exports/"
                                   "riskmaps, where the app's extension pages find it)."),
    ] = None,
    district: Annotated[
        str | None, typer.Option("--district", help="Only this district's plots; names the export folder.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="dask.distributed scheduler, tcp://HOST:PORT (default: this machine's threads).",
        ),
    ] = None,
    pests: Annotated[
        list[str] | None,
        typer.Option(
            "--pests",
            help="black_spot, canker, mites, leaf_miner (comma-separated or repeated; default all).",
        ),
    ] = None,
    slope_correction: Annotated[
        bool,
        typer.Option(
            "--slope-correction",
            help="Correct the weather of each cell for its slope and aspect (growth module).",
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing export of the same district and week.")
    ] = False,
) -> None:
    """Weekly pest and disease risk maps of a district for extension services (run `orchard run-week` first:
    the plot table shows the stored run's numbers)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from orchard.cli_common import engine, err
    from orchard.cli_common import out as console
    from exports.riskmap import export_riskmap

    if out is None:
        from orchard import config

        out = config.orchard_home() / "exports" / "riskmaps"
    pest_list = [p.strip() for item in pests for p in item.split(",") if p.strip()] if pests else None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("export-riskmap", total=100)
        folder = export_riskmap(
            week,
            dem,
            out,
            engine=engine(),
            district=district,
            pests=pest_list,
            slope_correction=slope_correction,
            scheduler=scheduler,
            overwrite=overwrite,
            progress=lambda step, fraction: bar.update(task, description=step, completed=100 * fraction),
        )
    import json

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    console.print(
        f"wrote {folder} ({len(manifest['files'])} files, {manifest['plots']['count']} plots, "
        f"issue date {manifest['issue_date']})",
        markup=False,
    )
