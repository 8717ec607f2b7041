"""Benchmark of orchard.terrain: DEM read, slope/aspect, per-plot zonal statistics and horizons.

Run from the repository root::

    python benchmarks/bench_terrain.py [--size 2000] [--plots 1000] [--repeat 5]

A seeded fractal DEM (spectral synthesis, power spectrum ~ 1/f^3.2, 30 m cells, 250-1250 m) is written to a
temporary GeoTIFF (EPSG:32649, tiled, uncompressed) and 1,000 random plots of 0.2-3 ha (rotated rectangles)
are scattered over it. Each step is timed (median of ``--repeat`` runs) and reported as a ratio against a
reference measured in the same run on the same data:

* read_dem        vs  rasterio ``src.read(1)`` of the same file
* slope_aspect    vs  ``numpy.gradient`` of the same array
* zonal stats     vs  one ``rasterio.features.rasterize`` of the same plots over the same grid
* horizon_angles  vs  ``scipy.ndimage.map_coordinates(order=1)`` at the same number of sample points
* plot_terrain    end to end (read, cells, slope, means, horizons), plots per second
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd  # noqa: E402
import rasterio  # noqa: E402
import rasterio.features  # noqa: E402
import scipy.ndimage  # noqa: E402
import shapely  # noqa: E402
from affine import Affine  # noqa: E402

from machine import machine  # noqa: E402
from orchard import terrain  # noqa: E402

CELL_M = 30.0
CRS = "EPSG:32649"


def fractal_dem(size: int, seed: int = 42, beta: float = 3.2) -> np.ndarray:
    """Seeded fractal surface by spectral synthesis, scaled to 250-1250 m [m]."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) * f ** (-beta / 2)
    spectrum[0, 0] = 0.0
    z = np.fft.irfft2(spectrum, s=(size, size))
    z = (z - z.min()) / (z.max() - z.min())
    return 250.0 + 1000.0 * z


def random_plots(n: int, transform: Affine, size: int, seed: int = 7) -> gpd.GeoDataFrame:
    """``n`` rotated rectangles of 0.2-3 ha, aspect ratio 1-3, inside the DEM."""
    rng = np.random.default_rng(seed)
    area_m2 = rng.uniform(0.2, 3.0, n) * 10_000
    ratio = rng.uniform(1.0, 3.0, n)
    width, height = np.sqrt(area_m2 * ratio), np.sqrt(area_m2 / ratio)
    angle = rng.uniform(0, 180, n)
    margin = 300.0
    extent = size * CELL_M
    cx = transform.c + rng.uniform(margin, extent - margin, n)
    cy = transform.f - rng.uniform(margin, extent - margin, n)
    boxes = shapely.box(-width / 2, -height / 2, width / 2, height / 2)
    geoms = [shapely.affinity.translate(shapely.affinity.rotate(b, a, origin=(0, 0)), x, y)
             for b, a, x, y in zip(boxes, angle, cx, cy)]
    return gpd.GeoDataFrame({"plot_id": [f"P{i:04d}" for i in range(n)]}, geometry=geoms, crs=CRS)


