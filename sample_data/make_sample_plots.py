"""Make the sample district's plots: 30 SYNTHETIC orchard plots placed on the real Changting 30 m DEM.

What is real and what is not
----------------------------
- Real: the DEM (``dem/changting_youwuzhen_dem30m.tif``, SEIMS, GPL-3.0) and therefore every plot's terrain.
- Synthetic (made here, seeded): plot outlines, names, owners and every orchard attribute (cultivar, rootstock,
  planting year, density, canopy cover, soil water constants, irrigation). They are plausible for hillside
  citrus in the red-soil hills of southern China, not observations.

How
---
Cells of the DEM are classed by aspect (N, E, S, W) and slope (gentle < 8°, moderate 8–16°, steep > 16°);
plots are drawn round-robin over the 12 classes so north- and south-facing, gentle and steep plots are all
present. Each plot is a quadrilateral of 0.2–3 ha, its long side along the contour (as terraces are), with its
corners jittered by up to 8 % so the outlines are not perfect rectangles, and kept 40 m apart from the others.
Slope here is a plain central-difference estimate used only to *choose* sites; the toolkit's own terrain
numbers come from ``orchard terrain`` (Horn's method).

Run ``python sample_data/make_sample_plots.py`` to rebuild ``sample_data/plots.geojson`` (needs the project's
dependencies; the same seed gives the same file).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import shapely
from shapely.geometry import Polygon, mapping

HERE = Path(__file__).resolve().parent
DEM_PATH = HERE / "dem" / "changting_youwuzhen_dem30m.tif"
OUT_PATH = HERE / "plots.geojson"
SEED = 20261122
N_PLOTS = 30

GROWERS = [("grower_li", "李家湾"), ("grower_wang", "王家坡"), ("grower_chen", "陈家岭")]
CULTIVARS = [("lane_late_navel", "trifoliate"), ("valencia", "trifoliate"), ("powell_navel", "citrange")]
SOILS = [("clay_loam", 0.34, 0.18), ("silty_clay", 0.36, 0.21), ("sandy_clay_loam", 0.28, 0.14)]


def _slope_aspect(elevation, cell):
    dz_dy, dz_dx = np.gradient(elevation, cell)  # dz_dy along rows (southward), dz_dx eastward
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    # Downslope direction as compass bearing: east component -dz/dx, north component +dz/drow.
    aspect = np.degrees(np.arctan2(-dz_dx, dz_dy)) % 360
    return slope, aspect


def _quadrilateral(rng, x, y, area_m2, aspect_deg):
    ratio = rng.uniform(1.2, 2.5)
    width = np.sqrt(area_m2 / ratio)  # downslope side
    length = width * ratio  # along the contour
    along = np.radians(aspect_deg + 90.0)  # contour direction as compass bearing
    ux, uy = np.sin(along), np.cos(along)
    vx, vy = -uy, ux
    corners = []
    for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        ja, jb = rng.uniform(-0.08, 0.08, 2)
        da, db = a * (0.5 + ja) * length, b * (0.5 + jb) * width
        corners.append((x + da * ux + db * vx, y + da * uy + db * vy))
    return Polygon(corners)


def main() -> None:
    rng = np.random.default_rng(SEED)
    with rasterio.open(DEM_PATH) as src:
        elevation = src.read(1).astype(float)
        transform, crs = src.transform, src.crs
    cell = transform.a
    slope, aspect = _slope_aspect(elevation, cell)
    margin = 4
    rows, cols = np.mgrid[margin:elevation.shape[0] - margin, margin:elevation.shape[1] - margin]
    rows, cols = rows.ravel(), cols.ravel()
    aspect_class = ((aspect[rows, cols] + 45) % 360 // 90).astype(int)  # 0 N, 1 E, 2 S, 3 W
    slope_class = np.digitize(slope[rows, cols], [8.0, 16.0])  # 0 gentle, 1 moderate, 2 steep
    classes = [(a, s) for s in range(3) for a in range(4)]

    to_wgs84 = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    placed: list[Polygon] = []
    features = []
    attempts = 0
    while len(features) < N_PLOTS and attempts < 20000:
        attempts += 1
        a_class, s_class = classes[len(features) % len(classes)]
        candidates = np.flatnonzero((aspect_class == a_class) & (slope_class == s_class))
        if len(candidates) == 0:
            continue
        pick = rng.choice(candidates)
        r, c = rows[pick], cols[pick]
        x, y = transform * (c + 0.5, r + 0.5)
        area_m2 = float(np.exp(rng.uniform(np.log(2000), np.log(30000))))
        polygon = _quadrilateral(rng, x, y, area_m2, aspect[r, c])
        inside = shapely.contains(shapely.box(*rasterio.transform.array_bounds(
            elevation.shape[0] - 2 * margin, elevation.shape[1] - 2 * margin,
            transform * rasterio.Affine.translation(margin, margin))), polygon)
        if not polygon.is_valid or not inside or any(polygon.distance(p) < 40 for p in placed):
            continue
        placed.append(polygon)
        n = len(features)
        owner, village = GROWERS[n % 3]
        cultivar, rootstock = CULTIVARS[int(rng.integers(3))]
        soil, fc, wp = SOILS[int(rng.integers(3))]
        irrigation = "drip" if rng.random() < 0.4 else "none"
        lonlat = shapely.transform(polygon, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
        features.append({
            "type": "Feature",
            "properties": {
                "plot_id": f"CT{n + 1:02d}",
                "name": f"{village}{n // 3 + 1}号地",
                "owner_id": owner,
                "cultivar": cultivar,
                "rootstock": rootstock,
                "planting_year": int(rng.integers(2005, 2020)),
                "trees_per_ha": int(rng.integers(6, 12)) * 100,
                "canopy_cover": round(float(rng.uniform(0.4, 0.8)), 2),
                "soil_texture": soil,
                "field_capacity": fc,
                "wilting_point": wp,
                "root_depth_m": round(float(rng.uniform(0.6, 1.0)), 1),
                "irrigation": irrigation,
                "irrigation_capacity_mm_d": 4.0 if irrigation == "drip" else 0.0,
                "station_id": "58911",
                "district": "长汀 Changting (Fujian)",
            },
            "geometry": json.loads(json.dumps(mapping(shapely.set_precision(lonlat, 1e-7)))),
        })
    if len(features) < N_PLOTS:
        raise SystemExit(f"placed only {len(features)} plots; loosen the spacing")
    collection = {
        "type": "FeatureCollection",
        "name": "changting_sample_plots",
        "description": "SYNTHETIC plots on the real Changting DEM; made by sample_data/make_sample_plots.py",
        "features": features,
    }
    OUT_PATH.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(features)} plots to {OUT_PATH} after {attempts} attempts")


if __name__ == "__main__":
    main()
