"""Commands of the ``monitoring.soil`` package, added to the ``orchard`` command by ``register``.

``orchard ingest-sensors FILE...``, ``orchard soil balance`` and ``orchard soil map`` (heavy modules are
imported inside the commands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

soil_app = typer.Typer(no_args_is_help=True, help="Soil water balance, sensor maps and advice signals.")


def ingest_sensors(
    files: Annotated[list[Path], typer.Argument(help="Sensor files (long/wide CSV, TOA5, 7-in-1 export).")],
    format: Annotated[str | None, typer.Option(help="long, wide, toa5 or 7in1 (default: detected).")] = None,
    tz: Annotated[
        str | None, typer.Option(help="Zone of time stamps without offset, e.g. Asia/Shanghai.")
    ] = None,
    sensor: Annotated[str | None, typer.Option(help="Sensor id for files without a sensor column.")] = None,
    registry: Annotated[
        Path | None,
        typer.Option(
            help="Sensor registry CSV to store first (sensor_id, plot_id, kind, depth_m, lon, lat)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ingest reports as JSON.")] = False,
) -> None:
    """Import sensor readings: units converted, QC flags set, upserted (one transaction per file)."""
    from monitoring.soil import ingest
    from orchard.cli_common import engine, err, out, progress

    with progress() as bar:
        bar.add_task(f"ingesting {len(files)} file(s)", total=None)
        reports = ingest.ingest_files(engine(), files, format, tz=tz, sensor_id=sensor, registry=registry)
    if as_json:
        print(ingest.report_json(reports))
        return
    for report in reports:
        lines = report.summary_lines()
        out.print(lines[0], markup=False)
        for line in lines[1:]:
            err.print(line, markup=False)


@soil_app.command("balance")
def balance(
    start: Annotated[
        str | None, typer.Option(help="First local date (default: 180 days before --end).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last local date (default: the latest daily weather).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the whole balance to NetCDF.")] = None,
    sensors: Annotated[
        bool, typer.Option(help="Reset depletion from QC-passed soil-moisture sensors.")
    ] = True,
    forecast_rain: Annotated[
        float | None, typer.Option(help="Rain forecast for the coming days [mm] (all plots).")
    ] = None,
) -> None:
    """Root-zone water balance per plot and the irrigation advice for the last day."""
    import pandas as pd

    from monitoring.soil import advice, model
    from monitoring.soil import water_balance as wb
    from orchard import store
    from orchard.cli_common import engine, err, print_records, write_netcdf
    from orchard.errors import InputError
    from orchard.plots import PlotSet

    with store.session_scope(engine()) as session:
        rows = store.all_plots(session)
        if not rows:
            raise InputError("there are no plots in the database; import plots first (orchard import-plots).")
        plots = PlotSet.from_records(rows)
        if end is None:
            stations = {r["station_id"] for r in rows if r.get("station_id")}
            latest = [t for s in stations for t, _ in store.latest_weather(session, s, "daily").values()]
            if not latest:
                raise InputError("there is no daily weather in the database; import weather first.")
            end = str(pd.Timestamp(max(latest)).tz_convert("Asia/Shanghai").date())
        start = start or str((pd.Timestamp(end) - pd.Timedelta(days=180)).date())
        params = wb.default_parameters()
        ds = model.balance_from_db(session, plots, start, end, params, use_sensors=sensors)
    systems = {r["plot_id"]: r.get("irrigation") or "none" for r in rows}
    table = advice.irrigation_advice(
        ds,
        params,
        irrigation=[systems[p] for p in ds["plot"].values.astype(str)],
        forecast_precip_mm=forecast_rain,
    )
    table["sensor_days"] = ds["depletion_from_sensor"].sum("time").values
    if out_file is not None:
        write_netcdf(ds.drop_vars("irrigation", errors="ignore"), out_file)
        err.print(f"wrote {out_file}")
    columns = [
        "plot_id",
        "date",
        "depletion_mm",
        "raw_mm",
        "taw_mm",
        "ks",
        "irrigate",
        "net_mm",
        "gross_mm",
        "hours",
        "sensor_days",
    ]
    records = table[columns + (["reason"] if as_json else [])].to_dict("records")
    print_records(records, columns, as_json, title=f"soil water balance {start} to {end}")


@soil_app.command("map")
def soil_map(
    variable: Annotated[str, typer.Option(help="moisture, ec (salinity) or ph.")] = "moisture",
    date: Annotated[str, typer.Option(help="Local date, e.g. 2017-07-15.")] = ...,
    out_file: Annotated[
        Path, typer.Option("--out", help="GeoTIFF to write (band 1 value, band 2 low-confidence).")
    ] = Path("map.tif"),
    method: Annotated[
        str, typer.Option(help="idw, regression (needs --dem) or kriging (>= 30 sensors).")
    ] = "idw",
    cell: Annotated[float, typer.Option(help="Cell size [m].")] = 10.0,
    dem: Annotated[Path | None, typer.Option(help="DEM GeoTIFF for the regression method.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-plot summaries as JSON.")] = False,
) -> None:
    """Interpolated map of a soil variable on one day, with cross-validation error and per-plot summaries."""
    from monitoring.soil import maps, model
    from orchard import store
    from orchard.cli_common import engine, err, print_records
    from orchard.plots import PlotSet

    with store.session_scope(engine()) as session:
        plots = PlotSet.from_records(store.all_plots(session))
        ds, summary = model.map_from_db(
            session, plots, variable, date, method=method, cell_m=cell, dem_path=dem
        )
    maps.write_geotiff(ds, out_file)
    err.print(
        f"wrote {out_file}: {ds.attrs['variable']} by {ds.attrs['method']} "
        f"from {ds.attrs['n_sensors']} sensors, "
        f"leave-one-out RMSE {ds.attrs['loocv_rmse']:.4g}",
        markup=False,
    )
    records = summary.to_dict("records")
    print_records(
        records,
        ["plot_id", "mean", "min", "max", "low_confidence_fraction"],
        as_json,
        title=f"{ds.attrs['variable']} on {date} per plot",
    )


def register(app: typer.Typer) -> None:
    """Add ``ingest-sensors`` and the ``soil`` sub-app to the ``orchard`` command."""
    app.command("ingest-sensors")(ingest_sensors)
    app.add_typer(soil_app, name="soil")
