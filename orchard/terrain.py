"""Terrain of each plot from a DEM: elevation, slope, aspect, horizon profile and sky-view factor.

Pure functions on numpy arrays (one process each) and one orchestrator, :func:`plot_terrain`, that takes a
plot GeoDataFrame and a DEM GeoTIFF in any CRS and returns an ``xarray.Dataset`` with dimension ``plot``.

Conventions
-----------
* Elevations are metres above sea level; the DEM's vertical unit is taken to be metres.
* Arrays are north-up rasters: row 0 is the northern edge, column 0 the western edge.
* Angles are degrees. Azimuth and aspect count clockwise from north (N 0, E 90, S 180, W 270), the same
  as pvlib's ``surface_azimuth``; aspect is the direction the slope *faces* (downslope).
* Slopes and horizons need metres on the ground, so :func:`metric_dem` puts a DEM in a geographic CRS
  (degrees), a rotated grid, or a projected CRS whose scale is off by more than 1 % (e.g. Web Mercator)
  onto a north-up grid in the UTM zone of the DEM centre before anything is computed.

References
----------
Horn, B.K.P. (1981). Hill shading and the reflectance map. Proc. IEEE 69(1):14-47.
Dozier, J. and Frew, J. (1990). Rapid calculation of terrain parameters for radiation modeling from
digital elevation data. IEEE Trans. Geosci. Remote Sens. 28(5):963-969.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.warp
import rasterio.windows
import shapely
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import MaskFlags, Resampling

from orchard import __version__
from orchard.errors import InputError, check_input_file

#: Mean earth radius used for the curvature drop of distant terrain [m].
EARTH_RADIUS_M = 6_371_000.0
#: Coefficient of atmospheric refraction, which lifts distant terrain by k·d²/(2R) [-]; 0.13 is the
#: standard value for geodetic levelling and the default of most viewshed tools (e.g. GDAL, GRASS r.viewshed).
REFRACTION_COEFFICIENT = 0.13
#: Plausible range of land elevation [m] (Dead Sea -430 m, Everest 8849 m); values outside it are
#: almost always an undeclared nodata value (-32768, -9999) or a DEM in centimetres.
_ELEVATION_RANGE_M = (-500.0, 9000.0)
#: Tolerated deviation of a projected CRS's point scale factor from 1 at the DEM centre [-].
_SCALE_TOLERANCE = 0.01

SVF_DEFINITION = (
    "cosine-weighted sky-view factor of a horizontal surface, SVF = (1/2pi) * integral of cos^2(h) dphi "
    "= mean over azimuths of cos^2(horizon angle) (Dozier & Frew 1990); the solid-angle fraction "
    "1 - mean(sin h) is lower for the same horizon"
)


@dataclass(frozen=True, eq=False)
class Dem:
    """A single-band elevation grid with its georeferencing.

    Attributes
    ----------
    elevation_m : numpy.ndarray
        2-D float64 elevations [m], NaN where the file has nodata; row 0 is the top of the raster.
    transform : affine.Affine
        Pixel-corner affine transform (column, row) -> (x, y) in ``crs``.
    crs : rasterio.crs.CRS
        Coordinate reference system of ``transform``.
    path : str
        File the grid was read from (kept for messages and dataset attrs).
    file_bounds : tuple, optional
        ``(left, bottom, right, top)`` of the whole file when only a window of it was read.
    """

    elevation_m: np.ndarray
    transform: Affine
    crs: CRS
    path: str
    file_bounds: tuple[float, float, float, float] | None = None

    @property
    def name(self) -> str:
        """File name of the DEM, for messages."""
        return Path(self.path).name or self.path

    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the raster's footprint in ``crs`` (also for rotated grids)."""
        rows, cols = self.elevation_m.shape
        xs, ys = zip(*(self.transform @ (c, r) for c, r in ((0, 0), (cols, 0), (0, rows), (cols, rows))))
        return min(xs), min(ys), max(xs), max(ys)


# --------------------------------------------------------------------------------------------------------
# Reading and reprojection
# --------------------------------------------------------------------------------------------------------

def read_dem(path: str | os.PathLike, bounds: tuple[float, float, float, float] | None = None) -> Dem:
    """Read band 1 of a DEM raster (GeoTIFF or any format GDAL reads) as float64 metres, NaN for nodata.

    The grid is returned as stored (its own CRS, possibly in degrees); :func:`metric_dem` prepares it
    for slope and horizon computations.

    Parameters
    ----------
    path : str or os.PathLike
        DEM file. Elevations must be metres above sea level.
    bounds : tuple, optional
        ``(left, bottom, right, top)`` in the DEM's CRS: read only the cells of this window (clipped to the
        file), so memory follows the area of interest, not the size of the file. Default: the whole file.

    Returns
    -------
    Dem

    Raises
    ------
    orchard.errors.InputError
        Missing, empty or huge file; not a raster; no CRS; fewer than 3x3 cells; only nodata;
        elevations outside -500..9000 m (an undeclared nodata value or a DEM not in metres).
    """
    path = check_input_file(path, what="DEM")
    try:
        with warnings.catch_warnings():
            # A raster without georeferencing warns; we raise our own clearer error below.
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                crs, transform, count = src.crs, src.transform, src.count
                file_bounds = tuple(src.bounds) if bounds is not None else None
                window = _window(src, bounds) if bounds is not None and count and crs is not None else None
                if window is not None:
                    transform = src.window_transform(window)
                band = _read_band_as_float(src, window) if count else None
    except rasterio.errors.RasterioError as exc:
        reason = str(exc).replace(f"'{path}' ", "").replace(str(path), "the file").strip(" :.")
        raise InputError(
            f"{path}: is not a readable GeoTIFF/raster ({reason}); give a DEM in GeoTIFF format."
        ) from None
    if band is None:
        raise InputError(f"{path}: the raster has no bands; give a single-band DEM.")
    if crs is None:
        raise InputError(
            f"{path}: the DEM has no coordinate reference system; assign the one it was made in, "
            f"e.g. `gdal_edit.py -a_srs EPSG:4490 {path}`."
        )
    if band.shape[0] < 3 or band.shape[1] < 3:
        raise InputError(f"{path}: the DEM has only {band.shape[0]}x{band.shape[1]} cells; "
                         "at least 3x3 are needed to compute slopes.")
    elevation_m = band
    if np.isnan(elevation_m).all():
        raise InputError(f"{path}: the DEM contains only nodata cells; give a DEM with elevations.")
    low, high = float(np.nanmin(elevation_m)), float(np.nanmax(elevation_m))
    if low < _ELEVATION_RANGE_M[0] or high > _ELEVATION_RANGE_M[1]:
        raise InputError(
            f"{path}: the DEM has elevations from {low:g} to {high:g} m, outside the plausible "
            f"{_ELEVATION_RANGE_M[0]:g}..{_ELEVATION_RANGE_M[1]:g} m; declare the nodata value "
            "(e.g. `gdal_edit.py -a_nodata -32768`) or convert the DEM to metres."
        )
    return Dem(elevation_m=elevation_m, transform=transform, crs=crs, path=str(path), file_bounds=file_bounds)


