"""Make the SYNTHETIC Sentinel-2-like L2A time stack over the sample plots (seeded, reproducible).

Run from the repository root::

    .venv/bin/python sample_data/imagery/make_sample_imagery.py

Writes ``sample_data/imagery/s2_synthetic/S2_<date>.tif`` (4 bands uint16: B02, B04, B08 as L2A DN and SCL,
10 m, EPSG:32650, DEFLATE) with a ``S2_<date>.json`` sidecar each (processing baseline, acquisition time,
platform), and ``truth.geojson`` / ``truth.json`` with what was planted. Nothing here is real imagery: the
fields are made to exercise the monitoring code with known answers. See README.md in this folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.warp import Resampling, reproject
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchard.plots import read_plots  # noqa: E402
from orchard.terrain import slope_aspect  # noqa: E402

SEED = 20240607
CRS = "EPSG:32650"  # UTM 50N, as Sentinel-2 tiles over western Fujian
PIXEL_M = 10.0
MARGIN_M = 60.0
OUT = Path(__file__).resolve().parent / "s2_synthetic"

#: Acquisition dates (UTC, Sentinel-2 overpass ~02:55 UTC over Changting) and processing baselines.
#: Before PB 04.00 no offset; 2021-06-14 is a Collection-1 reprocessed product (PB 05.00) of a 2021 date:
#: it carries the -1000 offset although it was sensed before 2022 (offset keyed on baseline, never on date).
SCENES = [
    ("2021-01-18", "03.00"),
    ("2021-03-09", "03.00"),
    ("2021-04-23", "03.00"),
    ("2021-06-14", "05.00"),
    ("2021-07-29", "03.01"),
    ("2021-09-17", "03.01"),
    ("2021-10-22", "03.01"),
    ("2021-12-06", "03.01"),
    ("2022-02-19", "04.00"),
    ("2022-03-26", "04.00"),
    ("2022-05-05", "04.00"),
    ("2022-06-09", "04.00"),
    ("2022-07-14", "04.00"),
    ("2022-08-13", "05.09"),
    ("2022-09-07", "05.09"),
    ("2022-10-12", "05.09"),
    ("2022-11-16", "05.09"),
    ("2022-12-11", "05.09"),
]
ALL_CLOUD_DATE = "2022-03-26"  # every plot under cloud (SCL 8/9)
CLEAR_DATE = "2022-06-09"  # no cloud at all
SWATH_EDGE_DATE = "2021-04-23"  # eastern columns outside the swath: DN 0, SCL 0
HAZE_DATE = "2022-08-13"  # haze missed by SCL (class 4) over the healthy plot HAZE_PLOT
HAZE_PLOT = "CT02"
WINTER_MONTHS = (11, 12, 1, 2)  # low sun: SCL dark area (class 2) on steep north-facing slopes

#: Planted poor-growth patches: plot, shape, centre offset from the plot's inner point [m], size [m], onset.
PATCHES = [
    ("CT13", "ellipse", (0.0, 0.0), (45.0, 30.0), 30.0, "2022-05-01", 0.20),
    ("CT06", "rectangle", (0.0, 0.0), (70.0, 40.0), -20.0, "2022-05-01", 0.20),
    ("CT11", "ellipse", (0.0, 0.0), (35.0, 35.0), 0.0, "2022-06-01", 0.22),
]
#: A whole plot declining (peer-group and seasonal signals; nothing within the plot stands out).
WHOLE_PLOT = ("CT23", "2022-07-01", 0.12)


def seasonal_ndvi(doy):
    """Citrus NDVI seasonality: summer high, winter low and the October fruit-enlargement dip (Liang 2021)."""
    doy = np.asarray(doy, float)
    return 0.05 * np.cos(2 * np.pi * (doy - 200) / 365.25) - 0.07 * np.exp(-(((doy - 288) / 16.0) ** 2))


def patch_polygon(plot_geom, shape, offset, size, angle_deg):
    centre = plot_geom.buffer(-20).representative_point()
    cx, cy = centre.x + offset[0], centre.y + offset[1]
    if shape == "ellipse":
        geom = shapely.Point(0, 0).buffer(1.0, quad_segs=16)
        geom = shapely.affinity.scale(geom, size[0], size[1])
    else:
        geom = shapely.box(-size[0] / 2, -size[1] / 2, size[0] / 2, size[1] / 2)
    geom = shapely.affinity.rotate(geom, angle_deg, origin=(0, 0))
    geom = shapely.affinity.translate(geom, cx, cy)
    return geom.intersection(plot_geom.buffer(-10))


def smooth_noise(rng, shape, sigma):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return (field - field.mean()) / field.std()


def main() -> None:
    rng = np.random.default_rng(SEED)
    plots = read_plots(ROOT / "sample_data" / "plots.geojson")
    frame = plots.frame.to_crs(CRS)
    minx, miny, maxx, maxy = frame.total_bounds
    step = 2 * PIXEL_M  # snap to the 20 m SCL grid
    left, bottom = np.floor((minx - MARGIN_M) / step) * step, np.floor((miny - MARGIN_M) / step) * step
    right, top = np.ceil((maxx + MARGIN_M) / step) * step, np.ceil((maxy + MARGIN_M) / step) * step
    width, height = int((right - left) / PIXEL_M), int((top - bottom) / PIXEL_M)
    transform = rasterio.transform.from_origin(left, top, PIXEL_M, PIXEL_M)
    shape = (height, width)

    # Terrain on the scene grid, for the dark-area (topographic shadow) class.
    elevation = np.full(shape, np.nan, np.float32)
    with rasterio.open(ROOT / "sample_data" / "dem" / "changting_youwuzhen_dem30m.tif") as dem:
        reproject(
            rasterio.band(dem, 1),
            elevation,
            dst_transform=transform,
            dst_crs=CRS,
            resampling=Resampling.bilinear,
            dst_nodata=np.nan,
        )
    slope, aspect = slope_aspect(
        np.where(np.isfinite(elevation), elevation, np.nanmean(elevation)), PIXEL_M, PIXEL_M
    )
    shadow_prone = (slope >= 20) & (np.cos(np.radians(aspect)) > 0.5)

    # Base NDVI: mixed forest and shrub outside the plots, citrus canopy inside (plot levels within +-0.015).
    plot_index = rasterize(
        ((g, i + 1) for i, g in enumerate(frame.geometry)),
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="int32",
    )
    background = 0.66 + 0.07 * smooth_noise(rng, shape, 4)
    levels = 0.70 + 0.015 * rng.permutation(np.linspace(-1, 1, len(frame)))
    texture = 0.012 * smooth_noise(rng, shape, 1.0)
    base = np.where(plot_index > 0, np.r_[0, levels][plot_index] + texture, background)

    truth_features = []
    patch_masks = []
    for plot_id, kind, offset, size, angle, onset, drop in PATCHES:
        geom = patch_polygon(frame.geometry[plot_id], kind, offset, size, angle)
        mask = rasterize(
            [(geom, 1)], out_shape=shape, transform=transform, fill=0, dtype="uint8", all_touched=False
        ).astype(bool)
        patch_masks.append((mask, pd.Timestamp(onset), drop))
        truth_features.append(
            {
                "type": "Feature",
                "properties": {
                    "plot_id": plot_id,
                    "kind": "poor_patch",
                    "onset": onset,
                    "ndvi_drop": drop,
                    "area_ha": round(geom.area / 1e4, 4),
                },
                "geometry": shapely.geometry.mapping(_to_wgs84(geom)),
            }
        )
    whole_mask = plot_index == (frame.index.get_loc(WHOLE_PLOT[0]) + 1)
    truth_features.append(
        {
            "type": "Feature",
            "properties": {
                "plot_id": WHOLE_PLOT[0],
                "kind": "whole_plot_decline",
                "onset": WHOLE_PLOT[1],
                "ndvi_drop": WHOLE_PLOT[2],
                "area_ha": round(frame.geometry[WHOLE_PLOT[0]].area / 1e4, 4),
            },
            "geometry": shapely.geometry.mapping(_to_wgs84(frame.geometry[WHOLE_PLOT[0]])),
        }
    )
    haze_geom = frame.geometry[HAZE_PLOT].buffer(40)
    haze_mask = rasterize(
        [(haze_geom, 1)], out_shape=shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("S2_*"):
        old.unlink()
    scenes = []
    for date, baseline in SCENES:
        t = pd.Timestamp(date)
        ndvi = base + seasonal_ndvi(t.dayofyear) + 0.015 * rng.standard_normal(shape)
        for mask, onset, drop in patch_masks:
            if t >= onset:
                ndvi = np.where(mask, ndvi - drop, ndvi)
        if t >= pd.Timestamp(WHOLE_PLOT[1]):
            ndvi = np.where(whole_mask, ndvi - WHOLE_PLOT[2], ndvi)
        if date == HAZE_DATE:
            ndvi = np.where(haze_mask, ndvi - 0.25, ndvi)  # SCL misses it: stays class 4
        ndvi = np.clip(ndvi, 0.05, 0.95)
        nir = 0.30 + 0.04 * smooth_noise(rng, shape, 6) * 0.5
        red = nir * (1 - ndvi) / (1 + ndvi)
        blue = 0.55 * red + 0.01
        # SCL at 20 m, then nearest-neighbour to 10 m (2 x 2 blocks), as L2A ships it.
        coarse = (height // 2, width // 2)
        scl20 = np.full(coarse, 4, np.uint8)
        cover = {ALL_CLOUD_DATE: 1.01, CLEAR_DATE: -1.0}.get(date, rng.uniform(0.0, 0.45))
        if cover > 0:
            field = smooth_noise(rng, coarse, 6)
            threshold = np.quantile(field, 1 - min(cover, 1.0)) if cover <= 1 else -np.inf
            cloud = field >= threshold
            core = (
                field >= max(threshold + 0.6, np.quantile(field, 1 - min(cover, 1.0) / 2))
                if cover <= 1
                else np.ones(coarse, bool)
            )
            shadow = np.roll(np.roll(cloud, 4, axis=0), -3, axis=1) & ~cloud
            scl20[shadow] = 3
            scl20[cloud] = 8
            scl20[core] = 9
            if cover <= 1:
                cirrus = (smooth_noise(rng, coarse, 8) > 1.6) & ~cloud
                scl20[cirrus] = 10
        if date == HAZE_DATE:
            haze20 = haze_mask[::2, ::2][: coarse[0], : coarse[1]]
            scl20[haze20] = 4  # the haze is not in the SCL: a "clear" date that is wrong
        if t.month in WINTER_MONTHS:
            dark20 = shadow_prone[::2, ::2][: coarse[0], : coarse[1]]
            scl20[(scl20 == 4) & dark20] = 2
        scl = np.repeat(np.repeat(scl20, 2, axis=0), 2, axis=1)[:height, :width]
        # Radiometry of the masked classes: clouds bright and flat, shadows and dark areas dark and noisy.
        is_cloud = np.isin(scl, (8, 9))
        red = np.where(is_cloud, 0.32 + 0.05 * rng.random(shape), red)
        nir = np.where(is_cloud, 0.36 + 0.05 * rng.random(shape), nir)
        blue = np.where(is_cloud, 0.34, blue)
        cirrus = scl == 10
        red, nir = np.where(cirrus, red + 0.06, red), np.where(cirrus, nir + 0.03, nir)
        dim = np.isin(scl, (2, 3))
        nir = np.where(dim, nir * 0.35, nir)
        red = np.where(dim, red * 0.6 + 0.02 * rng.random(shape), red)
        blue = np.where(dim, blue * 0.6, blue)
        offset = -1000 if float(baseline) >= 4.0 else 0
        bands = []
        for reflectance in (blue, red, nir):
            dn = np.clip(np.round(reflectance * 10000) - offset, 1, 65535).astype(np.uint16)
            bands.append(dn)
        bands.append(scl.astype(np.uint16))
        stack = np.stack(bands)
        if date == SWATH_EDGE_DATE:
            stack[:, :, int(width * 0.82) :] = 0
        name = f"S2_{t:%Y%m%d}"
        profile = dict(
            driver="GTiff",
            width=width,
            height=height,
            count=4,
            dtype="uint16",
            crs=CRS,
            transform=transform,
            nodata=0,
            compress="deflate",
            predictor=2,
            zlevel=9,
            tiled=True,
            blockxsize=256,
            blockysize=256,
        )
        with rasterio.open(OUT / f"{name}.tif", "w", **profile) as dst:
            dst.write(stack)
            dst.descriptions = ("B02", "B04", "B08", "SCL")
        scene_scl = stack[3]
        data = scene_scl != 0
        clear = float(np.mean(~np.isin(scene_scl[data], (1, 3, 8, 9, 10, 11)))) if data.any() else 0.0
        meta = {
            "scene_id": name,
            "platform": "Sentinel-2A" if len(scenes) % 2 == 0 else "Sentinel-2B",
            "acquired_utc": f"{date}T02:55:00Z",
            "processing_baseline": baseline,
            "quantification_value": 10000,
            "bands": ["B02", "B04", "B08", "SCL"],
            "cloud_fraction": round(1 - clear, 4),
            "synthetic": True,
            "generator": "sample_data/imagery/make_sample_imagery.py",
            "seed": SEED,
        }
        (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        scenes.append(meta)
        print(f"{name}: PB {baseline}, cloud {1 - clear:.2f}")

    truth = {"type": "FeatureCollection", "features": truth_features}
    (OUT.parent / "truth.geojson").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    notes = {
        "seed": SEED,
        "crs": CRS,
        "pixel_m": PIXEL_M,
        "all_cloud_date": ALL_CLOUD_DATE,
        "clear_date": CLEAR_DATE,
        "swath_edge_date": SWATH_EDGE_DATE,
        "haze_date": HAZE_DATE,
        "haze_plot": HAZE_PLOT,
        "whole_plot_decline": WHOLE_PLOT[0],
        "poor_patch_plots": [p[0] for p in PATCHES],
        "reprocessed_pre_2022_scene": "S2_20210614 (PB 05.00, offset -1000 although sensed in 2021)",
        "plot_levels_ndvi": {pid: round(float(v), 4) for pid, v in zip(frame.index, levels, strict=True)},
    }
    (OUT.parent / "truth.json").write_text(
        json.dumps(notes, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _to_wgs84(geom):
    from pyproj import Transformer

    transformer = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


if __name__ == "__main__":
    main()
