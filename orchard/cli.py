"""The ``orchard`` command: the operator's face of the toolkit.

Every command turns bad input into one sentence on stderr and a non-zero exit code, never a traceback
(set ``ORCHARD_DEBUG=1`` to see one). Long work shows a progress bar.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Annotated

import click
import pandas as pd
import typer
from rich.table import Table

from orchard import config
from orchard.cli_common import core_parameters as _core_parameters
from orchard.cli_common import engine as _engine
from orchard.cli_common import err, option_date, out, write_netcdf
from orchard.cli_common import print_records as _print_records
from orchard.cli_common import progress as _progress
from orchard.errors import InputError, OrchardError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Citrus orchard toolkit: plots, terrain, weather, models and the app.")
plots_app = typer.Typer(no_args_is_help=True, help="Plots in the database.")
params_app = typer.Typer(no_args_is_help=True, help="Parameter sets.")
app.add_typer(plots_app, name="plots")
app.add_typer(params_app, name="params")
users_app = typer.Typer(no_args_is_help=True, help="User accounts and their passwords (for the app's sign-in).")
app.add_typer(users_app, name="users")
stations_app = typer.Typer(no_args_is_help=True, help="Weather stations (the belt's CMA stations by id).")
app.add_typer(stations_app, name="stations")

WEATHER_FORMATS = ("csv", "changting", "uci", "netcdf", "openmeteo")
TERRAIN_COLUMNS = ("plot_id", "area_ha", "elevation_m", "slope_deg", "aspect_deg", "sky_view_factor")


@app.command()
def init(sample: Annotated[bool, typer.Option("--sample", help="Load the sample district.")] = False) -> None:
    """Create (or upgrade) the database; with --sample, load the sample district."""
    from orchard import sample as sample_district
    from orchard.privacy import ensure_secret

    with _progress() as progress:
        task = progress.add_task("creating the database", total=None)
        engine = _engine()
        counts = None
        if sample:
            counts = sample_district.load_sample(
                engine, progress=lambda step: progress.update(task, description=f"loading {step}"))
            # Each package loads its own part of the sample (satellite scenes and field sensors, leaf photos
            # and a first identification model), so ``orchard/`` stays free of module imports.
            for entry_point in sample_loaders():
                progress.update(task, description=f"loading sample {entry_point.name.replace('_', ' ')}")
                counts.update(entry_point.load()(engine, config.sample_data_dir()))
    ensure_secret()  # the key of sign-in cookies and plot labels (orchard.privacy), never in the code
    out.print(f"database ready: {_shown_url()}")
    if sample:
        _warn_sample_passwords(engine)
    if counts:
        out.print(f"sample district loaded: {counts['plots']} plots, {counts['daily_days']} days of daily "
                  f"weather, {counts['hourly_hours']} hours of hourly weather, {counts.get('scenes', 0)} "
                  f"satellite scenes, {counts.get('sensor_readings', 0)} sensor readings, "
                  f"{counts.get('leaf_photos', 0)} leaf photos")


def _warn_sample_passwords(engine) -> None:
    """Say on stderr which accounts still sign in with the sample's public password (README, source code)."""
    from orchard import store
    from orchard.sample import SAMPLE_PASSWORD, SAMPLE_USERS

    with store.session_scope(engine) as session:
        public = [u["user_id"] for u in SAMPLE_USERS
                  if store.authenticate(session, u["user_id"], SAMPLE_PASSWORD) is not None]
    if public:
        err.print(f"warning: {len(public)} sample accounts ({', '.join(public)}) sign in with the public "
                  f"password '{SAMPLE_PASSWORD}'; change each with `orchard users passwd USER` (or remove "
                  "them) before anyone else can reach the app.", markup=False, soft_wrap=True)


