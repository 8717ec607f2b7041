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


# ----------------------------------------------------------------------------------------------------------
# Offline pydeck maps (deck.gl ships with Streamlit; map_provider=None fetches no tiles)
# ----------------------------------------------------------------------------------------------------------
#: Fill colours [R, G, B, A] of advice severity 1-5 (0 = no advice): green to red, as the page's dots.
SEVERITY_COLOURS = {0: [160, 160, 160, 110], 1: [46, 160, 67, 150], 2: [60, 120, 216, 160],
                    3: [240, 200, 0, 170], 4: [245, 130, 32, 190], 5: [215, 38, 38, 210]}


def fit_view(lons, lats, width_px: float = 340.0):
    """Centre and zoom showing every point on a phone-wide map (deck.gl: the world is 512 px at zoom 0)."""
    import math

    import pydeck as pdk

    lons, lats = [float(x) for x in lons], [float(y) for y in lats]
    span_deg = max(max(lons) - min(lons), (max(lats) - min(lats)) / math.cos(math.radians(lats[0])), 0.002)
    zoom = math.log2(360.0 * width_px / (512.0 * span_deg * 1.2))  # 20 % margin
    return pdk.ViewState(longitude=(min(lons) + max(lons)) / 2, latitude=(min(lats) + max(lats)) / 2,
                         zoom=round(min(zoom, 17.0), 1))


def geometry_points(geometries) -> tuple[list[float], list[float]]:
    """Every vertex of GeoJSON polygons (for :func:`fit_view`)."""
    lons, lats = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            lons.append(coords[0])
            lats.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for geometry in geometries:
        if geometry:
            walk(geometry["coordinates"])
    return lons, lats


def relief_layer(background):
    """The shaded relief as a deck.gl BitmapLayer (``background`` from :func:`shaded_relief`)."""
    import pydeck as pdk

    image, bounds = background
    # Quoted, or pydeck would read the data URL as a JavaScript accessor expression.
    return pdk.Layer("BitmapLayer", image=f"'{image}'", bounds=bounds)


def quiet_pydeck():
    """pydeck, with its Jupyter-widget probe answered once per process.

    ``pydeck.Deck()`` tries to import its Jupyter widget on every construction; on a server without
    ipywidgets that import fails, and a failed import is not remembered, so each map a page draws searched
    the whole ``sys.path`` again (20 ms of CPU and hundreds of file-system calls per map, a fifth of a page
    view's server time). The first answer is kept instead.
    """
    import pydeck as pdk
    from pydeck.bindings import deck

    if not getattr(deck.has_jupyter_extra, "answered_once", False):
        answer = deck.has_jupyter_extra()

        def has_jupyter_extra() -> bool:
            return answer

        has_jupyter_extra.answered_once = True
        deck.has_jupyter_extra = has_jupyter_extra
    return pdk


def offline_deck(layers, view, background=None, tooltip=None):
    """A pydeck map with no basemap tiles (works offline), the relief underneath when given."""
    pdk = quiet_pydeck()

    if background:
        layers = [relief_layer(background), *layers]
    return pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, map_style=None,
                    tooltip=tooltip or False)


def polygon_layer(features: list[dict], *, fill="properties.colour", line=(40, 40, 40), line_px: float = 2.0,
                  pickable: bool = True):
    """GeoJSON polygons (``features``) filled per feature (``properties.colour``) or with one colour."""
    import pydeck as pdk

    return pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": features}, pickable=pickable,
                     stroked=True, filled=True, get_fill_color=fill, get_line_color=list(line),
                     line_width_min_pixels=line_px)


def label_layer(labels: list[dict], *, size_px: float = 15.0):
    """Text labels on the map: ``labels`` of ``{"position": [lon, lat], "text": str}`` (any script: the font
    atlas holds exactly the labels' characters), dark text on a light halo so it reads on every fill colour.
    (pydeck turns a string or a list of strings into an accessor expression, and deck.gl would iterate over
    a function: the characters go as one quoted string, which pydeck passes as a plain string.)"""
    import pydeck as pdk

    characters = "'" + "".join(sorted({c for label in labels for c in label["text"]} - {"'"})) + "'"
    return pdk.Layer("TextLayer", labels, get_position="position", get_text="text", get_size=size_px,
                     get_color=[20, 20, 20, 255], character_set=characters, outline_width=4,
                     outline_color=[255, 255, 255, 230], font_settings={"sdf": True},
                     get_alignment_baseline="'center'", get_text_anchor="'start'", get_pixel_offset=[9, 0],
                     pickable=False)
