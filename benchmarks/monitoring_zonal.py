"""Benchmark of the per-plot NDVI job of monitoring (one full Sentinel-2 tile, 10,000 plots).

Run from the repository root::

    python benchmarks/monitoring_zonal.py [--size 10980] [--plots 10000] [--repeat 3] [--rasterstats-repeat 1]

A seeded synthetic Sentinel-2-like tile (``--size`` square, 2 bands B04 and B08, uint16 L2A DN with the
PB >= 04.00 offset of +1000, nodata 0, DEFLATE predictor 2, 512 px tiles, EPSG:32650) with a metadata sidecar
is written to a temporary folder, with 10,000 random convex plots of 0.1-5 ha (log-uniform). Timed in the same
run, on the same files (best of ``--repeat``; GDAL_NUM_THREADS=ALL_CPUS for every reader):

* job        ``monitoring.zonal.scene_index_stats``: bands -> reflectance -> NDVI -> exactextract, streamed
* read       raw ``rasterio`` read of both bands (decode only)
* exact      one ``exact_extract`` call (mean, count; raster-sequential) on a precomputed NDVI GeoTIFF
* rasterstats ``rasterstats.zonal_stats`` (mean, count) on the same NDVI GeoTIFF (the usual choice)

Goals (issue #7): job <= 1.3 x (read + exact) and job >= 7 x faster than rasterstats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GDAL_NUM_THREADS", "ALL_CPUS")

import exactextract  # noqa: E402
import geopandas as gpd  # noqa: E402
import rasterio  # noqa: E402
import rasterstats  # noqa: E402
import shapely  # noqa: E402
from machine import machine  # noqa: E402

from monitoring import zonal  # noqa: E402

CRS = "EPSG:32650"


def make_tile(folder: Path, size: int, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    transform = rasterio.transform.from_origin(300000.0, 2900000.0, 10.0, 10.0)
    path = folder / "S2_tile.tif"
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=2,
        dtype="uint16",
        crs=CRS,
        transform=transform,
        nodata=0,
        compress="deflate",
        predictor=2,
        zlevel=6,
        tiled=True,
        blockxsize=512,
        blockysize=512,
    )
    with rasterio.open(path, "w", **profile) as dst:
        for row0 in range(0, size, 512):
            rows = min(512, size - row0)
            y = np.arange(row0, row0 + rows)[:, None] / size
            x = np.arange(size)[None, :] / size
            ndvi = (
                0.55
                + 0.2 * np.sin(12 * np.pi * x) * np.cos(9 * np.pi * y)
                + rng.normal(0, 0.03, (rows, size))
            )
            nir = 0.3 + rng.normal(0, 0.01, (rows, size))
            red = nir * (1 - ndvi) / (1 + ndvi)
            window = rasterio.windows.Window(0, row0, size, rows)
            dst.write(np.clip(red * 10000 + 1000, 1, 65535).astype(np.uint16), 1, window=window)
            dst.write(np.clip(nir * 10000 + 1000, 1, 65535).astype(np.uint16), 2, window=window)
        dst.descriptions = ("B04", "B08")
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "platform": "Sentinel-2A",
                "acquired_utc": "2023-05-01T02:55:00Z",
                "processing_baseline": "05.09",
                "bands": ["B04", "B08"],
                "synthetic": True,
            }
        )
    )
    return path


def make_plots(n: int, size: int, seed: int = 11) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    area_m2 = np.exp(rng.uniform(np.log(0.1e4), np.log(5e4), n))
    radius = np.sqrt(area_m2 / np.pi)
    extent = size * 10.0
    cx = 300000.0 + rng.uniform(radius + 20, extent - radius - 20)
    cy = 2900000.0 - rng.uniform(radius + 20, extent - radius - 20)
    geoms = []
    for i in range(n):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        ring = np.column_stack([cx[i] + radius[i] * np.cos(angles), cy[i] + radius[i] * np.sin(angles)])
        hull = shapely.convex_hull(shapely.multipoints(ring))
        geoms.append(shapely.affinity.scale(hull, *(np.sqrt(area_m2[i] / hull.area),) * 2))
    return gpd.GeoDataFrame({"plot_id": [f"P{i:05d}" for i in range(n)]}, geometry=geoms, crs=CRS)


def precomputed_ndvi(tile: Path, folder: Path) -> Path:
    path = folder / "ndvi.tif"
    with rasterio.open(tile) as src:
        profile = src.profile | dict(count=1, dtype="float32", nodata=None)
        for key in ("compress", "predictor", "zlevel"):
            profile.pop(key, None)
        with rasterio.open(path, "w", **profile) as dst:
            for _, window in src.block_windows(1):
                red, nir = (src.read(i, window=window).astype(np.float32) - 1000 for i in (1, 2))
                dst.write(((nir - red) / (nir + red)).astype(np.float32), 1, window=window)
    return path


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--plots", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rasterstats-repeat", type=int, default=1)
    args = parser.parse_args()
    print(
        machine(
            exactextract=getattr(exactextract, "__version__", "?"),
            rasterio=rasterio.__version__,
            rasterstats=rasterstats.__version__,
            GDAL=rasterio.__gdal_version__,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        tile = make_tile(folder, args.size)
        plots = make_plots(args.plots, args.size)
        ndvi = precomputed_ndvi(tile, folder)
        print(
            f"data: {args.size}x{args.size} 2-band DEFLATE {tile.stat().st_size / 1e6:.0f} MB, "
            f"{args.plots} plots (median {plots.area.median() / 1e4:.2f} ha), "
            f"made in {time.perf_counter() - t0:.0f} s"
        )

        def job():
            return zonal.scene_index_stats(
                tile, plots, "ndvi", ("mean", "count"), strategy="raster-sequential"
            )

        def read():
            with rasterio.open(tile) as src:
                return src.read([1, 2])

        def exact():
            return exactextract.exact_extract(
                str(ndvi),
                plots,
                ["mean", "count"],
                include_cols=["plot_id"],
                output="pandas",
                strategy="raster-sequential",
            )

        def rstats():
            return rasterstats.zonal_stats(plots, str(ndvi), stats=["mean", "count"])

        t_job, table = best(job, args.repeat)
        t_read, _ = best(read, args.repeat)
        t_exact, reference = best(exact, args.repeat)
        t_rs, _ = best(rstats, args.rasterstats_repeat)
        diff = np.abs(
            table["mean"].to_numpy() - reference.set_index("plot_id")["mean"].reindex(table.index).to_numpy()
        )
        print(f"job (scene_index_stats)        {t_job:6.2f} s  ({args.plots / t_job:,.0f} plots/s)")
        print(f"raw read of both bands         {t_read:6.2f} s")
        print(f"exactextract on NDVI GeoTIFF   {t_exact:6.2f} s")
        print(f"rasterstats on NDVI GeoTIFF    {t_rs:6.2f} s")
        print(f"job / (read + exactextract) = {t_job / (t_read + t_exact):.2f}  (goal <= 1.3)")
        print(f"rasterstats / job           = {t_rs / t_job:.1f}  (goal >= 7)")
        print(f"max |mean NDVI job - exactextract on precomputed| = {np.nanmax(diff):.2e}")


if __name__ == "__main__":
    main()