@app.command("import-plots")
def import_plots(
    file: Annotated[Path, typer.Argument(help="GeoJSON or GeoPackage with one polygon per plot.")],
    dem: Annotated[Path | None, typer.Option(help="DEM GeoTIFF: compute elevation, slope, aspect, horizon.")] = None,
    owner: Annotated[str | None, typer.Option(help="User id of the grower who owns every plot in the file.")] = None,
    coords: Annotated[str, typer.Option(help="Coordinates the file was digitised in: wgs84, cgcs2000, gcj02, bd09.")]
    = "wgs84",
    id_field: Annotated[str, typer.Option(help="Column with the plot ids.")] = "plot_id",
) -> None:
    """Import plots (one transaction; importing the same file twice changes nothing)."""
    from orchard import ingest
    from orchard.plots import read_plots

    with _progress() as progress:
        progress.add_task(f"reading {file.name}", total=None)
        plots = read_plots(file, coords=coords, id_field=id_field)
        if owner:
            plots = plots.with_owner(owner)
        unowned = plots.frame.index[plots.frame["owner_id"].isna()].tolist()
        if unowned:
            raise InputError(f"{file}: plots {', '.join(unowned[:5])} have no owner_id; pass --owner USER.")
        if dem is not None:
            plots = plots.with_terrain(_terrain(plots, dem))
        ingest.import_plots(_engine(), plots)
    out.print(f"imported {len(plots)} plots from {file.name}")


@app.command("import-weather")
def import_weather(
    file: Annotated[Path, typer.Argument(help="Weather file.")],
    station: Annotated[str, typer.Option(help="Station id to store the readings under.")],
    format: Annotated[str, typer.Option(help=f"One of {', '.join(WEATHER_FORMATS)}.")] = "changting",
    rain: Annotated[Path | None, typer.Option(help="Separate daily rain-gauge file (format changting).")] = None,
    lat: Annotated[float | None, typer.Option(help="Station latitude [deg N].")] = None,
    lon: Annotated[float | None, typer.Option(help="Station longitude [deg E].")] = None,
    elevation: Annotated[float | None, typer.Option(help="Station elevation [m].")] = None,
    column: Annotated[list[str] | None, typer.Option(help="Format csv: VARIABLE=COLUMN, e.g. tmax_c=TMAX.")] = None,
    unit: Annotated[list[str] | None, typer.Option(help="Format csv: VARIABLE=UNIT, e.g. tmax_c=degF.")] = None,
    time_column: Annotated[str | None, typer.Option(help="Format csv: column with the time stamps.")] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone of naive time stamps, e.g. Asia/Shanghai.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Format csv: field separator, e.g. ';'.")] = None,
) -> None:
    """Import weather readings after quality control (upserts: importing twice changes nothing)."""
    from orchard import ingest

    if format not in WEATHER_FORMATS:
        raise InputError(f"unknown weather format '{format}'; use one of {', '.join(WEATHER_FORMATS)}.")
    with _progress() as progress:
        progress.add_task(f"reading {file.name}", total=None)
        options = {"rain_path": rain, "lat": lat, "lon": lon, "elevation_m": elevation, "tz": tz,
                   "time_column": time_column, "columns": _pairs(column, "--column"), "units": _pairs(unit, "--unit"),
                   "delimiter": delimiter}
        options = {k: v for k, v in options.items() if v is not None}
        ds, report = ingest.import_weather(_engine(), file, format=format, station_id=station,
                                           parameters=_core_parameters(), **options)
    out.print(f"imported {ds.sizes['time']} {ds.attrs.get('resolution', '')} time steps for station {station}")
    for line in report.summary_lines():
        err.print(line, markup=False)


@plots_app.command("list")
def plots_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    user: Annotated[str | None, typer.Option(help="List as this user (a grower sees only their plots).")] = None,
) -> None:
    """List plots with area and terrain attributes."""
    from orchard import store

    engine = _engine()
    with store.session_scope(engine) as session:
        # The operator's CLI sees every plot; --user scopes the listing in the data layer as the app does.
        rows = store.list_plots(session, user) if user else store.all_plots(session)
    columns = ("plot_id", "name", "owner_id", "cultivar", *TERRAIN_COLUMNS[1:])
    records = [{c: row.get(c) for c in columns} for row in rows]
    _print_records(records, columns, as_json, title="plots")


@plots_app.command("export")
def plots_export(
    file: Annotated[Path, typer.Argument(help="Output .gpkg (GeoPackage, layer 'plots') or .geojson.")],
    user: Annotated[str | None, typer.Option(help="Export as this user (a grower gets only their plots).")] = None,
) -> None:
    """Write the plots with their attributes to a file that opens in QGIS."""
    from orchard import store
    from orchard.plots import PlotSet

    with store.session_scope(_engine()) as session:
        rows = store.list_plots(session, user) if user else store.all_plots(session)
    written = PlotSet.from_records(rows).to_file(file)
    out.print(f"wrote {len(rows)} plots to {written}")


