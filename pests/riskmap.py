"""Weekly pest risk on a grid: the pest outlook of every DEM cell of a district, for extension services.

Weather on a cell depends only on what the weather correction reads from the terrain: the cell's elevation
(lapse rate, :func:`orchard.weather.weather_for_plots`), its nearest station and, when asked, its slope and
aspect (the growth module's slope correction, passed in by the orchestrator). So instead of running the
pest models on millions of cells, the cells are put in **weather classes** (elevation bins of
``grid.elevation_bin`` metres, times slope bins and aspect sectors when the slope correction is on, times the
nearest station), :func:`pests.outlook.outlook` runs once per class present in the DEM, and the results are
mapped back to the cells block by block. Memory and time then follow the DEM's size only through reading it
and writing the results; the models cost the same for a county as for a township.

Chain (one step per function, :func:`risk_grid` on top):

1. :func:`dem_grid` checks the DEM (CRS, size, north-up) without reading its cells;
2. :func:`class_scheme` fixes the bins; :func:`key_array` is the lazy dask array of each cell's class key,
   read block by block from the file (each block reads its own window, with a one-cell halo for slopes);
3. :func:`distinct_classes` reads the DEM once and lists the classes present (and elevation range);
4. :func:`class_outlook` gives every class its weather (lapse rate from the nearest station, optional slope
   correction) and runs the pest outlook on them (one "plot" per class);
5. :func:`lookup` maps the class results back to the cells (``dask.array.map_blocks``), so the grid stays
   lazy until it is written or shown; :func:`plot_risk` gives each plot polygon its zonal maximum.

The same code runs on dask's local threaded scheduler and on a ``dask.distributed`` cluster
(``scheduler="tcp://host:port"``): the block tasks are plain functions of the DEM path and small arrays, so
no worker needs the database. The workers must see the DEM file under the same path (shared disk).

Quantisation: the class elevation is the bin centre, at most ``grid.elevation_bin / 2`` from the cell's,
i.e. a temperature error of at most ``lapse rate × bin / 2`` (0.03 °C for 10 m at 0.6 °C/100 m);
:func:`binning_error` measures what this does to the levels and probabilities (docs/riskmap.md).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.windows
import xarray as xr
from affine import Affine

from orchard import weather as ow
from orchard.errors import InputError, ParameterError, check_input_file
from orchard.params import Parameter, ParameterSet
from orchard.terrain import slope_aspect

from .outlook import LEVEL_NAMES, LEVEL_NAMES_EN, outlook
from .paramsets import check_pests

__all__ = [
    "ClassScheme",
    "DemGrid",
    "LEVEL_COLOURS",
    "PEST_NAMES_ZH",
    "RiskGridRun",
    "binning_error",
    "class_outlook",
    "class_scheme",
    "class_weather",
    "dask_scheduler",
    "dem_grid",
    "distinct_classes",
    "iso_week",
    "key_array",
    "lookup",
    "plot_risk",
    "risk_grid",
    "risk_grid_run",
    "riskmap_parameters",
    "stations_from_grid",
]

#: Lowest and highest elevation a DEM cell may hold [m] (as ``orchard.terrain``): the class bins span them.
Z_BASE_M = -500.0
Z_TOP_M = 9000.0
#: Colours of levels 1-5 (green, yellow-green, yellow, orange, red; ColorBrewer RdYlGn, reversed).
LEVEL_COLOURS = {1: "#1a9850", 2: "#a6d96a", 3: "#fee08b", 4: "#fc8d59", 5: "#d73027"}
#: Chinese pest names (as the app's catalogue, app/i18n.py).
PEST_NAMES_ZH = {
    "black_spot": "柑橘黑斑病",
    "canker": "柑橘溃疡病",
    "mites": "柑橘红蜘蛛",
    "leaf_miner": "柑橘潜叶蛾",
}
#: Levels 1-5 in Chinese and English (the outlook's names).
LEVELS = {k: (LEVEL_NAMES[k], LEVEL_NAMES_EN[k]) for k in range(1, 6)}
#: Horizons in Chinese and English, for maps and tables.
HORIZON_NAMES = {"15d": ("15 天", "15 days"), "1m": ("1 个月", "1 month"), "3m": ("3 个月", "3 months")}
#: A station further than this from the DEM's centre is not used [km] (as orchard.plot_weather).
MAX_STATION_DISTANCE_KM = 100.0
#: How long to try reaching a dask.distributed scheduler before giving up [s].
SCHEDULER_CONNECT_TIMEOUT_S = 10
#: Default dask block (rows, columns): about a million cells, a few tens of MB per task.
DEFAULT_CHUNKS = (512, 2048)

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


# ----------------------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------------------
def riskmap_parameters(overrides=None) -> ParameterSet:
    """The risk-map parameter set (class bins), with optional overrides ``{key: value}``.

    ``grid.elevation_bin`` [m], ``grid.slope_bin`` [deg] and ``grid.aspect_sectors`` [1] set the weather
    classes (module notes); their defaults are proposals whose error is measured with :func:`binning_error`.
    """
    entries = {
        "grid.elevation_bin": Parameter(
            10.0,
            "m",
            1.0,
            100.0,
            "Width of the elevation classes: cells whose elevations round to the same bin share one weather",
            "Proposed (assumption): temperature error <= lapse rate x bin / 2 = 0.03 degC at 0.6 degC/100 m; "
            "level changes measured in docs/riskmap.md",
            assumption=True,
        ),
        "grid.slope_bin": Parameter(
            5.0,
            "deg",
            1.0,
            30.0,
            "Width of the slope classes for the slope/aspect correction (class 0 = flat)",
            "Proposed (assumption): 5 deg changes the plane-of-slope radiation by a few percent",
            assumption=True,
        ),
        "grid.aspect_sectors": Parameter(
            8,
            "1",
            4,
            36,
            "Number of aspect sectors (N, NE, E, ...) for the slope/aspect correction",
            "Proposed (assumption): 45 deg sectors, the usual aspect map classes",
            assumption=True,
        ),
    }
    params = ParameterSet("riskmap", entries)
    if overrides:
        params = params.with_overrides(overrides)
    return params


# ----------------------------------------------------------------------------------------------------------
# ISO weeks
# ----------------------------------------------------------------------------------------------------------
def iso_week(week) -> tuple[str, pd.Timestamp]:
    """The label ``YYYY-Www`` and the Monday of an ISO 8601 week (the risk map's issue date).

    Parameters
    ----------
    week : str
        ``"2016-W30"`` (or ``"2016W30"``).

    Returns
    -------
    (str, pandas.Timestamp)
        ``("2016-W30", Timestamp("2016-07-25"))``: ISO weeks start on Monday, and week 1 is the week
        with the year's first Thursday.
    """
    match = _ISO_WEEK.match(str(week).strip())
    if match is None:
        raise InputError(f"week {week!r} is not an ISO week; write it as YYYY-Www, e.g. 2016-W30.")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = pd.Timestamp.fromisocalendar(year, number, 1)
    except ValueError:
        raise InputError(
            f"week {week!r} does not exist: {year} has "
            f"{pd.Timestamp(year, 12, 28).isocalendar()[1]} ISO weeks."
        ) from None
    return f"{year}-W{number:02d}", monday.normalize()


# ----------------------------------------------------------------------------------------------------------
# The DEM
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemGrid:
    """What the block tasks need to know about a DEM file (no cell values: they read their own window).

    Attributes
    ----------
    path : str
    width, height : int
        Columns and rows.
    transform : affine.Affine
        North-up pixel-corner transform in ``crs_wkt``.
    crs_wkt : str
    epsg : int or None
    is_geographic : bool
        Degrees (cell sizes on the ground are taken at the centre latitude).
    cell_x_m, cell_y_m : float
        Cell width and height on the ground [m].
    centre_lon, centre_lat : float
        Centre of the grid [deg].
    lonlat_bounds : tuple of float
        ``(west, south, east, north)`` of the grid [deg].
    """

    path: str
    width: int
    height: int
    transform: Affine
    crs_wkt: str
    epsg: int | None
    is_geographic: bool
    cell_x_m: float
    cell_y_m: float
    centre_lon: float
    centre_lat: float
    lonlat_bounds: tuple = (0.0, 0.0, 0.0, 0.0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in the DEM's CRS."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def x_centres(self, c0: int = 0, c1: int | None = None) -> np.ndarray:
        c1 = self.width if c1 is None else c1
        return self.transform.c + (np.arange(c0, c1) + 0.5) * self.transform.a

    def y_centres(self, r0: int = 0, r1: int | None = None) -> np.ndarray:
        r1 = self.height if r1 is None else r1
        return self.transform.f + (np.arange(r0, r1) + 0.5) * self.transform.e


def dem_grid(path) -> DemGrid:
    """Check a DEM file and describe its grid, without reading its cells.

    Raises
    ------
    orchard.errors.InputError
        Missing, empty or unreadable file; no CRS; no band; fewer than 3x3 cells; rotated grid.
    """
    path = check_input_file(path, what="DEM")
    try:
        with rasterio.open(path) as src:
            crs, transform, count = src.crs, src.transform, src.count
            width, height = src.width, src.height
    except rasterio.errors.RasterioError as exc:
        reason = str(exc).replace(str(path), "the file").strip(" :.")
        raise InputError(
            f"{path}: is not a readable GeoTIFF/raster ({reason}); give a DEM in GeoTIFF format."
        ) from None
    if count < 1:
        raise InputError(f"{path}: the raster has no bands; give a single-band DEM.")
    if crs is None:
        raise InputError(
            f"{path}: the DEM has no coordinate reference system; assign the one it was made "
            f"in, e.g. `gdal_edit.py -a_srs EPSG:4490 {path}`."
        )
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise InputError(
            f"{path}: the DEM grid is rotated or not north-up; warp it to a north-up grid first (gdalwarp)."
        )
    if width < 3 or height < 3:
        raise InputError(f"{path}: the DEM has only {height}x{width} cells; at least 3x3 are needed.")
    from pyproj import CRS, Transformer

    pcrs = CRS.from_wkt(crs.to_wkt())
    cx, cy = transform * (width / 2.0, height / 2.0)
    to_lonlat = Transformer.from_crs(pcrs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(cx, cy)
    if pcrs.is_geographic:
        metres_per_degree = 111_320.0
        cell_x = transform.a * metres_per_degree * np.cos(np.radians(lat))
        cell_y = -transform.e * metres_per_degree
    else:
        factor = pcrs.axis_info[0].unit_conversion_factor if pcrs.axis_info else 1.0
        cell_x, cell_y = transform.a * factor, -transform.e * factor
    from rasterio.warp import transform_bounds

    left, top = transform.c, transform.f
    right, bottom = left + transform.a * width, top + transform.e * height
    lonlat = transform_bounds(crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    return DemGrid(
        str(path),
        int(width),
        int(height),
        transform,
        crs.to_wkt(),
        crs.to_epsg(),
        bool(pcrs.is_geographic),
        float(cell_x),
        float(cell_y),
        float(lon),
        float(lat),
        tuple(float(v) for v in lonlat),
    )


def read_window(dem: DemGrid, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Elevations [m] of rows r0:r1 and columns c0:c1 as float64, NaN for nodata."""
    try:
        with rasterio.open(dem.path) as src:
            band = src.read(1, window=rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0), masked=True)
    except rasterio.errors.RasterioIOError as exc:
        # on a dask cluster each worker reads its own blocks: the DEM must be on a disk they share
        raise InputError(
            f"{dem.path}: cannot read the DEM here ({exc}); on a dask cluster every worker must see the DEM "
            "under the same path (a shared disk)."
        ) from None
    z = np.ma.filled(band.astype(np.float64), np.nan)
    z[~np.isfinite(z)] = np.nan
    return z


