"""The monitoring orchestrator: scenes and plots in; per-plot series, poor-growth signals, alerts, zones out.

:func:`run` chains the process functions of :mod:`monitoring.imagery`, :mod:`monitoring.zonal`,
:mod:`monitoring.series` and :mod:`monitoring.anomalies`:

1. per scene and plot: cloud-masked index statistics with exactextract and the clear fraction (a date below
   ``mask.min_clear_fraction`` is flagged unusable for that plot, never averaged);
2. per plot: single-date haze dips removed, weighted Whittaker smoothing, seasonal baseline from the plot's
   own earlier seasons and standardised anomalies;
3. per date: peer-group z-scores (same cultivar and district) and within-plot weak patches (robust z);
4. an alert only when a signal holds on ``alert.persistence`` consecutive clear observations and the last
   clear observation is at most ``series.max_gap`` days old.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.features import rasterize
from scipy import ndimage

from monitoring import anomalies, imagery, indices, series, zonal
from orchard.errors import InputError
from orchard.params import ParameterSet, load_parameters

__all__ = [
    "PARAMETER_FILE",
    "MODEL_VERSION",
    "MonitoringResult",
    "default_parameters",
    "plot_series",
    "run",
    "plot_zones",
    "scene_slope",
]

PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "imagery.toml"
MODEL_VERSION = "0.1"
STATS = ("mean", "median", "std", "p10", "p90", "count")


def default_parameters() -> ParameterSet:
    """The shipped monitoring parameter set (``monitoring/parameters/imagery.toml``)."""
    return load_parameters(PARAMETER_FILE)


@dataclass
class MonitoringResult:
    """What :func:`run` returns: the (plot, time) series, the alert table and the poor-zone polygons."""

    series: xr.Dataset
    alerts: pd.DataFrame
    zones: gpd.GeoDataFrame


def _plot_frame(plots):
    from orchard.plots import PlotSet, read_plots

    if isinstance(plots, (str, Path)):
        plots = read_plots(plots)
    if not isinstance(plots, PlotSet):
        raise InputError(f"plots must be a PlotSet or a plot file, not {type(plots).__name__}.")
    return plots


def scene_slope(info: imagery.SceneInfo, dem) -> np.ndarray | None:
    """Terrain slope on the scene's grid [deg] from a DEM (any CRS), for the dark-area mask (None: no DEM)."""
    if dem is None:
        return None
    from rasterio.warp import Resampling, reproject

    from orchard.terrain import slope_aspect

    first = info.bands[next(b for b in info.bands if b != "SCL")][0]
    with rasterio.open(first) as ref:
        transform, crs, shape = ref.transform, ref.crs, (ref.height, ref.width)
    elevation = np.full(shape, np.nan, np.float32)
    with rasterio.open(imagery.check_input_file(dem, what="DEM")) as src:
        reproject(
            rasterio.band(src, 1),
            elevation,
            dst_transform=transform,
            dst_crs=crs,
            resampling=Resampling.bilinear,
            dst_nodata=np.nan,
        )
    if not np.isfinite(elevation).any():
        return None
    filled = np.where(np.isfinite(elevation), elevation, np.nanmean(elevation))
    slope, _ = slope_aspect(filled, abs(transform.a), abs(transform.e))
    return np.where(np.isfinite(elevation), slope, np.nan).astype(np.float32)


def _infos(scenes) -> list[imagery.SceneInfo]:
    infos = [s if isinstance(s, imagery.SceneInfo) else imagery.read_scene_info(s) for s in scenes]
    if not infos:
        raise InputError("no scenes to monitor; register imagery first (orchard import-imagery PATH...).")
    return sorted(infos, key=lambda i: i.acquired_utc)


