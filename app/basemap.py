"""Offline basemap: the DEM as a shaded-relief image in lon/lat for a deck.gl BitmapLayer.

No web tiles are fetched (many are blocked or GCJ-02-shifted in China); the terrain the models use is the
map growers see.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import rasterio.warp
from PIL import Image
from rasterio.enums import Resampling

from orchard import terrain

LONLAT = "EPSG:4326"


def shaded_relief(dem_path) -> tuple[str, list[float]]:
    """A PNG data URL of the DEM's hillshade and its ``[west, south, east, north]`` bounds [deg]."""
    dem = terrain.metric_dem(terrain.read_dem(dem_path))
    slope, aspect = terrain.slope_aspect(dem.elevation_m, abs(dem.transform.a), abs(dem.transform.e))
    shade = terrain.hillshade(slope, aspect)
    rows, cols = shade.shape
    transform, width, height = rasterio.warp.calculate_default_transform(
        dem.crs, LONLAT, cols, rows, *dem.bounds())
    lonlat = np.full((height, width), np.nan)
    rasterio.warp.reproject(shade, lonlat, src_transform=dem.transform, src_crs=dem.crs, src_nodata=np.nan,
                            dst_transform=transform, dst_crs=LONLAT, dst_nodata=np.nan,
                            resampling=Resampling.bilinear)
    valid = np.isfinite(lonlat)
    grey = (90 + 150 * np.nan_to_num(lonlat)).astype(np.uint8)  # keep shadows readable under the plots
    rgba = np.dstack([grey, (grey * 0.98).astype(np.uint8), (grey * 0.9).astype(np.uint8),
                      np.where(valid, 255, 0).astype(np.uint8)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=True)
    west, north = transform * (0, 0)
    east, south = transform * (width, height)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), [west, south, east, north]