def _window(src, bounds):
    """The file's window covering ``bounds`` (whole cells, clipped to the file; at least 3x3 cells)."""
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    wanted = rasterio.windows.from_bounds(*bounds, transform=src.transform)
    wanted = wanted.round_offsets(op="floor").round_lengths(op="ceil")
    wanted = rasterio.windows.Window(wanted.col_off - 1, wanted.row_off - 1, wanted.width + 3, wanted.height + 3)
    try:
        return wanted.intersection(full)
    except rasterio.errors.WindowError:  # no overlap: read a corner, the coverage check names the plots
        return rasterio.windows.Window(0, 0, min(3, src.width), min(3, src.height))


def _read_band_as_float(src, window=None):
    """Band 1 as float64 with NaN for nodata, masked cells (mask band, alpha) and non-finite values."""
    native = src.read(1, window=window)
    band = native.astype(np.float64)
    if src.nodata is not None and not np.isnan(src.nodata):
        try:  # compare in the file's own type, as GDAL does (float32 nodata is not exact in float64)
            nodata = native.dtype.type(src.nodata)
        except (OverflowError, ValueError):  # a nodata value the band's type cannot hold never occurs
            nodata = None
        if nodata is not None:
            band[native == nodata] = np.nan
    flags = src.mask_flag_enums[0]
    if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:
        band[src.read_masks(1, window=window) == 0] = np.nan
    band[np.isinf(band)] = np.nan
    return band


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else pyproj.CRS.from_wkt(crs.to_wkt()).name