def plot_series(
    plots, scenes, index: str = "ndvi", params: ParameterSet | None = None, dem=None, cache: dict | None = None
) -> xr.Dataset:
    """Per-plot, per-date index statistics over a list of scenes, as a Dataset (plot, time).

    Variables ``<index>_mean``, ``_median``, ``_std``, ``_p10``, ``_p90`` [1], ``clear_fraction`` [1] and
    ``usable`` (clear fraction ≥ ``mask.min_clear_fraction``). Time is the acquisition time (UTC).
    ``cache`` (a dict kept by the caller) holds each scene's statistics, so a later call over the same
    plots computes only the scenes it has not seen (a season replay, or a weekly run with new scenes).
    """
    params = params or default_parameters()
    plot_set = _plot_frame(plots)
    infos = _infos(scenes)
    tables = []
    slope_cache: dict = {}
    cache = {} if cache is None else cache
    plots_key = (index, tuple(plot_set.plot_ids), params.hash, str(dem))
    for info in infos:
        scene_key = ("stats", str(info.path), _file_stamp(info.path), plots_key)
        if scene_key in cache:
            tables.append(cache[scene_key])
            continue
        key = (info.crs, info.bounds)
        if key not in slope_cache:
            slope_cache[key] = scene_slope(info, dem)
        table = zonal.scene_index_stats(
            info,
            plot_set,
            index,
            STATS,
            slope_deg=slope_cache[key],
            steep_slope_deg=params["mask.steep_slope"],
            dilation_px=int(params["mask.dilation"]),
            min_clear_fraction=params["mask.min_clear_fraction"],
            strategy="raster-sequential",
        )
        tables.append(table.reindex(plot_set.plot_ids))
        cache[scene_key] = tables[-1]
    times = pd.DatetimeIndex(
        [pd.Timestamp(i.acquired_utc).tz_convert("UTC").tz_localize(None) for i in infos]
    )
    coords = {
        "plot": np.asarray(plot_set.plot_ids, dtype=str),
        "time": times,
        "scene_id": ("time", [i.scene_id for i in infos]),
    }
    data = {}
    for stat in STATS:
        name = f"{index}_{stat}" if stat != "count" else "clear_px"
        values = np.stack([t[stat].to_numpy(dtype=float) for t in tables], axis=1)
        unit = "px" if stat == "count" else "1"
        data[name] = (
            ("plot", "time"),
            values,
            {
                "units": unit,
                "long_name": f"{index.upper()} {stat} over the plot's clear pixels (coverage-weighted)",
            },
        )
    data["clear_fraction"] = (
        ("plot", "time"),
        np.stack([t["clear_fraction"].fillna(0).to_numpy(float) for t in tables], axis=1),
        {"units": "1", "long_name": "Clear observed fraction of the plot"},
    )
    data["usable"] = (
        ("plot", "time"),
        np.stack([t["usable"].fillna(False).to_numpy(bool) for t in tables], 1),
        {"units": "1", "long_name": "Date usable for the plot (clear fraction above threshold)"},
    )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        index=index,
        time_zone="UTC",
        source=", ".join(i.scene_id for i in infos),
        model="monitoring.run",
        model_version=MODEL_VERSION,
        parameter_set=params.hash,
    )
    return ds


def _file_stamp(path) -> tuple:
    """Size and modification time of a scene file: a cached statistic of a replaced file is not reused."""
    try:
        stat = Path(path).stat()
    except OSError:
        return ()
    return (stat.st_size, stat.st_mtime_ns)


def _plot_windows(plot_set, info: imagery.SceneInfo):
    """Plot labels on the scene grid, cropped to the plots' extent: (labels, window bounds, transform)."""
    frame = zonal.plots_in_crs(plot_set, info.crs)
    first = info.bands[next(b for b in info.bands if b != "SCL")][0]
    with rasterio.open(first) as ref:
        window = rasterio.windows.from_bounds(*frame.total_bounds, transform=ref.transform)
        window = window.round_offsets().round_lengths()
        window = rasterio.windows.Window(
            window.col_off - 1, window.row_off - 1, window.width + 2, window.height + 2
        ).intersection(rasterio.windows.Window(0, 0, ref.width, ref.height))
        transform = ref.window_transform(window)
        shape = (int(window.height), int(window.width))
    labels = rasterize(
        ((g, i + 1) for i, g in enumerate(frame.geometry)),
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="int32",
    )
    bounds = rasterio.transform.array_bounds(*shape, transform)  # west, south, east, north
    return labels, bounds, transform, frame


