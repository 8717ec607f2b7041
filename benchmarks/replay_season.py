"""Benchmark the season replay (``advice.replay.replay_season``): the weekly chain on every week of one season
of the sample district (30 plots, 1 March to 29 November: 40 issue dates, each seeing only its past).

A fresh sample home (``orchard init --sample`` in a temporary folder: weather 2010-2017, 100 synthetic
scenes 2015-2017, sensors), then the replay following the advice (the first product of each advised spray)
and the measures of the advice and of the calendar programme on the same weather; prints the total, the
one-off load, the slowest dates and a markdown table of the decisions (median plot).

Run from the repository root::

    .venv/bin/python benchmarks/replay_season.py                          # season 2016
    .venv/bin/python benchmarks/replay_season.py --season 2012 2013 2014 2015 2016 2017
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
    parser.add_argument("--season", type=int, nargs="+", default=[2016])
    parser.add_argument("--follow", default="advice", choices=("advice", "calendar"))
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
        rows = []
        print(machine())
        for season in args.season:
            t0 = time.perf_counter()
            result = replay_season(engine, season, follow=args.follow)
            total = time.perf_counter() - t0
            dates = {k: v for k, v in result.seconds.items() if k not in ("load", "evaluate")}
            slowest = sorted(dates.items(), key=lambda kv: -kv[1])[:3]
            print(f"replay of season {season}: {len(result.dates)} dates x "
                  f"{result.status['plot_id'].nunique()} plots in {total:.1f} s (load "
                  f"{result.seconds['load']:.1f} s, evaluate {result.seconds.get('evaluate', 0):.1f} s, "
                  "median "
                  f"date {sorted(dates.values())[len(dates) // 2]:.2f} s); peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
            print("  slowest dates: " + ", ".join(f"{d} {s:.1f} s" for d, s in slowest))
            rows.append((season, total, result.summary, result.weekly))
    measures = ("sprays", "tfi", "kg_ai_ha", "kg_cu_ha", "field_eiq", "cost_cny_per_mu",
                "unprotected_infections", "unprotected_events", "label_breaches")
    print("\n| season | programme | " + " | ".join(measures) + " | replay [s] |")
    print("|---|---|" + "---|" * (len(measures) + 1))
    for season, total, summary, _ in rows:
        for name, values in summary["programmes"].items():
            print(f"| {season} | {name} | " + " | ".join(f"{values[m]['median']:g}" for m in measures)
                  + f" | {total:.0f} |")
    print("\nshare of plot-weeks (March-November) at levels 4-5 of the 15-day outlook, per pest:")
    for season, _, _, weekly in rows:
        share = weekly.assign(high=weekly["level_15d"] >= 4).groupby("pest")["high"].mean()
        print(f"  {season}: " + ", ".join(f"{p} {100 * v:.0f} %" for p, v in share.items()))


if __name__ == "__main__":
    main()
