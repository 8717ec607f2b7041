"""What every ``orchard`` sub-command shares: consoles, the database engine, tables and safe file writes.

``orchard/cli.py`` builds the command; each module adds its own commands from ``<module>/cli.py`` through a
``register(app)`` function and uses these helpers, so all commands look and fail alike.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchard import config

# Wide enough for the tables when output goes to a file or a pipe (a terminal sets its own width).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

LEFT_ALIGNED = ("plot_id", "name", "owner_id", "cultivar", "pest", "horizon", "level", "reason", "station_id")


def progress() -> Progress:
    """A spinner with elapsed time on stderr (hidden when stderr is not a terminal)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                    transient=True, disable=not err.is_terminal)


def engine():
    """The database of ORCHARD_HOME / ORCHARD_DB_URL, migrated once (steps of one command share it)."""
    return engine_for(config.database_url())


@functools.cache
def engine_for(url: str):
    from orchard import store

    return store.init_db(url)


def core_parameters():
    """The core parameter set in force (latest stored version, else the shipped defaults)."""
    from orchard import params, store

    with store.session_scope(engine()) as session:
        return params.current_core_parameters(session)


def option_date(value: str, option: str):
    """A date given on the command line (``--date``, ``--start`` …) as a ``pandas.Timestamp`` (midnight).

    ``YYYY-MM-DD``, within the plausible years of ``orchard/parameters/limits.toml``; anything else is one
    sentence naming the option (never a pandas error).
    """
    import pandas as pd

    from orchard import limits

    return pd.Timestamp(limits.parse_date(value, option))


def option_year(value: int, option: str) -> int:
    """A year given on the command line (``--season``), within the plausible years."""
    from orchard import limits
    from orchard.errors import InputError

    first, last = limits.datebounds()
    if not first.year <= int(value) <= last.year:
        raise InputError(f"{option} {value} is not plausible; give a year between {first.year} and "
                         f"{last.year}.")
    return int(value)


def print_records(records: list[dict], columns, as_json: bool, title: str) -> None:
    """Print records as a table, or as JSON with ``--json``."""
    if as_json:
        print(json.dumps(records, ensure_ascii=False, indent=1, default=json_default))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in LEFT_ALIGNED else "right")
    for record in records:
        table.add_row(*(_cell(record.get(c)) for c in columns))
    out.print(table)


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if value != value else f"{value:.2f}"
    return str(value)


def json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_netcdf(ds, path: Path) -> None:
    """Write a dataset to NetCDF through a temporary file, so a failed write never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        ds.to_netcdf(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