def _index_grid(info, index, bounds, slope, params):
    function, bands = indices.INDICES[index]
    ds = imagery.read_scene(
        info.path,
        bands,
        window_bounds=bounds,
        slope_deg=slope,
        steep_slope_deg=params["mask.steep_slope"],
        dilation_px=int(params["mask.dilation"]),
    )
    values = function(*(ds[imagery._band_name(b)].to_numpy() for b in bands)).astype(np.float32)
    return np.where(ds["clear"].to_numpy(), values, np.nan)


def run(
    plots,
    scenes,
    params: ParameterSet | None = None,
    *,
    index: str = "ndvi",
    dem=None,
    baseline_before=None,
    as_of=None,
    cache: dict | None = None,
) -> MonitoringResult:
    """Monitor crop condition of every plot over a series of scenes; see the module docstring.

    Parameters
    ----------
    plots : PlotSet or path
    scenes : iterable of scene paths or SceneInfo
    params : ParameterSet, optional
        Monitoring parameters (default :func:`default_parameters`).
    index : str
        Index to monitor (``ndvi`` by default; any multispectral key of :data:`monitoring.indices.INDICES`).
    dem : path, optional
        DEM for the dark-area (terrain shadow) mask; without it SCL class 2 is masked everywhere.
    baseline_before : date-like, optional
        Seasons before this date form the seasonal baseline (default: 1 January of the latest scene's year).
    as_of : date-like, optional
        Date the alerts are issued for (default: the latest scene); older clear data than
        ``series.max_gap`` raises no alert.
    cache : dict, optional
        Per-scene statistics and index grids kept by the caller between calls over the same plots
        (:func:`plot_series`): only scenes not seen before are read.

    Returns
    -------
    MonitoringResult
        ``series`` (plot, time) Dataset, ``alerts`` DataFrame (one row per plot and signal), ``zones``
        GeoDataFrame of the poor-zone polygons (EPSG:4326) behind within-plot alerts.
    """
    params = params or default_parameters()
    plot_set = _plot_frame(plots)
    infos = _infos(scenes)
    cache = {} if cache is None else cache
    ds = plot_series(plot_set, infos, index, params, dem, cache=cache)
    key = f"{index}_median"
    values = ds[key].to_numpy()
    usable = ds["usable"].to_numpy() & np.isfinite(values)
    dips = series.suspect_dips(values, usable, params["series.suspect_dip"])
    clear = usable & ~dips
    times = pd.DatetimeIndex(ds["time"].to_numpy())
    smoothed, daily = series.whittaker_smooth(
        values, clear.astype(float), times, params["series.whittaker_lambda"]
    )
    daily = daily.assign_coords(plot=ds["plot"].to_numpy())
    before = (
        pd.Timestamp(baseline_before) if baseline_before is not None else pd.Timestamp(times.max().year, 1, 1)
    )
    baseline = series.seasonal_baseline(
        daily, before, doy_window=int(params["baseline.doy_window"]), min_sigma=params["baseline.min_sigma"]
    )
    seasonal_z = np.where(
        clear & (times >= before)[None, :], series.seasonal_anomaly(values, times, baseline), np.nan
    )
    frame = plot_set.frame
    district = frame["district"].astype(str) if "district" in frame else pd.Series("", index=frame.index)
    groups = (frame["cultivar"].fillna("unknown").astype(str) + "|" + district).reindex(ds["plot"].to_numpy())
    peer_z = anomalies.peer_zscore(
        values,
        groups.to_numpy(),
        clear,
        int(params["alert.min_peers"]),
        min_sigma=params["alert.peer_min_sigma"],
    )

    # Within-plot weak patches, per scene, on the plots' window (pixel-centre plot masks).
    weak_area = np.zeros(values.shape)
    weak_masks: dict[tuple[int, int], np.ndarray] = {}
    grid = None
    for t, info in enumerate(infos):
        if not clear[:, t].any():
            continue
        labels, bounds, transform, frame_crs = _plot_windows(plot_set, info)
        grid_key = (info.crs, tuple(transform), labels.shape)
        if grid is None or grid[0] != grid_key:
            objects = ndimage.find_objects(labels)
            slope = _crop(scene_slope(info, dem), info, transform, labels.shape)
            grid = (grid_key, objects, transform, labels, frame_crs, slope)
        _, objects, transform, labels, frame_crs, slope = grid
        grid_cache_key = ("grid", str(info.path), index, tuple(bounds), params.hash, str(dem))
        if grid_cache_key not in cache:
            cache[grid_cache_key] = _index_grid(info, index, bounds, slope, params)
        ndvi = cache[grid_cache_key]
        pixel_ha = abs(transform.a * transform.e) / 1e4
        for p in np.flatnonzero(clear[:, t]):
            box = objects[p] if p < len(objects) else None
            if box is None:
                continue
            inside = labels[box] == p + 1
            valid = inside & np.isfinite(ndvi[box])
            if valid.sum() < params["alert.min_plot_px"]:
                continue
            weak = anomalies.weak_patches(
                ndvi[box], valid, params["alert.within_z"], int(params["alert.min_patch_px"])
            )
            if weak.any():
                weak_masks[(p, t)] = weak
                weak_area[p, t] = weak.sum() * pixel_ha
    ds[f"{index}_smooth"] = (
        ("plot", "time"),
        smoothed,
        {"units": "1", "long_name": f"Whittaker-smoothed {index.upper()} median"},
    )
    ds["suspect_dip"] = (("plot", "time"), dips, {"units": "1", "long_name": "Single-date dip (missed haze)"})
    ds["seasonal_z"] = (
        ("plot", "time"),
        seasonal_z,
        {"units": "1", "long_name": "Standardised anomaly against the plot's own past seasons"},
    )
    ds["peer_z"] = (
        ("plot", "time"),
        peer_z,
        {"units": "1", "long_name": "Robust z-score against peer plots"},
    )
    ds["weak_area_ha"] = (("plot", "time"), weak_area, {"units": "ha", "long_name": "Area of weak patches"})
    ds["clear"] = (("plot", "time"), clear, {"units": "1", "long_name": "Usable and not a haze dip"})
    ds.attrs["baseline_before"] = str(before.date())

    as_of = pd.Timestamp(as_of) if as_of is not None else times.max()
    signals = {
        "within_plot": weak_area > 0,
        "peer": np.nan_to_num(peer_z, nan=0.0) < params["alert.peer_z"],
        "seasonal": np.nan_to_num(seasonal_z, nan=0.0) < params["alert.seasonal_z"],
    }
    min_obs = int(params["alert.persistence"])
    records, zone_frames = [], []
    plot_ids = ds["plot"].to_numpy()
    for name, signal in signals.items():
        run_length, start, persistent = anomalies.persistence(
            signal, clear & (times <= as_of)[None, :], min_obs
        )
        ds[f"alert_{name}"] = (
            ("plot", "time"),
            persistent,
            {"units": "1", "long_name": f"Persistent {name} signal"},
        )
        for p in range(len(plot_ids)):
            usable_t = np.flatnonzero(clear[p] & (times <= as_of))
            if usable_t.size == 0:
                continue
            last = usable_t[-1]
            if not persistent[p, last] or (as_of - times[last]).days > params["series.max_gap"]:
                continue
            run_t = [t for t in usable_t if t >= start[p, last]]
            record = {
                "plot_id": str(plot_ids[p]),
                "signal": name,
                "since": times[start[p, last]].date(),
                "last_clear": times[last].date(),
                "n_obs": int(run_length[p, last]),
            }
            geometry = frame.geometry[plot_ids[p]]
            if name == "within_plot":
                masks = [weak_masks[(p, t)] for t in run_t if (p, t) in weak_masks]
                persistent_px = np.sum(masks, axis=0) >= min_obs
                if not persistent_px.any():
                    continue
                box = grid[1][p]
                transform = grid[2]
                window_transform = transform * transform.translation(box[1].start, box[0].start)
                zone = anomalies.mask_to_polygons(
                    persistent_px,
                    window_transform,
                    infos[last].crs,
                    plot_id=record["plot_id"],
                    since=str(record["since"]),
                )
                zone = zone.to_crs("EPSG:4326")
                geometry = zone.union_all()
                area_ha = float(zone["area_ha"].sum())
                median = float(values[p, last])
                ndvi_last = _index_grid(infos[last], index, grid_bounds(grid), grid[5], params)[box]
                zone_mean = float(np.nanmean(ndvi_last[persistent_px]))
                deficit = median - zone_mean
                record.update(
                    severity=_severity(deficit / 0.05),
                    area_ha=area_ha,
                    message_key="monitoring.alert.weak_patch",
                    evidence={
                        "zone_mean": round(zone_mean, 3),
                        "plot_median": round(median, 3),
                        "deficit": round(deficit, 3),
                        "percent_below": round(100 * deficit / median, 1),
                        "z_threshold": params["alert.within_z"],
                    },
                )
                zone["severity"] = record["severity"]
                zone_frames.append(zone)
            elif name == "peer":
                z = float(peer_z[p, last])
                record.update(
                    severity=_severity(-z),
                    area_ha=float(frame.loc[plot_ids[p], "area_ha"]),
                    message_key="monitoring.alert.below_peers",
                    evidence={
                        "peer_z": round(z, 2),
                        "plot_median": round(float(values[p, last]), 3),
                        "peer_group": str(groups.iloc[p]),
                    },
                )
            else:
                z = float(seasonal_z[p, last])
                doy = times[last].dayofyear - 1
                record.update(
                    severity=_severity(-z),
                    area_ha=float(frame.loc[plot_ids[p], "area_ha"]),
                    message_key="monitoring.alert.below_baseline",
                    evidence={
                        "seasonal_z": round(z, 2),
                        "observed": round(float(values[p, last]), 3),
                        "baseline_mean": round(float(baseline["mean"][p, doy]), 3),
                        "baseline_std": round(float(baseline["std"][p, doy]), 3),
                    },
                )
            record["area_mu"] = record["area_ha"] * anomalies.MU_PER_HA
            record["geometry"] = geometry
            records.append(record)
    columns = [
        "plot_id",
        "signal",
        "since",
        "last_clear",
        "n_obs",
        "severity",
        "area_ha",
        "area_mu",
        "message_key",
        "evidence",
        "geometry",
    ]
    alerts = pd.DataFrame(records, columns=columns)
    zones = (
        pd.concat(zone_frames, ignore_index=True)
        if zone_frames
        else gpd.GeoDataFrame(
            {"plot_id": [], "since": [], "area_ha": [], "area_mu": [], "severity": []},
            geometry=[],
            crs="EPSG:4326",
        )
    )
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs="EPSG:4326")
    return MonitoringResult(ds, alerts, zones)