@app.command()
def terrain(
    plots_file: Annotated[Path, typer.Argument(metavar="PLOTS", help="GeoJSON or GeoPackage of plots.")],
    dem: Annotated[Path, typer.Option(help="DEM GeoTIFF in any CRS.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    coords: Annotated[str, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09.")] = "wgs84",
    search_distance: Annotated[float | None, typer.Option(help="Horizon search distance [m].")] = None,
) -> None:
    """Elevation, slope, aspect and sky-view factor per plot, from a DEM."""
    from orchard.plots import read_plots

    plots = read_plots(plots_file, coords=coords)
    result = _terrain(plots, dem, search_distance)
    table = pd.DataFrame({"plot_id": plots.plot_ids, "area_ha": plots.frame["area_ha"].to_numpy()})
    for name in TERRAIN_COLUMNS[2:]:
        table[name] = result[name].sel(plot=plots.plot_ids).to_numpy()
    records = table.to_dict("records")
    _print_records(records, TERRAIN_COLUMNS, as_json, title=f"terrain from {dem.name}")


weather_app = typer.Typer(help="Weather on the plots (with --start/--end), or `weather fetch` for forecasts.")
app.add_typer(weather_app, name="weather")


@weather_app.callback(invoke_without_command=True)
def plots_weather(
    ctx: typer.Context,
    start: Annotated[str | None, typer.Option(help="First local date, e.g. 2016-03-01.")] = None,
    end: Annotated[str | None, typer.Option(help="Last local date, e.g. 2016-03-31.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the plot weather to NetCDF.")] = None,
    resolution: Annotated[str, typer.Option(help="daily or hourly.")] = "daily",
    user: Annotated[str | None, typer.Option(help="Only this user's plots.")] = None,
    station: Annotated[str | None, typer.Option(help="Use this station for every plot.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Weather on each plot (station readings moved to the plot's elevation) for a date range."""
    if ctx.invoked_subcommand is not None:
        return
    if start is None or end is None:
        raise InputError("give --start and --end (local dates) for the plots' weather, or use "
                         "`orchard weather fetch` to fetch forecasts.")
    from orchard import store
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet

    if resolution not in ("daily", "hourly"):
        raise InputError(f"resolution '{resolution}' is not daily or hourly.")
    first, last = option_date(start, "--start"), option_date(end, "--end")
    if last < first:
        raise InputError(f"--end {last.date()} is before --start {first.date()}; swap them.")
    with store.session_scope(_engine()) as session:
        rows = store.list_plots(session, user) if user else store.all_plots(session)
        ds = plot_weather(session, PlotSet.from_records(rows), resolution=resolution, start=str(first.date()),
                          end=f"{last.date()} 23:59:59", station_id=station)
    if ds.attrs.get("daily_from_hourly"):
        err.print(f"note: station {ds.attrs['daily_from_hourly']} holds hourly readings only; its daily "
                  "weather is derived from them (days with fewer than 20 hours are missing).", markup=False)
    if out_file is not None:
        write_netcdf(ds, out_file)
    temperature = "tmean_c" if "tmean_c" in ds else "t_c"
    table = pd.DataFrame({
        "plot_id": ds["plot"].values.astype(str), "station_id": ds["station_id"].values.astype(str),
        "temperature_offset_c": ds["temperature_offset_c"].values,
        f"mean_{temperature}": ds[temperature].mean("time").values,
        "precip_mm": ds["precip_mm"].sum("time").values if "precip_mm" in ds else None})
    records = table.to_dict("records")
    _print_records(records, list(records[0]), as_json, title=f"plot weather {start} to {end}")
    if out_file is not None:
        err.print(f"wrote {out_file}")


@params_app.command("show")
def params_show(
    file: Annotated[Path | None, typer.Argument(help="A parameter TOML file (default: the core set).")] = None,
) -> None:
    """Show a parameter set (default: the core set in force): value, unit, range and source of every entry."""
    from orchard import params

    parameter_set = params.load_parameters(file) if file else _core_parameters()
    table = Table(title=f"{parameter_set.name} (hash {parameter_set.hash})")
    for column in ("key", "value", "unit", "min", "max", "source"):
        table.add_column(column, overflow="fold")
    for _, row in parameter_set.to_frame().iterrows():
        table.add_row(*(str(row[c]) for c in ("key", "value", "unit", "min", "max", "source")))
    out.print(table)


@params_app.command("set")
def params_set(
    changes: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", help="e.g. elevation.lapse_rate=0.55")],
    author: Annotated[str, typer.Option(help="User id of the agronomist making the change.")],
    comment: Annotated[str, typer.Option(help="Why the values changed (kept in the history).")] = "",
) -> None:
    """Store a new version of the core parameter set with some values changed (who, when, what is kept)."""
    from orchard import params, store

    values = {}
    for key, text in (_pairs(changes, "KEY=VALUE") or {}).items():
        try:
            values[key] = float(text)
        except ValueError:
            raise InputError(f"{key}={text!r}: the value is not a number.") from None
    with store.session_scope(_engine()) as session:
        current = params.current_core_parameters(session)
        version = params.save_version(session, current.with_overrides(values), author=author, comment=comment)
    out.print(f"saved {current.name} version {version}")


@params_app.command("history")
def params_history(name: Annotated[str, typer.Option(help="Parameter set name.")] = "weather") -> None:
    """Stored versions of a parameter set: who changed it, when, how much, and why."""
    from orchard import params, store

    with store.session_scope(_engine()) as session:
        records = [dataclasses.asdict(record) for record in params.list_versions(session, name)]
    _print_records(records, ("version", "hash", "author", "created_utc", "n_changes", "comment"), False,
                   title=f"versions of {name}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every account with its role and whether it can sign in with a password."""
    from orchard import store

    with store.session_scope(_engine()) as session:
        records = [{**u, "has_password": session.get(store.User, u["user_id"]).password_hash is not None}
                   for u in store.list_users(session)]
    _print_records(records, ("user_id", "display_name", "role", "has_password"), as_json, title="users")


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="Account id (e.g. grower_zhang).")],
    role: Annotated[str, typer.Option(help="grower, agronomist, extension or admin.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the id).")] = None,
) -> None:
    """Create (or rename / change the role of) an account; then set its password with `users passwd`."""
    from orchard import store

    with store.session_scope(_engine()) as session:
        store.upsert_users(session, [{"user_id": user_id, "display_name": name or user_id, "role": role}])
    out.print(f"user {user_id} ({role}) saved; set a password with: orchard users passwd {user_id}")


#: Environment variable a script may pass a new password in: unlike an argument it is not in the process list
#: (other users of the machine cannot read another process's environment) nor in the shell history.
PASSWORD_ENV = "ORCHARD_NEW_PASSWORD"


@users_app.command("passwd")
def users_passwd(
    user_id: Annotated[str, typer.Argument(help="Account id.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the new password from the first line of standard input (scripts).")]
    = False,
    password: Annotated[str | None, typer.Option(
        help="Deprecated and unsafe: the password shows in the process list and the shell history. Without "
             f"it the password is asked for (hidden), or read from --password-stdin or ${PASSWORD_ENV}.")]
    = None,
) -> None:
    """Set an account's password (stored as a salted scrypt hash); asked for twice, hidden, by default."""
    from orchard import store

    if password is not None:
        err.print("warning: --password puts the password in the process list and the shell history; type it "
                  f"at the prompt, or use --password-stdin or ${PASSWORD_ENV} in scripts.", markup=False,
                  soft_wrap=True)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with store.session_scope(_engine()) as session:
        store.set_password(session, user_id, password)
    out.print(f"password of {user_id} changed.")


@app.command("app")
def run_app(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(
        help="Address to listen on: 127.0.0.1 (this machine only, e.g. behind a reverse proxy with HTTPS "
             "here) unless told otherwise, e.g. 0.0.0.0 for every interface.")] = "127.0.0.1",
) -> None:
    """Start the Streamlit app on the database in ORCHARD_HOME / ORCHARD_DB_URL."""
    home = Path(__file__).resolve().parent.parent / "app" / "Home.py"
    if not home.exists():
        raise InputError(f"the app is not found at {home}; run from a source checkout.")
    # Production settings live in .streamlit/config.toml at the repository root (no usage statistics, no
    # error internals, viewer toolbar, upload limit, XSRF on, larger type); Streamlit reads it from the
    # working directory, so the app runs from there.
    # Only this machine by default: the app holds growers' data and signs in with passwords, so reaching it
    # from the network is the operator's explicit choice (--address), not Streamlit's default of every
    # interface.
    command = [sys.executable, "-m", "streamlit", "run", str(home), "--server.port", str(port),
               "--server.address", address, "--server.headless", "true"]
    raise typer.Exit(subprocess.call(command, cwd=home.parent.parent))