def _centre_lonlat(dem: Dem) -> tuple[float, float]:
    left, bottom, right, top = dem.bounds()
    to_lonlat = pyproj.Transformer.from_crs(dem.crs.to_wkt(), "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform((left + right) / 2, (bottom + top) / 2)
    return float(lon), float(lat)


def utm_crs(lon: float, lat: float) -> CRS:
    """WGS 84 / UTM CRS of the zone containing ``(lon, lat)`` [deg] (EPSG 326zz north, 327zz south)."""
    zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _is_true_scale_metres(crs: CRS, lon: float, lat: float) -> bool:
    """Whether ``crs`` is projected, in metres, with a point scale within 1 % of 1 at ``(lon, lat)``."""
    if not crs.is_projected:
        return False
    pcrs = pyproj.CRS.from_wkt(crs.to_wkt())
    if any(abs(axis.unit_conversion_factor - 1.0) > 1e-9 for axis in pcrs.axis_info[:2]):
        return False
    try:
        factors = pyproj.Proj(pcrs).get_factors(lon, lat)
        scales = (factors.meridional_scale, factors.parallel_scale)
    except Exception:  # exotic projection without factors: trust it rather than refuse it
        return True
    return all(np.isfinite(s) and abs(s - 1.0) <= _SCALE_TOLERANCE for s in scales)


def metric_dem(dem: Dem) -> Dem:
    """Return the DEM on a north-up grid whose cells are metres on the ground.

    A DEM already in a projected CRS in metres with a point scale within 1 % of 1 (UTM, Gauss-Krüger,
    national grids) and a north-up, unrotated transform is returned unchanged. Otherwise (geographic
    CRS such as EPSG:4326/4490, Web Mercator, feet, rotated or south-up grids) it is reprojected with
    bilinear resampling to the WGS 84 UTM zone of the DEM centre, with square cells of the source's mean
    cell size in metres. Datum differences (e.g. CGCS2000 vs WGS 84) are below a metre and ignored.

    Parameters
    ----------
    dem : Dem

    Returns
    -------
    Dem
        ``elevation_m`` [m] on a grid with ``transform.b == transform.d == 0``, ``transform.e < 0``.
    """
    t = dem.transform
    north_up = t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0
    lon, lat = _centre_lonlat(dem)
    true_scale = _is_true_scale_metres(dem.crs, lon, lat)
    if north_up and true_scale:
        return dem
    dst_crs = dem.crs if true_scale else utm_crs(lon, lat)

    # Source cell size on the ground: map the centre cell's edges into the target CRS.
    rows, cols = dem.elevation_m.shape
    to_dst = pyproj.Transformer.from_crs(dem.crs.to_wkt(), dst_crs.to_wkt(), always_xy=True)
    corners = [t @ (cols // 2 + dc, rows // 2 + dr) for dc, dr in ((0, 0), (1, 0), (0, 1))]
    xs, ys = to_dst.transform(*zip(*corners))
    dx_m = float(np.hypot(xs[1] - xs[0], ys[1] - ys[0]))
    dy_m = float(np.hypot(xs[2] - xs[0], ys[2] - ys[0]))
    resolution_m = float(np.sqrt(dx_m * dy_m))

    left, bottom, right, top = dem.bounds()
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        dem.crs, dst_crs, cols, rows, left=left, bottom=bottom, right=right, top=top,
        resolution=resolution_m,
    )
    destination = np.full((height, width), np.nan, dtype=np.float64)
    rasterio.warp.reproject(
        source=dem.elevation_m, destination=destination,
        src_transform=dem.transform, src_crs=dem.crs, src_nodata=np.nan,
        dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return Dem(elevation_m=destination, transform=dst_transform, crs=dst_crs, path=dem.path)


# --------------------------------------------------------------------------------------------------------
# Process functions
# --------------------------------------------------------------------------------------------------------

def slope_aspect(elevation_m, cell_size_x_m, cell_size_y_m, flat_slope_deg=1e-6):
    """Slope and aspect of each cell from Horn's 3x3 finite differences.

    With the neighbourhood ``a b c / d e f / g h i`` (row 0 = north)::

        dz/dx_east  = ((c + 2f + i) - (a + 2d + g)) / (8 dx)
        dz/dy_north = ((a + 2b + c) - (g + 2h + i)) / (8 dy)
        slope  = atan(hypot(dz/dx, dz/dy))
        aspect = atan2(-dz/dx, -dz/dy) clockwise from north   (the downslope direction)

    Beyond the raster edge the surface is extrapolated linearly (odd reflection), so a plane keeps its
    exact slope up to the border. A nodata neighbour takes the centre cell's value, as in ArcGIS and
    GeoTrellis, which flattens the window a little but loses no cell.

    Parameters
    ----------
    elevation_m : array-like, shape (rows, cols)
        Elevation [m] on a north-up grid, NaN for nodata.
    cell_size_x_m, cell_size_y_m : float
        Cell width (west-east) and height (north-south) on the ground [m], positive.
    flat_slope_deg : float, default 1e-6
        Cells with a slope at or below this [deg] have no defined aspect (NaN).

    Returns
    -------
    slope_deg : numpy.ndarray
        Slope [deg], 0..90; NaN where the elevation is NaN.
    aspect_deg : numpy.ndarray
        Aspect [deg], 0 <= aspect < 360 clockwise from grid north, the direction the slope faces
        (pvlib ``surface_azimuth``); NaN on flat or nodata cells. Grid north differs from true north by
        the meridian convergence (≤ 2.5 deg inside a UTM or 6-degree Gauss-Krüger zone over China).

    References
    ----------
    Horn, B.K.P. (1981). Hill shading and the reflectance map. Proc. IEEE 69(1):14-47.
    ESRI, "How Slope works" / "How Aspect works" (worked examples used in the tests).
    """
    z = np.asarray(elevation_m, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"elevation_m must be 2-D, got shape {z.shape}")
    if not (cell_size_x_m > 0 and cell_size_y_m > 0):
        raise ValueError("cell sizes must be positive [m]")
    p = _pad_for_horn(z)
    n_rows, n_cols = z.shape
    neighbours = [p[dr:dr + n_rows, dc:dc + n_cols] for dr in range(3) for dc in range(3)]
    return _horn(neighbours, cell_size_x_m, cell_size_y_m, flat_slope_deg, bool(np.isnan(p).any()))


def hillshade(slope_deg, aspect_deg, sun_azimuth_deg=315.0, sun_elevation_deg=45.0):
    """Relative illumination of the terrain by a distant sun, for shaded-relief maps [0..1].

    ``cos(i) = sin(e) cos(S) + cos(e) sin(S) cos(az - A)`` with sun elevation ``e`` and azimuth ``az``,
    slope ``S`` and aspect ``A``, clipped at 0 (self-shadowed). Flat cells (aspect NaN) get ``sin(e)``.

    Parameters
    ----------
    slope_deg, aspect_deg : array-like
        From :func:`slope_aspect` [deg]; aspect clockwise from north, the direction the slope faces.
    sun_azimuth_deg, sun_elevation_deg : float
        Light from the north-west at 45 deg by default, the cartographic convention [deg].

    Returns
    -------
    numpy.ndarray
        Illumination [1], NaN where the slope is NaN.

    References
    ----------
    Horn, B.K.P. (1981). Hill shading and the reflectance map. Proc. IEEE 69(1):14-47.
    """
    slope = np.radians(np.asarray(slope_deg, dtype=float))
    aspect = np.radians(np.nan_to_num(np.asarray(aspect_deg, dtype=float)))
    elevation, azimuth = np.radians(sun_elevation_deg), np.radians(sun_azimuth_deg)
    cos_i = np.sin(elevation) * np.cos(slope) + np.cos(elevation) * np.sin(slope) * np.cos(azimuth - aspect)
    return np.clip(cos_i, 0.0, 1.0)


def _pad_for_horn(z):
    """One-cell border continuing the surface linearly (odd reflection), or repeating it on 1-cell grids."""
    mode = {"mode": "reflect", "reflect_type": "odd"} if min(z.shape) >= 2 else {"mode": "edge"}
    return np.pad(z, 1, **mode)


def _horn(neighbours, cell_size_x_m, cell_size_y_m, flat_slope_deg, has_nan):
    """Horn slope and aspect from the nine arrays ``a b c d e f g h i`` of a 3x3 neighbourhood."""
    a, b, c, d, e, f, g, h, i = neighbours
    if has_nan:
        a, b, c, d, f, g, h, i = (np.where(np.isnan(n), e, n) for n in (a, b, c, d, f, g, h, i))
    # Written with in-place operations: this runs over every cell of large grids.
    dzdx = c + i
    dzdx -= a
    dzdx -= g
    tmp = np.subtract(f, d)
    tmp *= 2.0
    dzdx += tmp
    dzdx *= 1.0 / (8.0 * cell_size_x_m)
    dzdy = a + c
    dzdy -= g
    dzdy -= i
    np.subtract(b, h, out=tmp)
    tmp *= 2.0
    dzdy += tmp
    dzdy *= 1.0 / (8.0 * cell_size_y_m)
    # slope = atan(|grad z|)
    np.multiply(dzdx, dzdx, out=tmp)
    slope_deg = np.multiply(dzdy, dzdy)
    slope_deg += tmp
    np.sqrt(slope_deg, out=slope_deg)
    np.arctan(slope_deg, out=slope_deg)
    slope_deg *= 180.0 / np.pi
    # Downslope azimuth atan2(-dz/dx, -dz/dy) = atan2(dz/dx, dz/dy) + 180 deg, in (0, 360].
    aspect_deg = np.arctan2(dzdx, dzdy, out=tmp)
    aspect_deg *= 180.0 / np.pi
    aspect_deg += 180.0
    aspect_deg[aspect_deg >= 360.0] = 0.0
    if has_nan:
        slope_deg[np.isnan(e)] = np.nan
    aspect_deg[~(slope_deg > flat_slope_deg)] = np.nan
    return slope_deg, aspect_deg


def slope_aspect_at(elevation_m, rows, cols, cell_size_x_m, cell_size_y_m, flat_slope_deg=1e-6):
    """Horn slope and aspect at selected cells only; same values as :func:`slope_aspect` there.

    Costs O(number of cells asked for), so per-plot statistics over a large DEM need not compute
    the whole grid.

    Parameters
    ----------
    elevation_m : array-like, shape (n_rows, n_cols)
        Elevation [m] on a north-up grid, NaN for nodata.
    rows, cols : array-like of int
        Cells to compute.
    cell_size_x_m, cell_size_y_m, flat_slope_deg
        As in :func:`slope_aspect`.

    Returns
    -------
    slope_deg, aspect_deg : numpy.ndarray, shape of ``rows``
    """
    z = np.asarray(elevation_m, dtype=np.float64)
    rows, cols = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
    if rows.size == 0:
        return np.empty(rows.shape), np.empty(rows.shape)
    # Pad only the block that holds the cells; its border rows are real neighbours where they exist.
    r0, r1 = max(int(rows.min()) - 1, 0), min(int(rows.max()) + 2, z.shape[0])
    c0, c1 = max(int(cols.min()) - 1, 0), min(int(cols.max()) + 2, z.shape[1])
    p = _pad_for_horn(z[r0:r1, c0:c1])
    pr, pc = rows - r0, cols - c0  # top-left of each cell's 3x3 window in the padded block
    neighbours = [p[pr + dr, pc + dc] for dr in range(3) for dc in range(3)]
    return _horn(neighbours, cell_size_x_m, cell_size_y_m, flat_slope_deg, bool(np.isnan(p).any()))


def _wrap360(angle_deg):
    """Angles into [0, 360); also maps values that round to 360.0 onto 0."""
    wrapped = np.mod(angle_deg, 360.0)
    return np.where(wrapped >= 360.0 - 1e-9, 0.0, wrapped)


def _angle_from_sums(sin_sum, cos_sum, weight_sum):
    """Direction of a resultant vector [deg, 0..360), NaN where it has (almost) no length."""
    sin_sum, cos_sum, weight_sum = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                                         for x in (sin_sum, cos_sum, weight_sum)))
    angle = _wrap360(np.degrees(np.arctan2(sin_sum, cos_sum)))
    degenerate = ~(np.hypot(sin_sum, cos_sum) > 1e-12 * np.abs(weight_sum))
    return np.where(degenerate, np.nan, angle)


def circular_mean_deg(angles_deg, weights=None, axis=None):
    """Weighted circular mean of directions [deg].

    ``atan2(sum w sin a, sum w cos a)``, so 350 deg and 10 deg average to 0 deg, not 180 deg. NaN angles are
    ignored; the result is NaN when no angle is left or the directions cancel out exactly.

    Parameters
    ----------
    angles_deg : array-like
        Directions [deg].
    weights : array-like, optional
        Non-negative weights broadcastable to ``angles_deg`` (e.g. cell areas [m²]); equal by default.
    axis : int, optional
        Axis to reduce; all axes by default.

    Returns
    -------
    float or numpy.ndarray
        Mean direction [deg], 0 <= mean < 360.
    """
    angles = np.asarray(angles_deg, dtype=np.float64)
    w = np.ones_like(angles) if weights is None else np.broadcast_to(np.asarray(weights, np.float64),
                                                                     angles.shape)
    w = np.where(np.isnan(angles), 0.0, w)
    rad = np.radians(np.nan_to_num(angles))
    result = _angle_from_sums(np.sum(w * np.sin(rad), axis=axis), np.sum(w * np.cos(rad), axis=axis),
                              np.sum(w, axis=axis))
    return float(result) if np.ndim(result) == 0 else result


def _bilinear(flat, n_rows, n_cols, col_f, row_f):
    """Bilinear interpolation between cell centres at fractional pixel-corner coordinates.

    Points inside the raster's outer half-cell ring use the nearest edge value; points outside the raster
    (or with NaN coordinates) give NaN, as does any NaN among the four neighbours.
    """
    inside = (col_f >= 0) & (col_f <= n_cols) & (row_f >= 0) & (row_f <= n_rows)
    c = np.clip(np.where(inside, col_f, 0.5) - 0.5, 0.0, n_cols - 1.0)
    r = np.clip(np.where(inside, row_f, 0.5) - 0.5, 0.0, n_rows - 1.0)
    c0 = np.minimum(c.astype(np.intp), max(n_cols - 2, 0))
    r0 = np.minimum(r.astype(np.intp), max(n_rows - 2, 0))
    fc, fr = c - c0, r - r0
    i00 = r0 * n_cols + c0
    dc = 1 if n_cols > 1 else 0
    dr = n_cols if n_rows > 1 else 0
    z00, z01, z10, z11 = flat[i00], flat[i00 + dc], flat[i00 + dr], flat[i00 + dr + dc]
    top = z00 + fc * (z01 - z00)
    bottom = z10 + fc * (z11 - z10)
    z = top + fr * (bottom - top)
    return np.where(inside, z, np.nan)


def sample_elevation(elevation_m, transform, x, y):
    """Elevation at points by bilinear interpolation between cell centres [m].

    Parameters
    ----------
    elevation_m : numpy.ndarray, shape (rows, cols)
        Elevation grid [m], NaN for nodata.
    transform : affine.Affine
        Pixel-corner transform of the grid.
    x, y : array-like
        Point coordinates in the grid's CRS.

    Returns
    -------
    numpy.ndarray
        Elevation [m]; NaN outside the raster or next to nodata.
    """
    z = np.ascontiguousarray(elevation_m, dtype=np.float64)
    inv = ~transform
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    col_f = inv.a * x + inv.b * y + inv.c
    row_f = inv.d * x + inv.e * y + inv.f
    return _bilinear(z.ravel(), z.shape[0], z.shape[1], col_f, row_f)


def horizon_angles(elevation_m, transform, x, y, z0_m, n_azimuths=36, search_distance_m=3000.0, step_m=None,
                   refraction_coefficient=REFRACTION_COEFFICIENT):
    """Elevation angle of the skyline around many points, by ray-marching over the DEM.

    For each point and azimuth φ the DEM is sampled (bilinear) at distances d = step, 2·step, … up to
    ``search_distance_m`` along (sin φ, cos φ) and::

        h(φ) = max(0, max_d atan((z(d) - c(d) - z0) / d)),   c(d) = (1 - k) d² / (2R)

    where c(d) is the drop of distant terrain below the observer's horizontal plane from the earth's
    curvature (R = 6371 km) less refraction (k = 0.13). It is 0.27 m at 2 km and 0.62 m at 3 km, i.e.
    about 0.01 deg of horizon at 3 km. A ray stops at the DEM edge or the first nodata sample, so the
    DEM should extend ``search_distance_m`` beyond the points; nothing beyond is seen. Azimuths are taken in
    the grid's x/y axes; the difference from true north (meridian convergence, ≤ 2.5 deg inside a UTM zone
    at the latitudes of China) is ignored.

    All points and azimuths advance together (arrays of shape (n_points, n_azimuths)); the only Python
    loop is over distance steps.

    Parameters
    ----------
    elevation_m : numpy.ndarray, shape (rows, cols)
        Elevation [m] on a grid in metres, NaN for nodata.
    transform : affine.Affine
        Pixel-corner transform of the grid (metres).
    x, y : array-like, shape (n_points,)
        Observer positions in the grid's CRS [m].
    z0_m : array-like, shape (n_points,)
        Observer elevations [m] (ground elevation plus eye height). NaN gives a NaN profile.
    n_azimuths : int, default 36
        Number of equally spaced azimuths, starting at north.
    search_distance_m : float, default 3000
        Farthest distance searched [m].
    step_m : float, optional
        Distance step [m]; default the smaller cell size.
    refraction_coefficient : float, default 0.13
        Coefficient of atmospheric refraction k [-].

    Returns
    -------
    horizon_deg : numpy.ndarray, shape (n_points, n_azimuths)
        Horizon elevation angle [deg], ≥ 0.
    azimuth_deg : numpy.ndarray, shape (n_azimuths,)
        Azimuths [deg] clockwise from north.

    References
    ----------
    Dozier, J. and Frew, J. (1990), IEEE Trans. Geosci. Remote Sens. 28(5):963-969 (horizon angles
    from a DEM); curvature and refraction correction as in standard viewshed tools.
    """
    z = np.ascontiguousarray(elevation_m, dtype=np.float64)
    flat = z.ravel()
    n_rows, n_cols = z.shape
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    z0 = np.broadcast_to(np.asarray(z0_m, dtype=np.float64), x.shape)
    n_azimuths = int(n_azimuths)
    if n_azimuths < 1:
        raise ValueError("n_azimuths must be at least 1")
    if not search_distance_m > 0:
        raise ValueError("search_distance_m must be positive")
    azimuth_deg = np.arange(n_azimuths) * (360.0 / n_azimuths)
    if step_m is None:
        step_m = min(np.hypot(transform.a, transform.d), np.hypot(transform.b, transform.e))
    if not step_m > 0:
        raise ValueError("step_m must be positive")

    inv = ~transform
    col0 = (inv.a * x + inv.b * y + inv.c)[:, None]
    row0 = (inv.d * x + inv.e * y + inv.f)[:, None]
    az = np.radians(azimuth_deg)
    east, north = np.sin(az), np.cos(az)
    dcol = (inv.a * east + inv.b * north)[None, :]  # pixels per metre along each azimuth
    drow = (inv.d * east + inv.e * north)[None, :]
    z0c = z0[:, None]

    best = np.full((x.size, n_azimuths), -np.inf)   # max of tan(elevation angle)
    active = np.broadcast_to(np.isfinite(z0c), best.shape).copy()
    curvature = (1.0 - refraction_coefficient) / (2.0 * EARTH_RADIUS_M)
    n_steps = int(np.ceil(search_distance_m / step_m - 1e-9))
    for k in range(1, n_steps + 1):
        d = min(k * step_m, search_distance_m)
        zd = _bilinear(flat, n_rows, n_cols, col0 + d * dcol, row0 + d * drow)
        active &= np.isfinite(zd)
        if not active.any():
            break
        tan_h = (zd - curvature * d * d - z0c) / d
        np.maximum(best, np.where(active, tan_h, -np.inf), out=best)
    horizon_deg = np.degrees(np.arctan(np.maximum(best, 0.0)))
    horizon_deg[~np.isfinite(z0)] = np.nan
    return horizon_deg, azimuth_deg


def sky_view_factor(horizon_deg, axis=-1):
    """Sky-view factor of a horizontal surface from its horizon profile [-].

    Cosine-weighted (radiative) form::

        SVF = (1/2π) ∫ cos²h(φ) dφ  ≈  mean over equally spaced azimuths of cos²(h)

    i.e. the fraction of isotropic diffuse sky irradiance a horizontal surface receives. The solid-angle
    fraction of visible sky, ``1 - mean(sin h)``, is *lower* for the same horizon (cos²h ≥ 1 - sin h), e.g.
    0.75 vs 0.50 for h = 30 deg everywhere; state which one a comparison uses.

    Parameters
    ----------
    horizon_deg : array-like
        Horizon elevation angles [deg] at equally spaced azimuths along ``axis``.
    axis : int, default -1

    Returns
    -------
    numpy.ndarray or float
        Sky-view factor, 0..1 (1 = unobstructed).

    References
    ----------
    Dozier, J. and Frew, J. (1990). IEEE Trans. Geosci. Remote Sens. 28(5):963-969 (their V_d with slope 0,
    H the horizon zenith angle: sin²H = cos²h).
    """
    h = np.radians(np.asarray(horizon_deg, dtype=np.float64))
    return np.mean(np.cos(h) ** 2, axis=axis)


# --------------------------------------------------------------------------------------------------------
# Plot cells (zonal statistics)
# --------------------------------------------------------------------------------------------------------

def _window_of(bounds, transform, shape):
    """Row/column range ``(r0, r1, c0, c1)`` of a north-up grid covering ``bounds``, clipped to the grid."""
    xmin, ymin, xmax, ymax = bounds
    c0 = int(np.floor((xmin - transform.c) / transform.a))
    c1 = int(np.ceil((xmax - transform.c) / transform.a))
    r0 = int(np.floor((ymax - transform.f) / transform.e))
    r1 = int(np.ceil((ymin - transform.f) / transform.e))
    return max(r0, 0), min(r1, shape[0]), max(c0, 0), min(c1, shape[1])


def _cells_of_one(geom, transform, shape):
    """Cells of one polygon: centre-in; else all touched, weighted by overlap area; else the centroid cell.

    Returns ``(rows, cols, weights_m2)``.
    """
    cell_area = abs(transform.a * transform.e)
    r0, r1, c0, c1 = _window_of(shapely.bounds(geom), transform, shape)
    if r1 > r0 and c1 > c0:
        wt = transform @ Affine.translation(c0, r0)
        for all_touched in (False, True):
            inside = rasterio.features.geometry_mask([geom], out_shape=(r1 - r0, c1 - c0), transform=wt,
                                                     all_touched=all_touched, invert=True)
            rr, cc = np.nonzero(inside)
            if rr.size == 0:
                continue
            if not all_touched:
                return rr + r0, cc + c0, np.full(rr.size, cell_area)
            # Few touched cells: weight each by the part of the plot it holds.
            xs0, ys0 = wt @ (cc, rr)
            xs1, ys1 = wt @ (cc + 1, rr + 1)
            area = shapely.area(shapely.intersection(shapely.box(xs0, ys1, xs1, ys0), geom))
            if area.sum() > 0:
                keep = area > 0
                return rr[keep] + r0, cc[keep] + c0, area[keep]
            return rr + r0, cc + c0, np.full(rr.size, cell_area)
    centroid = shapely.centroid(geom)
    col, row = ~transform @ (centroid.x, centroid.y)
    if 0 <= row < shape[0] and 0 <= col < shape[1]:
        return np.array([int(row)]), np.array([int(col)]), np.array([cell_area])
    return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)


