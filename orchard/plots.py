"""The plot model: one row per orchard plot, shared by every module.

:func:`read_plots` reads GeoJSON or GeoPackage and returns a validated :class:`PlotSet` (polygons stored in
EPSG:4326, areas computed in the local UTM zone). :meth:`PlotSet.to_dataset` gives the ``xarray.Dataset``
along dimension ``plot`` that every model is vectorised over. :meth:`PlotSet.to_file` writes GeoJSON
(RFC 7946) or GeoPackage back.

Coordinates digitised on Chinese web maps (GCJ-02, BD-09) are converted only when the caller says so
(``coords="gcj02"``); nothing is converted silently.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import xarray as xr

from orchard import coords as coordinate_systems
from orchard import limits
from orchard.errors import InputError, check_input_file

#: Storage CRS of plot geometry (WGS84 longitude/latitude; CGCS2000 EPSG:4490 is within cm–dm of it).
STORAGE_CRS = "EPSG:4326"
#: Accepted geographic datums whose coordinates are taken as WGS84 without transformation.
WGS84_LIKE_EPSG = {4326, 4490}

MIN_PLOT_AREA_HA = 0.01
MAX_PLOT_AREA_HA = 500.0
IRRIGATION_KINDS = ("none", "drip", "sprinkler")


@dataclass(frozen=True)
class PlotField:
    """One attribute of a plot: its type, unit, meaning and the values it may take."""

    dtype: str  # "str", "float" or "int"
    unit: str
    description: str
    min: float | None = None
    max: float | None = None


#: The plot attributes besides ``plot_id`` and geometry (DESIGN.md §3). Terrain attributes come from
#: :func:`orchard.terrain.plot_terrain`; the rest from the grower's file (missing -> unknown).
PLOT_FIELDS: dict[str, PlotField] = {
    "name": PlotField("str", "", "Plot name as the grower knows it"),
    "owner_id": PlotField("str", "", "User id of the grower who owns the plot"),
    "area_ha": PlotField("float", "ha", "Plot area computed in the local UTM zone", MIN_PLOT_AREA_HA,
                         MAX_PLOT_AREA_HA),
    "lon": PlotField("float", "degrees_east", "Longitude of the plot centroid (WGS84)", -180, 180),
    "lat": PlotField("float", "degrees_north", "Latitude of the plot centroid (WGS84)", -90, 90),
    "elevation_m": PlotField("float", "m", "Mean elevation above sea level", -500, 9000),
    "slope_deg": PlotField("float", "degree", "Mean slope", 0, 90),
    "aspect_deg": PlotField("float", "degree", "Aspect, the direction the slope faces, from north clockwise",
                            0, 360),
    "sky_view_factor": PlotField("float", "1", "Sky-view factor of a horizontal surface at the centroid", 0, 1),
    "cultivar": PlotField("str", "", "Citrus cultivar (e.g. lane_late_navel, valencia)"),
    "rootstock": PlotField("str", "", "Rootstock (e.g. trifoliate, citrange)"),
    "planting_year": PlotField("int", "year", "Year the trees were planted", 1900, 2100),
    "trees_per_ha": PlotField("float", "ha-1", "Tree density", 50, 5000),
    "canopy_cover": PlotField("float", "1", "Fraction of ground covered by canopy", 0, 1),
    "soil_texture": PlotField("str", "", "Soil texture class (USDA, e.g. clay_loam)"),
    "field_capacity": PlotField("float", "m3 m-3", "Volumetric water content at field capacity", 0.05, 0.6),
    "wilting_point": PlotField("float", "m3 m-3", "Volumetric water content at the permanent wilting point",
                               0.01, 0.45),
    "root_depth_m": PlotField("float", "m", "Effective rooting depth", 0.1, 3.0),
    "irrigation": PlotField("str", "", "Irrigation system: none, drip or sprinkler"),
    "irrigation_capacity_mm_d": PlotField("float", "mm d-1", "Water the irrigation system can apply per day",
                                          0, 50),
    "station_id": PlotField("str", "", "Weather station assigned to the plot (empty: nearest)"),
    "district": PlotField("str", "", "County or township the plot lies in (district reports and risk maps)"),
}

SUPPORTED_SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


@dataclass
class PlotSet:
    """A validated set of plots: a GeoDataFrame in EPSG:4326 indexed by ``plot_id``.

    Columns are ``geometry`` plus :data:`PLOT_FIELDS`; an optional ``horizon`` (``xarray.DataArray`` with
    dims ``plot, azimuth`` [deg]) travels with it once terrain has been computed.
    """

    frame: gpd.GeoDataFrame
    source: str = ""
    horizon_deg: xr.DataArray | None = field(default=None, repr=False)
    #: The attributes this set knows (from its file, computed, or terrain); None: all of them. Only these
    #: go to the database (:meth:`to_records` with ``given_only``), so an import never blanks what it lacks.
    given: frozenset[str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def plot_ids(self) -> list[str]:
        return list(self.frame.index)

    def to_dataset(self) -> xr.Dataset:
        """The plots as an ``xarray.Dataset`` along dimension ``plot`` (numbers as float, text as str)."""
        data_vars = {}
        for name, spec in PLOT_FIELDS.items():
            column = self.frame[name]
            if spec.dtype == "str":
                values = column.fillna("").astype(str).to_numpy()
            else:
                values = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
            data_vars[name] = xr.Variable("plot", values, {"units": spec.unit, "long_name": spec.description})
        ds = xr.Dataset(data_vars, coords={"plot": np.asarray(self.plot_ids, dtype=str)})
        if self.horizon_deg is not None:
            ds["horizon_deg"] = self.horizon_deg.sel(plot=ds["plot"])
        ds.attrs.update(source=self.source, crs=STORAGE_CRS)
        return ds

    def with_terrain(self, terrain: xr.Dataset) -> PlotSet:
        """A copy with elevation, slope, aspect, sky-view factor and horizon from :func:`plot_terrain`."""
        frame = self.frame.copy()
        ids = frame.index.astype(str)
        for name in ("elevation_m", "slope_deg", "aspect_deg", "sky_view_factor"):
            frame[name] = terrain[name].sel(plot=ids).to_numpy()
        horizon = terrain["horizon_deg"].sel(plot=ids) if "horizon_deg" in terrain else None
        given = None if self.given is None else self.given | {"elevation_m", "slope_deg", "aspect_deg",
                                                              "sky_view_factor"}
        return PlotSet(frame, self.source, horizon, given)

    def with_owner(self, owner_id: str) -> PlotSet:
        """A copy in which every plot belongs to ``owner_id`` (``orchard import-plots --owner``)."""
        frame = self.frame.copy()
        frame["owner_id"] = owner_id
        given = None if self.given is None else self.given | {"owner_id"}
        return PlotSet(frame, self.source, self.horizon_deg, given)

    def to_file(self, path: str | Path) -> Path:
        """Write GeoJSON (RFC 7946: lon/lat, 7 decimals) or GeoPackage (layer ``plots``), by suffix."""
        path = Path(path)
        driver = SUPPORTED_SUFFIXES.get(path.suffix.lower())
        if driver is None:
            raise InputError(f"{path}: cannot write plots as '{path.suffix}'; use .geojson or .gpkg.")
        if not path.parent.is_dir():
            raise InputError(f"{path}: the folder {path.parent} does not exist; create it first or write the "
                             "file somewhere else.")
        frame = self.frame.reset_index()
        tmp = path.with_name(f".{path.stem}.part{path.suffix}")
        try:
            tmp.unlink(missing_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GDAL's own warnings are replaced by the sentence below
                if driver == "GeoJSON":
                    frame.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})
                else:
                    frame.to_file(tmp, driver="GPKG", engine="pyogrio", layer="plots")
            tmp.replace(path)  # never leave a half-written file under the real name
        except Exception as exc:  # pyogrio's DataSourceError, OSError … : no space, no permission
            tmp.unlink(missing_ok=True)
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            raise InputError(f"{path}: cannot write the plots there ({reason}); check that the place is "
                             "writable and has free space.") from None
        return path

    def to_records(self, given_only: bool = False) -> list[dict]:
        """One dict per plot for the database: attributes plus ``geometry_geojson`` and ``horizon_deg``.

        Missing values become None; numbers are Python floats/ints, so any database driver takes them. With
        ``given_only`` the attributes the set does not know (:attr:`given`, e.g. terrain of plots read without
        a DEM) are left out, so :func:`orchard.store.upsert_plots` keeps their stored values.
        """
        columns = {"plot_id": self.frame.index.astype(str),
                   "geometry_geojson": shapely.to_geojson(self.frame.geometry.to_numpy())}
        for name, spec in PLOT_FIELDS.items():
            if given_only and self.given is not None and name not in self.given:
                continue
            column = self.frame[name]
            if spec.dtype == "str":
                columns[name] = column.where(column.notna(), "").astype(str).replace("", None)
            elif spec.dtype == "int":
                columns[name] = pd.to_numeric(column, errors="coerce").astype("Int64")
            else:
                columns[name] = pd.to_numeric(column, errors="coerce").astype(float)
        if self.horizon_deg is not None:
            horizon = self.horizon_deg.sel(plot=self.frame.index.astype(str)).values.round(2)
            columns["horizon_deg"] = list(horizon.tolist())
        table = pd.DataFrame(columns).astype(object)
        return table.where(table.notna(), None).to_dict("records")

    @classmethod
    def from_records(cls, records: list[dict], source: str = "database") -> PlotSet:
        """Rebuild a PlotSet from :meth:`to_records`-style dicts (e.g. rows read from the database)."""
        if not records:
            raise InputError("there are no plots to show; import plots first (orchard import-plots FILE).")
        frame = pd.DataFrame(records)
        geometry = shapely.from_geojson(frame.pop("geometry_geojson").to_numpy())
        horizon = None
        if "horizon_deg" in frame and frame["horizon_deg"].notna().all():
            rows = np.array(frame["horizon_deg"].tolist(), dtype=float)
            azimuth = np.arange(rows.shape[1]) * 360.0 / rows.shape[1]
            horizon = xr.DataArray(rows, dims=("plot", "azimuth"),
                                   coords={"plot": frame["plot_id"].astype(str).to_numpy(), "azimuth": azimuth},
                                   attrs={"units": "degree", "long_name": "Elevation angle of the skyline"})
        for name in PLOT_FIELDS:
            if name not in frame:
                frame[name] = None
        gdf = gpd.GeoDataFrame(frame[["plot_id", *PLOT_FIELDS]], geometry=geometry, crs=STORAGE_CRS)
        return cls(gdf.set_index("plot_id"), source, horizon)


def read_plots(path: str | Path, *, coords: str = "wgs84", id_field: str = "plot_id",
               layer: str | None = None) -> PlotSet:
    """Read and validate plot polygons from a GeoJSON or GeoPackage file.

    Parameters
    ----------
    path : str or Path
        ``.geojson``/``.json`` or ``.gpkg`` file with one polygon per plot.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate system the lon/lat coordinates were *digitised* in. GCJ-02 (Amap, Tencent) and BD-09
        (Baidu) are converted to WGS84; the file's CRS must then be geographic.
    id_field : str
        Column holding the plot identifiers.
    layer : str, optional
        GeoPackage layer (default: the only layer).

    Returns
    -------
    PlotSet
        Geometry in EPSG:4326; ``area_ha``, ``lon``, ``lat`` computed; other attributes taken from the file
        where present (see :data:`PLOT_FIELDS`), else unknown.

    Raises
    ------
    InputError
        One sentence naming the file and the plot(s) at fault: unreadable or empty file, missing or
        duplicated ids, missing CRS, non-polygon, empty or invalid (e.g. self-intersecting) geometry,
        coordinates that are not lon/lat, an unknown ``coords`` value, areas out of range, bad attributes.
    """
    path = Path(path)
    if coords not in coordinate_systems.KNOWN_SYSTEMS:
        raise InputError(f"unknown coordinate system '{coords}'; use one of "
                         f"{', '.join(coordinate_systems.KNOWN_SYSTEMS)}.")
    check_input_file(path, what="plot file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(f"{path}: plots must be GeoJSON (.geojson) or GeoPackage (.gpkg), not '{path.suffix}'.")
    frame = _read_vector(path, layer)
    frame = _validate_ids(frame, path, id_field)
    frame = _to_storage_crs(frame, path, coords)
    _validate_geometry(frame, path)
    given = frozenset(name for name in PLOT_FIELDS if name in frame.columns) | {"area_ha", "lon", "lat"}
    frame = _attributes(frame, path)
    return PlotSet(frame, source=path.name, given=given)


def _read_vector(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's own warnings are replaced by our sentence below
            frame = gpd.read_file(path, engine="pyogrio", layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, OSError … for bad files
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        # GDAL's first sentence only: its advice on driver prefixes is for GDAL users, not growers.
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].split(";")[0].strip().rstrip(".")
        reason = reason.replace(f"'{path}' ", "").replace(str(path), "the file")
        raise InputError(f"{path}: is not a readable {kind} file ({reason}).") from None
    if len(frame) == 0:
        raise InputError(f"{path}: contains no plots.")
    if "geometry" not in frame or frame.geometry.isna().all():
        raise InputError(f"{path}: has no geometries; each plot needs a polygon.")
    return frame


def _validate_ids(frame: gpd.GeoDataFrame, path: Path, id_field: str) -> gpd.GeoDataFrame:
    if id_field not in frame.columns:
        found = ", ".join(c for c in frame.columns if c != "geometry") or "none"
        raise InputError(f"{path}: no '{id_field}' column (found: {found}); name the id column with --id-field.")
    ids = frame[id_field]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        raise InputError(f"{path}: feature {row} has no {id_field}; every plot needs an id.")
    ids = ids.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
    for row, plot_id in enumerate(ids, start=1):
        try:
            limits.check_id(plot_id, f"plot id of feature {row}")
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise InputError(f"{path}: duplicate plot ids {', '.join(duplicated[:5])}; plot ids must be unique.")
    frame = frame.drop(columns=[id_field]).assign(plot_id=ids.to_numpy())
    return frame.set_index("plot_id")


def _point_text(x: float, y: float) -> str:
    """A coordinate pair for a message: short whatever its size (``(1e+300, 2.5e+06)``)."""
    return f"({x:.8g}, {y:.8g})" if max(abs(x), abs(y)) < 1e9 else f"({x:.3g}, {y:.3g})"


def _furthest(bounds: np.ndarray) -> tuple[float, float]:
    """The corner of ``bounds`` (minx, miny, maxx, maxy) furthest from the lon/lat box, for messages."""
    x = bounds[0] if abs(bounds[0]) > abs(bounds[2]) else bounds[2]
    y = bounds[1] if abs(bounds[1]) > abs(bounds[3]) else bounds[3]
    return float(x), float(y)


#: Where a GeoJSON file's (pre-RFC 7946) "crs" member names its CRS, read from the head of the file.
_GEOJSON_CRS = re.compile(r'"crs"\s*:\s*\{[^{}]*?"properties"\s*:\s*\{[^{}]*?"name"\s*:\s*"([^"]*)"', re.S)


def _declared_geojson_crs(path: Path) -> str | None:
    """The CRS name a GeoJSON file declares in its "crs" member (None when it declares none).

    GDAL takes a GeoJSON file whose "crs" it cannot resolve as WGS84 without a word; reading the name here
    lets :func:`read_plots` refuse a CRS nobody can resolve instead.
    """
    if SUPPORTED_SUFFIXES.get(path.suffix.lower()) != "GeoJSON":
        return None
    with open(path, "rb") as handle:
        head = handle.read(1 << 20).decode("utf-8", errors="replace")
    match = _GEOJSON_CRS.search(head)
    return match.group(1) if match else None


def _to_storage_crs(frame: gpd.GeoDataFrame, path: Path, coords: str) -> gpd.GeoDataFrame:
    bounds = frame.total_bounds  # minx, miny, maxx, maxy
    if not np.isfinite(bounds).all():
        raise InputError(f"{path}: some coordinates are not finite numbers (NaN or infinite); fix the "
                         "polygons.")
    lonlat_range = bounds[0] >= -180 and bounds[2] <= 180 and bounds[1] >= -90 and bounds[3] <= 90
    far = _point_text(*_furthest(bounds))
    declared = _declared_geojson_crs(path)
    if declared is not None:
        try:
            pyproj.CRS.from_user_input(declared)
        except pyproj.exceptions.CRSError:
            shown = declared if len(declared) <= 60 else declared[:57] + "..."
            raise InputError(f"{path}: declares the coordinate reference system '{shown}', which is not "
                             "known; export the file in EPSG:4326 (or another EPSG code) and import it "
                             "again.") from None
    if frame.crs is None:
        if lonlat_range:
            raise InputError(f"{path}: has no coordinate reference system; declare one (e.g. EPSG:4326) "
                             "when exporting the file.")
        raise InputError(f"{path}: has no coordinate reference system and its coordinates reach {far}, "
                         "which is not longitude/latitude; declare the CRS.")
    crs = pyproj.CRS.from_user_input(frame.crs)
    if crs.is_geographic and not lonlat_range:
        raise InputError(f"{path}: the CRS is geographic (degrees) but coordinates reach {far}; they look "
                         "like metres or are wrong: declare the projected CRS or fix the coordinates.")
    if coords in ("gcj02", "bd09"):
        if not crs.is_geographic:
            raise InputError(f"{path}: coords='{coords}' needs longitude/latitude, but the file is in "
                             f"{crs.name}; export it in lon/lat.")
        geometry = shapely.transform(frame.geometry.to_numpy(), _to_wgs84_xy(coords))
        frame = frame.set_geometry(geometry).set_crs(STORAGE_CRS, allow_override=True)
    elif crs.to_epsg() not in WGS84_LIKE_EPSG:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pyproj's warnings are replaced by the sentences here
                frame = frame.to_crs(STORAGE_CRS)
        except Exception as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise InputError(f"{path}: cannot convert from {crs.name} to WGS84 ({reason}).") from None
        if not np.isfinite(frame.total_bounds).all():
            raise InputError(f"{path}: coordinates in {crs.name} fall outside that CRS's valid area; "
                             "check the declared CRS.")
    else:
        frame = frame.set_crs(STORAGE_CRS, allow_override=True)
    lon_min, lat_min, lon_max, lat_max = frame.total_bounds
    if lat_min < -90 or lat_max > 90 or lon_min < -180 or lon_max > 180:
        raise InputError(f"{path}: coordinates are outside longitude/latitude range; are x and y swapped?")
    return frame


def _to_wgs84_xy(system: str):
    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = coordinate_systems.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])
    return transform


def _validate_geometry(frame: gpd.GeoDataFrame, path: Path) -> None:
    geometry = frame.geometry
    missing = frame.index[geometry.isna() | geometry.is_empty].tolist()
    if missing:
        raise InputError(f"{path}: plots {', '.join(missing[:5])} have no geometry; draw their boundaries.")
    wrong_type = frame.index[~geometry.geom_type.isin(["Polygon", "MultiPolygon"])].tolist()
    if wrong_type:
        kinds = geometry.loc[wrong_type[:1]].geom_type.iloc[0]
        raise InputError(f"{path}: plot {wrong_type[0]} is a {kinds}, not a polygon; plots must be polygons.")
    invalid = ~shapely.is_valid(geometry.to_numpy())
    if invalid.any():
        plot_id = frame.index[invalid][0]
        reason = shapely.is_valid_reason(geometry.loc[plot_id])
        more = f" (and {int(invalid.sum()) - 1} more)" if invalid.sum() > 1 else ""
        raise InputError(f"{path}: plot {plot_id} has an invalid polygon: {reason}{more}; "
                         "redraw it without crossing edges.")


def _attributes(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(index=frame.index, geometry=frame.geometry, crs=STORAGE_CRS)
    local = frame.geometry.to_crs(frame.estimate_utm_crs())  # metres, for areas and centroids
    area_ha = local.area.to_numpy() / 1e4
    centroids = local.centroid.to_crs(STORAGE_CRS)
    computed = {"area_ha": area_ha, "lon": centroids.x.to_numpy(), "lat": centroids.y.to_numpy()}
    for name, spec in PLOT_FIELDS.items():
        if name in computed:
            values = computed[name]
        elif name not in frame.columns:
            values = [None] * len(frame) if spec.dtype == "str" else np.full(len(frame), np.nan)
        elif spec.dtype == "str":
            values = frame[name].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                     else str(v).strip() or None)
        else:
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = values.isna() & frame[name].notna()
            if bad.any():
                plot_id = frame.index[bad.to_numpy()][0]
                raise InputError(f"{path}: plot {plot_id} has {name} = {frame.loc[plot_id, name]!r}, "
                                 f"which is not a number ({spec.unit or 'no unit'}).")
        out[name] = values
        if spec.dtype != "str" and spec.min is not None:
            series = pd.Series(np.asarray(out[name], dtype=float), index=out.index)
            outside = series.notna() & ((series < spec.min) | (series > spec.max))
            if outside.any():
                plot_id = series.index[outside.to_numpy()][0]
                what = "area" if name == "area_ha" else name
                raise InputError(f"{path}: plot {plot_id} has {what} = {series[plot_id]:g} {spec.unit}, outside "
                                 f"the plausible range {spec.min:g}–{spec.max:g} {spec.unit}.")
    irrigation = out["irrigation"].dropna()
    unknown = irrigation[~irrigation.isin(IRRIGATION_KINDS)]
    if len(unknown):
        raise InputError(f"{path}: plot {unknown.index[0]} has irrigation = '{unknown.iloc[0]}'; "
                         f"use one of {', '.join(IRRIGATION_KINDS)}.")
    both = out["field_capacity"].notna() & out["wilting_point"].notna()
    inverted = both & (out["wilting_point"] >= out["field_capacity"])
    if inverted.any():
        plot_id = out.index[inverted.to_numpy()][0]
        raise InputError(f"{path}: plot {plot_id} has a wilting point not below its field capacity; "
                         "check the soil water columns.")
    if out["planting_year"].notna().any():
        out["planting_year"] = out["planting_year"].astype("Int64")
    return out