def _pairs(items: list[str] | None, option: str) -> dict[str, str] | None:
    """Parse repeated ``NAME=VALUE`` options into a dict."""
    if not items:
        return None
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError(f"{option} {item!r} is not NAME=VALUE; write e.g. {option} tmax_c=TMAX.")
        pairs[name.strip()] = value.strip()
    return pairs


def _terrain(plots, dem: Path, search_distance: float | None = None):
    from orchard import terrain as terrain_model

    core = _core_parameters()
    return terrain_model.plot_terrain(
        plots.frame.reset_index(), dem,
        search_distance_m=search_distance or core["terrain.horizon_search_distance"],
        observer_height_m=core["terrain.observer_height"])


@stations_app.command("add")
def stations_add(
    cma: Annotated[str, typer.Option("--cma", help="CMA station id of the Three Gorges belt, e.g. 57348 "
                                     "(Fengjie).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the station and its relocations as "
                                          "JSON.")] = False,
) -> None:
    """Add (or update) a CMA station from the shipped station list: name, position and elevation of its latest
    location, no typing of coordinates."""
    from orchard import cma as cma_list
    from orchard import store

    station = cma_list.cma_station(cma)
    with store.session_scope(_engine()) as session:
        store.upsert_stations(session, [cma_list.station_record(station)])
    if as_json:
        import json

        print(json.dumps(station, ensure_ascii=False, indent=1))
        return
    moves = station["relocations"]
    out.print(f"station {station['station_id']} {station['name']} ({station['province']}, "
              f"{station['station_type']}): {station['lat']:.4f} N {station['lon']:.4f} E, "
              f"{station['elevation_m']:g} m, the location since {moves[-1]['start'] if moves else '?'}; "
              f"{max(len(moves) - 1, 0)} relocations since {station['record_start']}")


