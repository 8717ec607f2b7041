"""Benchmark the season replay (``advice.replay.replay_season``): the weekly chain on every week of one season
of the sample district (30 plots, 1 March to 29 November: 40 issue dates, each seeing only its past).

A fresh sample home (``orchard init --sample`` in a temporary folder: weather 2010-2017, 100 synthetic
scenes 2015-2017, sensors), then the replay; prints the total, the one-off load and the slowest dates.

Run from the repository root::

    .venv/bin/python benchmarks/replay_season.py               # season 2016
    .venv/bin/python benchmarks/replay_season.py --season 2015
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--season", type=int, default=2016)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["ORCHARD_HOME"] = home
        import subprocess

        from advice.replay import replay_season
        from orchard import config, store

        # the command's sample loaders (imagery, sensors, photos) come from the packages' entry points
        subprocess.run([sys.executable, "-m", "orchard.cli", "init", "--sample"], check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
        engine = store.init_db(config.database_url())
        t0 = time.perf_counter()
        result = replay_season(engine, args.season)
        total = time.perf_counter() - t0
    dates = {k: v for k, v in result.seconds.items() if k != "load"}
    slowest = sorted(dates.items(), key=lambda kv: -kv[1])[:3]
    print(machine())
    print(f"replay of season {args.season}: {len(result.dates)} dates x {result.status['plot_id'].nunique()} "
          f"plots in {total:.1f} s (load {result.seconds['load']:.1f} s, median date "
          f"{sorted(dates.values())[len(dates) // 2]:.2f} s); peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print("  slowest dates: " + ", ".join(f"{d} {s:.1f} s" for d, s in slowest))


if __name__ == "__main__":
    main()
