"""Benchmark of orchard.store: bulk upsert of weather readings into SQLite.

Run from the repository root::

    python benchmarks/bench_store.py [--rows 300000] [--repeat 3] [--write-readme]

A seeded long-format table of hourly readings (10 stations x 5 variables x N/50 hours, times in
China Standard Time, values ~ N(20, 5), a few NaN) is upserted with :func:`orchard.store.upsert_weather`
inside one :func:`orchard.store.session_scope` into a fresh SQLite file made by :func:`orchard.store.init_db`
(WAL, synchronous=NORMAL, foreign keys on). Each step is the median of ``--repeat`` runs and reported as a
ratio against a reference measured in the same run on the same rows:

* first import   vs  raw ``sqlite3`` ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE`` into an empty table
                     with the same DDL and pragmas, from tuples prepared beforehand (times already UTC text);
* re-import      vs  the same raw executemany into the filled table (every row conflicts, nothing changes);
* later batch    (all values changed) vs the raw re-import.

The store's time includes what the raw reference skips: validation (columns, duplicates, time zones, station
existence) and conversion from the DataFrame. ``--write-readme`` replaces the ``## Store`` section of
``benchmarks/README.md`` (other sections are kept; the file is created if missing).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy  # noqa: E402

from machine import machine  # noqa: E402
from orchard import store  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
N_STATIONS, N_VARIABLES = 10, 5


def make_rows(n_rows: int, seed: int = 42) -> pd.DataFrame:
    hours = max(1, n_rows // (N_STATIONS * N_VARIABLES))
    times = pd.date_range("2020-01-01", periods=hours, freq="h", tz="Asia/Shanghai")
    stations = [f"S{i:02d}" for i in range(N_STATIONS)]
    variables = ["t_c", "rh_pct", "precip_mm", "wind_ms", "ghi_w_m2"][:N_VARIABLES]
    n = hours * N_STATIONS * N_VARIABLES
    rng = np.random.default_rng(seed)
    values = rng.normal(20.0, 5.0, n)
    values[rng.random(n) < 0.01] = np.nan
    return pd.DataFrame({
        "station_id": np.repeat(stations, N_VARIABLES * hours),
        "resolution": "hourly",
        "variable": np.tile(np.repeat(variables, hours), N_STATIONS),
        "time_utc": np.tile(times, N_STATIONS * N_VARIABLES),
        "value": values,
        "qc_flags": 0,
        "source": "benchmark",
    })


def store_run(df: pd.DataFrame, folder: Path) -> dict[str, float]:
    engine = store.init_db(f"sqlite:///{folder / 'store.db'}")
    with store.session_scope(engine) as session:
        store.upsert_stations(session, [{"station_id": s, "kind": "weather"} for s in df.station_id.unique()])
    out = {}
    for label, frame in (("first", df), ("again", df), ("later", df.assign(value=df.value + 1.0))):
        t0 = time.perf_counter()
        with store.session_scope(engine) as session:
            store.upsert_weather(session, frame)
        out[label] = time.perf_counter() - t0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM weather_readings").scalar() == len(df)
    engine.dispose()
    return out


def raw_run(df: pd.DataFrame, folder: Path, ddl: list[str]) -> dict[str, float]:
    naive = df.time_utc.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    times = np.char.replace(np.datetime_as_string(naive, unit="us"), "T", " ").tolist()
    values = [None if v != v else v for v in df.value.tolist()]
    rows = list(zip(df.station_id.tolist(), df.resolution.tolist(), df.variable.tolist(), times, values,
                    df.qc_flags.tolist(), df.source.tolist()))
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    for statement in ddl:
        conn.execute(statement)
    conn.executemany("INSERT INTO stations (station_id, kind) VALUES (?, 'weather')",
                     [(s,) for s in df.station_id.unique()])
    sql = ("INSERT INTO weather_readings (station_id, resolution, variable, time_utc, value, qc_flags, "
           "source) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (station_id, resolution, variable, time_utc) "
           "DO UPDATE SET value = excluded.value, qc_flags = excluded.qc_flags, source = excluded.source")
    out = {}
    for label in ("first", "again"):
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        out[label] = time.perf_counter() - t0
    conn.close()
    return out


def table_ddl() -> list[str]:
    """The CREATE statements of stations and weather_readings as the migrations make them."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = store.init_db(f"sqlite:///{Path(tmp) / 'ddl.db'}")
        with engine.connect() as conn:
            ddl = [conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).scalar()
                   for name in ("stations", "weather_readings")]
        engine.dispose()
    return ddl


def write_readme(section: str) -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Store\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)

    df = make_rows(args.rows)
    ddl = table_ddl()
    store_times, raw_times = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store_times.append(store_run(df, Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            raw_times.append(raw_run(df, Path(tmp), ddl))
    med = {k: statistics.median(t[k] for t in store_times) for k in store_times[0]}
    ref = {k: statistics.median(t[k] for t in raw_times) for k in raw_times[0]}
    n = len(df)
    lines = [
        "## Store",
        "",
        f"`python benchmarks/bench_store.py --rows {args.rows} --repeat {args.repeat}` — upsert of {n:,} "
        "hourly weather rows (long format) into a SQLite file, median of the runs; reference = raw "
        "`sqlite3` `executemany` of the same `INSERT … ON CONFLICT DO UPDATE` on the same DDL and pragmas, "
        "from prepared tuples.",
        "",
        "| step | orchard.store [s] | rows/s | raw sqlite3 [s] | ratio |",
        "|---|---|---|---|---|",
        f"| first import (empty table) | {med['first']:.2f} | {n / med['first']:,.0f} | {ref['first']:.2f} | "
        f"{med['first'] / ref['first']:.2f} |",
        f"| re-import, identical rows | {med['again']:.2f} | {n / med['again']:,.0f} | {ref['again']:.2f} | "
        f"{med['again'] / ref['again']:.2f} |",
        f"| later batch, all values changed | {med['later']:.2f} | {n / med['later']:,.0f} | "
        f"{ref['again']:.2f} | {med['later'] / ref['again']:.2f} |",
        "",
        f"Machine: {machine(SQLite=sqlite3.sqlite_version, SQLAlchemy=sqlalchemy.__version__, pandas=pd.__version__)}.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write_readme:
        write_readme(section)
    return section


if __name__ == "__main__":
    main()