@stations_app.command("list")
def stations_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The stations in the database."""
    from orchard import store

    with store.session_scope(_engine()) as session:
        rows = store.list_stations(session)
    _print_records(rows, ("station_id", "name", "lat", "lon", "elevation_m", "kind", "source"), as_json,
                   title="stations")


@weather_app.command("fetch")
def weather_fetch(
    date: Annotated[str | None, typer.Option("--date", help="Issue date, YYYY-MM-DD (default today, China "
                                             "time).")] = None,
    kinds: Annotated[list[str] | None, typer.Option("--kind", help="forecast, ensemble or seasonal (repeat; "
                                                    "default all three).")] = None,
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Reanalysis for stations without "
                                          "observations.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fetch Open-Meteo forecast, ensemble and seasonal members for every station (and reanalysis for stations
    without observations) and store them with their issue date and source."""
    from orchard import weather_fetch as wf

    issued_on = wf.local_today() if date is None else _date_option(date)
    with _progress() as progress:
        task = progress.add_task("fetching weather", total=None)
        report = wf.fetch_weather(_engine(), issued_on=issued_on, kinds=tuple(kinds or wf.FORECAST_KINDS),
                                  archive=archive,
                                  progress=lambda step: progress.update(task, description=f"fetching {step}"))
    if report.stored:
        _print_records(report.stored, ("station_id", "kind", "days", "members", "values", "cached"), as_json,
                       title=f"weather fetched for {issued_on}")
    for sentence in report.errors:
        err.print(f"orchard: error: {sentence}")
    if report.unreachable:
        raise InputError(report.unreachable)
    if report.errors:
        raise typer.Exit(1)


def _date_option(value: str):
    try:
        return pd.to_datetime(value, format="%Y-%m-%d").date()
    except (ValueError, TypeError):
        raise InputError(f"date {value!r} is not a date; write it as YYYY-MM-DD.") from None


