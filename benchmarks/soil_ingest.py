"""Benchmark: sensor ingest (normalise -> QC -> upsert into SQLite) and the water balance over many plots.

    .venv/bin/python benchmarks/soil_ingest.py [--readings 1000000] [--plots 10000] [--days 365]

Ingest: ``monitoring.soil.ingest.ingest_readings`` of N hourly readings (moisture, soil temperature, EC of
probes with noise; time-zone-aware times) into a fresh SQLite file, compared with the bare
``orchard.store.upsert_sensor_readings`` of the same rows (no parsing, no QC) on another fresh file.
Water balance: ``monitoring.soil.water_balance.water_balance`` for P plots × D days with random soils.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine  # noqa: E402
from monitoring.soil import ingest, qc  # noqa: E402
from monitoring.soil import water_balance as wb  # noqa: E402
from orchard import store  # noqa: E402


def fresh_db(path: Path, n_sensors: int):
    engine = store.init_db(f"sqlite:///{path}")
    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": "u", "display_name": "u", "role": "grower"}])
        store.upsert_plots(
            session,
            [
                {
                    "plot_id": "P1",
                    "owner_id": "u",
                    "field_capacity": 0.34,
                    "wilting_point": 0.18,
                    "root_depth_m": 0.8,
                }
            ],
        )
        store.upsert_sensors(
            session,
            [
                {
                    "sensor_id": f"S{i:04d}",
                    "plot_id": "P1",
                    "kind": "soil_probe_7in1",
                    "depth_m": 0.2,
                    "lon": 116.45,
                    "lat": 25.68,
                }
                for i in range(n_sensors)
            ],
        )
    return engine


def readings(n: int, rng) -> pd.DataFrame:
    variables = ["moisture_m3_m3", "soil_temp_c", "ec_ds_m"]
    n_series = max(1, n // 8760)
    hours = int(np.ceil(n / n_series))
    times = pd.date_range("2017-01-01", periods=hours, freq="h", tz="Asia/Shanghai")
    series = np.arange(n) // hours
    t = times[np.arange(n) % hours]
    var = np.asarray(variables, dtype=object)[series % 3]
    base = np.select([var == variables[0], var == variables[1]], [0.30, 22.0], 0.5)
    noise = np.select([var == variables[0], var == variables[1]], [0.002, 0.3], 0.01)
    value = base + rng.normal(0, 1, n) * noise
    return pd.DataFrame(
        {
            "sensor_id": [f"S{i:04d}" for i in series // 3],
            "variable": var,
            "time": t,
            "value": np.round(value, 4),
        }
    ), int(series.max() // 3 + 1)


def bench_ingest(n: int, rng) -> dict:
    df, n_sensors = readings(n, rng)
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_db(Path(tmp) / "a.db", n_sensors)
        t0 = time.perf_counter()
        report = ingest.ingest_readings(engine, df, batch="bench")
        t_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        ingest.ingest_readings(engine, df, batch="bench")
        t_again = time.perf_counter() - t0
        engine.dispose()
        raw = pd.DataFrame(
            {
                "sensor_id": df["sensor_id"],
                "variable": df["variable"],
                "time_utc": df["time"].dt.tz_convert("UTC"),
                "value": df["value"],
            }
        )
        engine = fresh_db(Path(tmp) / "b.db", n_sensors)
        t0 = time.perf_counter()
        with store.session_scope(engine) as session:
            store.upsert_sensor_readings(session, raw)
        t_raw = time.perf_counter() - t0
        engine.dispose()
    t0 = time.perf_counter()
    frame = ingest.normalise_records(df)
    qc.flag_readings(frame)
    t_qc = time.perf_counter() - t0
    return {
        "rows": report.rows_written,
        "ingest_s": t_ingest,
        "reingest_s": t_again,
        "upsert_only_s": t_raw,
        "normalise_qc_s": t_qc,
    }


def bench_balance(n_plots: int, n_days: int, rng) -> dict:
    plots = xr.Dataset(
        {
            "field_capacity": ("plot", rng.uniform(0.25, 0.38, n_plots)),
            "wilting_point": ("plot", rng.uniform(0.10, 0.20, n_plots)),
            "root_depth_m": ("plot", rng.uniform(0.5, 1.2, n_plots)),
            "canopy_cover": ("plot", rng.uniform(0.2, 0.8, n_plots)),
            "slope_deg": ("plot", rng.uniform(0, 30, n_plots)),
        },
        coords={"plot": [f"P{i}" for i in range(n_plots)]},
    )
    eto = rng.uniform(1, 6, (n_days, n_plots))
    rain = np.where(rng.random((n_days, n_plots)) < 0.3, rng.exponential(10, (n_days, n_plots)), 0.0)
    times = pd.date_range("2017-01-01", periods=n_days, freq="D")
    t0 = time.perf_counter()
    wb.water_balance(eto, rain, plots, times=times)
    return {"balance_s": time.perf_counter() - t0}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    r = bench_ingest(args.readings, rng)
    b = bench_balance(args.plots, args.days, rng)
    n = r["rows"]
    print(
        f"ingest_readings of {n:,} readings (normalise, QC, upsert; SQLite file): {r['ingest_s']:.2f} s = "
        f"{n / r['ingest_s']:,.0f} readings/s"
    )
    print(
        f"  re-import of the same readings: {r['reingest_s']:.2f} s = {n / r['reingest_s']:,.0f} readings/s"
    )
    print(
        f"  reference store.upsert_sensor_readings alone: {r['upsert_only_s']:.2f} s = "
        f"{n / r['upsert_only_s']:,.0f} rows/s (ratio {r['ingest_s'] / r['upsert_only_s']:.2f})"
    )
    print(f"  normalise + QC alone (no database): {r['normalise_qc_s']:.2f} s")
    pd_ = args.plots * args.days
    print(
        f"water_balance {args.plots:,} plots x {args.days} days: {b['balance_s']:.2f} s = "
        f"{pd_ / b['balance_s']:,.0f} plot-days/s"
    )
    print("machine:", machine(numpy=np.__version__, pandas=pd.__version__))


if __name__ == "__main__":
    main()
