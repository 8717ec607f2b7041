"""Poor-growth signals: weak zones within a plot, the plot against its peers, persistence, and exports.

Three complementary signals (science note ``monitoring.md`` §2): (1) within-plot robust z-score (or
percentile) zones and k-means management zones on multi-date normalised NDVI; (2) the plot's median
against its peer group (same cultivar and district) on the same date; (3) the plot against its own seasonal
baseline (:mod:`monitoring.series`). An alert needs a signal on at least two consecutive clear observations
(:func:`persistence`). Zones become polygons with their area in ha and 亩 (1 ha = 15 亩).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import shapes
from scipy import ndimage

from orchard.errors import InputError

__all__ = [
    "MU_PER_HA",
    "robust_zscore",
    "weak_patches",
    "percentile_zones",
    "kmeans_zones",
    "peer_zscore",
    "persistence",
    "mask_to_polygons",
    "write_zones",
    "write_index_cog",
]

#: 1 hectare = 15 亩 (mu), the Chinese land unit growers use.
MU_PER_HA = 15.0
#: Consistency constant making the MAD an estimate of the standard deviation for normal data.
MAD_TO_SD = 1.4826


def robust_zscore(values, mask=None):
    """Robust z-score ``(v − median) / (1.4826 · MAD)`` over the pixels in ``mask`` [1]; NaN outside.

    Terraces, paths and gaps do not inflate the spread as they would the standard deviation.

    References
    ----------
    monitoring.md §2.1 (robust z-score zoning).
    """
    v = np.asarray(values, dtype=float)
    inside = np.isfinite(v) if mask is None else (np.asarray(mask, bool) & np.isfinite(v))
    if not inside.any():
        return np.full(v.shape, np.nan)
    median = np.median(v[inside])
    mad = np.median(np.abs(v[inside] - median)) * MAD_TO_SD
    if mad == 0:
        return np.where(inside, 0.0, np.nan)
    return np.where(inside, (v - median) / mad, np.nan)


def weak_patches(values, mask, z_threshold: float = -1.5, min_patch_px: int = 9):
    """Pixels in connected weak patches: robust z < ``z_threshold`` in patches of ≥ ``min_patch_px`` [bool].

    Parameters
    ----------
    values : array-like (y, x)
        Index values of one plot and date (NaN = masked).
    mask : array-like of bool (y, x)
        Pixels of the plot.
    z_threshold : float
        Robust z-score below which a pixel is weak [1].
    min_patch_px : int
        Smallest patch kept (8-connected) [px]; 9 = 3 × 3 px = 0.09 ha at 10 m.

    References
    ----------
    monitoring.md §2.1 and §2.6 (z < −1.5, patches ≥ 3 × 3 px).
    """
    z = robust_zscore(values, mask)
    weak = np.nan_to_num(z, nan=0.0) < z_threshold
    labels, n = ndimage.label(weak, structure=np.ones((3, 3), bool))
    if n == 0:
        return weak
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_patch_px
    keep[0] = False
    return keep[labels]


def percentile_zones(values, mask, percentiles=(10, 90)):
    """Percentile classes within a plot: 0 below the first percentile … len(percentiles) above the last;
    −1 outside the plot or masked [int].

    References
    ----------
    monitoring.md §2.1 (< P10 / P10–P90 / > P90).
    """
    v = np.asarray(values, dtype=float)
    inside = np.asarray(mask, bool) & np.isfinite(v)
    out = np.full(v.shape, -1, np.int8)
    if inside.any():
        edges = np.percentile(v[inside], percentiles)
        out[inside] = np.searchsorted(edges, v[inside], side="right")
    return out


def kmeans_zones(stack, mask, k: int = 3, seed: int = 0):
    """k-means management zones on multi-date normalised index (each date divided by its plot mean) [int].

    Zones are numbered by their mean normalised value, 0 = weakest; −1 outside the plot or where no date is
    clear. Dates missing for a pixel are filled with that date's plot mean (normalised 1).

    Parameters
    ----------
    stack : array-like (time, y, x)
        Index of one plot over several clear dates (NaN = masked).
    mask : array-like of bool (y, x)
    k : int
        Number of zones (3–5 in commercial practice, 2 often optimal).

    References
    ----------
    monitoring.md §2.5 (k-means on multi-date normalised NDVI; PMC10558738; Agriculture 2022, 12, 231).
    """
    from sklearn.cluster import KMeans

    s = np.asarray(stack, dtype=float)
    if s.ndim == 2:
        s = s[None]
    inside = np.asarray(mask, bool) & np.isfinite(s).any(axis=0)
    out = np.full(inside.shape, -1, np.int8)
    n = int(inside.sum())
    if n < k:
        return out
    pixels = s[:, inside].T  # (pixel, time)
    with np.errstate(invalid="ignore"):
        means = np.nanmean(pixels, axis=0)
    keep = np.isfinite(means) & (means != 0)
    normalised = pixels[:, keep] / means[keep]
    normalised = np.where(np.isfinite(normalised), normalised, 1.0)
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(normalised)
    order = np.argsort(model.cluster_centers_.mean(axis=1))
    rank = np.empty(k, int)
    rank[order] = np.arange(k)
    out[inside] = rank[model.labels_]
    return out


def peer_zscore(values, groups, usable, min_peers: int = 4, min_sigma: float = 0.0):
    """Robust z-score of each plot against its peer group on the same date [1], shape (plot, time).

    ``z = (plot − median_peers) / (1.4826 · MAD_peers)`` over the plots of the same group with a usable
    date; NaN where the plot is not usable or its group has fewer than ``min_peers`` usable plots. The spread
    is floored at ``min_sigma`` (peers planted alike can have a MAD below the sensor noise).

    References
    ----------
    monitoring.md §2.2 (peer group: same variety, tree age, elevation band or aspect, same date).
    """
    v = np.where(np.asarray(usable, bool), np.asarray(values, dtype=float), np.nan)
    groups = np.asarray(groups).astype(str)
    out = np.full(v.shape, np.nan)
    for group in np.unique(groups):
        rows = groups == group
        block = v[rows]
        count = np.isfinite(block).sum(axis=0)
        with np.errstate(invalid="ignore"), _quiet():
            median = np.nanmedian(block, axis=0)
            mad = np.nanmedian(np.abs(block - median), axis=0) * MAD_TO_SD
        spread = np.maximum(mad, min_sigma)
        z = (block - median) / np.where(spread > 0, spread, np.nan)
        z[:, count < min_peers] = np.nan
        out[rows] = z
    return out


class _quiet:
    """Silence numpy's all-NaN warnings (groups without usable dates are expected)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def persistence(signal, usable, min_obs: int = 2):
    """Run length of a signal over consecutive usable observations, and where each run started.

    Unusable dates (cloudy, flagged) neither break nor extend a run: a signal must hold on ``min_obs``
    consecutive *clear* observations before it counts.

    Parameters
    ----------
    signal, usable : array-like of bool, shape (plot, time)

    Returns
    -------
    run : numpy.ndarray of int (plot, time)
        Number of consecutive usable observations with the signal, ending at each date (carried through
        unusable dates).
    start : numpy.ndarray of int (plot, time)
        Time index where that run started (−1 when no run).
    persistent : numpy.ndarray of bool (plot, time)
        ``run >= min_obs`` at usable dates.
    """
    sig = np.asarray(signal, bool)
    ok = np.asarray(usable, bool)
    run = np.zeros(sig.shape, int)
    start = np.full(sig.shape, -1, int)
    current = np.zeros(sig.shape[0], int)
    begin = np.full(sig.shape[0], -1, int)
    for t in range(sig.shape[1]):
        hit = ok[:, t] & sig[:, t]
        miss = ok[:, t] & ~sig[:, t]
        begin = np.where(hit & (current == 0), t, begin)
        current = np.where(hit, current + 1, np.where(miss, 0, current))
        begin = np.where(current == 0, -1, begin)
        run[:, t], start[:, t] = current, begin
    return run, start, (run >= min_obs) & ok


