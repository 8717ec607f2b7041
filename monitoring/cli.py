"""Commands of the ``monitoring`` package, added to the ``orchard`` command by ``register``.

``orchard import-imagery PATH...`` registers scenes; ``orchard monitor`` prints each plot's latest index,
trend and alerts; ``orchard monitor zones PLOT --date D --out zones.gpkg`` writes a plot's zones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

monitor_app = typer.Typer(
    help="Crop condition from satellite and drone imagery: latest index, trend, alerts, zones."
)

MONITOR_COLUMNS = ("plot_id", "last_clear", "ndvi", "trend_per_30d", "clear_fraction", "status", "signals")


def _scene_paths(paths: list[Path]) -> list[Path]:
    """Expand folders holding several scene files (GeoTIFF + JSON sidecar) into the scene files."""
    from orchard.errors import InputError

    out = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the path.")
        if path.is_dir():
            singles = sorted(
                p
                for p in path.iterdir()
                if p.suffix.lower() in (".tif", ".tiff") and p.with_suffix(".json").exists()
            )
            out.extend(singles or [path])
        else:
            out.append(path)
    return out


def register_scenes(engine, paths) -> list[dict]:
    """Read the metadata of scene files or folders and upsert them into the scenes table; return the records."""
    import rasterio

    from monitoring import imagery
    from orchard import store

    records = []
    for path in _scene_paths(paths):
        info = imagery.read_scene_info(path)
        imagery.check_scene_data(info)  # a truncated file is refused now, not when a run reads it
        if info.cloud_fraction is None and "SCL" in info.bands:
            file, index = info.bands["SCL"]
            with rasterio.open(file) as src:
                step = max(1, max(src.width, src.height) // 1024)  # a decimated read is enough here
                scl = src.read(
                    index,
                    out_shape=(src.height // step or 1, src.width // step or 1),
                    resampling=rasterio.enums.Resampling.nearest,
                )
            info.cloud_fraction = round(1 - imagery.scene_clear_fraction(scl), 4)
        record = info.record()
        record["path"] = str(Path(record["path"]).resolve())
        records.append(record)
    with store.session_scope(engine) as session:
        store.upsert_scenes(session, records)
    return records


def import_imagery(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help="Scene files (GeoTIFF + .json sidecar), "
            "product folders (band files + MTD_MSIL2A.xml), or folders of scenes.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register Sentinel-2 L2A scenes in the database (registering twice changes nothing)."""
    import numpy as np

    from orchard.cli_common import engine, out, print_records, progress

    with progress() as bar:
        bar.add_task("reading scene metadata", total=None)
        records = register_scenes(engine(), paths)
    shown = [
        {
            "scene_id": r["scene_id"],
            "acquired_utc": r["acquired_utc"].strftime("%Y-%m-%d %H:%M"),
            "platform": r["platform"],
            "processing_baseline": r["processing_baseline"],
            "cloud_fraction": np.nan if r["cloud_fraction"] is None else float(r["cloud_fraction"]),
        }
        for r in records
    ]
    if as_json:
        print_records(shown, list(shown[0]), True, title="scenes")
    else:
        out.print(f"registered {len(records)} scene(s)")


def _plots(plots_file: Path | None):
    from orchard import store
    from orchard.cli_common import engine
    from orchard.plots import PlotSet, read_plots

    if plots_file is not None:
        return read_plots(plots_file)
    with store.session_scope(engine()) as session:
        return PlotSet.from_records(store.all_plots(session))


def _scenes():
    from orchard import store
    from orchard.cli_common import engine
    from orchard.errors import InputError

    with store.session_scope(engine()) as session:
        rows = store.list_scenes(session)
    if not rows:
        raise InputError(
            "no imagery is registered; run orchard import-imagery PATH... first "
            "(e.g. sample_data/imagery/s2_synthetic)."
        )
    return [row["path"] for row in rows]


@monitor_app.callback(invoke_without_command=True)
def monitor(
    ctx: typer.Context,
    plots: Annotated[
        Path | None, typer.Option(help="Plot file (GeoJSON/GPKG); default: the plots in the database.")
    ] = None,
    dem: Annotated[
        Path | None, typer.Option(help="DEM for the terrain-shadow mask (SCL dark area on steep slopes).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Issue date of the alerts (default: the latest scene).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (with the alerts and their evidence).")
    ] = False,
) -> None:
    """Each plot's latest clear NDVI, its trend and the poor-growth alerts, from the registered imagery."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"plots": plots, "dem": dem}
        return
    import numpy as np
    import pandas as pd

    from monitoring import run as monitoring_run
    from orchard.cli_common import print_records, progress

    with progress() as bar:
        bar.add_task("monitoring plots", total=None)
        result = monitoring_run.run(_plots(plots), _scenes(), dem=dem, as_of=as_of)
    ds = result.series
    times = pd.DatetimeIndex(ds["time"].to_numpy())
    alerts = monitoring_run.alerts_json(result.alerts)
    records = []
    for p, plot_id in enumerate(ds["plot"].to_numpy().astype(str)):
        clear = np.flatnonzero(ds["clear"].to_numpy()[p])
        record = {
            "plot_id": plot_id,
            "last_clear": None,
            "ndvi": None,
            "trend_per_30d": None,
            "clear_fraction": None,
            "status": "no clear data",
            "signals": "",
        }
        if clear.size:
            last = clear[-1]
            smooth = ds["ndvi_smooth"].to_numpy()[p]
            record.update(
                last_clear=str(times[last].date()),
                ndvi=round(float(ds["ndvi_median"][p, last]), 3),
                clear_fraction=round(float(ds["clear_fraction"][p, last]), 2),
                status="ok",
            )
            if clear.size >= 2:
                prev = clear[-2]
                days = max((times[last] - times[prev]).days, 1)
                record["trend_per_30d"] = round(float((smooth[last] - smooth[prev]) / days * 30), 3)
        mine = [a for a in alerts if a["plot_id"] == plot_id]
        if mine:
            record["status"] = "alert"
            record["signals"] = ", ".join(a["signal"] for a in mine)
        if as_json:
            record["alerts"] = mine
        records.append(record)
    print_records(
        records, MONITOR_COLUMNS, as_json, title=f"crop condition (NDVI) as of {times.max().date()}"
    )


@monitor_app.command("zones")
def zones(
    ctx: typer.Context,
    plot: Annotated[str, typer.Argument(metavar="PLOT", help="Plot id, e.g. CT13.")],
    date: Annotated[
        str, typer.Option(help="Date (the latest clear scene on or before it is used), e.g. 2016-07-15.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Output .gpkg or .geojson.")],
    cog: Annotated[Path | None, typer.Option(help="Also write the plot's NDVI map as int16 COG.")] = None,
) -> None:
    """Weak patches, percentile classes and k-means management zones of one plot, as polygons."""
    from monitoring import anomalies
    from monitoring import run as monitoring_run
    from orchard.cli_common import err, out

    options = ctx.obj or {}
    result = monitoring_run.plot_zones(
        _plots(options.get("plots")), _scenes(), plot, date, dem=options.get("dem"), cog_path=cog
    )
    anomalies.write_zones(result, out_file)
    counts = result.groupby("kind").size().to_dict()
    out.print(
        f"wrote {len(result)} zone polygons for {plot} ({result.attrs.get('scene_id')}) to {out_file}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    if cog is not None:
        err.print(f"wrote {cog}")


def register(app: typer.Typer) -> None:
    """Add ``import-imagery`` and the ``monitor`` sub-command to the ``orchard`` command."""
    app.command("import-imagery")(import_imagery)
    app.add_typer(monitor_app, name="monitor")
