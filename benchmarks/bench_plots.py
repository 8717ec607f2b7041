"""Benchmark the plot model: read + validate, to_dataset, to_records and the database upsert.

Synthetic square plots of 0.07–0.4 ha scattered over Chongqing are written to a GeoJSON file; the
reference, measured in the same run, is a plain ``geopandas.read_file`` of that file (parsing only, no
validation). Run ``python benchmarks/bench_plots.py [--plots 20000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd  # noqa: E402

from machine import machine  # noqa: E402
from orchard import store  # noqa: E402
from orchard.plots import read_plots  # noqa: E402


def write_plots(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    x = 106.0 + rng.uniform(0, 4, n)
    y = 29.0 + rng.uniform(0, 2, n)
    size = rng.uniform(0.0008, 0.002, n)
    features = [{"type": "Feature",
                 "properties": {"plot_id": f"P{i:06d}", "owner_id": "grower", "trees_per_ha": 800},
                 "geometry": {"type": "Polygon", "coordinates": [[[x[i], y[i]], [x[i] + size[i], y[i]],
                              [x[i] + size[i], y[i] + size[i]], [x[i], y[i] + size[i]], [x[i], y[i]]]]}}
                for i in range(n)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plots.geojson"
        write_plots(path, args.plots)
        reference_s, _ = timed(lambda: gpd.read_file(path, engine="pyogrio"))
        read_s, plots = timed(lambda: read_plots(path))
        dataset_s, _ = timed(plots.to_dataset)
        records_s, records = timed(plots.to_records)
        engine = store.init_db(f"sqlite:///{Path(tmp) / 'bench.db'}")

        def upsert():
            with store.session_scope(engine) as session:
                store.upsert_users(session, [{"user_id": "grower", "display_name": "G", "role": "grower"}])
                store.upsert_plots(session, records)

        upsert_s, _ = timed(upsert)
        again_s, _ = timed(upsert)
        engine.dispose()
    n = args.plots
    print(f"machine: {machine()}")
    print(f"{n:,} plots; reference geopandas.read_file {reference_s:.2f} s")
    for label, seconds in (("read_plots (parse + validate + areas)", read_s), ("to_dataset", dataset_s),
                           ("to_records", records_s), ("upsert_plots, first import", upsert_s),
                           ("upsert_plots, same file again", again_s)):
        print(f"{label:40s} {seconds:6.2f} s  {n / seconds:9,.0f} plots/s  {seconds / reference_s:5.1f} x ref")


if __name__ == "__main__":
    main()
