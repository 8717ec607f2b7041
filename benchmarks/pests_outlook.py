"""Benchmark the pest outlook: 10,000 plots x 4 pests x 3 horizons with 20 climatology members.

Synthetic daily plot weather (21 years, so 20 past years serve as members; humid subtropical cycle, seeded)
goes through :func:`pests.outlook.outlook` for one issue date (1 June: every pest active). The reference,
measured in the same run on the same member arrays (91 days x plots x 20 members), is ONE vectorised engine
pass, :func:`pests.degree_days.degree_days` (single sine), so the ratio says how many such passes the whole
outlook costs (four pest models, wetness, infection, population, statistics, reasons).

Run from the repository root::

    .venv/bin/python benchmarks/pests_outlook.py                 # 10,000 plots, 20 members
    .venv/bin/python benchmarks/pests_outlook.py --plots 2000 --workers 1
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import machine  # noqa: E402

from pests.degree_days import degree_days  # noqa: E402
from pests.outlook import outlook  # noqa: E402


def synthetic_weather(n_plots: int, years: int, seed: int = 0) -> xr.Dataset:
    """Daily plot weather: 40 stations' weather, plots differing by a lapse-rate offset (float32)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(f"{2025 - years}-01-01", "2025-06-01", freq="D")
    n, n_st = len(days), 40
    doy = days.day_of_year.to_numpy()[:, None]
    season = -np.cos(2 * np.pi * (doy - 20) / 365.25)
    tmean = 18 + 10 * season + rng.normal(0, 1.5, (n, n_st))
    amp = 4 + rng.uniform(0, 2, (n, n_st))
    wet = np.clip(0.5 + 0.5 * season, 0.05, 1)
    rain = np.where(rng.random((n, n_st)) < 0.2 + 0.35 * wet, rng.gamma(0.9, 12, (n, n_st)), 0.0)
    rh = np.clip(72 + 10 * wet + 0.4 * np.minimum(rain, 30) + rng.normal(0, 4, (n, n_st)), 30, 99)
    station = rng.integers(0, n_st, n_plots)
    offset = rng.uniform(-2.0, 0.5, n_plots).astype(np.float32)[None, :]
    tmean, amp, rh, rain = (a.astype(np.float32) for a in (tmean, amp, rh, rain))  # float32: half the memory
    dims = ("time", "plot")
    data = {
        "tmin_c": tmean[:, station] - amp[:, station] + offset,
        "tmax_c": tmean[:, station] + amp[:, station] + offset,
        "tmean_c": tmean[:, station] + offset,
        "rh_mean_pct": rh[:, station],
        "precip_mm": rain[:, station],
        "wind_ms": np.full((n, n_plots), 1.2, np.float32),
    }
    ds = xr.Dataset(
        {k: (dims, v) for k, v in data.items()},
        coords={"time": days.values, "plot": [f"p{i:05d}" for i in range(n_plots)]},
    )
    ds.attrs.update(resolution="daily", source="synthetic benchmark weather")
    return ds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="threads (default: CPUs, at most 4)")
    parser.add_argument("--chunk", type=int, default=1000, help="plots per chunk")
    args = parser.parse_args(argv)
    weather = synthetic_weather(args.plots, args.members)
    issue = "2025-06-01"
    t0 = time.perf_counter()
    result = outlook(None, weather, issue, chunk_size=args.chunk, workers=args.workers)
    t_outlook = time.perf_counter() - t0
    assert int(result["n_members"].max()) == args.members, result["n_members"].values
    # reference: one engine pass over the same member arrays
    times = pd.DatetimeIndex(weather["time"].values)
    idx = [
        times.get_indexer(pd.date_range(pd.Timestamp(f"{y}-06-02"), periods=91))
        for y in range(2025 - args.members, 2025)
    ]
    tmin = np.stack([weather["tmin_c"].values[i] for i in idx], axis=-1)
    tmax = np.stack([weather["tmax_c"].values[i] for i in idx], axis=-1)
    t0 = time.perf_counter()
    degree_days(tmin, tmax, 8.2, 32.0, "single_sine")
    t_ref = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = args.plots * 4 * 3
    print(
        f"pest outlook: {args.plots:,} plots x 4 pests x 3 horizons, {args.members} climatology members, "
        f"91 days, chunk {args.chunk}, workers {args.workers or min(4, os.cpu_count() or 1)}"
    )
    print(f"  outlook            {t_outlook:7.2f} s  ({cells / t_outlook:,.0f} plot-pest-horizon cells/s)")
    print(
        f"  reference (1 float32 DD pass over the members) {t_ref:6.3f} s"
        f"  -> outlook = {t_outlook / t_ref:.0f} passes"
    )
    print(f"  peak memory (max RSS) {peak_mb:,.0f} MB")
    print(f"  machine: {machine(numpy=np.__version__, xarray=xr.__version__)}")


if __name__ == "__main__":
    main()