def mask_to_polygons(mask, transform, crs, **properties) -> gpd.GeoDataFrame:
    """Polygons of the True pixels of a mask (8-connected patches), with area_ha and area_mu."""
    m = np.asarray(mask, bool)
    geoms = [
        shapely.geometry.shape(g)
        for g, v in shapes(m.astype(np.uint8), mask=m, transform=transform, connectivity=8)
        if v == 1
    ]
    frame = gpd.GeoDataFrame(geometry=geoms, crs=crs)
    frame["area_ha"] = frame.geometry.area.to_numpy() / 1e4 if len(frame) else []
    frame["area_mu"] = frame["area_ha"] * MU_PER_HA
    for name, value in properties.items():
        frame[name] = value
    return frame


def write_zones(zones: gpd.GeoDataFrame, path) -> Path:
    """Write zone polygons as GeoJSON (EPSG:4326, RFC 7946) or GeoPackage (layer ``zones``), by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise InputError(f"{path}: cannot write zones as '{path.suffix}'; use .gpkg or .geojson.")
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    tmp.unlink(missing_ok=True)
    frame = zones.copy()
    for column in frame.columns:
        if column != "geometry" and pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
    if suffix == ".gpkg":
        frame.to_file(tmp, driver="GPKG", layer="zones", engine="pyogrio")
    else:
        frame.to_crs("EPSG:4326").to_file(
            tmp, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"}
        )
    tmp.replace(path)
    return path


def write_index_cog(values, transform, crs, path, scale: float = 10000.0, nodata: int = -32768) -> Path:
    """Write an index map as a Cloud-Optimized GeoTIFF: int16 × ``scale``, DEFLATE + predictor 2.

    NaN becomes ``nodata``; the band's scale (1/``scale``) is recorded so GDAL readers unscale it.

    References
    ----------
    monitoring.md §3–4: int16 × 10000 with DEFLATE predictor 2 is smaller (252 vs 470–543 MB per tile) and
    the fastest exactextract input; rasterio ``driver="COG"`` on an in-memory array (not from dask,
    corteva/rioxarray#410).
    """
    v = np.asarray(values, dtype=np.float32)
    scaled = np.where(np.isfinite(v), np.clip(np.round(v * scale), -32767, 32767), nodata).astype(np.int16)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    profile = dict(
        driver="COG",
        width=v.shape[1],
        height=v.shape[0],
        count=1,
        dtype="int16",
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="DEFLATE",
        predictor=2,
        blocksize=512,
        overview_resampling="average",
    )
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(scaled, 1)
        dst.scales = (1.0 / scale,)
    tmp.replace(path)
    return path