def timed(func, repeat: int):
    """Median wall time [s] of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="DEM side [cells]")
    parser.add_argument("--plots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--search", type=float, default=3000.0, help="horizon search distance [m]")
    parser.add_argument("--azimuths", type=int, default=36)
    args = parser.parse_args()

    print("machine:", machine(numpy=np.__version__, rasterio=rasterio.__version__, GDAL=rasterio.__gdal_version__))
    size = args.size
    transform = Affine(CELL_M, 0, 400_000.0, 0, -CELL_M, 3_500_000.0)
    elevation = fractal_dem(size)
    plots = random_plots(args.plots, transform, size)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fractal_dem.tif"
        with rasterio.open(path, "w", driver="GTiff", height=size, width=size, count=1, dtype="float32",
                           crs=CRS, transform=transform, nodata=-9999.0, tiled=True,
                           blockxsize=256, blockysize=256) as dst:
            dst.write(elevation.astype("float32"), 1)
        print(f"DEM: {size}x{size} cells at {CELL_M:g} m ({path.stat().st_size / 1e6:.0f} MB float32 "
              f"GeoTIFF); {len(plots)} plots of 0.2-3 ha; "
              f"horizon {args.azimuths} azimuths x {args.search:g} m\n")

        def raw_read():
            with rasterio.open(path) as src:
                return src.read(1)

        rows = []
        t_ref, _ = timed(raw_read, args.repeat)
        t_read, dem = timed(lambda: terrain.read_dem(path), args.repeat)
        rows.append(("read_dem", t_read, "rasterio src.read(1)", t_ref, ""))

        z = dem.elevation_m
        t_ref, _ = timed(lambda: np.gradient(z, CELL_M), args.repeat)
        t_slope, (slope, aspect) = timed(lambda: terrain.slope_aspect(z, CELL_M, CELL_M), args.repeat)
        rows.append(("slope_aspect", t_slope, "numpy.gradient", t_ref,
                     f"{z.size / t_slope / 1e6:.1f} Mcell/s"))

        geoms = np.asarray(plots.geometry.values, dtype=object)
        n = geoms.size

        def zonal():
            index, r, c, w = terrain.plot_cells(geoms, transform, z.shape)
            elev = np.bincount(index, w * z[r, c], n) / np.bincount(index, w, n)
            slp = np.bincount(index, w * slope[r, c], n) / np.bincount(index, w, n)
            return elev, slp

        t_ref, _ = timed(lambda: rasterio.features.rasterize(
            zip(geoms, range(1, n + 1)), out_shape=z.shape, transform=transform, dtype="int32"), args.repeat)
        t_zonal, _ = timed(zonal, args.repeat)
        rows.append(("zonal stats (plot_cells + means)", t_zonal, "one rasterize of the plots", t_ref,
                     f"{n / t_zonal:,.0f} plots/s"))

        centroids = shapely.centroid(geoms)
        x, y = shapely.get_x(centroids), shapely.get_y(centroids)
        z0 = terrain.sample_elevation(z, transform, x, y) + 1.5
        n_steps = int(np.ceil(args.search / CELL_M))
        rng = np.random.default_rng(0)
        coords = rng.uniform(0, size - 1, size=(2, n * args.azimuths * n_steps))
        t_ref, _ = timed(lambda: scipy.ndimage.map_coordinates(z, coords, order=1, mode="nearest"),
                         args.repeat)
        t_hor, (horizon, _) = timed(lambda: terrain.horizon_angles(
            z, transform, x, y, z0, n_azimuths=args.azimuths, search_distance_m=args.search), args.repeat)
        rows.append((f"horizon_angles ({n_steps} steps)", t_hor,
                     f"map_coordinates, {coords.shape[1] / 1e6:.1f} M points", t_ref,
                     f"{n / t_hor:,.0f} plots/s"))

        t_all, result = timed(lambda: terrain.plot_terrain(
            plots, path, search_distance_m=args.search, n_azimuths=args.azimuths), args.repeat)
        rows.append(("plot_terrain (end to end)", t_all, "rasterio src.read(1)", rows[0][3],
                     f"{n / t_all:,.0f} plots/s"))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time':>9}  {'reference':<34} {'ref time':>9}  {'ratio':>6}  rate")
    for name, t, ref_name, t_ref, rate in rows:
        print(f"{name:<{width}}  {t * 1e3:7.1f}ms  {ref_name:<34} {t_ref * 1e3:7.1f}ms  "
              f"{t / t_ref:6.2f}  {rate}")
    print(f"\nsanity: mean slope {np.nanmean(result.slope_deg):.1f} deg, "
          f"mean SVF {float(result.sky_view_factor.mean()):.3f}, "
          f"max horizon {float(result.horizon_deg.max()):.1f} deg")


if __name__ == "__main__":
    main()
