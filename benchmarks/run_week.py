"""Benchmark the weekly advice pipeline (``advice.pipeline.run_week``) on many plots.

A temporary SQLite database gets the sample district's weather (Changting daily, 2010–2017) and ``--plots``
plots copied from the 30 sample plots (same terrain, horizon, soil and cultivar; ids P000001 …, owners the
sample growers), then ``run_week`` runs for a summer week (2016-07-15) and the time of every stage is
recorded (plot weather, soil water balance, growth with the expected harvest, pests, monitoring, rules and
storage). Monitoring has no imagery in 2016 (the sample's scenes are 2021–2022) and reports so.

Run from the repository root::

    .venv/bin/python benchmarks/run_week.py                 # 10,000 plots
    .venv/bin/python benchmarks/run_week.py --plots 1000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402

from advice.pipeline import run_week  # noqa: E402
from orchard import ingest, sample, store  # noqa: E402


def build_database(path: Path, n_plots: int):
    engine = store.init_db(f"sqlite:///{path}")
    paths = sample.sample_paths()
    with store.session_scope(engine) as session:
        store.upsert_users(session, sample.SAMPLE_USERS)
    ingest.import_weather(engine, paths["meteo"], format="changting", station_id="58911", rain_path=paths["rain"])
    source = tempfile.mkdtemp()
    sample_engine = store.init_db(f"sqlite:///{source}/s.db")
    sample.load_sample(sample_engine)
    with store.session_scope(sample_engine) as session:
        template = store.all_plots(session)
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n_plots):
        row = dict(template[i % len(template)])
        row["plot_id"] = f"P{i:06d}"
        row["name"] = f"plot {i}"
        row["elevation_m"] = float(row["elevation_m"]) + float(rng.normal(0, 30))
        row.pop("updated_utc", None)
        rows.append(row)
    with store.session_scope(engine) as session:
        store.upsert_plots(session, rows)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--date", default="2016-07-15")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine = build_database(Path(tmp) / "week.db", args.plots)
        setup_s = time.perf_counter() - t0
        stamps = []
        t0 = time.perf_counter()
        result = run_week(engine, args.date, progress=lambda step: stamps.append((step, time.perf_counter())))
        total = time.perf_counter() - t0
    stamps.append(("end", t0 + total))
    print(machine())
    print(f"database with {args.plots:,} plots built in {setup_s:.1f} s (not timed below)")
    print(f"run_week {args.date}: {total:.1f} s for {args.plots:,} plots, {len(result.recommendations):,} "
          f"recommendations; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    for (step, start), (_, end) in zip(stamps[:-1], stamps[1:], strict=True):
        print(f"  {step:<20s} {end - start:7.1f} s")
    for note in result.notes[:3]:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
