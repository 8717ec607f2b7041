"""Benchmark the weekly risk map: a synthetic 10,000 x 5,000-cell district (50 million cells), four pests,
three horizons, Cloud-Optimized GeoTIFFs and PNG/PDF maps.

The DEM is synthetic (seeded hills 150-1,450 m, 10 m cells in CGCS2000 / 3-degree Gauss-Krüger CM 117E,
EPSG:4548, centred on the Changting station; DEFLATE-compressed float32 tiles, written block by block, not
timed); the weather is the sample district's real station record (Changting, CMA 58911, 2010-2017). The
export runs as :func:`exports.riskmap.export_riskmap` does, without the database: the risk grid
(:func:`pests.riskmap.risk_grid_run`: one pass over the DEM for the weather classes, the weather of each
class, the pest outlook per class), then :func:`exports.riskmap.write_rasters` (the lookup back to the
cells block by block into plain tiled GeoTIFFs, then GDAL's COG driver) and the maps.

The reference, measured in the same run, is ONE plain block-by-block read of the DEM with rasterio: the
ratio says how many DEM reads the whole weekly export costs.

Run from the repository root::

    .venv/bin/python benchmarks/riskmap_week.py                       # 10,000 x 5,000 cells
    .venv/bin/python benchmarks/riskmap_week.py --cols 2000 --rows 1000 --scheduler tcp://127.0.0.1:8786
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import machine  # noqa: E402

ISSUE = "2016-07-25"  # Monday of 2016-W30


def synthetic_dem(path: Path, cols: int, rows: int, cell_m: float = 10.0, seed: int = 0) -> None:
    """Seeded hills (several wavelengths plus noise), written 512 rows at a time (bounded memory)."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin

    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True).transform(116.333, 25.75)
    transform = from_origin(x0 - cols * cell_m / 2, y0 + rows * cell_m / 2, cell_m, cell_m)
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, 6)
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4548",
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "DEFLATE",
        "predictor": 3,
        "bigtiff": "IF_SAFER",
    }
    x = np.arange(cols, dtype=np.float64)[None, :]
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, rows, 512):
            r1 = min(r0 + 512, rows)
            y = np.arange(r0, r1, dtype=np.float64)[:, None]
            z = (
                800
                + 300 * np.sin(x / 900 + phases[0]) * np.cos(y / 700 + phases[1])
                + 150 * np.sin(x / 170 + phases[2]) * np.sin(y / 230 + phases[3])
                + 60 * np.cos((x + y) / 55 + phases[4])
                + rng.normal(0, 3, (r1 - r0, cols))
            )
            dst.write(z.astype(np.float32), 1, window=rasterio.windows.Window(0, r0, cols, r1 - r0))


def read_reference(path: Path) -> float:
    """Seconds for one block-by-block read of the DEM (the reference)."""
    import rasterio

    t0 = time.perf_counter()
    with rasterio.open(path) as src:
        for _, window in src.block_windows(1):
            src.read(1, window=window)
    return time.perf_counter() - t0


def sample_weather():
    from orchard import ingest, params, sample

    paths = sample.sample_paths()
    weather, _ = ingest.read_and_check_weather(
        paths["meteo"], format="changting", rain_path=paths["rain"], parameters=params.core_parameters()
    )
    return weather


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cols", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a dask.distributed scheduler")
    parser.add_argument("--no-maps", action="store_true", help="skip the PNG/PDF maps")
    parser.add_argument("--keep", type=Path, default=None, help="keep the export in this folder")
    args = parser.parse_args(argv)

    import dask
    import geopandas as gpd
    import rasterio

    from pests.riskmap import dask_scheduler, risk_grid_run
    from exports.riskmap import cjk_font, render_maps, write_rasters

    root = Path(tempfile.mkdtemp(prefix="riskmap_bench_"))
    try:
        dem = root / "district_dem.tif"
        t0 = time.perf_counter()
        synthetic_dem(dem, args.cols, args.rows)
        t_make = time.perf_counter() - t0
        weather = sample_weather()
        t_ref = read_reference(dem)
        folder, work = root / "export", root / "work"
        folder.mkdir()
        work.mkdir()
        timings = {}
        t_start = time.perf_counter()
        with dask_scheduler(args.scheduler) as sched:
            run = risk_grid_run(dem, weather, ISSUE, scheduler=sched)
            timings.update(run.timings)
            meta = {
                "week": "2016-W30",
                "issue_date": ISSUE,
                "district": "synthetic benchmark district",
                "weather_text": str(weather.attrs.get("station_name", "58911")),
            }
            t0 = time.perf_counter()
            write_rasters(run, folder, work, meta, sched, timings=timings)
            timings["rasters_s"] = time.perf_counter() - t0
        if not args.no_maps:
            t0 = time.perf_counter()
            plots = gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs="EPSG:4326")
            render_maps(run, folder, plots, meta, cjk_font())
            timings["maps_s"] = time.perf_counter() - t0
        total = time.perf_counter() - t_start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cells = args.cols * args.rows
        size_mb = sum(p.stat().st_size for p in folder.glob("*.tif")) / 1024**2
        with rasterio.open(folder / "mites.tif") as src:
            overviews = src.overviews(1)
        print(
            f"weekly risk map: {args.cols:,} x {args.rows:,} = {cells / 1e6:.0f} million cells, 4 pests x 3 "
            f"horizons, {len(run.class_keys)} weather classes (10 m elevation bins), scheduler "
            f"{args.scheduler or 'local threads'}"
        )
        print(f"  DEM synthesis (not timed)          {t_make:7.1f} s")
        print(f"  weather classes (DEM read, keys)   {timings['classes_s']:7.1f} s")
        print(f"  weather downscaling (classes)      {timings['weather_s']:7.1f} s")
        print(f"  pest models (outlook per class)    {timings['models_s']:7.1f} s")
        print(f"  writing: lookup + GeoTIFF blocks   {timings['grid_s']:7.1f} s")
        print(
            f"  writing: 16 COGs (DEFLATE, ovr)    {timings['cog_s']:7.1f} s  ({size_mb:,.0f} MB, overviews "
            f"{overviews})"
        )
        if "maps_s" in timings:
            print(f"  maps (4 PNG + 4 PDF)               {timings['maps_s']:7.1f} s")
        print(f"  total                              {total:7.1f} s  ({cells / total:,.0f} cells/s)")
        print(
            f"  reference (1 block read of the DEM) {t_ref:6.1f} s  -> export = {total / t_ref:.0f} DEM reads"
        )
        print(f"  peak memory (max RSS)              {peak_mb:7,.0f} MB")
        line = machine(
            numpy=np.__version__,
            dask=dask.__version__,
            rasterio=rasterio.__version__,
            gdal=rasterio.__gdal_version__,
        )
        print(f"  machine: {line}")
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