# ----------------------------------------------------------------------------------------------------------
# Weather classes
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassScheme:
    """How cells are put into weather classes, and the integer key of each class.

    ``key = ((station · n_elevation + e) · n_slope + s) · n_aspect + a`` with ``e = round((z − Z_BASE)/w)``,
    ``s = round(slope / slope_bin)`` (0 = flat: no aspect), ``a = round(aspect / (360/n_aspect)) mod
    n_aspect``; nodata cells get −1. The class's representative values are the bin centres.

    Attributes
    ----------
    elevation_bin_m : float
    slope_bin_deg : float
        0 when the classes do not split by slope and aspect.
    aspect_sectors : int
    station_ids : tuple of str
        The stations a cell may take its weather from (nearest in the DEM's plane).
    station_x, station_y : tuple of float
        Their positions in ground metres of the DEM's plane (only used with several stations).
    """

    elevation_bin_m: float
    slope_bin_deg: float = 0.0
    aspect_sectors: int = 8
    station_ids: tuple = ("",)
    station_x: tuple = (0.0,)
    station_y: tuple = (0.0,)

    @property
    def n_elevation(self) -> int:
        return int(np.ceil((Z_TOP_M - Z_BASE_M) / self.elevation_bin_m)) + 1

    @property
    def n_slope(self) -> int:
        return int(np.ceil(90.0 / self.slope_bin_deg)) + 1 if self.slope_bin_deg else 1

    @property
    def n_aspect(self) -> int:
        return int(self.aspect_sectors) if self.slope_bin_deg else 1

    @property
    def n_station(self) -> int:
        return len(self.station_ids)

    def encode(self, elevation_m, slope_deg=None, aspect_deg=None, station=None) -> np.ndarray:
        """Class keys (int64, −1 where the elevation is NaN) of cells."""
        z = np.asarray(elevation_m, dtype=np.float64)
        valid = np.isfinite(z)
        e = np.rint((np.where(valid, z, Z_BASE_M) - Z_BASE_M) / self.elevation_bin_m)
        key = np.clip(e, 0, self.n_elevation - 1).astype(np.int64)
        if self.n_station > 1:
            key += np.asarray(station, dtype=np.int64) * self.n_elevation
        if self.slope_bin_deg:
            slope = np.nan_to_num(np.asarray(slope_deg, dtype=np.float64), nan=0.0)
            s = np.clip(np.rint(slope / self.slope_bin_deg), 0, self.n_slope - 1).astype(np.int64)
            sector = 360.0 / self.n_aspect
            aspect = np.asarray(aspect_deg, dtype=np.float64)
            a = np.rint(np.nan_to_num(aspect, nan=0.0) / sector).astype(np.int64) % self.n_aspect
            a = np.where((s > 0) & np.isfinite(aspect), a, 0)
            key = (key * self.n_slope + s) * self.n_aspect + a
        return np.where(valid, key, -1)

    def decode(self, keys) -> dict[str, np.ndarray]:
        """Representative station index, elevation [m], slope [deg] and aspect [deg] of class keys."""
        k = np.asarray(keys, dtype=np.int64)
        a = k % self.n_aspect
        k = k // self.n_aspect
        s = k % self.n_slope
        k = k // self.n_slope
        e = k % self.n_elevation
        st = k // self.n_elevation
        return {
            "station": st,
            "elevation_m": Z_BASE_M + e * self.elevation_bin_m,
            "slope_deg": s * float(self.slope_bin_deg),
            "aspect_deg": np.where(s > 0, a * 360.0 / max(self.n_aspect, 1), 180.0),
        }

    def nearest_station(self, dem: DemGrid, r0: int, r1: int, c0: int, c1: int) -> np.ndarray | None:
        """Index of the nearest station of each cell of a window (None with one station)."""
        if self.n_station == 1:
            return None
        from scipy.spatial import cKDTree

        xs, ys = dem.x_centres(c0, c1), dem.y_centres(r0, r1)
        sx, sy = _ground_scale(dem)
        gx, gy = np.meshgrid(xs * sx, ys * sy)
        tree = cKDTree(np.column_stack([self.station_x, self.station_y]))
        _, idx = tree.query(np.column_stack([gx.ravel(), gy.ravel()]))
        return idx.reshape(gx.shape)


