"""Make the SYNTHETIC Sentinel-2-like L2A time stack over the sample plots (seeded, reproducible).

Run from the repository root::

    .venv/bin/python sample_data/imagery/make_sample_imagery.py

Writes ``sample_data/imagery/s2_synthetic/S2_<date>.tif`` (3 bands uint16: B04, B08 as L2A DN and SCL,
10 m, EPSG:32650, DEFLATE) with a ``S2_<date>.json`` sidecar each (processing baseline, acquisition time,
platform, cloud fraction), and ``truth.geojson`` / ``truth.json`` with what was planted. Nothing here is real
imagery: the fields are made to exercise the monitoring code with known answers, on the calendar of the sample
weather record (2015-2017 seasons), with each scene's cloud cover taken from that day's real sunshine
duration at Changting. See README.md in this folder.
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
from orchard.weather import daylight_hours  # noqa: E402

SEED = 20240607
CRS = "EPSG:32650"  # UTM 50N, as Sentinel-2 tiles over western Fujian
PIXEL_M = 10.0
MARGIN_M = 60.0
OUT = Path(__file__).resolve().parent / "s2_synthetic"
WEATHER = ROOT / "sample_data" / "weather" / "changting_58911_meteo_daily.csv"
STATION_LAT = 25.75  # CMA 58911 Changting [deg N]

#: Acquisition calendar: one satellite's 10-day repeat from FIRST_PASS to LAST_DAY, inside the sample weather
#: record (2010-2017). Every pass from 10 February to 30 November, one in WINTER_EVERY in winter: a weekly run
#: on any day of March-November has a scene at most 10 days old, in winter at most 20. Overpass ~02:55 UTC
#: (10:55 Beijing time). All labelled Sentinel-2A; the real S2A was launched on 23 June 2015, so the earlier
#: dates could not exist in a real archive (the calendar follows the weather record, not the satellite).
#: FIRST_PASS (the orbit phase) was chosen among the 20 possible phases of this calendar so that, under the
#: real 2016-2017 cloudiness, the planted patches are seen clear at least twice by mid-July 2016 and again
#: within 30 days of the last scene; most other phases leave a planted plot under cloud for over a month,
#: which is the real difficulty of optical monitoring in these hills.
PLATFORM = "Sentinel-2A"
FIRST_PASS = "2015-01-03"
LAST_DAY = "2017-12-31"
SEASON_START = (2, 10)  # (month, day): every pass from here to the end of November
WINTER_EVERY = 2  # in winter (December to 9 February) one pass in WINTER_EVERY
CLEAR_SUNSHINE = 0.75  # relative sunshine n/N from which the scene is cloud-free over the area [1]


def acquisition_dates() -> list[pd.Timestamp]:
    """The scene dates of the synthetic stack (see FIRST_PASS)."""
    dates = []
    for k, day in enumerate(pd.date_range(FIRST_PASS, LAST_DAY, freq="10D")):
        in_season = (day.month, day.day) >= SEASON_START and day.month <= 11
        if in_season or k % WINTER_EVERY == 0:
            dates.append(day)
    return dates


def processing_baseline(i: int, day: pd.Timestamp) -> str:
    """Processing baseline of the i-th scene: one in three is a Collection-1 reprocessed product (PB 05.00,
    DN + 1000 although sensed in 2015-2017), the others the original products of their day (PB 02.0x, no
    offset; the switch dates between 02.0x baselines are approximate). Code that chooses the offset by date
    gets the reprocessed ones wrong."""
    if i % 3 == 1:
        return "05.00"
    if day < pd.Timestamp("2016-05-03"):
        return "02.01"
    if day < pd.Timestamp("2017-04-27"):
        return "02.04"
    return "02.05" if day < pd.Timestamp("2017-10-23") else "02.06"


def cloud_cover(day: pd.Timestamp, sunshine: pd.Series) -> float:
    """Scene cloud cover from that day's real sunshine at Changting: ``1 - n/N`` (N from FAO-56 Eq. 34).
    A day without sunshine (or without a record) is all cloud (> 1); from ``n/N`` = CLEAR_SUNSHINE on the
    scene is cloud-free over the few km² of the sample (< 0)."""
    n = sunshine.get(day.normalize(), np.nan)
    if not np.isfinite(n) or n <= 0:
        return 1.01
    relative = min(n / float(daylight_hours(STATION_LAT, day.dayofyear)), 1.0)
    return -1.0 if relative >= CLEAR_SUNSHINE else round(1.0 - relative, 3)


SWATH_EDGE_FROM = "2016-09-20"  # the first scene from this day: eastern columns outside the swath (DN 0)
HAZE_FROM = "2017-08-01"  # the first cloud-free scene from this day: haze missed by SCL over HAZE_PLOT
HAZE_PLOT = "CT02"
WINTER_MONTHS = (11, 12, 1, 2)  # low sun: SCL dark area (class 2) on steep north-facing slopes
BANDS = ("B04", "B08", "SCL")  # red and NIR for NDVI, and the scene classification; no more, to stay small
NOISE_NDVI = 0.015  # per-pixel, per-date NDVI noise [1]

#: Planted poor-growth patches: plot, shape, centre offset from the plot's inner point [m], size [m], angle
#: [deg], onset, NDVI drop. They appear in spring 2016 and stay to the end of the stack.
PATCHES = [
    ("CT13", "ellipse", (0.0, 0.0), (45.0, 30.0), 30.0, "2016-03-01", 0.20),
    ("CT06", "rectangle", (0.0, 0.0), (70.0, 40.0), -20.0, "2016-03-01", 0.20),
    ("CT11", "ellipse", (0.0, 0.0), (35.0, 35.0), 0.0, "2016-04-01", 0.22),
]
#: A whole plot declining in 2017 (peer-group and seasonal signals against 2015-2016; nothing within the
#: plot stands out).
WHOLE_PLOT = ("CT23", "2017-06-01", 0.12)


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
    # Area of interest: the plots plus MARGIN_M (a clip as one would cut a tile to the district).
    aoi = rasterize(
        [(frame.geometry.buffer(MARGIN_M).union_all(), 1)],
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="uint8",
    ).astype(bool)
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

    weather = pd.read_csv(WEATHER, comment="#", usecols=["DATETIME", "SSD"])
    sunshine = pd.Series(
        pd.to_numeric(weather["SSD"], errors="coerce").to_numpy(),
        index=pd.to_datetime(weather["DATETIME"]).dt.normalize(),
    )

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("S2_*"):
        old.unlink()
    dates = acquisition_dates()
    covers = [cloud_cover(t, sunshine) for t in dates]
    swath_edge_date = next(t for t in dates if t >= pd.Timestamp(SWATH_EDGE_FROM))
    haze_date = next(
        t for t, c in zip(dates[:-1], covers, strict=False) if t >= pd.Timestamp(HAZE_FROM) and c < 0
    )
    scenes = []
    for i, (t, cover) in enumerate(zip(dates, covers, strict=True)):
        date = f"{t:%Y-%m-%d}"
        baseline = processing_baseline(i, t)
        ndvi = base + seasonal_ndvi(t.dayofyear) + NOISE_NDVI * rng.standard_normal(shape)
        for mask, onset, drop in patch_masks:
            if t >= onset:
                ndvi = np.where(mask, ndvi - drop, ndvi)
        if t >= pd.Timestamp(WHOLE_PLOT[1]):
            ndvi = np.where(whole_mask, ndvi - WHOLE_PLOT[2], ndvi)
        if t == haze_date:
            ndvi = np.where(haze_mask, ndvi - 0.25, ndvi)  # SCL misses it: stays class 4
        ndvi = np.clip(ndvi, 0.05, 0.95)
        nir = 0.30 + 0.02 * smooth_noise(rng, shape, 6)
        red = nir * (1 - ndvi) / (1 + ndvi)
        # SCL at 20 m, then nearest-neighbour to 10 m (2 x 2 blocks), as L2A ships it.
        coarse = (height // 2, width // 2)
        scl20 = np.full(coarse, 4, np.uint8)
        field = smooth_noise(rng, coarse, 6)  # drawn on every date, so one date's cover moves no other
        cirrus_field = smooth_noise(rng, coarse, 8)
        if cover > 0:
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
                scl20[(cirrus_field > 1.6) & ~cloud] = 10
        if t == haze_date:
            haze20 = haze_mask[::2, ::2][: coarse[0], : coarse[1]]
            scl20[haze20] = 4  # the haze is not in the SCL: a "clear" date that is wrong
        if t.month in WINTER_MONTHS:
            dark20 = shadow_prone[::2, ::2][: coarse[0], : coarse[1]]
            scl20[(scl20 == 4) & dark20] = 2
        scl = np.repeat(np.repeat(scl20, 2, axis=0), 2, axis=1)[:height, :width]
        # Radiometry of the masked classes: clouds bright with smooth texture, shadows and dark areas dark.
        is_cloud = np.isin(scl, (8, 9))
        texture = smooth_noise(rng, shape, 8)
        red = np.where(is_cloud, 0.34 + 0.015 * texture, red)
        nir = np.where(is_cloud, 0.38 + 0.015 * texture, nir)
        cirrus = scl == 10
        red, nir = np.where(cirrus, red + 0.06, red), np.where(cirrus, nir + 0.03, nir)
        dim = np.isin(scl, (2, 3))
        nir = np.where(dim, nir * 0.35, nir)
        red = np.where(dim, red * 0.6, red)
        offset = -1000 if float(baseline) >= 4.0 else 0
        bands = [
            np.clip(np.round(reflectance * 10000) - offset, 1, 65535).astype(np.uint16)
            for reflectance in (red, nir)
        ]
        bands.append(scl.astype(np.uint16))
        stack = np.stack(bands)
        stack[:, ~aoi] = 0  # clipped to the area of interest: no data outside
        if t == swath_edge_date:
            stack[:, :, int(width * 0.82) :] = 0
        name = f"S2_{t:%Y%m%d}"
        profile = dict(
            driver="GTiff",
            width=width,
            height=height,
            count=len(BANDS),
            dtype="uint16",
            crs=CRS,
            transform=transform,
            nodata=0,
            interleave="band",
            compress="deflate",
            predictor=2,
            zlevel=9,
        )
        with rasterio.open(OUT / f"{name}.tif", "w", **profile) as dst:
            dst.write(stack)
            dst.descriptions = BANDS
        scene_scl = stack[-1]
        data = scene_scl != 0
        clear = float(np.mean(~np.isin(scene_scl[data], (1, 3, 8, 9, 10, 11)))) if data.any() else 0.0
        meta = {
            "scene_id": name,
            "platform": PLATFORM,
            "acquired_utc": f"{date}T02:55:00Z",
            "processing_baseline": baseline,
            "quantification_value": 10000,
            "bands": list(BANDS),
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
    dates = [m["acquired_utc"][:10] for m in scenes]
    notes = {
        "seed": SEED,
        "crs": CRS,
        "pixel_m": PIXEL_M,
        "first_scene": dates[0],
        "last_scene": dates[-1],
        "n_scenes": len(scenes),
        "all_cloud_dates": [d for d, c in zip(dates, covers, strict=True) if c > 1],
        "clear_dates": [d for d, c in zip(dates, covers, strict=True) if c < 0],
        "swath_edge_date": f"{swath_edge_date:%Y-%m-%d}",
        "haze_date": f"{haze_date:%Y-%m-%d}",
        "haze_plot": HAZE_PLOT,
        "whole_plot_decline": WHOLE_PLOT[0],
        "poor_patch_plots": [p[0] for p in PATCHES],
        "reprocessed_scenes": [m["scene_id"] for m in scenes if m["processing_baseline"] == "05.00"],
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
