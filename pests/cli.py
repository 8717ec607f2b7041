"""Commands of the ``pests`` package, added to the ``orchard`` command by ``register``.

``orchard pests outlook --date 2016-06-01 [--plots CT01,CT02] [--pests black_spot,mites] [--json]
[--out outlook.nc] [--forecast saved.json | --fetch]`` and ``orchard pests spray --date ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

pests_app = typer.Typer(no_args_is_help=True, help="Pest and disease risk: outlooks and spray timing.")

_COLUMNS = ("plot_id", "pest", "horizon", "probability", "level", "reason")


def register(app: typer.Typer) -> None:
    """Add ``orchard pests ...`` to the ``orchard`` command."""
    app.add_typer(pests_app, name="pests")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _run_outlook(
    date: str, plots: list[str] | None, pests: list[str] | None, forecast: Path | None, fetch: bool
):
    import json

    import pandas as pd

    from orchard import store
    from orchard import weather as ow
    from orchard.cli_common import core_parameters, engine
    from orchard.errors import InputError
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet
    from pests.outlook import outlook
    from pests.paramsets import check_pests

    pest_list = check_pests(_split(pests))
    try:
        issue = pd.to_datetime(date, format="%Y-%m-%d").normalize()
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"--date {date!r} is not a date; write it as YYYY-MM-DD.") from None
    wanted = _split(plots)
    with store.session_scope(engine()) as session:
        rows = store.all_plots(session)
        if wanted:
            known = {r["plot_id"] for r in rows}
            unknown = [p for p in wanted if p not in known]
            if unknown:
                raise InputError(
                    f"plot {unknown[0]} is not in the database; list plots with 'orchard plots list'."
                )
            rows = [r for r in rows if r["plot_id"] in wanted]
        if not rows:
            raise InputError("there are no plots in the database; import plots first (orchard import-plots).")
        plot_set = PlotSet.from_records(rows)
        weather = plot_weather(session, plot_set, resolution="daily")
    plots_ds = plot_set.to_dataset()
    fc = None
    if forecast is not None or fetch:
        from orchard.errors import check_input_file
        from orchard.forecast import forecast_for_plots

        clim = ow.climatology(weather)
        lapse = core_parameters()["elevation.lapse_rate"]
        if forecast is not None:
            path = check_input_file(forecast, what="Open-Meteo JSON file")
            try:
                payload = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise InputError(
                    f"{path}: is not valid JSON; save the Open-Meteo response unchanged."
                ) from None
            kind = next((k for k in ("seasonal", "ensemble") if k in path.name.lower()), "forecast")
            resolution = "hourly" if isinstance(payload, dict) and "hourly" in payload else "daily"
            fc = forecast_for_plots(
                plots_ds,
                kind=kind,
                resolution=resolution,
                responses=payload,
                station_climatology=clim,
                issue_date=issue,
                lapse_rate_c_per_100m=lapse,
            )
        else:
            fc = forecast_for_plots(
                plots_ds,
                kind="forecast",
                resolution="hourly",
                station_climatology=clim,
                issue_date=issue,
                lapse_rate_c_per_100m=lapse,
            )
    return outlook(plots_ds, weather, issue, forecast=fc, pests=pest_list)


_DATE = Annotated[str, typer.Option("--date", help="Issue date, YYYY-MM-DD.")]
_PLOTS = Annotated[list[str] | None, typer.Option("--plots", help="Plot ids (comma-separated or repeated).")]
_PESTS = Annotated[list[str] | None, typer.Option("--pests", help="black_spot, canker, mites, leaf_miner.")]
_FORECAST = Annotated[Path | None, typer.Option("--forecast", help="Saved Open-Meteo JSON response to use.")]
_FETCH = Annotated[
    bool, typer.Option("--fetch", help="Fetch the Open-Meteo forecast (climatology if offline).")
]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@pests_app.command("outlook")
def outlook_command(
    date: _DATE,
    plots: _PLOTS = None,
    pests: _PESTS = None,
    as_json: _JSON = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the outlook to NetCDF.")] = None,
    forecast: _FORECAST = None,
    fetch: _FETCH = False,
) -> None:
    """Risk of black spot, canker, red mite and leafminer per plot at 15 days, 1 month and 3 months."""
    from orchard.cli_common import err, print_records, write_netcdf
    from pests.outlook import LEVEL_NAMES_EN

    ds = _run_outlook(date, plots, pests, forecast, fetch)
    if out_file is not None:
        write_netcdf(ds, out_file)
    records = []
    for plot in ds["plot"].values:
        for pest in ds["pest"].values:
            for horizon in ds["horizon"].values:
                cell = ds.sel(plot=plot, pest=pest, horizon=horizon)
                level = int(cell["level"])
                records.append(
                    {
                        "plot_id": str(plot),
                        "pest": str(pest),
                        "horizon": str(horizon),
                        "probability": round(float(cell["probability"]), 3),
                        "level": f"{level} {LEVEL_NAMES_EN[level]}" if not as_json else level,
                        "risk_score": round(float(cell["risk_score"]), 1),
                        "expected_events": round(float(cell["expected_events"]), 2),
                        "reason": str(cell["reason"].values),
                    }
                )
    columns = _COLUMNS if not as_json else (*_COLUMNS, "risk_score", "expected_events")
    print_records(
        [{c: r[c] for c in columns} for r in records],
        columns,
        as_json,
        title=f"pest outlook issued {ds.attrs['issue_date']}",
    )
    if not as_json:
        err.print(
            f"weather: 15 d {ds['weather_source'].values[0]}; 1-3 months {ds['weather_source'].values[-1]}",
            markup=False,
        )
        err.print(f"host state: {ds.attrs['host_state_source']}", markup=False)
        if ds.attrs.get("forecast_fallback"):
            err.print(
                f"forecast unavailable, climatology used: {ds.attrs['forecast_fallback']}", markup=False
            )
    if out_file is not None:
        err.print(f"wrote {out_file}")


@pests_app.command("spray")
def spray_command(
    date: _DATE,
    plots: _PLOTS = None,
    pests: _PESTS = None,
    as_json: _JSON = False,
    forecast: _FORECAST = None,
    fetch: _FETCH = False,
) -> None:
    """Spray timing: protective or curative action, latest date, and what would make it unnecessary."""
    from orchard.cli_common import print_records
    from pests.spray import spray_signals

    ds = _run_outlook(date, plots, pests, forecast, fetch)
    frame = spray_signals(ds)
    frame = frame.rename(columns={"plot": "plot_id"})
    columns = ("plot_id", "pest", "action", "latest_date", "probability_15d", "unnecessary_if", "reason")
    print_records(
        frame[list(columns)].to_dict("records"),
        columns,
        as_json,
        title=f"spray timing issued {ds.attrs['issue_date']}",
    )