def _crop(full, info: imagery.SceneInfo, transform, shape):
    """Cut a scene-sized array (e.g. slope) to the window whose transform and shape are given."""
    if full is None:
        return None
    first = info.bands[next(b for b in info.bands if b != "SCL")][0]
    with rasterio.open(first) as ref:
        col0, row0 = ~ref.transform * (transform.c, transform.f)
    r, c = int(round(row0)), int(round(col0))
    return full[r : r + shape[0], c : c + shape[1]]


def grid_bounds(grid):
    labels, transform = grid[3], grid[2]
    return rasterio.transform.array_bounds(*labels.shape, transform)


def _severity(strength: float) -> int:
    """Severity 1–5 from a signal strength in z units (or NDVI deficit / 0.05): 1.5 → 1, every 1.0 more +1."""
    return int(np.clip(1 + np.floor(max(strength, 1.5) - 1.5), 1, 5))


def plot_zones(
    plots,
    scenes,
    plot_id: str,
    date,
    params: ParameterSet | None = None,
    *,
    index: str = "ndvi",
    dem=None,
    cog_path=None,
) -> gpd.GeoDataFrame:
    """Zones of one plot on one date: weak patches, percentile classes and k-means management zones.

    The scene is the latest one on or before ``date`` with the plot usable; k-means uses every usable scene
    up to then (multi-date normalised index). With ``cog_path`` the index map of the plot window is written
    as an int16 COG.

    Returns
    -------
    geopandas.GeoDataFrame (EPSG:4326)
        ``kind`` (weak_patch, percentile, kmeans), ``zone`` (class, 0 = weakest), ``area_ha``, ``area_mu``,
        ``mean_index``, ``plot_id``, ``date``.
    """
    params = params or default_parameters()
    plot_set = _plot_frame(plots)
    if plot_id not in plot_set.frame.index:
        raise InputError(f"plot '{plot_id}' is not among the plots; check the id (e.g. orchard plots list).")
    one = type(plot_set)(plot_set.frame.loc[[plot_id]], plot_set.source)
    infos = [
        i
        for i in _infos(scenes)
        if pd.Timestamp(i.acquired_utc).tz_convert("UTC").tz_localize(None)
        <= pd.Timestamp(date) + pd.Timedelta(days=1)
    ]
    if not infos:
        raise InputError(f"no scene on or before {date}; register imagery for that period.")
    stack, used = [], []
    labels = transform = crs = None
    for info in infos:
        labels, bounds, transform, _ = _plot_windows(one, info)
        crs = info.crs
        slope = _crop(scene_slope(info, dem), info, transform, labels.shape)
        grid = _index_grid(info, index, bounds, slope, params)
        inside = labels == 1
        if inside.any() and np.isfinite(grid[inside]).mean() >= params["mask.min_clear_fraction"]:
            stack.append(grid)
            used.append(info)
    if not used:
        raise InputError(
            f"plot {plot_id} has no clear observation on or before {date} (all cloud); choose a later date."
        )
    inside = labels == 1
    latest = stack[-1]
    day = str(pd.Timestamp(used[-1].acquired_utc).date())
    parts = []
    weak = anomalies.weak_patches(
        latest, inside & np.isfinite(latest), params["alert.within_z"], int(params["alert.min_patch_px"])
    )
    for kind, classes in (
        ("weak_patch", np.where(weak, 0, -1)),
        ("percentile", anomalies.percentile_zones(latest, inside)),
        ("kmeans", anomalies.kmeans_zones(np.stack(stack), inside, int(params["alert.zones_k"]))),
    ):
        for zone in np.unique(classes[classes >= 0]):
            mask = classes == zone
            part = anomalies.mask_to_polygons(
                mask,
                transform,
                crs,
                kind=kind,
                zone=int(zone),
                mean_index=float(np.nanmean(latest[mask])),
                plot_id=plot_id,
                date=day,
            )
            parts.append(part)
    zones = (
        pd.concat(parts, ignore_index=True)
        if parts
        else anomalies.mask_to_polygons(np.zeros_like(inside), transform, crs)
    )
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=crs).to_crs("EPSG:4326")
    zones.attrs.update(index=index, scene_id=used[-1].scene_id, n_dates_kmeans=len(used))
    if cog_path is not None:
        anomalies.write_index_cog(np.where(inside, latest, np.nan), transform, crs, cog_path)
    return zones


def alerts_json(alerts: pd.DataFrame) -> list[dict]:
    """Alerts as JSON-ready dicts (geometry as GeoJSON)."""
    import shapely

    out = []
    for row in alerts.to_dict("records"):
        row = dict(row)
        row["geometry"] = (
            json.loads(shapely.to_geojson(row["geometry"])) if row.get("geometry") is not None else None
        )
        row["since"], row["last_clear"] = str(row["since"]), str(row["last_clear"])
        out.append(row)
    return out