def plot_cells(geometries, transform, shape):
    """Which cells of a north-up grid belong to each polygon, with area weights.

    A cell belongs to a plot when its centre lies inside it (weight = cell area). Plots are burnt into a
    label grid with one ``rasterio.features.rasterize`` call per layer, where a layer holds plots that
    do not overlap each other (one layer unless plots overlap). Small plots that hold no cell centre
    (a 0.2 ha plot on a 30 m grid holds about two) are done one by one: every touched cell weighted by
    the area of the plot inside it, else the cell under the centroid.

    Parameters
    ----------
    geometries : array-like of shapely polygons
        In the grid's CRS.
    transform : affine.Affine
        North-up pixel-corner transform.
    shape : tuple of int
        ``(rows, cols)`` of the grid.

    Returns
    -------
    plot_index, row, col : numpy.ndarray of int
        One entry per (plot, cell) pair; ``plot_index`` indexes ``geometries``.
    weight_m2 : numpy.ndarray
        Area represented by the cell [m²].
    """
    geoms = np.asarray(geometries, dtype=object)
    n = geoms.size
    empty = (np.empty(0, np.intp),) * 3 + (np.empty(0),)
    if n == 0:
        return empty
    # Plots sharing area with another plot cannot share one label grid: put them in different layers
    # (greedy colouring of the overlap graph; real plot maps need one or two layers).
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pair = left != right
    left, right = left[pair], right[pair]
    layer = np.zeros(n, dtype=np.intp)
    if left.size:
        shared = shapely.area(shapely.intersection(geoms[left], geoms[right])) > 1e-6
        left, right = left[shared], right[shared]
        order = np.argsort(left, kind="stable")
        left, right = left[order], right[order]
        starts = np.searchsorted(left, np.arange(n + 1))
        layer[np.unique(left)] = -1
        for i in np.unique(left):
            taken = set(layer[right[starts[i]:starts[i + 1]]].tolist())
            layer[i] = next(k for k in range(n + 1) if k not in taken)

    cell_area = abs(transform.a * transform.e)
    parts = []
    found = np.zeros(n, bool)
    for k in range(int(layer.max()) + 1):
        batch = np.flatnonzero(layer == k)
        if batch.size == 0:
            continue
        r0, r1, c0, c1 = _window_of(shapely.total_bounds(geoms[batch]), transform, shape)
        if r1 <= r0 or c1 <= c0:
            continue
        wt = transform @ Affine.translation(c0, r0)
        labels = rasterio.features.rasterize(
            zip(geoms[batch], batch + 1), out_shape=(r1 - r0, c1 - c0), transform=wt, fill=0,
            all_touched=False, dtype="int32")
        flat_index = np.flatnonzero(labels)
        index = labels.ravel()[flat_index].astype(np.intp) - 1
        rows, cols = np.divmod(flat_index, c1 - c0)
        parts.append((index, rows + r0, cols + c0, np.full(index.size, cell_area)))
        found[index] = True
    for i in np.flatnonzero(~found):
        rr, cc, ww = _cells_of_one(geoms[i], transform, shape)
        parts.append((np.full(rr.size, i, dtype=np.intp), rr, cc, ww))
    if not parts:
        return empty
    return tuple(np.concatenate(p) for p in zip(*parts))


