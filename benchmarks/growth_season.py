"""Benchmark the growth model: plot-days per second against PCSE's WOFOST 7.2 in the same run.

* **Reference**: PCSE WOFOST 7.2 water-limited (``pcse.start_wofost``, bundled demo database, grid 31031,
  winter wheat, year 2000; offline), one season, timed ``run_till_terminate`` (median of 5).
* **Growth core**: ``growth.model.run`` without slope correction on ``--plots`` plots x 365 days (the
  Changting sample weather moved to random plot elevations, three cultivars mixed), in batches of
  ``--batch`` plots as a district job would run it (each batch's dataset is built, then dropped), with the
  peak memory.
* **Slope correction**: ``growth.slope.slope_weather`` (pvlib solar position, Erbs, Hay–Davies, horizon mask,
  sky-view factor) on ``--slope-plots`` plots x 365 days with random slopes, aspects and horizons.

Run from the repository root (needs the ``bench`` extra for PCSE)::

    .venv/bin/python benchmarks/growth_season.py                  # 100,000 plots
    .venv/bin/python benchmarks/growth_season.py --plots 10000    # quicker
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402

from growth import model, slope  # noqa: E402
from orchard.sources import read_weather  # noqa: E402
from orchard.weather import weather_for_plots  # noqa: E402

START, END = "2014-10-01", "2015-09-30"  # 365 days: induction, bloom, fruit growth to stage III


def pcse_reference(repeats: int = 5) -> tuple[float, int]:
    import pcse

    times = []
    for _ in range(repeats):
        wofost = pcse.start_wofost(grid=31031, crop=1, year=2000, mode="wlp")
        t0 = time.perf_counter()
        wofost.run_till_terminate()
        times.append(time.perf_counter() - t0)
        days = len(wofost.get_output())
    return float(np.median(times)), days


def plots_dataset(n: int, rng) -> xr.Dataset:
    cultivars = np.array(["powell_navel", "lane_late_navel", "valencia"])
    return xr.Dataset({
        "lat": ("plot", 25.70 + rng.uniform(0, 0.1, n)), "lon": ("plot", 116.30 + rng.uniform(0, 0.1, n)),
        "elevation_m": ("plot", rng.uniform(250, 700, n)),
        "cultivar": ("plot", cultivars[rng.integers(0, 3, n)]),
        "canopy_cover": ("plot", rng.uniform(0.4, 0.9, n)), "station_id": ("plot", np.array(["58911"] * n)),
        "slope_deg": ("plot", rng.uniform(0, 35, n)), "aspect_deg": ("plot", rng.uniform(0, 360, n)),
        "sky_view_factor": ("plot", rng.uniform(0.85, 1.0, n)),
        "horizon_deg": (("plot", "azimuth"), rng.uniform(0, 15, (n, 36))),
    }, coords={"plot": [f"P{i:06d}" for i in range(n)], "azimuth": np.arange(0, 360, 10.0)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--slope-plots", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(20261122)
    station = read_weather(ROOT / "sample_data/weather/changting_58911_meteo_daily.csv", format="changting",
                           rain_path=ROOT / "sample_data/weather/changting_hetian_81502750_pcp_daily.csv")
    station = station.sel(time=slice(START, END))
    n_days = station.sizes["time"]

    pcse_s, pcse_days = pcse_reference()
    pcse_rate = pcse_days / pcse_s

    t_total = 0.0
    for start in range(0, args.plots, args.batch):
        n = min(args.batch, args.plots - start)
        plots = plots_dataset(n, rng)
        weather = weather_for_plots(station, plots)
        t0 = time.perf_counter()
        ds = model.run(plots, weather, slope_correction=False)
        t_total += time.perf_counter() - t0
        del ds
    core_rate = args.plots * n_days / t_total
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    plots = plots_dataset(args.slope_plots, rng)
    weather = weather_for_plots(station, plots)
    t0 = time.perf_counter()
    slope.slope_weather(weather, plots)
    slope_s = time.perf_counter() - t0
    slope_rate = args.slope_plots * n_days / slope_s

    import pcse
    import pvlib

    print(machine(pcse=pcse.__version__, pvlib=pvlib.__version__))
    print(f"PCSE WOFOST 7.2 (wlp, grid 31031, 2000): {pcse_days} days in {pcse_s * 1000:.0f} ms "
          f"= {pcse_rate:,.0f} plot-days/s")
    print(f"growth core: {args.plots:,} plots x {n_days} days in {t_total:.1f} s = "
          f"{core_rate:,.0f} plot-days/s "
          f"= {core_rate / pcse_rate:,.0f} x PCSE; peak RSS {peak_mb:,.0f} MB (batches of {args.batch:,})")
    print(f"slope correction: {args.slope_plots:,} plots x {n_days} days in {slope_s:.1f} s = "
          f"{slope_rate:,.0f} plot-days/s = {slope_rate / pcse_rate:,.0f} x PCSE")


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    main()
