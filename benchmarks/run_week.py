"""Benchmark the weekly chain (``advice.chain.run_chain``) on many plots: time per step and peak memory.

A temporary SQLite database gets the sample district's weather (Changting daily, 2010–2017) and ``--plots``
plots copied from the 30 sample plots (their cultivar, soil, horizon profile and area), each moved: elevation
± N(0, 30 m), slope ± N(0, 2°), aspect ± N(0, 15°), so the slope correction meets several hundred terrain
classes rather than 30. Ids P000001 …, owners the sample growers. Then the chain runs for a summer week
(2016-07-15) and stores its run whole (module outputs, plot_status, recommendations); every step's time and
the process's peak RSS are printed. ``--history-years`` loads that many years before the member years too:
the chain must not read them, so peak memory must not change (the check for "memory independent of how many
years of history exist").

Run from the repository root::

    .venv/bin/python benchmarks/run_week.py                   # 10,000 plots
    .venv/bin/python benchmarks/run_week.py --plots 100000
    .venv/bin/python benchmarks/run_week.py --plots 1000 --scheduler tcp://127.0.0.1:8786
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402

from advice.chain import DEFAULT_LOCAL_SCHEDULER, run_chain  # noqa: E402
from orchard import ingest, sample, store  # noqa: E402


def build_database(path: Path, n_plots: int, seed: int = 7):
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
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_plots):
        row = dict(template[i % len(template)])
        row["plot_id"] = f"P{i:06d}"
        row["name"] = f"plot {i}"
        row["elevation_m"] = float(row["elevation_m"]) + float(rng.normal(0, 30))
        row["slope_deg"] = float(np.clip(float(row["slope_deg"]) + rng.normal(0, 2), 0, 45))
        row["aspect_deg"] = float((float(row["aspect_deg"]) + rng.normal(0, 15)) % 360)
        row.pop("updated_utc", None)
        rows.append(row)
    with store.session_scope(engine) as session:
        store.upsert_plots(session, rows)
    return engine


class PeakMemory:
    """Peak resident memory of this process and its children (dask worker processes), sampled every 0.1 s."""

    def __init__(self):
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a worker that just ended
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def add_history(engine, years: int) -> None:
    """Copy the station's daily record ``years`` earlier (dates shifted back), so the database holds more
    history than the chain's member years: the run must not read it."""
    import pandas as pd
    from sqlalchemy import select

    with store.session_scope(engine) as session:
        rows = session.execute(select(store.WeatherReading).where(
            store.WeatherReading.resolution == "daily")).scalars().all()
        columns = [c.name for c in store.WeatherReading.__table__.columns]
        frame = pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows])
    span = frame["time_utc"].max().year - frame["time_utc"].min().year + 1
    copies = []
    for k in range(1, -(-years // span) + 1):
        shifted = frame.copy()
        # a whole number of days (a calendar shift would fold 29 February onto the 28th)
        shifted["time_utc"] = shifted["time_utc"] - pd.Timedelta(days=366 * span * k)
        copies.append(shifted)
    extra = pd.concat(copies, ignore_index=True)
    first = frame["time_utc"].min() - pd.DateOffset(years=years)
    extra = extra[extra["time_utc"] >= first]
    from sqlalchemy import insert

    with store.session_scope(engine) as session:
        session.execute(insert(store.WeatherReading), extra.to_dict("records"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--date", default="2016-07-15")
    parser.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--extra-history-years", type=int, default=0,
                        help="add this many years of (copied) daily weather before the sample's record")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine = build_database(Path(tmp) / "week.db", args.plots)
        if args.extra_history_years:
            add_history(engine, args.extra_history_years)
        setup_s = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        with PeakMemory() as peak:
            result = run_chain(engine, args.date, results_root=Path(tmp) / "results",
                               scheduler=args.scheduler, chunk_size=args.chunk_size, keep_recommendations=False)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += children.ru_utime + children.ru_stime
        rss = peak.peak / 1024**2
        with store.session_scope(engine) as session:
            n_recs = session.query(store.RecommendationRecord).count()
        stored_mb = sum(p.stat().st_size for p in (Path(tmp) / "results").rglob("*") if p.is_file()) / 1e6
    print(machine())
    print(f"database with {args.plots:,} plots (+{args.extra_history_years} extra years of history) built in "
          f"{setup_s:.1f} s (not timed; peak RSS after it {rss_before:,.0f} MB)")
    print(f"run_chain {args.date}: {total:.1f} s for {args.plots:,} plots, {n_recs:,} recommendations stored, "
          f"{stored_mb:.0f} MB of module outputs; peak RSS (with worker processes) {rss:,.0f} MB; "
          f"CPU {cpu:.0f} s ({args.scheduler or 'local ' + DEFAULT_LOCAL_SCHEDULER})")
    print("  (prepare, monitoring, write and store: wall time in the main process; the chunk steps: CPU time "
          "summed over the workers)")
    for step, seconds in result.seconds.items():
        print(f"  {step:<12s} {seconds:7.1f} s")
    for note in result.notes[:3]:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
