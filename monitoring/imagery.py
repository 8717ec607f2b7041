"""Reading satellite and drone imagery: DN to reflectance, cloud masks, scenes and lazy time stacks.

Sentinel-2 L2A (band files or one multi-band GeoTIFF with a metadata sidecar), Landsat Collection 2 Level-2
and drone RGB orthomosaics. Conversions are pure functions on arrays (numpy, xarray or dask); the readers
validate the file (CRS, bands, grids) and raise :class:`orchard.errors.InputError` with one sentence.

References
----------
Science note ``monitoring.md`` §1.1 (Sentinel-2 offset and SCL classes), §1.2 (Landsat), §3 (rioxarray).
ESA, Sentinel-2 L2A product specification: ``L2A_BOA = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.enums import Resampling
from scipy import ndimage

from orchard import limits
from orchard.errors import InputError, check_input_file

__all__ = [
    "SCL_CLASSES",
    "SCL_INVALID",
    "SCL_DARK_AREA",
    "QUANTIFICATION_VALUE",
    "S2_BANDS",
    "SceneInfo",
    "parse_processing_baseline",
    "boa_add_offset",
    "to_reflectance",
    "scl_clear_mask",
    "landsat_reflectance",
    "landsat_surface_temperature_k",
    "landsat_clear_mask",
    "read_scene_info",
    "read_scene",
    "open_stack",
    "read_drone_rgb",
    "read_landsat_scene",
]

#: Sentinel-2 Scene Classification (SCL) classes (GEE catalogue COPERNICUS/S2_SR; monitoring.md §1.1).
SCL_CLASSES = {
    0: "no_data",
    1: "saturated_or_defective",
    2: "dark_area",
    3: "cloud_shadow",
    4: "vegetation",
    5: "not_vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud_medium_probability",
    9: "cloud_high_probability",
    10: "thin_cirrus",
    11: "snow",
}
#: SCL classes that never enter a statistic.
SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)
#: Dark area: masked on steep slopes (topographic shadow) or when the slope is unknown.
SCL_DARK_AREA = 2
#: L2A quantification value (DN per unit reflectance).
QUANTIFICATION_VALUE = 10000
#: Offset added to L2A DNs from processing baseline 04.00 on (25 Jan 2022, and Collection-1 reprocessing).
BOA_ADD_OFFSET_PB04 = -1000
#: Sentinel-2 band names with their nominal resolution [m].
S2_BANDS = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
}
#: Landsat 8/9 Collection 2 Level-2 surface reflectance scale and offset (USGS; GEE LANDSAT/LC08/C02/T1_L2).
LANDSAT_SR_SCALE, LANDSAT_SR_OFFSET = 0.0000275, -0.2
LANDSAT_ST_SCALE, LANDSAT_ST_OFFSET = 0.00341802, 149.0
#: QA_PIXEL bits making a Landsat pixel unusable: fill 0, dilated cloud 1, cirrus 2, cloud 3, shadow 4, snow 5
LANDSAT_QA_BAD_BITS = (0, 1, 2, 3, 4, 5)
#: Landsat 8/9 OLI band files for the common names.
LANDSAT_BANDS = {
    "blue": "SR_B2",
    "green": "SR_B3",
    "red": "SR_B4",
    "nir": "SR_B5",
    "swir1": "SR_B6",
    "swir2": "SR_B7",
}
#: Common names of Sentinel-2 bands.
S2_ALIASES = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "rededge": "B05",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
}
_BAND_IN_NAME = re.compile(r"(?:^|[_\-.])(B0[1-9]|B1[0-2]|B8A|SCL)(?:[_\-.]|$)", re.IGNORECASE)
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2")


# ----------------------------------------------------------------------------------------------------------
# Pure conversions
# ----------------------------------------------------------------------------------------------------------
def parse_processing_baseline(value) -> float:
    """Sentinel-2 processing baseline as a number: ``4.0``, ``"04.00"``, ``"N0400"`` or ``"05.09"`` -> float.

    Raises
    ------
    InputError
        When the value is not a baseline (e.g. a date, or empty).
    """
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().upper()
        match = re.fullmatch(r"N?(\d{2})\.?(\d{2})", text)
        if match is None:
            raise InputError(
                f"processing baseline {value!r} is not like '04.00', 'N0400' or 4.0; give the "
                "baseline from the product metadata (PROCESSING_BASELINE)."
            )
        number = int(match.group(1)) + int(match.group(2)) / 100
    if not 0 < number < 100:
        raise InputError(
            f"processing baseline {value!r} is out of range; give it as a number like 4.0 or 5.09."
        )
    return number


def boa_add_offset(processing_baseline) -> int:
    """BOA_ADD_OFFSET of Sentinel-2 L2A DNs [DN]: −1000 from baseline 04.00 on, 0 before.

    Keyed on the processing baseline, never on the sensing date: Collection-1 reprocessed products (baseline
    05.xx) of 2015–2021 dates carry the offset too (torchgeo/torchgeo#3224).

    References
    ----------
    ESA L2A product specification, quoted in NasjonaltBakkeSegment/safe_to_netcdf#26; monitoring.md §1.1.
    """
    return BOA_ADD_OFFSET_PB04 if parse_processing_baseline(processing_baseline) >= 4.0 else 0


def to_reflectance(
    dn, processing_baseline, band: str = "B04", *, offset: float | None = None, nodata: int = 0
):
    """Sentinel-2 L2A digital numbers to surface reflectance [1] as float32, no-data as NaN.

    ``reflectance = (DN + BOA_ADD_OFFSET) / 10000`` with ``BOA_ADD_OFFSET`` = −1000 for processing baseline
    ≥ 04.00 and 0 before (:func:`boa_add_offset`). ``DN == nodata`` (0) stays missing.

    Parameters
    ----------
    dn : array-like (numpy, xarray or dask)
        L2A digital numbers [DN].
    processing_baseline : float or str
        Baseline of the product, e.g. 4.0, 5.09, ``"04.00"`` or ``"N0509"``.
    band : str
        Band name (``B01`` … ``B12``, ``B8A``); the offset is the same for every band in current products,
        but the name is checked so a class band (SCL) is never converted by mistake.
    offset : float, optional
        The product's own BOA_ADD_OFFSET for this band (from MTD_MSIL2A.xml); overrides the baseline rule.
    nodata : int
        DN marking no data (0 in L2A).

    Returns
    -------
    Same type as ``dn``, float32 [1].

    References
    ----------
    ESA Sentinel-2 L2A product specification (PB 04.00); monitoring.md §1.1.
    """
    name = str(band).upper()
    if name not in S2_BANDS or name == "SCL":
        raise InputError(
            f"band {band!r} is not a Sentinel-2 reflectance band; use one of "
            f"{', '.join(b for b in S2_BANDS if b != 'SCL')}."
        )
    add = boa_add_offset(processing_baseline) if offset is None else float(offset)
    if isinstance(dn, xr.DataArray):
        out = ((dn.astype("float32") + np.float32(add)) / np.float32(QUANTIFICATION_VALUE)).where(
            dn != nodata
        )
        return out.astype("float32").assign_attrs(units="1", long_name=f"{name} surface reflectance")
    if hasattr(dn, "map_blocks"):  # dask
        value = (dn.astype(np.float32) + np.float32(add)) / np.float32(QUANTIFICATION_VALUE)
        import dask.array as dsa

        return dsa.where(dn == nodata, np.float32(np.nan), value).astype(np.float32)
    raw = np.asarray(dn)
    value = raw.astype(np.float32)  # in place from here: a full tile band is 480 MB as float32
    value += np.float32(add)
    value *= np.float32(1.0 / QUANTIFICATION_VALUE)
    value[raw == nodata] = np.nan
    return value


def scl_clear_mask(scl, slope_deg=None, *, steep_slope_deg: float = 15.0, dilation_px: int = 1):
    """Clear-pixel mask from the Sentinel-2 Scene Classification [bool, True = usable].

    Invalid: classes 0, 1, 3, 8, 9, 10, 11, and class 2 (dark area) where the slope is ≥ ``steep_slope_deg``
    (topographic shadow) or unknown (``slope_deg`` None: masked, the conservative choice in hilly country).
    The invalid mask is dilated by ``dilation_px`` (cloud and shadow edges).

    Parameters
    ----------
    scl : array-like of int, shape (..., y, x)
        SCL classes (on the reflectance grid; upsample 20 m SCL with nearest neighbour first).
    slope_deg : array-like, shape (y, x), optional
        Terrain slope on the same grid [deg].
    steep_slope_deg : float
        Slope from which dark area counts as shadow [deg].
    dilation_px : int
        Dilation of the invalid mask [px].

    Returns
    -------
    numpy.ndarray of bool, same shape as ``scl``.

    References
    ----------
    monitoring.md §1.1 (invalid set {0, 1, 3, 8, 9, 10, 11}, plus 2 on steep terrain; dilate 1–2 px).
    """
    scl = np.asarray(scl)
    invalid = np.isin(scl, SCL_INVALID)
    dark = scl == SCL_DARK_AREA
    if slope_deg is None:
        invalid |= dark
    else:
        invalid |= dark & (np.asarray(slope_deg) >= steep_slope_deg)
    if dilation_px > 0:
        structure = np.zeros((3,) * scl.ndim, bool)
        structure[(1,) * (scl.ndim - 2) + (slice(None), slice(None))] = ndimage.generate_binary_structure(
            2, 1
        )
        # Never grow the mask into no-data (0): it stays invalid anyway and dilating it would eat plot edges.
        grow = invalid & (scl != 0)
        invalid |= ndimage.binary_dilation(grow, structure=structure, iterations=int(dilation_px))
    return ~invalid


def landsat_reflectance(dn, nodata: int = 0):
    """Landsat Collection 2 Level-2 surface reflectance [1]: ``DN × 0.0000275 − 0.2``, fill (0) as NaN.

    References
    ----------
    USGS Landsat 8-9 C2 L2 Science Product Guide; GEE catalogue LANDSAT/LC08/C02/T1_L2; monitoring.md §1.2.
    """
    raw = np.asarray(dn)
    value = raw.astype(np.float32) * np.float32(LANDSAT_SR_SCALE) + np.float32(LANDSAT_SR_OFFSET)
    return np.where(raw == nodata, np.float32(np.nan), value).astype(np.float32)


def landsat_surface_temperature_k(dn, nodata: int = 0):
    """Landsat Collection 2 Level-2 surface temperature [K]: ``DN × 0.00341802 + 149.0``, fill as NaN."""
    raw = np.asarray(dn)
    value = raw.astype(np.float32) * np.float32(LANDSAT_ST_SCALE) + np.float32(LANDSAT_ST_OFFSET)
    return np.where(raw == nodata, np.float32(np.nan), value).astype(np.float32)


def landsat_clear_mask(qa_pixel, bad_bits=LANDSAT_QA_BAD_BITS):
    """Clear-pixel mask from Landsat C2 ``QA_PIXEL`` [bool]: none of fill, dilated cloud, cirrus, cloud,
    cloud shadow or snow bits (0–5) set.

    References
    ----------
    USGS Landsat 8-9 C2 L2 Science Product Guide, QA_PIXEL table (bit numbers as in monitoring.md §1.2).
    """
    qa = np.asarray(qa_pixel).astype(np.uint32)
    bad = np.uint32(sum(1 << b for b in bad_bits))
    return (qa & bad) == 0


# ----------------------------------------------------------------------------------------------------------
# Scenes: metadata and readers
# ----------------------------------------------------------------------------------------------------------
@dataclass
class SceneInfo:
    """What a scene is: where its bands are, when and by what it was taken, and its processing baseline."""

    scene_id: str
    path: str
    platform: str
    acquired_utc: datetime
    processing_baseline: float | None
    bands: dict[str, tuple[str, int]]  # band -> (file, 1-based band index)
    crs: str
    bounds: tuple[float, float, float, float]
    resolution_m: dict[str, float] = field(default_factory=dict)
    boa_add_offset: dict[str, float] = field(default_factory=dict)
    cloud_fraction: float | None = None
    synthetic: bool = False

    def offset_of(self, band: str) -> float:
        """BOA_ADD_OFFSET of a band: the metadata's own value, else the baseline rule."""
        if band in self.boa_add_offset:
            return float(self.boa_add_offset[band])
        if self.processing_baseline is None:
            raise InputError(
                f"{self.path}: no processing baseline in the metadata; add PROCESSING_BASELINE "
                "(e.g. 05.09) so the reflectance offset can be chosen."
            )
        return float(boa_add_offset(self.processing_baseline))

    def record(self) -> dict:
        """The scene as a row of the ``scenes`` table (see ``orchard.store.Scene``)."""
        row = asdict(self)
        row["bands"] = sorted(self.bands)
        row["bounds_wkt"] = "POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))".format(*self.bounds)
        row["sensor"] = (
            "MSI"
            if self.platform.lower().startswith("sentinel")
            else ("OLI" if "landsat" in self.platform.lower() else "RGB camera")
        )
        for key in ("bounds", "resolution_m", "boa_add_offset", "synthetic"):
            row.pop(key)
        return row


def _band_files(folder: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in _RASTER_SUFFIXES:
            match = _BAND_IN_NAME.search(path.stem)
            if match:
                files.setdefault(match.group(1).upper(), path)
    return files


def _metadata_file(path: Path) -> Path | None:
    folder = path if path.is_dir() else path.parent
    candidates = [path.with_suffix(".json")] if path.is_file() else []
    candidates += [folder / "MTD_MSIL2A.xml", folder / "metadata.json"]
    return next((c for c in candidates if c.exists()), None)


def _read_mtd_xml(path: Path) -> dict:
    """PROCESSING_BASELINE, sensing time, spacecraft and BOA_ADD_OFFSET values from MTD_MSIL2A.xml."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"{path}: is not readable XML ({exc}); give the product's MTD_MSIL2A.xml.") from None

    def text(tag):
        node = next((n for n in root.iter() if n.tag.split("}")[-1] == tag), None)
        return node.text.strip() if node is not None and node.text else None

    offsets = {}
    for node in root.iter():
        if node.tag.split("}")[-1] == "BOA_ADD_OFFSET":
            band_id = int(node.attrib.get("band_id", -1))
            order = [
                "B01",
                "B02",
                "B03",
                "B04",
                "B05",
                "B06",
                "B07",
                "B08",
                "B8A",
                "B09",
                "B10",
                "B11",
                "B12",
            ]
            if 0 <= band_id < len(order):
                offsets[order[band_id]] = float(node.text)
    return {
        "processing_baseline": text("PROCESSING_BASELINE"),
        "acquired_utc": text("PRODUCT_START_TIME") or text("DATATAKE_SENSING_START"),
        "platform": text("SPACECRAFT_NAME") or "Sentinel-2",
        "boa_add_offset": offsets,
    }


def _read_metadata(path: Path) -> dict:
    meta_path = _metadata_file(path)
    if meta_path is None:
        return {}
    check_input_file(meta_path, what="scene metadata file")
    if meta_path.suffix.lower() == ".xml":
        return _read_mtd_xml(meta_path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{meta_path}: is not valid JSON ({exc}); fix the scene metadata.") from None
    if not isinstance(meta, dict):
        raise InputError(
            f"{meta_path}: scene metadata must be a JSON object with processing_baseline, "
            "acquired_utc and platform."
        )
    return meta


def _utc(value, where: str) -> datetime:
    if value is None:
        raise InputError(f"{where}: no acquisition time in the metadata; add acquired_utc (ISO 8601, UTC).")
    try:
        stamp = pd.Timestamp(value) if isinstance(value, str) else pd.NaT
    except (ValueError, TypeError, OverflowError):  # DateParseError, OutOfBoundsDatetime
        stamp = pd.NaT
    if stamp is pd.NaT:
        shown = str(value)[:40]
        raise InputError(f"{where}: acquisition time '{shown}' is not a time; write acquired_utc in ISO 8601 "
                         "with its zone, e.g. 2015-01-03T02:55:00Z.")
    if stamp.tzinfo is None:
        raise InputError(f"{where}: acquisition time {value!r} has no time zone; write it in UTC with 'Z'.")
    return stamp.tz_convert("UTC").to_pydatetime()


def _open(file, what: str):
    """``rasterio.open`` with a damaged or unreadable raster refused in one sentence."""
    try:
        return rasterio.open(file)
    except rasterio.errors.RasterioError as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(file), "").strip(" :")[:160]
        raise InputError(f"{file}: the {what} cannot be read ({reason}); copy it again from its source.") \
            from None


def check_scene_data(info: SceneInfo, max_side: int = 1024) -> None:
    """Read every band of a scene (decimated to about ``max_side`` pixels a side), so a truncated or damaged
    file is refused when it is registered rather than when a run reads it."""
    for band, (file, index) in sorted(info.bands.items()):
        with _open(file, "scene file") as src:
            step = max(1, max(src.width, src.height) // max_side)
            try:
                src.read(index, out_shape=(src.height // step or 1, src.width // step or 1),
                         resampling=Resampling.nearest)
            except rasterio.errors.RasterioError:
                raise InputError(f"{file}: band {band} cannot be read to its end; the file is damaged or "
                                 "truncated, copy it again from its source.") from None


def _fraction(value, where: str) -> float | None:
    """The sidecar's cloud fraction, checked: a number from 0 to 1 (``scene.cloud_fraction``)."""
    if value is None:
        return None
    return limits.check_number(value, "scene.cloud_fraction", f"{where}: cloud_fraction")


def read_scene_info(path: str | Path) -> SceneInfo:
    """Describe a Sentinel-2 L2A scene: a folder of band files or a multi-band GeoTIFF with a sidecar.

    Layouts
    -------
    - folder with ``*B04*.tif|.jp2``, ``*B08*``, ``*SCL*`` … and ``MTD_MSIL2A.xml`` or ``metadata.json``;
    - one multi-band GeoTIFF whose band descriptions are band names (``B04``, ``SCL`` …) or whose sidecar
      ``<name>.json`` lists them in ``"bands"``; the sidecar gives ``processing_baseline``, ``acquired_utc``
      (ISO 8601 with zone) and ``platform`` (optionally ``boa_add_offset`` per band).

    Raises
    ------
    InputError
        Missing file, no CRS, no band names, no processing baseline or acquisition time.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such scene file or folder; check the path.")
    meta = _read_metadata(path)
    bands: dict[str, tuple[str, int]] = {}
    resolution: dict[str, float] = {}
    crs = bounds = None
    if path.is_dir():
        files = _band_files(path)
        if not files:
            raise InputError(
                f"{path}: no band files (names with B02, B04, B08, SCL … ending .tif or .jp2) in "
                "the folder; point at a Sentinel-2 L2A product folder."
            )
        for band, file in files.items():
            check_input_file(file, what="band file")
            with _open(file, "band file") as src:
                if src.crs is None:
                    raise InputError(
                        f"{file}: the raster has no coordinate reference system; "
                        "use the product's original files or assign the CRS with gdal_edit."
                    )
                bands[band] = (str(file), 1)
                resolution[band] = float(abs(src.transform.a))
                if crs is None or resolution[band] <= min(resolution.values()):
                    crs, bounds = src.crs.to_string(), tuple(src.bounds)
    else:
        check_input_file(path, what="scene file")
        with _open(path, "scene file") as src:
            if src.crs is None:
                raise InputError(
                    f"{path}: the scene has no coordinate reference system; "
                    "write it with its CRS (e.g. EPSG:32650) or assign one with gdal_edit."
                )
            names = meta.get("bands") or list(src.descriptions)
            if len(names) != src.count or any(not n for n in names):
                raise InputError(
                    f"{path}: the bands have no names; set band descriptions (B04, B08, SCL …) "
                    "or list them in the sidecar JSON under 'bands'."
                )
            for i, name in enumerate(names, start=1):
                bands[str(name).upper()] = (str(path), i)
                resolution[str(name).upper()] = float(abs(src.transform.a))
            crs, bounds = src.crs.to_string(), tuple(src.bounds)
    baseline = meta.get("processing_baseline")
    scene_id = str(meta.get("scene_id") or (path.name if path.is_dir() else path.stem))
    return SceneInfo(
        scene_id=scene_id,
        path=str(path),
        platform=str(meta.get("platform", "Sentinel-2")),
        acquired_utc=_utc(meta.get("acquired_utc"), str(path)),
        processing_baseline=None if baseline is None else parse_processing_baseline(baseline),
        bands=bands,
        crs=crs,
        bounds=tuple(float(b) for b in bounds),
        resolution_m=resolution,
        boa_add_offset={k.upper(): float(v) for k, v in (meta.get("boa_add_offset") or {}).items()},
        cloud_fraction=_fraction(meta.get("cloud_fraction"), str(path)),
        synthetic=bool(meta.get("synthetic", False)),
    )


def _band_name(band: str) -> str:
    return S2_ALIASES.get(band.lower(), band.upper())


def _check_bands(info: SceneInfo, wanted: list[str]) -> None:
    missing = [b for b in wanted if b not in info.bands]
    if missing:
        raise InputError(
            f"{info.path}: band {missing[0]} is missing (the scene has "
            f"{', '.join(sorted(info.bands))}); give a scene with {', '.join(wanted)}."
        )


def _check_resolutions(info: SceneInfo, wanted: list[str], resample: bool) -> float:
    target = min(info.resolution_m[b] for b in wanted)
    coarse = [b for b in wanted if not np.isclose(info.resolution_m[b], target)]
    if coarse and not resample:
        b = coarse[0]
        fine = next(w for w in wanted if np.isclose(info.resolution_m[w], target))
        raise InputError(
            f"{info.path}: band {b} is {info.resolution_m[b]:g} m but {fine} is {target:g} m; "
            f"pass resample=True (CLI --resample) to resample to {target:g} m."
        )
    return target


def read_scene(
    path: str | Path,
    bands=("B04", "B08"),
    *,
    slope_deg=None,
    resample: bool = False,
    window_bounds=None,
    steep_slope_deg: float = 15.0,
    dilation_px: int = 1,
) -> xr.Dataset:
    """Read one Sentinel-2 L2A scene as reflectance with its SCL clear mask (eager, for small areas).

    Parameters
    ----------
    path : str or Path
        Scene folder or multi-band GeoTIFF (see :func:`read_scene_info`).
    bands : sequence of str
        Bands to read (``B04``, ``B08`` … or common names ``red``, ``nir``, ``blue``).
    slope_deg : numpy.ndarray, optional
        Terrain slope on the output grid [deg] (see :func:`scl_clear_mask`).
    resample : bool
        Allow bands of different resolution (reflectance averaged, SCL nearest, to the finest).
    window_bounds : tuple, optional
        (left, bottom, right, top) in the scene CRS to read only part of the scene.

    Returns
    -------
    xarray.Dataset
        One float32 reflectance variable per band (dims y, x), ``scl`` and ``clear`` (bool); attrs carry the
        scene metadata.
    """
    info = read_scene_info(path)
    names = [_band_name(b) for b in bands]
    wanted = names + (["SCL"] if "SCL" in info.bands else [])
    _check_bands(info, wanted)
    target = _check_resolutions(info, wanted, resample)
    grid_band = next(b for b in wanted if np.isclose(info.resolution_m[b], target))
    with rasterio.open(info.bands[grid_band][0]) as ref:
        window = (
            rasterio.windows.from_bounds(*window_bounds, transform=ref.transform)
            .round_offsets()
            .round_lengths()
            if window_bounds is not None
            else rasterio.windows.Window(0, 0, ref.width, ref.height)
        )
        transform = ref.window_transform(window)
        shape = (int(window.height), int(window.width))
        crs = ref.crs
    data = {}
    for band in wanted:
        file, index = info.bands[band]
        with rasterio.open(file) as src:
            resampling = Resampling.nearest if band == "SCL" else Resampling.average
            left, bottom, right, top = rasterio.transform.array_bounds(*shape, transform)
            win = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
            raw = src.read(
                index, window=win, out_shape=shape, resampling=resampling, boundless=True, fill_value=0
            )
        if band == "SCL":
            data["scl"] = raw.astype(np.uint8)
        else:
            data[band] = to_reflectance(
                raw, info.processing_baseline or 0.0, band, offset=info.offset_of(band)
            )
    ds = _grid_dataset(data, transform, shape, crs)
    if "scl" in ds:
        clear = scl_clear_mask(
            data["scl"], slope_deg, steep_slope_deg=steep_slope_deg, dilation_px=dilation_px
        )
    else:
        clear = np.all([np.isfinite(data[b]) for b in names], axis=0)
    ds["clear"] = (
        ("y", "x"),
        clear & np.all([np.isfinite(data[b]) for b in names], axis=0),
        {"units": "1", "long_name": "clear pixel (not cloud, shadow, no-data; SCL mask)"},
    )
    ds.attrs.update(
        scene_id=info.scene_id,
        acquired_utc=info.acquired_utc.isoformat(),
        platform=info.platform,
        processing_baseline=info.processing_baseline if info.processing_baseline else "unknown",
        crs=crs.to_string(),
        source=info.path,
    )
    return ds


def _grid_dataset(data: dict, transform, shape, crs) -> xr.Dataset:
    ys = transform.f + transform.e * (np.arange(shape[0]) + 0.5)
    xs = transform.c + transform.a * (np.arange(shape[1]) + 0.5)
    ds = xr.Dataset({k: (("y", "x"), v) for k, v in data.items()}, coords={"y": ys, "x": xs})
    for name in data:
        if name != "scl":
            ds[name].attrs.update(units="1", long_name=f"{name} surface reflectance")
    if "scl" in ds:
        ds["scl"].attrs.update(units="1", long_name="Sentinel-2 scene classification")
    return ds.rio.write_crs(crs).rio.write_transform(transform)


def open_stack(
    paths,
    bands=("B04", "B08"),
    *,
    chunks: int = 2048,
    slope_deg=None,
    steep_slope_deg: float = 15.0,
    dilation_px: int = 1,
) -> xr.Dataset:
    """Open a time stack of Sentinel-2 L2A scenes lazily (rioxarray + dask), as reflectance and clear mask.

    Every scene must be on the same grid (same CRS, transform and size) and hold the bands at one
    resolution; reflectance uses each scene's own processing baseline. Nothing is read until computed.

    Parameters
    ----------
    paths : iterable of path
        Scene files or folders.
    chunks : int
        Dask chunk size in pixels (2048 was fastest on 2 cores, monitoring.md §3).

    Returns
    -------
    xarray.Dataset
        dims (time, y, x): one float32 reflectance variable per band, ``clear`` (bool); sorted by time.
    """
    infos = sorted((read_scene_info(p) for p in paths), key=lambda i: i.acquired_utc)
    if not infos:
        raise InputError("no scenes given; pass at least one scene file or folder.")
    names = [_band_name(b) for b in bands]
    layers = []
    first = None
    for info in infos:
        wanted = names + (["SCL"] if "SCL" in info.bands else [])
        _check_bands(info, wanted)
        _check_resolutions(info, wanted, resample=False)
        variables = {}
        for band in wanted:
            file, index = info.bands[band]
            da = rioxarray.open_rasterio(
                file, chunks={"band": 1, "y": chunks, "x": chunks}, lock=False, mask_and_scale=False
            ).sel(band=index, drop=True)
            grid = (da.rio.crs.to_string() if da.rio.crs else None, tuple(da.rio.transform()), da.shape)
            if first is None:
                first = (grid, info.path)
            elif grid != first[0]:
                raise InputError(
                    f"{info.path}: the scene is not on the grid of {first[1]} (CRS, pixel size or "
                    "extent differ); reproject the scenes to one grid before stacking."
                )
            if band == "SCL":
                variables["scl"] = da.astype("uint8")
            else:
                variables[band] = to_reflectance(
                    da, info.processing_baseline or 0.0, band, offset=info.offset_of(band)
                )
        layer = xr.Dataset(variables)
        if "scl" in layer:
            layer["clear"] = (
                layer["scl"].dims,
                _lazy_clear(layer["scl"].data, slope_deg, steep_slope_deg, dilation_px),
            )
        else:
            layer["clear"] = np.isfinite(layer[names[0]])
        layers.append(layer.expand_dims(time=[pd.Timestamp(info.acquired_utc).tz_localize(None)]))
    stack = xr.concat(layers, dim="time", combine_attrs="drop_conflicts")
    stack["clear"] = stack["clear"] & np.isfinite(stack[names[0]])
    stack["clear"].attrs.update(units="1", long_name="clear pixel (SCL mask)")
    stack.attrs.update(source=", ".join(i.scene_id for i in infos), time_zone="UTC")
    stack = stack.assign_coords(
        processing_baseline=("time", [i.processing_baseline or np.nan for i in infos]),
        scene_id=("time", [i.scene_id for i in infos]),
    )
    return stack


def _lazy_clear(scl, slope_deg, steep_slope_deg, dilation_px):
    """:func:`scl_clear_mask` on a dask array, block by block with an overlap for the dilation."""
    import dask.array as dsa

    depth = int(dilation_px)
    if slope_deg is None:
        return dsa.map_overlap(
            lambda s: scl_clear_mask(s, None, steep_slope_deg=steep_slope_deg, dilation_px=depth),
            scl,
            depth=depth,
            boundary=0,
            dtype=bool,
        )
    slope = dsa.from_array(np.asarray(slope_deg, dtype=np.float32), chunks=scl.chunks)
    return dsa.map_overlap(
        lambda s, sl: scl_clear_mask(s, sl, steep_slope_deg=steep_slope_deg, dilation_px=depth),
        scl,
        slope,
        depth=depth,
        boundary=0,
        dtype=bool,
    )


def read_landsat_scene(folder: str | Path, bands=("red", "nir")) -> xr.Dataset:
    """Read a Landsat 8/9 Collection 2 Level-2 scene folder (``*_SR_B4.TIF`` …, ``*_QA_PIXEL.TIF``).

    Returns reflectance per requested common band name and ``clear`` from QA_PIXEL
    (:func:`landsat_clear_mask`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: is not a folder; give the Landsat Collection 2 Level-2 product folder.")
    files = {p.stem.upper(): p for p in folder.iterdir() if p.suffix.lower() in (".tif", ".tiff")}

    def find(suffix):
        hit = next((p for stem, p in files.items() if stem.endswith(suffix)), None)
        if hit is None:
            raise InputError(
                f"{folder}: band file *_{suffix}.TIF is missing; copy the whole Level-2 product."
            )
        return hit

    data = {}
    transform = crs = shape = None
    for band in bands:
        key = LANDSAT_BANDS.get(band.lower(), band.upper())
        path = check_input_file(find(key), what="Landsat band file")
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    f"{path}: the raster has no coordinate reference system; use the original file."
                )
            data[band.lower()] = landsat_reflectance(src.read(1))
            transform, crs, shape = src.transform, src.crs, (src.height, src.width)
    with rasterio.open(check_input_file(find("QA_PIXEL"), what="Landsat QA file")) as src:
        qa = src.read(1)
    ds = _grid_dataset(data, transform, shape, crs)
    ds["clear"] = (
        ("y", "x"),
        landsat_clear_mask(qa) & np.all([np.isfinite(v) for v in data.values()], axis=0),
    )
    ds.attrs.update(platform="Landsat", source=str(folder))
    return ds


def read_drone_rgb(path: str | Path) -> xr.Dataset:
    """Read a drone RGB orthomosaic GeoTIFF as float32 ``red``, ``green``, ``blue`` (camera DN) and ``valid``.

    A fourth (alpha) band or the file's no-data value marks invalid pixels. Values stay in camera units:
    uncalibrated RGB is compared only within an image (monitoring.md §1.4).
    """
    path = check_input_file(path, what="drone orthomosaic")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: is not a readable GeoTIFF ({str(exc).splitlines()[0]}).") from None
    with src:
        if src.crs is None:
            raise InputError(
                f"{path}: the orthomosaic has no coordinate reference system; export it as a "
                "georeferenced GeoTIFF."
            )
        if src.count < 3:
            raise InputError(
                f"{path}: has {src.count} band(s); a drone RGB orthomosaic needs red, green and blue."
            )
        rgb = src.read([1, 2, 3]).astype(np.float32)
        valid = np.ones(rgb.shape[1:], bool)
        if src.count >= 4:
            valid &= src.read(4) > 0
        if src.nodata is not None:
            valid &= ~np.all(rgb == src.nodata, axis=0)
        transform, crs = src.transform, src.crs
    ds = _grid_dataset({"red": rgb[0], "green": rgb[1], "blue": rgb[2]}, transform, rgb.shape[1:], crs)
    for name in ("red", "green", "blue"):
        ds[name].attrs.update(units="DN", long_name=f"{name} camera digital number")
    ds["valid"] = (("y", "x"), valid, {"units": "1", "long_name": "valid pixel"})
    ds.attrs.update(source=str(path), platform="drone")
    return ds


def scene_clear_fraction(scl) -> float:
    """Fraction of data pixels (SCL ≠ 0) that are not in the invalid SCL set (dark area kept)."""
    scl = np.asarray(scl)
    data = scl != 0
    if not data.any():
        return 0.0
    return float((~np.isin(scl[data], SCL_INVALID)).mean())


def utc_now() -> datetime:
    return datetime.now(UTC)
