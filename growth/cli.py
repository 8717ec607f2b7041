"""Commands of the ``growth`` package: ``orchard growth run | outlook | calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from orchard.cli_common import (engine, err, option_date, option_year, out, print_records, progress,
                                write_netcdf)
from orchard.errors import InputError

growth_app = typer.Typer(no_args_is_help=True, help="Citrus growth: phenology, fruit size and quality.")

SUMMARY_COLUMNS = ("plot_id", "cultivar", "bloom_date", "colour_break_date", "maturity_date",
                   "maturity_delay_days", "fruit_diameter_mm", "brix")


def register(app: typer.Typer) -> None:
    """Add ``orchard growth ...`` to the ``orchard`` command."""
    app.add_typer(growth_app, name="growth")


def _plots_and_weather(user, start, end, weather_file):
    """Plots (with terrain) from the database and their daily weather, from the database or a NetCDF file."""
    import xarray as xr

    from orchard import store
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet

    with store.session_scope(engine()) as session:
        rows = store.list_plots(session, user) if user else store.all_plots(session)
        if not rows:
            raise InputError("there are no plots in the database; run `orchard init --sample` or "
                             "`orchard import-plots` first.")
        plots = PlotSet.from_records(rows)
        if weather_file is None:
            weather = plot_weather(session, plots, resolution="daily", start=str(start.date()),
                                   end=f"{end.date()} 23:59:59")
        else:
            from orchard.errors import check_input_file

            path = check_input_file(weather_file, what="plot weather file")
            try:
                weather = xr.open_dataset(path).load()
            except (OSError, ValueError) as exc:
                raise InputError(f"{path.name}: not a readable NetCDF file ({exc}).") from None
            weather = weather.sel(time=slice(start, end))
    return plots, weather


def _season_window(season: int | None, start: str | None, end: str | None):
    from growth.model import season_start

    if season is not None:
        season = option_year(season, "--season")
        return season_start(season), pd.Timestamp(year=season + 1, month=6, day=30)
    if start is None or end is None:
        raise InputError("give --season YEAR (the bloom year) or both --start and --end.")
    first, last = option_date(start, "--start"), option_date(end, "--end")
    if last < first:
        raise InputError(f"--end {last.date()} is before --start {first.date()}; swap them.")
    return first, last


def _last_valid(values: np.ndarray) -> np.ndarray:
    """Last non-NaN value of each row (NaN for an all-NaN row)."""
    valid = ~np.isnan(values)
    last = values.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    return np.where(valid.any(axis=1), values[np.arange(values.shape[0]), last], np.nan)


def summary_records(ds) -> list[dict]:
    """Per-plot summary of a growth run: stage dates, delay, final diameter and Brix."""
    def date_or_none(value):
        return None if pd.isna(value) else str(pd.Timestamp(value).date())

    last_diameter = _last_valid(ds["fruit_diameter_mm"].transpose("plot", "time").to_numpy())
    last_brix = _last_valid(ds["brix"].transpose("plot", "time").to_numpy())
    records = []
    for i, pid in enumerate(ds["plot"].values.astype(str)):
        delay = float(ds["maturity_delay_days"].values[i])
        records.append({
            "plot_id": pid, "cultivar": str(ds["cultivar"].values[i]),
            "bloom_date": date_or_none(ds["bloom_date"].values[i]),
            "colour_break_date": date_or_none(ds["colour_break_date"].values[i]),
            "maturity_date": date_or_none(ds["maturity_date"].values[i]),
            "maturity_delay_days": None if np.isnan(delay) else delay,
            "fruit_diameter_mm": None if np.isnan(last_diameter[i]) else round(float(last_diameter[i]), 1),
            "brix": None if np.isnan(last_brix[i]) else round(float(last_brix[i]), 2)})
    return records


@growth_app.command("run")
def growth_run(
    season: Annotated[int | None, typer.Option(
        help="Bloom year: simulates 1 Oct before it to 30 Jun after.")] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), instead of --season.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), instead of --season.")] = None,
    user: Annotated[str | None, typer.Option(help="Only this user's plots.")] = None,
    weather_file: Annotated[Path | None, typer.Option(
        "--weather", help="Plot weather NetCDF (`orchard weather --out`) instead of the database.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the daily results to NetCDF.")] = None,
    no_slope: Annotated[bool, typer.Option("--no-slope", help="Skip the slope correction.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-plot summary as JSON.")] = False,
) -> None:
    """Simulate the season for every plot: stage dates, fruit size, Brix, maturity delay on slopes."""
    from growth import model
    from orchard import store

    first, last = _season_window(season, start, end)
    with progress() as bar:
        bar.add_task("plot weather", total=None)
        plots, weather = _plots_and_weather(user, first, last, weather_file)
        bar.add_task("growth model", total=None)
        with store.session_scope(engine()) as session:
            ds = model.run(plots, weather, slope_correction=not no_slope, session=session)
    if out_file is not None:
        write_netcdf(ds, out_file)
    print_records(summary_records(ds), SUMMARY_COLUMNS, as_json,
                  title=f"growth {first.date()} to {last.date()}")
    if out_file is not None:
        err.print(f"wrote {out_file}")


@growth_app.command("outlook")
def growth_outlook(
    date: Annotated[str, typer.Option(help="Issue date (YYYY-MM-DD): last day of observed weather used.")],
    days: Annotated[int, typer.Option(help="Days of outlook.")] = 30,
    user: Annotated[str | None, typer.Option(help="Only this user's plots.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the outlook to NetCDF.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """P10/P50/P90 of fruit expansion rate and Brix over the next days (past years as members)."""
    from growth import outlook
    from growth.model import bloom_year_of, season_start
    from orchard import store

    issue = option_date(date, "--date")
    if not 1 <= days <= 366:
        raise InputError(f"--days {days} is not between 1 and 366; give the length of the outlook in days.")
    first = season_start(bloom_year_of(issue)) - pd.DateOffset(years=40)
    with progress() as bar:
        bar.add_task("outlook", total=None)
        plots, weather = _plots_and_weather(user, first, issue + pd.Timedelta(days=days), None)
        with store.session_scope(engine()) as session:
            ds = outlook.outlook(plots, weather, issue, horizon_days=days, session=session)
    if out_file is not None:
        write_netcdf(ds, out_file)
    records = []
    for pid in ds["plot"].values.astype(str):
        one = ds.sel(plot=pid)
        rate = one["fruit_expansion_mm_d"].mean("lead_day").to_numpy()
        brix = one["brix"].isel(lead_day=-1).to_numpy()
        records.append({"plot_id": pid,
                        **{f"expansion_mm_d_p{round(q * 100)}": None if np.isnan(v) else round(float(v), 3)
                           for q, v in zip(ds["quantile"].values, rate, strict=True)},
                        **{f"brix_end_p{round(q * 100)}": None if np.isnan(v) else round(float(v), 2)
                           for q, v in zip(ds["quantile"].values, brix, strict=True)}})
    print_records(records, list(records[0]), as_json,
                  title=f"{days}-day outlook from {issue.date()} ({ds.attrs['n_members']} members)")


@growth_app.command("calibrate")
def growth_calibrate(
    observations: Annotated[Path, typer.Argument(help="CSV: plot_id, date, variable, value.")],
    parameter: Annotated[list[str] | None, typer.Option("--parameter", help="Parameter to fit (repeat); "
                                                        "default per observed variable.")] = None,
    author: Annotated[str, typer.Option(
        help="Agronomist (user id) saving the new version.")] = "agronomist_zhao",
    comment: Annotated[str, typer.Option(help="Why the parameters changed.")] = "",
    save: Annotated[bool, typer.Option(
        "--save/--no-save", help="Save the fitted set as a new version.")] = True,
    no_slope: Annotated[bool, typer.Option("--no-slope", help="Skip the slope correction.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fit cultivar parameters to observed dates, diameters and Brix; report the error before and after."""
    import json

    from growth import calibrate as calibration
    from growth import cultivars
    from growth.model import bloom_year_of, season_start
    from orchard import params, store

    obs = calibration.read_observations(observations)
    first = season_start(bloom_year_of(obs["date"].min()))
    last = obs["date"].max() + pd.Timedelta(days=15)
    plots, weather = _plots_and_weather(None, first, last, None)
    plots_ds = plots.to_dataset()
    code = calibration.cultivar_of_observations(plots_ds, obs)
    with store.session_scope(engine()) as session:
        start_set = cultivars.cultivar_parameters(code, session=session)
    with progress() as bar:
        bar.add_task(f"fitting {code}", total=None)
        result = calibration.calibrate(plots_ds, weather, obs, start_set, parameter,
                                       slope_correction=not no_slope)
    version = None
    if save:
        with store.session_scope(engine()) as session:
            version = params.save_version(session, result.params, author=author,
                                          comment=comment or f"calibrated on {observations.name}")
    table = result.table()
    if as_json:
        print(json.dumps({"cultivar": code, "parameter_set": result.params.name, "version": version,
                          "errors": table.to_dict("records"), "before": result.values_before,
                          "after": result.values_after, "at_bounds": result.at_bounds,
                          "warnings": result.warnings, "seconds": round(result.seconds, 2)},
                         ensure_ascii=False, indent=1))
        return
    print_records(table.to_dict("records"), list(table.columns), False, title=f"calibration of {code}")
    print_records([{"parameter": k, "before": result.values_before[k], "after": result.values_after[k]}
                   for k in result.keys], ("parameter", "before", "after"), False, title="parameters")
    for warning in result.warnings:
        out.print(f"warning: {warning}")
    if version is not None:
        out.print(f"saved {result.params.name} version {version}")