def _ground_scale(dem: DemGrid) -> tuple[float, float]:
    """Factors from the DEM's x and y units to ground metres (degrees at the centre latitude)."""
    return dem.cell_x_m / dem.transform.a, dem.cell_y_m / -dem.transform.e


def class_scheme(
    dem: DemGrid,
    stations: xr.Dataset,
    grid_params: ParameterSet | None = None,
    slope_correction: bool = False,
) -> ClassScheme:
    """The class bins for a DEM and the stations its weather may come from."""
    gp = grid_params if grid_params is not None else riskmap_parameters()
    ids = tuple(str(s) for s in stations["station"].values)
    sx, sy = (0.0,), (0.0,)
    if len(ids) > 1:
        from pyproj import CRS, Transformer

        to_dem = Transformer.from_crs("EPSG:4326", CRS.from_wkt(dem.crs_wkt), always_xy=True)
        x, y = to_dem.transform(stations["lon"].values.astype(float), stations["lat"].values.astype(float))
        fx, fy = _ground_scale(dem)
        sx, sy = tuple(np.asarray(x) * fx), tuple(np.asarray(y) * fy)
    return ClassScheme(
        float(gp["grid.elevation_bin"]),
        float(gp["grid.slope_bin"]) if slope_correction else 0.0,
        int(gp["grid.aspect_sectors"]),
        ids,
        sx,
        sy,
    )