def _zonal_means(plot_index, values, weights, n_plots):
    """Weighted mean of ``values`` per plot; NaN for plots without cells."""
    weight_sum = np.bincount(plot_index, weights=weights, minlength=n_plots)
    total = np.bincount(plot_index, weights=weights * values, minlength=n_plots)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / weight_sum


# --------------------------------------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------------------------------------

def _plots_phrase(ids, singular_verb, plural_verb, noun="plot", limit=10):
    """'plot P07 lies' / 'plots P07, P12 lie' / '... and 3 more lie': the subject of an error sentence."""
    ids = [str(i) for i in ids]
    shown = ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
    return f"{noun} {shown} {singular_verb}" if len(ids) == 1 else f"{noun}s {shown} {plural_verb}"


def _positive_number(name, value, allow_zero=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = np.nan
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        limit = "0 or more" if allow_zero else "positive"
        raise InputError(f"{name}={value!r} must be a {limit} number of metres.")
    return number


def _check_plots(plots, id_column):
    import geopandas as gpd  # heavy import, only needed here

    if not isinstance(plots, gpd.GeoDataFrame):
        raise InputError(f"plots must be a GeoDataFrame of plot polygons, got {type(plots).__name__}; "
                         "read them with orchard.plots or geopandas.read_file.")
    if len(plots) == 0:
        raise InputError("no plots were given (the plot table is empty); "
                         "import plots before computing terrain.")
    if plots.crs is None:
        raise InputError("the plots have no coordinate reference system; set it (e.g. EPSG:4490 for "
                         "CGCS2000 longitude/latitude) before computing terrain.")
    if id_column not in plots.columns:
        raise InputError(f"the plots have no column {id_column!r}; name the plot-id column with id_column=.")
    ids = plots[id_column].astype(str).to_numpy(dtype=object)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InputError(f"{_plots_phrase(unique[counts > 1], 'appears', 'appear', noun='plot id')} more "
                         f"than once in column {id_column!r}; give each plot a unique id.")
    geoms = np.asarray(plots.geometry.values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad |= ~np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    if bad.any():
        raise InputError(f"{_plots_phrase(ids[bad], 'has', 'have')} no polygon geometry; "
                         "give each plot its boundary polygon.")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        raise InputError(f"{_plots_phrase(ids[invalid], 'has an invalid polygon', 'have invalid polygons')} "
                         "(e.g. self-intersecting); repair them (shapely.make_valid) and import again.")
    return ids


def _area_of_interest(path, plots, search_distance_m):
    """Bounds, in the DEM's CRS, of the plots plus the horizon search distance (None: read everything)."""
    try:
        path = check_input_file(path, what="DEM")
        with rasterio.open(path) as src:
            crs = src.crs
    except (rasterio.errors.RasterioError, InputError):
        return None  # read_dem gives the user the full explanation
    if crs is None or plots.crs is None:
        return None
    left, bottom, right, top = rasterio.warp.transform_bounds(plots.crs, crs, *plots.total_bounds,
                                                              densify_pts=21)
    if crs.is_geographic:
        mid_lat = np.radians(np.clip((bottom + top) / 2, -89.0, 89.0))
        pad_x = search_distance_m / (111_320.0 * np.cos(mid_lat))
        pad_y = search_distance_m / 110_574.0
    else:
        pad_x = pad_y = search_distance_m / (crs.linear_units_factor[1] or 1.0)
    return left - pad_x, bottom - pad_y, right + pad_x, top + pad_y


def plot_terrain(plots, dem, *, id_column="plot_id", n_azimuths=36, search_distance_m=3000.0,
                 observer_height_m=1.5) -> xr.Dataset:
    """Elevation, slope, aspect, horizon profile and sky-view factor of each plot.

    Steps: read the DEM (:func:`read_dem`) and put it on a metric grid (:func:`metric_dem`); reproject
    the plots onto it; find each plot's cells (:func:`plot_cells`); compute Horn slope and aspect
    (:func:`slope_aspect`) over the plots' window; area-weighted means of elevation and slope and the
    area-weighted circular mean of aspect (flat cells, which have no aspect, are left out of it); the
    horizon profile from the plot centroid at its DEM elevation plus ``observer_height_m``
    (:func:`horizon_angles`) and its sky-view factor (:func:`sky_view_factor`).

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        Plot polygons in any CRS, with a unique id column.
    dem : str, os.PathLike or Dem
        DEM file (GeoTIFF, any CRS, elevations in metres) or a :class:`Dem` from :func:`read_dem`.
    id_column : str, default "plot_id"
    n_azimuths : int, default 36
        Azimuths of the horizon profile (every 10 deg by default).
    search_distance_m : float, default 3000
        How far the horizon is searched [m]; the DEM should extend this far beyond the plots.
    observer_height_m : float, default 1.5
        Height of the horizon's observer above the ground at the centroid [m] (about a tree crown).

    Returns
    -------
    xarray.Dataset
        Dims ``plot`` (plot ids as str) and ``azimuth`` [deg]; variables ``elevation_m`` [m],
        ``slope_deg`` [deg], ``aspect_deg`` [deg from north, downslope; NaN for a flat plot],
        ``sky_view_factor`` [1] and ``horizon_deg`` (plot, azimuth) [deg].

    Raises
    ------
    orchard.errors.InputError
        Unreadable DEM, no plots, plots without CRS or polygons, duplicate ids, plots outside the DEM or on
        its nodata cells (one error naming all of them), bad arguments.
    """
    if not (isinstance(n_azimuths, (int, np.integer)) and n_azimuths >= 1):
        raise InputError(f"n_azimuths={n_azimuths!r} must be a whole number of at least 1 (e.g. 36).")
    search_distance_m = _positive_number("search_distance_m", search_distance_m)
    observer_height_m = _positive_number("observer_height_m", observer_height_m, allow_zero=True)
    ids = _check_plots(plots, id_column)
    source = dem if isinstance(dem, Dem) else read_dem(dem, bounds=_area_of_interest(dem, plots,
                                                                                      search_distance_m))
    work = metric_dem(source)
    z = work.elevation_m
    transform = work.transform
    geoms = np.asarray(plots.geometry.to_crs(work.crs).values, dtype=object)
    n = geoms.size

    # Coverage: every plot inside the raster and with data in all its cells (a warped DEM has nodata
    # margins around the source footprint; the nodata check catches plots there).
    left, bottom, right, top = work.bounds()
    outside = ~shapely.covered_by(geoms, shapely.box(left, bottom, right, top))
    plot_index, rows, cols, weights = plot_cells(geoms, transform, z.shape)
    has_cells = np.bincount(plot_index, minlength=n) > 0
    cell_z = z[rows, cols]
    on_nodata = np.bincount(plot_index, weights=np.isnan(cell_z).astype(float), minlength=n) > 0
    outside |= ~has_cells
    on_nodata &= ~outside
    if outside.any() or on_nodata.any():
        problems = []
        digits = 5 if source.crs.is_geographic else 0
        bounds = ", ".join(f"{v:.{digits}f}" for v in (source.file_bounds or source.bounds()))
        if outside.any():
            problems.append(f"{_plots_phrase(ids[outside], 'lies', 'lie')} outside the DEM {source.name} "
                            f"(bounds {bounds} in {_crs_label(source.crs)})")
        if on_nodata.any():
            problems.append(f"{_plots_phrase(ids[on_nodata], 'lies', 'lie')} on nodata cells of the DEM "
                            f"{source.name}")
        raise InputError(" and ".join(problems) + "; use a DEM that covers them.")

    cell_slope, cell_aspect = slope_aspect_at(z, rows, cols, abs(transform.a), abs(transform.e))

    elevation_m = _zonal_means(plot_index, cell_z, weights, n)
    slope_deg = _zonal_means(plot_index, cell_slope, weights, n)
    sloped = np.isfinite(cell_aspect)
    rad = np.radians(cell_aspect[sloped])
    w = weights[sloped]
    aspect_deg = _angle_from_sums(np.bincount(plot_index[sloped], w * np.sin(rad), minlength=n),
                                  np.bincount(plot_index[sloped], w * np.cos(rad), minlength=n),
                                  np.bincount(plot_index[sloped], w, minlength=n))

    centroids = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    ground_m = sample_elevation(z, transform, cx, cy)
    ground_m = np.where(np.isfinite(ground_m), ground_m, elevation_m)  # centroid outside a concave plot
    horizon_deg, azimuth_deg = horizon_angles(z, transform, cx, cy, ground_m + observer_height_m,
                                              n_azimuths=n_azimuths, search_distance_m=search_distance_m)
    svf = sky_view_factor(horizon_deg)

    return xr.Dataset(
        data_vars={
            "elevation_m": ("plot", elevation_m,
                            {"units": "m", "long_name": "mean elevation of the plot above sea level"}),
            "slope_deg": ("plot", slope_deg,
                          {"units": "degree", "long_name": "mean slope of the plot (Horn 1981)"}),
            "aspect_deg": ("plot", aspect_deg,
                           {"units": "degree",
                            "long_name": "aspect of the plot: direction the slope faces, clockwise from "
                                         "north (circular mean; NaN when flat)"}),
            "sky_view_factor": ("plot", svf,
                                {"units": "1", "long_name": "sky-view factor of a horizontal surface "
                                                            "(cosine-weighted)"}),
            "horizon_deg": (("plot", "azimuth"), horizon_deg,
                            {"units": "degree",
                             "long_name": "elevation angle of the skyline seen from the plot centroid"}),
        },
        coords={
            "plot": ("plot", ids.astype(str), {"long_name": "plot identifier"}),
            "azimuth": ("azimuth", azimuth_deg,
                        {"units": "degree", "long_name": "azimuth clockwise from north"}),
        },
        attrs={
            "model": "orchard.terrain",
            "model_version": __version__,
            "dem_file": source.path,
            "dem_crs": _crs_label(source.crs),
            "working_crs": _crs_label(work.crs),
            "cell_size_m": float(abs(transform.a)),
            "search_distance_m": float(search_distance_m),
            "observer_height_m": float(observer_height_m),
            "refraction_coefficient": REFRACTION_COEFFICIENT,
            "sky_view_factor_definition": SVF_DEFINITION,
            "slope_method": "Horn (1981) 3x3 finite differences; plot means weighted by area",
            "zonal_method": "cells whose centre lies in the plot, weighted by area; plots holding no cell "
                            "centre: touched cells weighted by overlap area",
            "horizon_method": "ray-march from the plot centroid at its bilinear DEM elevation plus "
                              "observer_height_m, earth curvature and refraction included",
        },
    )