#: Entry-point group through which each package adds its commands: ``NAME = "package.cli:register"``, a
#: function ``register(app: typer.Typer)``; declared in the package's ``[project.entry-points]`` table.
COMMANDS_GROUP = "orchard.commands"
#: Entry-point group of the packages' parts of ``orchard init --sample``: ``NAME = "package.module:func"``, a
#: function ``(engine, sample_dir) -> dict[str, int]`` (counts for the summary), run after the core's sample
#: (plots, weather, users) in the order of their names.
SAMPLE_LOADERS_GROUP = "orchard.sample_loaders"


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    """The installed entry points of ``group`` in the order of their names (an entry point seen twice, e.g.
    from a source checkout's egg-info and the installed metadata, once)."""
    unique = {(ep.name, ep.value): ep for ep in metadata.entry_points(group=group)}
    return [unique[key] for key in sorted(unique)]


def sample_loaders() -> list[metadata.EntryPoint]:
    """The packages' sample loaders (group ``orchard.sample_loaders``), in the order they run."""
    return _entry_points(SAMPLE_LOADERS_GROUP)


def register_commands(typer_app: typer.Typer) -> None:
    """Add every installed package's commands (``orchard growth ...``, ``orchard export-riskmap ...``) to
    ``typer_app`` through the entry points of group ``orchard.commands``; the core imports no package."""
    for entry_point in _entry_points(COMMANDS_GROUP):
        try:
            register = entry_point.load()
        except ImportError as exc:  # e.g. an install older than the source tree: say what to do
            raise ImportError(f"the commands '{entry_point.name}' ({entry_point.value}) cannot be loaded "
                              f"({exc}); reinstall the toolkit: pip install -e .") from exc
        register(typer_app)


register_commands(app)


def _shown_url() -> str:
    url = config.database_url()
    return url.split("@")[-1] if "@" in url else url  # never print a password


def _click_types(name: str) -> tuple[type, ...]:
    """Click's exception class ``name``, and typer's own copy of it (typer >= 0.16 vendors click as
    ``typer._click``, whose exceptions are not click's), found through typer's public re-exports."""
    found = [getattr(click.exceptions, name)]
    for public in (typer.BadParameter, typer.Abort, typer.Exit):
        for base in type.mro(public):
            if base.__name__ == name and base not in found:
                found.append(base)
    return tuple(found)


_USAGE_ERRORS = _click_types("ClickException")
_EXITS = _click_types("Exit") + (typer.Exit,)
_ABORTS = _click_types("Abort")


@contextlib.contextmanager
def _quiet_libraries():
    """Keep library warnings and log records (numpy, pandas, rasterio, GDAL …) off the user's terminal: the
    command's own sentence says what went wrong. ``ORCHARD_DEBUG=1`` shows them again."""
    if os.environ.get("ORCHARD_DEBUG"):
        yield
        return
    root = logging.getLogger()
    handler = logging.NullHandler()  # stops logging's "last resort" printing WARNING records to stderr
    root.addHandler(handler)
    shown = warnings.showwarning
    warnings.showwarning = lambda *args, **kwargs: None  # filters still apply (and tests' "error" filters)
    try:
        yield
    finally:
        warnings.showwarning = shown
        root.removeHandler(handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning every error into one sentence and an exit code."""
    try:
        with _quiet_libraries():
            # Without standalone mode click returns the exit code of typer.Exit instead of exiting.
            code = app(args=argv, prog_name="orchard", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except _EXITS as exc:
        sys.exit(exc.exit_code)
    except _USAGE_ERRORS as exc:  # a bad option or value: click's words, as one sentence like the others
        if not str(exc.format_message()).strip():  # a group called without a command: its help was shown
            sys.exit(exc.exit_code)
        _fail(_usage_sentence(exc), exc.exit_code)
    except _ABORTS:
        err.print("aborted")
        sys.exit(130)
    except OrchardError as exc:
        _fail(str(exc), 1)
    except Exception as exc:  # noqa: BLE001 - the user gets a sentence, the developer ORCHARD_DEBUG=1
        _fail(f"unexpected error ({type(exc).__name__}: {exc}); rerun with ORCHARD_DEBUG=1 and report it.", 3)


def _usage_sentence(exc) -> str:
    """Click's message of a usage error as one line, with where to find the command's help."""
    message = " ".join(str(exc.format_message()).split()).rstrip(".")
    context = getattr(exc, "ctx", None)
    if context is not None:
        message += f"; see '{context.command_path} --help'"
    return message + "."


def _fail(message: str, code: int) -> None:
    if os.environ.get("ORCHARD_DEBUG"):
        raise
    print(f"orchard: error: {message}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