def window_keys(dem: DemGrid, scheme: ClassScheme, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Class keys of the cells of rows r0:r1, columns c0:c1 (reads the window, plus a halo for slopes)."""
    halo = 1 if scheme.slope_bin_deg else 0
    rr0, rr1 = max(r0 - halo, 0), min(r1 + halo, dem.height)
    cc0, cc1 = max(c0 - halo, 0), min(c1 + halo, dem.width)
    z = read_window(dem, rr0, rr1, cc0, cc1)
    slope = aspect = None
    if halo:
        # Horn slopes on the window with its halo equal those of the whole grid: the halo gives the real
        # neighbours inside the grid, slope_aspect's odd reflection the same border as on the whole grid.
        slope, aspect = slope_aspect(z, dem.cell_x_m, dem.cell_y_m)
        inner = (slice(r0 - rr0, r0 - rr0 + r1 - r0), slice(c0 - cc0, c0 - cc0 + c1 - c0))
        z, slope, aspect = z[inner], slope[inner], aspect[inner]
    return scheme.encode(z, slope, aspect, scheme.nearest_station(dem, r0, r1, c0, c1))


def _block_keys(dem: DemGrid, scheme: ClassScheme, block_info=None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    return window_keys(dem, scheme, r0, r1, c0, c1)


def key_array(dem: DemGrid, scheme: ClassScheme, chunks=DEFAULT_CHUNKS):
    """Lazy dask array (y, x) of the cells' class keys (int64, −1 for nodata), one task per block."""
    import dask.array as da

    rows, cols = (int(c) for c in chunks)
    chunk_spec = (_splits(dem.height, rows), _splits(dem.width, cols))
    return da.map_blocks(
        _block_keys,
        dem=dem,
        scheme=scheme,
        chunks=chunk_spec,
        dtype=np.int64,
        meta=np.empty((0, 0), np.int64),
        name=f"riskmap-keys-{_token(dem, scheme)}",
    )


def _splits(n: int, size: int) -> tuple[int, ...]:
    return tuple(min(size, n - i) for i in range(0, n, size))


def _token(*objects) -> str:
    from dask.base import tokenize

    return tokenize(*[repr(o) for o in objects])


@contextlib.contextmanager
def dask_scheduler(scheduler=None):
    """The ``scheduler=`` argument for ``dask.compute``: threads (None), or a distributed client.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        None: dask's local threaded scheduler; ``"tcp://host:port"``: a ``dask.distributed`` scheduler
        (connected for the duration of the block, not made the global default); a Client: used as is.
    """
    if scheduler is None or scheduler in ("threads", "sync", "synchronous", "processes"):
        yield scheduler or "threads"
        return
    if not isinstance(scheduler, str):
        yield scheduler
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - declared dependency
        raise InputError(
            "--scheduler needs dask.distributed; install it (pip install 'dask[distributed]')."
        ) from None
    try:
        client = Client(scheduler, set_as_default=False, timeout=f"{SCHEDULER_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"could not connect to the dask scheduler at {scheduler} ({exc}); start it "
            "(`dask scheduler`) or leave out --scheduler to run on this machine."
        ) from None
    try:
        yield client
    finally:
        client.close()


def distinct_classes(keys, scheduler="threads", elevation=None) -> tuple[np.ndarray, np.ndarray]:
    """The class keys present in a key array and their cell counts (one pass over the DEM).

    Returns
    -------
    (keys, counts) : sorted int64 keys (nodata excluded) and int64 counts.
    """
    import dask

    parts = [dask.delayed(_unique_counts)(block) for block in keys.to_delayed().ravel()]
    results = dask.compute(*parts, scheduler=scheduler)
    if not results:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    found = np.concatenate([r[0] for r in results])
    counts = np.concatenate([r[1] for r in results])
    uniq, inverse = np.unique(found, return_inverse=True)
    return uniq, np.bincount(inverse, weights=counts, minlength=len(uniq)).astype(np.int64)


def _unique_counts(keys: np.ndarray):
    return np.unique(keys[keys >= 0], return_counts=True)


# ----------------------------------------------------------------------------------------------------------
# Weather of the classes and the outlook
# ----------------------------------------------------------------------------------------------------------
def stations_from_grid(weather: xr.Dataset) -> xr.Dataset:
    """Gridded weather (time, y, x) or (time, lat, lon) as stations (time, station), one per grid cell.

    The cells need ``lat``, ``lon`` and ``elevation_m`` (the grid's own elevation, for the lapse rate) as
    coordinates; station weather (dim ``station``) is returned unchanged.
    """
    if "station" in weather.dims:
        return weather
    spatial = [d for d in weather.dims if d != "time"]
    if len(spatial) != 2:
        raise InputError(
            f"the weather has dims {tuple(weather.dims)}; give station weather (time, station) "
            "or gridded weather (time, y, x) with lat, lon and elevation_m."
        )
    for name in ("lat", "lon", "elevation_m"):
        if name not in weather.coords and name not in weather:
            raise InputError(
                f"the gridded weather has no '{name}' coordinate; give each grid cell its {name} "
                "so its weather can be moved to the DEM cells."
            )
    ds = weather.set_coords([n for n in ("lat", "lon", "elevation_m") if n in weather.data_vars])
    for name in ("lat", "lon", "elevation_m"):
        if ds[name].ndim < 2:
            ds = ds.assign_coords({name: ds[name].broadcast_like(ds[spatial[0]] * ds[spatial[1]])})
    stacked = ds.stack(station=spatial)
    labels = [f"grid_{i}" for i in range(stacked.sizes["station"])]
    stacked = stacked.drop_vars([spatial[0], spatial[1], "station"]).assign_coords(station=labels)
    return stacked.transpose("time", "station", ...)


def _check_weather(weather: xr.Dataset) -> xr.Dataset:
    if not isinstance(weather, xr.Dataset):
        raise InputError("the weather must be an xarray Dataset of station or gridded daily weather.")
    weather = stations_from_grid(weather)
    if weather.attrs.get("resolution", "daily") != "daily":
        weather = ow.daily_from_hourly(weather)
    for name in ("lat", "lon", "elevation_m"):
        if name not in weather.coords:
            raise InputError(
                f"the station weather has no '{name}' coordinate; give every station its {name}."
            )
    if np.isnan(weather["elevation_m"].values.astype(float)).any():
        raise InputError(
            "a weather station has no elevation; give it one, or the lapse-rate correction "
            "cannot move its temperatures to the DEM cells."
        )
    return weather


def class_plots(classes: dict, scheme: ClassScheme, dem: DemGrid, keys) -> xr.Dataset:
    """The classes as a plots dataset (dim ``plot`` = class key) for the weather and outlook functions."""
    n = len(keys)
    ds = xr.Dataset(
        {
            "lat": ("plot", np.full(n, dem.centre_lat), {"units": "degrees_north"}),
            "lon": ("plot", np.full(n, dem.centre_lon), {"units": "degrees_east"}),
            "elevation_m": ("plot", classes["elevation_m"].astype(float), {"units": "m"}),
            "slope_deg": ("plot", classes["slope_deg"].astype(float), {"units": "degree"}),
            "aspect_deg": ("plot", classes["aspect_deg"].astype(float), {"units": "degree"}),
            "station_id": ("plot", np.asarray(scheme.station_ids, dtype=str)[classes["station"]]),
            # no terrain horizon on the grid: the slope correction then shades by the plane itself only
            "horizon_deg": (("plot", "azimuth"), np.zeros((n, 36))),
        },
        coords={"plot": np.asarray(keys, dtype=np.int64), "azimuth": np.arange(36) * 10.0},
    )
    return ds


def _outlook_days(times: pd.DatetimeIndex, issue: pd.Timestamp, n_days: int) -> np.ndarray:
    """Days the outlook reads: 1 January to the issue date, and the n_days after it in every other year."""
    keep = (times >= pd.Timestamp(issue.year, 1, 1)) & (times <= issue)
    for year in set(times.year) - {issue.year}:
        try:
            start = issue.replace(year=year)
        except ValueError:  # 29 February
            start = issue.replace(year=year, day=28)
        keep |= (times > start) & (times <= start + pd.Timedelta(days=n_days))
    return keep


def class_weather(
    keys,
    scheme: ClassScheme,
    dem: DemGrid,
    weather: xr.Dataset,
    issue,
    *,
    days: int = 91,
    lapse_rate_c_per_100m: float = 0.6,
    slope_weather: Callable | None = None,
) -> xr.Dataset:
    """Daily weather of each weather class (dims time, plot = class key): the downscaling step.

    Each class takes its station's weather moved to the class elevation with the lapse rate
    (:func:`orchard.weather.weather_for_plots`) and, when ``slope_weather`` is given (the growth module's
    ``growth.slope.slope_weather``, passed by the orchestrator), corrected for the class slope and aspect on
    the days the outlook reads (1 January to the issue date and the ``days`` after it in the other years).
    """
    classes = scheme.decode(keys)
    plots = class_plots(classes, scheme, dem, keys)
    cls_weather = ow.weather_for_plots(weather, plots, lapse_rate_c_per_100m=lapse_rate_c_per_100m)
    if slope_weather is not None:
        # only the days the outlook reads, so that the correction (pvlib per time step) costs what it must
        times = pd.DatetimeIndex(cls_weather["time"].values)
        cls_weather = cls_weather.isel(time=np.flatnonzero(_outlook_days(times, pd.Timestamp(issue), days)))
        cls_weather = slope_weather(cls_weather, plots)
    return cls_weather


def class_outlook(
    keys,
    scheme: ClassScheme,
    dem: DemGrid,
    weather: xr.Dataset,
    issue,
    *,
    pests=None,
    params=None,
    lapse_rate_c_per_100m: float = 0.6,
    slope_weather: Callable | None = None,
    timings: dict | None = None,
) -> xr.Dataset:
    """The pest outlook of each weather class (dim ``plot`` = class key): :func:`class_weather`, then
    :func:`pests.outlook.outlook` on the classes as plots."""
    import time

    from .paramsets import load_all

    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    days = int(load_all(params, check_pests(pests))["outlook"]["horizon.days"][-1])
    cls_weather = class_weather(
        keys,
        scheme,
        dem,
        weather,
        issue,
        days=days,
        lapse_rate_c_per_100m=lapse_rate_c_per_100m,
        slope_weather=slope_weather,
    )
    timings["weather_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = outlook(None, cls_weather, issue, params=params, pests=pests)
    timings["models_s"] = time.perf_counter() - t0
    result.attrs["weather_source"] = str(cls_weather.attrs.get("source", ""))
    return result


def lookup(keys: np.ndarray, table_keys: np.ndarray, table: np.ndarray, fill) -> np.ndarray:
    """Values of the classes of cells: ``table[class of each cell]``, moved to the front axes.

    Parameters
    ----------
    keys : numpy.ndarray (y, x)
        Class keys of cells (−1 = nodata).
    table_keys : numpy.ndarray (K,)
        Sorted class keys of the table.
    table : numpy.ndarray (K, ...)
        Values per class.
    fill : scalar
        Value of nodata cells (and of keys missing from the table).

    Returns
    -------
    numpy.ndarray of shape ``table.shape[1:] + keys.shape``.
    """
    idx = np.searchsorted(table_keys, keys)
    idx = np.minimum(idx, len(table_keys) - 1)
    found = (keys >= 0) & (table_keys[idx] == keys) if len(table_keys) else np.zeros(keys.shape, bool)
    values = table[idx]  # (y, x, ...)
    if not found.all():
        values[~found] = fill
    return np.moveaxis(values, (0, 1), (-2, -1))


def lookup_array(keys, table_keys: np.ndarray, table: np.ndarray, fill):
    """Lazy :func:`lookup` over a dask key array: dims ``table.shape[1:] + (y, x)``."""
    extra = table.shape[1:]
    return keys.map_blocks(
        lookup,
        table_keys,
        table,
        fill,
        dtype=table.dtype,
        new_axis=list(range(len(extra))),
        chunks=tuple((n,) for n in extra) + keys.chunks,
    )


# ----------------------------------------------------------------------------------------------------------
# The risk grid
# ----------------------------------------------------------------------------------------------------------
@dataclass
class RiskGridRun:
    """A computed set of classes with the lazy grid: what the exports need beyond the dataset."""

    dataset: xr.Dataset
    dem: DemGrid
    scheme: ClassScheme
    outlook: xr.Dataset
    keys: object  # dask array (y, x)
    class_keys: np.ndarray
    class_cells: np.ndarray
    timings: dict = field(default_factory=dict)


def risk_grid(dem_path, weather: xr.Dataset, issue_date, **kwargs) -> xr.Dataset:
    """Pest risk of every DEM cell: probability and 5-class level per pest and horizon (lazy, dask).

    Same arguments as :func:`risk_grid_run`; returns its dataset (dims pest, horizon, y, x):

    - ``probability`` (float32, NaN outside the DEM's data) and ``level`` (uint8 1-5, 0 outside), lazy dask
      arrays in blocks;
    - ``class_key`` (y, x): each cell's weather class; per class (dim ``cls``): ``class_elevation_m``,
      ``class_slope_deg``, ``class_aspect_deg``, ``class_station``, ``class_cells``, ``class_probability``,
      ``class_level``, ``class_risk_score``, ``class_reason``;
    - CRS and transform as rioxarray writes them (``spatial_ref``), plus attrs of the outlook (model,
      versions, parameter sets, sources) and of the classes.
    """
    return risk_grid_run(dem_path, weather, issue_date, **kwargs).dataset


def risk_grid_run(
    dem_path,
    weather: xr.Dataset,
    issue_date,
    *,
    pests=None,
    params=None,
    grid_params=None,
    lapse_rate_c_per_100m: float = 0.6,
    slope_correction: bool = False,
    slope_weather: Callable | None = None,
    chunks=DEFAULT_CHUNKS,
    scheduler=None,
    progress: Callable[[str, float], None] | None = None,
) -> RiskGridRun:
    """Weather classes of a DEM, their pest outlook and the lazy risk grid.

    Parameters
    ----------
    dem_path : path
        DEM GeoTIFF (any size; metres above sea level; any CRS, projected or geographic).
    weather : xarray.Dataset
        Daily station weather (time, station) with coords lat, lon, elevation_m (as
        ``orchard.weather.weather_from_long`` builds it), or gridded weather (time, y, x) with lat, lon and
        elevation_m (:func:`stations_from_grid`). Each cell takes its nearest station.
    issue_date : date-like
        Issue date of the outlook (the Monday of the ISO week for weekly maps, :func:`iso_week`).
    pests : list of str, optional
        Default all four.
    params : dict, optional
        Pest parameter sets or overrides, as :func:`pests.outlook.outlook` takes them.
    grid_params : ParameterSet, optional
        :func:`riskmap_parameters` (class bins).
    lapse_rate_c_per_100m : float
        Air temperature lapse rate [°C per 100 m] (the core parameter ``elevation.lapse_rate``).
    slope_correction : bool
        Split the classes by slope and aspect and correct their weather with ``slope_weather``.
    slope_weather : callable, optional
        ``f(weather, plots) -> weather``: the growth module's ``growth.slope.slope_weather``, given by the
        orchestrator (modules do not import each other); required with ``slope_correction``.
    chunks : (int, int)
        Rows and columns of the dask blocks.
    scheduler : None, str or distributed.Client
        Where the block tasks run (:func:`dask_scheduler`); the returned grid stays lazy.
    progress : callable, optional
        ``progress(step, fraction)``.
    """
    import time

    progress = progress or (lambda step, fraction: None)
    timings = {}
    pests = check_pests(pests)
    if slope_correction and slope_weather is None:
        raise InputError(
            "the slope correction needs the growth module's slope_weather function; pass "
            "slope_weather=growth.slope.slope_weather (export_riskmap does it for you)."
        )
    grid_params = grid_params if grid_params is not None else riskmap_parameters()
    if not isinstance(grid_params, ParameterSet):
        raise ParameterError("grid_params must be a ParameterSet (pests.riskmap.riskmap_parameters()).")
    issue = pd.Timestamp(issue_date).normalize()
    dem = dem_grid(dem_path)
    weather = _check_weather(weather)
    weather = _stations_near(weather, dem)
    scheme = class_scheme(dem, weather, grid_params, slope_correction)
    keys = key_array(dem, scheme, chunks)
    t0 = time.perf_counter()
    progress("reading the DEM: weather classes", 0.0)
    with dask_scheduler(scheduler) as sched:
        class_keys, class_cells = distinct_classes(keys, sched)
    timings["classes_s"] = time.perf_counter() - t0
    if len(class_keys) == 0:
        raise InputError(f"{dem.path}: the DEM contains only nodata cells; give a DEM with elevations.")
    elev = scheme.decode(class_keys)["elevation_m"]
    if elev.min() <= Z_BASE_M or elev.max() >= Z_TOP_M:
        raise InputError(
            f"{dem.path}: the DEM has elevations outside the plausible {Z_BASE_M:g}..{Z_TOP_M:g} m; "
            "declare the nodata value (e.g. `gdal_edit.py -a_nodata -32768`) or convert the DEM "
            "to metres."
        )
    progress(f"weather and pest models for {len(class_keys)} classes", 0.0)
    result = class_outlook(
        class_keys,
        scheme,
        dem,
        weather,
        issue,
        pests=pests,
        params=params,
        lapse_rate_c_per_100m=lapse_rate_c_per_100m,
        slope_weather=slope_weather if slope_correction else None,
        timings=timings,
    )
    ds = _assemble(
        result, dem, scheme, keys, class_keys, class_cells, grid_params, lapse_rate_c_per_100m, weather
    )
    return RiskGridRun(ds, dem, scheme, result, keys, class_keys, class_cells, timings)


def station_distance_km(dem: DemGrid, lat, lon) -> np.ndarray:
    """Great-circle distance from stations to the DEM's footprint (0 inside it) [km]."""
    west, south, east, north = dem.lonlat_bounds
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    return ow.great_circle_km(np.clip(lat, south, north), np.clip(lon, west, east), lat, lon)


def _stations_near(weather: xr.Dataset, dem: DemGrid) -> xr.Dataset:
    """The stations within :data:`MAX_STATION_DISTANCE_KM` of the DEM's footprint (error if none)."""
    d = station_distance_km(dem, weather["lat"].values, weather["lon"].values)
    near = d <= MAX_STATION_DISTANCE_KM
    if not near.any():
        i = int(np.argmin(d))
        raise InputError(
            f"the nearest weather station ({weather['station'].values[i]}) is {d[i]:.0f} km from "
            f"the DEM (limit {MAX_STATION_DISTANCE_KM:.0f} km); import weather of a station in "
            "the district."
        )
    return weather.isel(station=np.flatnonzero(near))


def _assemble(result, dem, scheme, keys, class_keys, class_cells, grid_params, lapse, weather) -> xr.Dataset:
    pests = [str(p) for p in result["pest"].values]
    horizons = [str(h) for h in result["horizon"].values]
    cls_dims = ("cls", "pest", "horizon")
    table_level = result["level"].transpose("plot", "pest", "horizon").values.astype(np.uint8)
    table_prob = result["probability"].transpose("plot", "pest", "horizon").values.astype(np.float32)
    level = lookup_array(keys, class_keys, table_level, np.uint8(0))
    probability = lookup_array(keys, class_keys, table_prob, np.float32(np.nan))
    decoded = scheme.decode(class_keys)
    dims = ("pest", "horizon", "y", "x")
    ds = xr.Dataset(
        {
            "probability": (
                dims,
                probability,
                {
                    "units": "1",
                    "long_name": result["probability"].attrs.get("long_name", "probability"),
                    "valid_min": 0.0,
                    "valid_max": 1.0,
                },
            ),
            "level": (
                dims,
                level,
                {
                    "units": "1",
                    "long_name": "risk level 1-5 (1 轻, 2 偏轻, 3 中等, 4 偏重, 5 大发生); 0 = no data",
                    "bounds": result.attrs["level_bounds"],
                },
            ),
            "class_key": (("y", "x"), keys, {"long_name": "weather class of the cell (-1 = no data)"}),
            "class_elevation_m": (
                "cls",
                decoded["elevation_m"],
                {"units": "m", "long_name": "class elevation (bin centre)"},
            ),
            "class_slope_deg": ("cls", decoded["slope_deg"], {"units": "degree", "long_name": "class slope"}),
            "class_aspect_deg": (
                "cls",
                decoded["aspect_deg"],
                {"units": "degree", "long_name": "class aspect (0 = north)"},
            ),
            "class_station": (
                "cls",
                np.asarray(scheme.station_ids, dtype=str)[decoded["station"]],
                {"long_name": "station the class's weather comes from"},
            ),
            "class_cells": ("cls", class_cells, {"units": "1", "long_name": "cells in the class"}),
            "class_probability": (cls_dims, table_prob, result["probability"].attrs),
            "class_level": (cls_dims, table_level, {"units": "1", "long_name": "risk level 1-5"}),
            "class_risk_score": (
                cls_dims,
                result["risk_score"].transpose("plot", "pest", "horizon").values,
                {"units": "1", "long_name": "risk score 0-100"},
            ),
            "class_reason": (
                cls_dims,
                result["reason"].transpose("plot", "pest", "horizon").values,
                {"long_name": "why (English)"},
            ),
        },
        coords={
            "pest": pests,
            "horizon": horizons,
            "horizon_days": ("horizon", result["horizon_days"].values, {"units": "d"}),
            "y": (
                "y",
                dem.y_centres(),
                {"long_name": "cell centre y", "units": "m" if not dem.is_geographic else "degrees_north"},
            ),
            "x": (
                "x",
                dem.x_centres(),
                {"long_name": "cell centre x", "units": "m" if not dem.is_geographic else "degrees_east"},
            ),
            "cls": ("cls", class_keys),
        },
    )
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    ds = ds.rio.write_crs(dem.crs_wkt).rio.write_transform(dem.transform)
    ds.attrs.update({k: v for k, v in result.attrs.items() if isinstance(v, str | int | float)})
    ds.attrs.update(
        model="pests.riskmap",
        outlook_model=result.attrs.get("model", "pests.outlook"),
        dem=dem.path,
        crs_wkt=dem.crs_wkt,
        transform=list(dem.transform)[:6],
        n_classes=len(class_keys),
        elevation_bin_m=scheme.elevation_bin_m,
        slope_bin_deg=scheme.slope_bin_deg,
        aspect_sectors=scheme.n_aspect,
        slope_correction=int(bool(scheme.slope_bin_deg)),
        lapse_rate_c_per_100m=float(lapse),
        grid_parameter_set=f"{grid_params.name}@{grid_params.hash}",
        stations=", ".join(scheme.station_ids),
        station_weather_source=str(weather.attrs.get("source", "")),
        classes=(
            "cells share the weather of their class: elevation bin centre"
            + (", slope bin and aspect sector" if scheme.slope_bin_deg else "")
            + ", nearest station"
        ),
    )
    return ds


# ----------------------------------------------------------------------------------------------------------
# Plots: zonal maximum
# ----------------------------------------------------------------------------------------------------------
def plot_risk(run: RiskGridRun, plots, id_column: str = "plot_id") -> pd.DataFrame:
    """Each plot's level, probability and reason: the worst cell of the grid the plot touches.

    For every pest and horizon the plot takes the highest level and the highest probability of the cells
    its polygon touches (rasterised with ``all_touched``, so a plot smaller than a cell still gets one),
    and the reason of the class with the highest risk score among them: an extension officer plans visits
    for the worst part of a plot.

    Parameters
    ----------
    run : RiskGridRun
    plots : geopandas.GeoDataFrame
        Plot polygons with a ``plot_id`` column (any CRS; reprojected to the DEM's).

    Returns
    -------
    pandas.DataFrame
        One row per plot with cells on the DEM: ``plot_id``, ``cells`` and, per pest ``p`` and horizon
        ``h``, ``{p}_{h}_level``, ``{p}_{h}_prob``, ``{p}_{h}_reason``. Plots without a data cell are left
        out.
    """
    from rasterio.features import geometry_mask

    dem, ds = run.dem, run.dataset
    pests, horizons = list(ds["pest"].values), list(ds["horizon"].values)
    table_keys = ds["cls"].values
    level = ds["class_level"].values
    prob = ds["class_probability"].values
    score = ds["class_risk_score"].values
    reason = ds["class_reason"].values
    frame = plots.to_crs(dem.crs_wkt)
    rows = []
    left, bottom, right, top = dem.bounds
    for pid, geom in zip(frame[id_column].astype(str), frame.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        gx0, gy0, gx1, gy1 = geom.bounds
        c0 = int(np.floor((max(gx0, left) - left) / dem.transform.a))
        c1 = int(np.ceil((min(gx1, right) - left) / dem.transform.a))
        r0 = int(np.floor((top - min(gy1, top)) / -dem.transform.e))
        r1 = int(np.ceil((top - max(gy0, bottom)) / -dem.transform.e))
        c0, r0 = max(c0, 0), max(r0, 0)
        c1, r1 = min(max(c1, c0 + 1), dem.width), min(max(r1, r0 + 1), dem.height)
        if (
            c0 >= dem.width
            or r0 >= dem.height
            or c1 <= 0
            or r1 <= 0
            or gx0 > right
            or gx1 < left
            or gy0 > top
            or gy1 < bottom
        ):
            continue
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        inside = ~geometry_mask(
            [geom],
            out_shape=(r1 - r0, c1 - c0),
            transform=rasterio.windows.transform(window, dem.transform),
            all_touched=True,
        )
        keys = window_keys(dem, run.scheme, r0, r1, c0, c1)[inside]
        keys = np.unique(keys[keys >= 0])
        if keys.size == 0:
            continue
        idx = np.searchsorted(table_keys, keys)
        row = {id_column: pid, "cells": int(inside.sum())}
        for j, pest in enumerate(pests):
            for k, h in enumerate(horizons):
                worst = idx[np.lexsort((prob[idx, j, k], score[idx, j, k]))[-1]]
                row[f"{pest}_{h}_level"] = int(level[idx, j, k].max())
                row[f"{pest}_{h}_prob"] = float(prob[idx, j, k].max())
                row[f"{pest}_{h}_reason"] = str(reason[worst, j, k])
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------
# Quantisation error
# ----------------------------------------------------------------------------------------------------------
def binning_error(
    run: RiskGridRun,
    weather: xr.Dataset,
    n_cells: int = 300,
    seed: int = 0,
    lapse_rate_c_per_100m: float = 0.6,
    params=None,
    scheduler=None,
) -> dict:
    """What the elevation bins change: the outlook on the exact elevation of sampled cells vs their class.

    Draws ``n_cells`` data cells at random, runs the outlook on their exact elevations (same station,
    lapse rate, issue date and parameters) and compares with the grid's values at those cells. For a run
    without the slope correction (the slope and aspect bins are not measured here).

    Returns
    -------
    dict
        ``cells``, ``level_agreement`` (fraction of cell-pest-horizon values with the same level),
        ``max_level_difference``, ``mean_abs_probability_difference``, ``max_abs_probability_difference``,
        ``max_elevation_error_m``.
    """
    dem, ds, scheme = run.dem, run.dataset, run.scheme
    if scheme.slope_bin_deg:
        raise InputError(
            "binning_error measures the elevation bins only; run the grid without the slope correction."
        )
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, dem.height, n_cells * 3)
    cols = rng.integers(0, dem.width, n_cells * 3)
    with rasterio.open(dem.path) as src:  # one cell at a time: the DEM may be far larger than memory
        band = [
            src.read(1, window=rasterio.windows.Window(c, r, 1, 1), masked=True)
            for r, c in zip(rows, cols, strict=True)
        ]
    z = np.array([float(np.ma.filled(b.astype(float), np.nan)[0, 0]) for b in band])
    ok = np.flatnonzero(np.isfinite(z))[:n_cells]
    rows, cols, z = rows[ok], cols[ok], z[ok]
    station = np.array(
        [
            scheme.nearest_station(dem, r, r + 1, c, c + 1)[0, 0] if scheme.n_station > 1 else 0
            for r, c in zip(rows, cols, strict=True)
        ],
        dtype=int,
    )
    plots = class_plots(
        {"elevation_m": z, "slope_deg": np.zeros_like(z), "aspect_deg": np.zeros_like(z), "station": station},
        scheme,
        dem,
        np.arange(len(z)),
    )
    weather = _stations_near(_check_weather(weather), dem)
    cell_weather = ow.weather_for_plots(weather, plots, lapse_rate_c_per_100m=lapse_rate_c_per_100m)
    exact = outlook(None, cell_weather, ds.attrs["issue_date"], params=params, pests=list(ds["pest"].values))
    points = {"y": xr.DataArray(rows, dims="plot"), "x": xr.DataArray(cols, dims="plot")}
    with dask_scheduler(scheduler) as sched:
        binned = ds[["level", "probability"]].isel(points).compute(scheduler=sched)
    ex_level = exact["level"].transpose("plot", "pest", "horizon").values.astype(int)
    ex_prob = exact["probability"].transpose("plot", "pest", "horizon").values
    bin_level = binned["level"].transpose("plot", "pest", "horizon").values.astype(int)
    bin_prob = binned["probability"].transpose("plot", "pest", "horizon").values
    z_class = scheme.decode(scheme.encode(z))["elevation_m"]
    return {
        "cells": int(len(z)),
        "level_agreement": float((ex_level == bin_level).mean()),
        "max_level_difference": int(np.abs(ex_level - bin_level).max()),
        "mean_abs_probability_difference": float(np.abs(ex_prob - bin_prob).mean()),
        "max_abs_probability_difference": float(np.abs(ex_prob - bin_prob).max()),
        "max_elevation_error_m": float(np.abs(z - z_class).max()),
    }
