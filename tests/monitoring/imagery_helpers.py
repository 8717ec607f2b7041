"""Paths and a tiny-scene writer shared by the imagery tests (a unique module name, not conftest)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[2]
IMAGERY = ROOT / "sample_data" / "imagery"
STACK = IMAGERY / "s2_synthetic"
PLOTS = ROOT / "sample_data" / "plots.geojson"
DEM = ROOT / "sample_data" / "dem" / "changting_youwuzhen_dem30m.tif"


def write_scene(
    path: Path,
    bands: dict[str, np.ndarray],
    *,
    baseline="05.09",
    crs="EPSG:32650",
    origin=(445000.0, 2841000.0),
    pixel=10.0,
    meta_extra=None,
    descriptions=True,
):
    """A tiny multi-band scene GeoTIFF with a JSON sidecar (bands: name -> uint16 array)."""
    names = list(bands)
    data = np.stack([bands[n] for n in names]).astype(np.uint16)
    profile = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=len(names),
        dtype="uint16",
        transform=rasterio.transform.from_origin(*origin, pixel, pixel),
        nodata=0,
    )
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = tuple(names)
    meta = {
        "platform": "Sentinel-2A",
        "acquired_utc": "2023-05-01T02:55:00Z",
        "processing_baseline": baseline,
    }
    meta.update(meta_extra or {})
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path
