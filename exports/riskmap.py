"""Weekly risk-map export for extension services: one folder per district and ISO week.

:func:`export_riskmap` reads the station weather, the plots, the parameter sets in force
(:func:`orchard.bundle.resolve`) and the week's stored weekly run (:func:`run_for_week`) from the database,
computes the risk grid of the DEM (:func:`pests.riskmap.risk_grid_run`, the weather-class grid) for the Monday
of the ISO week and writes, into ``OUT/<district-slug>_<YYYY-Www>/``:

- ``<pest>.tif``, ``<pest>_1m.tif``, ``<pest>_3m.tif``: Cloud-Optimized GeoTIFFs of the 5-class level at 15
  days, 1 month and 3 months (uint8 with a colour table, 255 = no data, DEFLATE, 512-px tiles, overviews),
  in the DEM's CRS and grid; ``<pest>_probability.tif``: the three probabilities in percent (uint8 0-100,
  255 = no data). A TIFF can carry a colour table only on a single-band image, hence one file per class band;
- ``plots.gpkg``, ``plots.geojson`` (RFC 7946), ``plots.kml`` (Google Earth, coloured by the highest 15-day
  level) and ``plots.csv`` (UTF-8 with BOM for Excel): each plot's level, probability and reason per pest and
  horizon as the stored weekly run found them on the plot's own slope-corrected weather (its ``plot_status``
  row: the numbers of the plot page and ``orchard advice``), not read from the grid;
- ``<pest>.png`` and ``<pest>.pdf``: maps of the three horizons with legend (classes in Chinese and
  English), title, ISO week, north arrow, scale bar, plot outlines and data sources, in a CJK font;
- ``manifest.json``: district, week, issue date, CRS, bounds, models, the parameter bundle in force (versions
  and hashes), the run the plot table comes from, weather sources, the file list.

The folder is built as a hidden temporary sibling and renamed into place at the end, so an interrupted or
failed export leaves nothing behind and an existing export is only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import textwrap
import time
import unicodedata
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from orchard.errors import InputError, OrchardError, StorageError
from orchard.privacy import derived_key, plot_label
from pests.outlook import LEVEL_NAMES, LEVEL_NAMES_EN
from pests.paramsets import PEST_LABELS, check_pests
from pests.riskmap import (
    HORIZON_NAMES,
    LEVEL_COLOURS,
    MAX_STATION_DISTANCE_KM,
    PEST_NAMES_ZH,
    RiskGridRun,
    dask_scheduler,
    dem_grid,
    iso_week,
    lookup_array,
    plot_risk,
    risk_grid_run,
    station_distance_km,
)

__all__ = [
    "CJK_FONT_NAMES",
    "RISKMAP_EXPORT_VERSION",
    "cjk_font",
    "district_slug",
    "export_riskmap",
    "plots_table",
    "render_maps",
    "run_for_week",
    "weekly_risk_grid",
    "write_rasters",
    "write_vectors",
]

RISKMAP_EXPORT_VERSION = "0.1.0"
#: CJK fonts looked for, best first (Debian/Ubuntu: fonts-noto-cjk, fonts-wqy-zenhei).
CJK_FONT_NAMES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
)
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy", "wenquanyi")
NODATA = 255
COG_OPTIONS = {"compress": "DEFLATE", "blocksize": 512, "bigtiff": "IF_SAFER", "num_threads": "ALL_CPUS"}
#: Most grid cells computed and held at once while writing (two such batches are in memory) [cells].
MAX_BATCH_CELLS = 4_000_000
#: Longest side of a map panel [pixels of the grid read from the COG overviews].
MAP_PIXELS = 900
#: The plot table of week W comes from the latest weekly run issued on or before W's Sunday, and that run may
#: be at most this many days older than W's Monday (a run of W or of the week before) [days].
RUN_MAX_AGE_DAYS = 7
#: Parameter sets the grid reads from the bundle in force (besides the pest sets).
GRID_SETS = ("host", "outlook", "weather")


# ----------------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------------
def district_slug(name: str) -> str:
    """ASCII folder-name part for a district: ``"长汀 Changting (Fujian)"`` -> ``"changting-fujian"``.

    Letters without an ASCII form (e.g. Chinese) are dropped; a name with none left gets ``district-`` and
    a short hash of the name, so two districts never share a folder.
    """
    ascii_text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        import hashlib

        slug = "district-" + hashlib.sha256(str(name).encode()).hexdigest()[:8]
    return slug[:60]


def cjk_font(names=CJK_FONT_NAMES, scan: bool = True) -> str:
    """The family name of an installed CJK font for matplotlib (Chinese class names on the maps).

    Looks in matplotlib's font list; if none of ``names`` is there and ``scan`` is true, looks for CJK font
    files in the system font folders (a font installed after matplotlib built its cache) and adds them.

    Raises
    ------
    orchard.errors.OrchardError
        No CJK font: one sentence saying to install ``fonts-noto-cjk``.
    """
    from matplotlib import font_manager

    def known():
        return {f.name for f in font_manager.fontManager.ttflist}

    available = known()
    for name in names:
        if name in available:
            return name
    if scan:
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower() for hint in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        available = known()
        for name in names:
            if name in available:
                return name
    raise OrchardError(
        "no Chinese (CJK) font is installed, so the maps cannot show the class names; install "
        "one (e.g. `apt-get install fonts-noto-cjk`) and export again."
    )


def _neutralise(value):
    """A CSV cell that spreadsheet programs will not run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _level_label(level: int) -> str:
    return f"{level} {LEVEL_NAMES[level]} {LEVEL_NAMES_EN[level]}"


# ----------------------------------------------------------------------------------------------------------
# Inputs from the database
# ----------------------------------------------------------------------------------------------------------
def _database_inputs(engine, dem, district, monday, week_label):
    """Station weather near the DEM, the parameter bundle in force (for the district), and the plots (of the
    district) on the DEM."""
    import geopandas as gpd
    import shapely

    from orchard import store
    from orchard import weather as ow
    from orchard.bundle import resolve
    from orchard.plots import PlotSet

    with store.session_scope(engine) as session:
        bundle = resolve(session, district)
        stations = pd.DataFrame(store.list_stations(session))
        if stations.empty:
            raise InputError(
                "there are no weather stations in the database; import weather first "
                "(orchard import-weather FILE --station ID)."
            )
        distance = station_distance_km(dem, stations["lat"].astype(float), stations["lon"].astype(float))
        near = stations[distance <= MAX_STATION_DISTANCE_KM].assign(
            distance_km=distance[distance <= MAX_STATION_DISTANCE_KM]
        )
        readings = (
            store.read_weather(session, near["station_id"].tolist(), "daily", None, None)
            if len(near)
            else pd.DataFrame()
        )
        rows = store.all_plots(session)
    if readings.empty:
        i = int(np.argmin(distance))
        raise InputError(
            f"no station with daily weather lies within {MAX_STATION_DISTANCE_KM:.0f} km of the "
            f"DEM (nearest: {stations['station_id'].iloc[i]}, {distance[i]:.0f} km); import "
            "daily weather of a station in the district."
        )
    near = near[near["station_id"].isin(readings["station_id"].unique())]
    weather = ow.weather_from_long(readings, near.assign(resolution="daily"))
    valid = weather["tmax_c"].notnull().any("station").values if "tmax_c" in weather else np.zeros(0, bool)
    if not valid.any():
        raise InputError(
            "the stations near the DEM have no daily maximum temperatures; import their weather."
        )
    days = pd.DatetimeIndex(weather["time"].values)[valid]
    first, last = days[0], days[-1]
    if monday < first or monday > last:
        raise InputError(
            f"week {week_label} (issue date Monday {monday:%Y-%m-%d}) is outside the weather "
            f"record ({first:%Y-%m-%d} to {last:%Y-%m-%d}, station "
            f"{', '.join(near['station_id'])}); choose a week inside it or import weather for it."
        )
    if district is not None:
        districts = sorted({str(r.get("district")) for r in rows if r.get("district")})
        rows = [r for r in rows if r.get("district") == district]
        if not rows:
            shown = ", ".join(districts) if districts else "none"
            raise InputError(
                f"no plot in the database belongs to district {district!r} (districts: {shown}); "
                "check --district or leave it out to take every plot on the DEM."
            )
    if rows:
        frame = PlotSet.from_records(rows).frame.reset_index()
        footprint = gpd.GeoSeries([shapely.box(*dem.bounds)], crs=dem.crs_wkt).to_crs(frame.crs).iloc[0]
        frame = frame[frame.geometry.intersects(footprint)].reset_index(drop=True)
    else:
        frame = gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs="EPSG:4326")
    return weather, near, bundle, frame


def run_for_week(engine, week: str, plot_ids=None) -> tuple[dict, pd.DataFrame]:
    """The stored weekly run whose plot numbers the export of ``week`` shows, and its plot_status rows.

    The run is the latest one (by issue date, then creation) issued on or before the Sunday of the ISO week,
    provided it was issued at most :data:`RUN_MAX_AGE_DAYS` days before the week's Monday (a run of that week
    or of the week before); a later week needs a later run.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    week : str
        ISO week ``YYYY-Www``.
    plot_ids : sequence of str, optional
        Only these plots' rows (default every plot of the run).

    Returns
    -------
    (dict, pandas.DataFrame)
        The run (the ``advice_runs`` row, :func:`orchard.results.latest_run`) and one row per plot:
        ``plot_id``, ``issued_on``, ``pests`` (pest -> horizon -> ``{"level", "probability"}``),
        ``max_pest_level_15d``, ``results_chunk``.

    Raises
    ------
    orchard.errors.InputError
        No run in that span, or a run without a pest outlook (its pests step skipped): one sentence saying
        which ``orchard run-week --date`` to run.
    """
    from sqlalchemy import select

    from orchard import store
    from orchard.results import latest_run

    week_label, monday = iso_week(week)
    sunday = monday + pd.Timedelta(days=6)
    oldest = monday - pd.Timedelta(days=RUN_MAX_AGE_DAYS)
    todo = f"run `orchard run-week --date {monday:%Y-%m-%d}` first, then export again."
    with store.session_scope(engine) as session:
        run = latest_run(session, on_or_before=sunday.date())
        if run is None or pd.Timestamp(run["issued_on"]) < oldest:
            before = f" (the latest was issued on {run['issued_on']})" if run is not None else ""
            raise InputError(
                f"no weekly run is stored for week {week_label}: the plot table needs one issued "
                f"between {oldest:%Y-%m-%d} and {sunday:%Y-%m-%d}{before}; {todo}"
            )
        columns = ("plot_id", "issued_on", "pests", "max_pest_level_15d", "results_chunk")
        query = select(*(getattr(store.PlotStatus, c) for c in columns)).where(
            store.PlotStatus.run_id == run["run_id"]
        )
        rows = session.execute(query.order_by(store.PlotStatus.plot_id)).all()
    status = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
    if plot_ids is not None:  # filtered here: a district's ids would overflow an SQL IN list
        status = status[status["plot_id"].astype(str).isin({str(p) for p in plot_ids})].reset_index(drop=True)
    if len(status) and status["pests"].isna().all():
        raise InputError(
            f"the weekly run {run['run_id']} of {run['issued_on']} has no pest outlook (its pests step "
            f"was skipped); run `orchard run-week --date {monday:%Y-%m-%d}` without --skip pests first, "
            "then export again."
        )
    return run, status


def _stored_reasons(run: dict, status: pd.DataFrame, pests, horizons) -> dict | None:
    """The outlook's reason line of every plot, pest and horizon from the run's stored pests output
    (``<results_path>/pests-<chunk>.nc``, :mod:`orchard.results`); None when the files are gone."""
    import xarray as xr

    folder = run.get("results_path")
    if not folder:
        return None
    reasons = {}
    for chunk, rows in status.groupby("results_chunk"):
        path = Path(folder) / f"pests-{int(chunk):05d}.nc"
        if not path.is_file():
            return None
        with xr.open_dataset(path, engine="netcdf4") as ds:
            if "reason" not in ds:
                return None
            ids = ds["plot"].values.astype(str)
            wanted = np.isin(ids, rows["plot_id"].astype(str).to_numpy())
            part = ds["reason"].isel(plot=np.flatnonzero(wanted))
            part = part.sel(pest=list(pests), horizon=list(horizons)).transpose("plot", "pest", "horizon")
            values = part.values.astype(str)
        for i, pid in enumerate(ids[wanted]):
            reasons[pid] = {
                (p, h): values[i, j, k] for j, p in enumerate(pests) for k, h in enumerate(horizons)
            }
    return reasons


# ----------------------------------------------------------------------------------------------------------
# Rasters
# ----------------------------------------------------------------------------------------------------------
def _raster_plan(pests, horizons):
    """(file name, kind, pest, horizon or None, band indices into the (2H) band table) of every COG."""
    plan = []
    for j, pest in enumerate(pests):
        for k, h in enumerate(horizons):
            name = f"{pest}.tif" if k == 0 else f"{pest}_{h}.tif"
            plan.append((name, "class_cog", pest, h, j, [k]))
        plan.append(
            (
                f"{pest}_probability.tif",
                "probability_cog",
                pest,
                None,
                j,
                [len(horizons) + k for k in range(len(horizons))],
            )
        )
    return plan


def _colormap():
    cmap = {0: (0, 0, 0, 0), NODATA: (0, 0, 0, 0)}
    for level, colour in LEVEL_COLOURS.items():
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        cmap[level] = (*rgb, 255)
    return cmap


def _block_batches(chunks, max_cells: int) -> list[list[tuple[int, int, int, int]]]:
    """The dask blocks ``(r0, r1, c0, c1)`` in row-major order, grouped into batches of at most
    ``max_cells`` cells (at least one block each)."""
    rows = np.cumsum((0,) + tuple(chunks[0]))
    cols = np.cumsum((0,) + tuple(chunks[1]))
    batches, batch, cells = [], [], 0
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            block = (int(rows[i]), int(rows[i + 1]), int(cols[j]), int(cols[j + 1]))
            size = (block[1] - block[0]) * (block[3] - block[2])
            if batch and cells + size > max_cells:
                batches.append(batch)
                batch, cells = [], 0
            batch.append(block)
            cells += size
    if batch:
        batches.append(batch)
    return batches


def write_rasters(
    run: RiskGridRun,
    folder: Path,
    work: Path,
    meta: dict,
    scheduler="threads",
    progress: Callable[[float], None] = lambda f: None,
    timings: dict | None = None,
) -> list[dict]:
    """Write the class and probability COGs of every pest; return the manifest entries.

    The grid is computed in batches of dask blocks (:data:`MAX_BATCH_CELLS`) into plain tiled GeoTIFFs in
    ``work``, then each is copied with GDAL's COG driver (tiling, DEFLATE, overviews) into ``folder``.
    ``timings`` (optional dict) receives ``grid_s`` (lookup and plain GeoTIFFs) and ``cog_s`` (COG copies).
    """
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    import rasterio
    import rasterio.shutil
    from rasterio.windows import Window

    ds, dem = run.dataset, run.dem
    pests, horizons = [str(p) for p in ds["pest"].values], [str(h) for h in ds["horizon"].values]
    level = ds["class_level"].values.astype(np.uint8)
    percent = np.rint(ds["class_probability"].values.astype(float) * 100.0).clip(0, 100).astype(np.uint8)
    table = np.concatenate([level, percent], axis=2)  # (class, pest, 2H)
    bands = lookup_array(run.keys, run.class_keys, table, np.uint8(NODATA))  # (pest, 2H, y, x)
    plan = _raster_plan(pests, horizons)
    base = {
        "driver": "GTiff",
        "dtype": "uint8",
        "nodata": NODATA,
        "width": dem.width,
        "height": dem.height,
        "crs": dem.crs_wkt,
        "transform": dem.transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "interleave": "band",
        "bigtiff": "IF_SAFER",
    }
    common_tags = {
        "week": meta["week"],
        "issue_date": meta["issue_date"],
        "district": meta["district"],
        "model": "pests.riskmap / pests.outlook",
        "model_version": ds.attrs.get("model_version", ""),
        "parameter_set": ds.attrs.get("parameter_set", ""),
        "level_bounds": ds.attrs.get("level_bounds"),
        "level_names": json.dumps(
            {k: [LEVEL_NAMES[k], LEVEL_NAMES_EN[k]] for k in range(1, 6)}, ensure_ascii=False
        ),
        "source": "orchard export-riskmap",
    }
    entries = []
    with rasterio.Env(GDAL_CACHEMAX=256, GDAL_NUM_THREADS="ALL_CPUS"):
        handles = []
        try:
            for name, kind, pest, h, _, idx in plan:
                dst = rasterio.open(work / name, "w", count=len(idx), **base)
                handles.append(dst)
                tags = dict(common_tags, pest=pest, pest_zh=PEST_NAMES_ZH[pest], pest_en=PEST_LABELS[pest])
                if kind == "class_cog":
                    dst.write_colormap(1, _colormap())
                    dst.set_band_description(1, f"{pest} risk level 1-5, {h}")
                    tags.update(
                        horizon=h,
                        horizon_days=str(int(ds["horizon_days"].sel(horizon=h))),
                        units="level 1-5 (255 = no data)",
                    )
                else:
                    for b, hh in enumerate(horizons, start=1):
                        dst.set_band_description(b, f"{pest} probability {hh} [%]")
                        dst.update_tags(b, units="%", horizon=hh)
                    tags.update(
                        units="% of weather members with at least one event (255 = no data)",
                        probability_definition=ds.attrs.get("probability_definition", ""),
                    )
                dst.update_tags(**{k: str(v) for k, v in tags.items() if v is not None})
            batches = _block_batches(run.keys.chunks, MAX_BATCH_CELLS)

            def compute(batch):
                import dask

                return dask.compute(
                    *[bands[:, :, r0:r1, c0:c1] for r0, r1, c0, c1 in batch], scheduler=scheduler
                )

            # the next batch of blocks is computed while this one is written (two batches in memory at most,
            # whatever the width or size of the district)
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(compute, batches[0])
                for i, batch in enumerate(batches):
                    results = pending.result()
                    if i + 1 < len(batches):
                        pending = pool.submit(compute, batches[i + 1])
                    for (r0, r1, c0, c1), block in zip(batch, results, strict=True):
                        window = Window(c0, r0, c1 - c0, r1 - r0)
                        for dst, (_, _, _, _, j, idx) in zip(handles, plan, strict=True):
                            dst.write(block[j, idx], window=window)
                    del results
                    progress(0.7 * (i + 1) / len(batches))
        finally:
            for dst in handles:
                dst.close()
        timings["grid_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for n, (name, kind, pest, h, _, _) in enumerate(plan):
            resampling = "NEAREST" if kind == "class_cog" else "AVERAGE"
            rasterio.shutil.copy(
                work / name, folder / name, driver="COG", overview_resampling=resampling, **COG_OPTIONS
            )
            (work / name).unlink()
            entry = {"path": name, "kind": kind, "pest": pest}
            if h is not None:
                entry["horizon"] = h
            entries.append(entry)
            progress(0.7 + 0.3 * (n + 1) / len(plan))
        timings["cog_s"] = time.perf_counter() - t0
    return entries


# ----------------------------------------------------------------------------------------------------------
# Vectors
# ----------------------------------------------------------------------------------------------------------
def plots_table(run: RiskGridRun, plots, status: pd.DataFrame, reasons: dict | None = None) -> pd.DataFrame:
    """Plot attributes for the vector exports (without geometry), in column order.

    ``plot_id``, ``name`` (the plot's pseudonymous label, :func:`orchard.privacy.plot_label`: plot names
    point to families), ``district``, ``area_ha``, ``lon``, ``lat`` (a point inside the plot [deg]),
    ``cells`` (grid cells the plot touches), ``issued_on`` (issue date of the weekly run the numbers come
    from), ``max_level_15d``, ``description`` (one line: each pest's 15-day level in Chinese and English)
    and per pest and horizon ``{pest}_{h}_level`` (1-5), ``{pest}_{h}_prob`` (0-1) and ``{pest}_{h}_reason``.

    The levels and probabilities are the plot's own, from the stored run (``status``: its plot_status rows,
    :func:`run_for_week`), exactly as the plot page and ``orchard advice`` show them; the grid only gives
    ``cells``. ``reasons`` maps plot_id -> (pest, horizon) -> the run's reason line (:func:`_stored_reasons`;
    empty text without it). Plots without a data cell on the DEM, or not in the run, are left out. No owner
    is written (extension services read the export).
    """
    pests = [str(p) for p in run.dataset["pest"].values]
    horizons = [str(h) for h in run.dataset["horizon"].values]
    columns = [
        "plot_id",
        "name",
        "district",
        "area_ha",
        "lon",
        "lat",
        "cells",
        "issued_on",
        "max_level_15d",
        "description",
    ]
    columns += [f"{p}_{h}_{what}" for p in pests for h in horizons for what in ("level", "prob", "reason")]
    status = status[status["pests"].notna()] if len(status) else status
    if not len(plots) or not len(status):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    cells = plot_risk(run, plots)
    if cells.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})

    def text(name):
        return plots[name].fillna("").astype(str).to_numpy() if name in plots else ""

    point = plots.geometry.to_crs("EPSG:4326").representative_point()
    label_key = derived_key("plot-label")
    base = pd.DataFrame(
        {
            "plot_id": plots["plot_id"].astype(str).to_numpy(),
            # the pseudonymous label, never the plot's name (names point to families; orchard.privacy)
            "name": [plot_label(pid, label_key) for pid in plots["plot_id"].astype(str)],
            "district": text("district"),
            "area_ha": pd.to_numeric(plots["area_ha"], errors="coerce").round(3).to_numpy()
            if "area_ha" in plots
            else np.nan,
            "lon": point.x.round(6).to_numpy(),
            "lat": point.y.round(6).to_numpy(),
        }
    )
    risk = []
    for row in status.itertuples(index=False):
        values = {"plot_id": str(row.plot_id), "issued_on": str(row.issued_on)}
        for p in pests:
            for h in horizons:
                stored = row.pests[p][h]
                values[f"{p}_{h}_level"] = int(stored["level"])
                values[f"{p}_{h}_prob"] = float(stored["probability"])
                values[f"{p}_{h}_reason"] = (reasons or {}).get(str(row.plot_id), {}).get((p, h), "")
        risk.append(values)
    table = base.merge(cells[["plot_id", "cells"]], on="plot_id", how="inner")
    table = table.merge(pd.DataFrame(risk), on="plot_id", how="inner")
    table = table.sort_values("plot_id", ignore_index=True)
    first = horizons[0]
    table["max_level_15d"] = table[[f"{p}_{first}_level" for p in pests]].max(axis=1).astype(int)
    table["description"] = [
        "; ".join(
            f"{PEST_NAMES_ZH[p]} {PEST_LABELS[p]}: {_level_label(int(row[f'{p}_{first}_level']))}"
            for p in pests
        )
        for _, row in table.iterrows()
    ]
    table["cells"] = table["cells"].astype(int)
    return table[columns]


def write_vectors(table: pd.DataFrame, plots, folder: Path, week_label: str) -> list[dict]:
    """GeoPackage, GeoJSON, KML and CSV of the plot table; return the manifest entries."""
    import geopandas as gpd
    import pyogrio

    geometry = plots.set_index(plots["plot_id"].astype(str)).geometry.to_crs("EPSG:4326")
    gdf = gpd.GeoDataFrame(
        table.copy(), geometry=geometry.reindex(table["plot_id"]).to_numpy(), crs="EPSG:4326"
    )
    layer = "risk_" + week_label.replace("-", "")
    pyogrio.write_dataframe(
        gdf,
        folder / "plots.gpkg",
        layer=layer,
        driver="GPKG",
        geometry_type="Polygon" if not len(gdf) else None,
    )
    pyogrio.write_dataframe(
        gdf,
        folder / "plots.geojson",
        driver="GeoJSON",
        layer_options={"RFC7946": "YES"},
        geometry_type="Polygon" if not len(gdf) else None,
    )
    kml_driver = "LIBKML" if "LIBKML" in pyogrio.list_drivers(write=True) else "KML"
    pyogrio.write_dataframe(
        gdf,
        folder / "plots.kml",
        driver=kml_driver,
        layer=layer,
        geometry_type="Polygon" if not len(gdf) else None,
    )
    _style_kml(folder / "plots.kml", dict(zip(table["plot_id"], table["max_level_15d"], strict=True)))
    csv = table.map(_neutralise) if hasattr(table, "map") else table.applymap(_neutralise)
    csv.to_csv(folder / "plots.csv", index=False, encoding="utf-8-sig")
    return [
        {"path": f"plots.{ext}", "kind": f"plots_{ext}", "pest": None}
        for ext in ("gpkg", "geojson", "kml", "csv")
    ]


def _style_kml(path: Path, levels: dict) -> None:
    """Colour the KML placemarks by their highest 15-day level (Google Earth styles, aabbggrr colours)."""
    import xml.etree.ElementTree as ET

    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    tree = ET.parse(path)
    root = tree.getroot()
    document = root.find(f"{{{ns}}}Document")
    if document is None:
        return
    for level, colour in LEVEL_COLOURS.items():
        rr, gg, bb = colour[1:3], colour[3:5], colour[5:7]
        style = ET.Element(f"{{{ns}}}Style", id=f"level{level}")
        line = ET.SubElement(style, f"{{{ns}}}LineStyle")
        ET.SubElement(line, f"{{{ns}}}color").text = "ff000000"
        ET.SubElement(line, f"{{{ns}}}width").text = "1.5"
        poly = ET.SubElement(style, f"{{{ns}}}PolyStyle")
        ET.SubElement(poly, f"{{{ns}}}color").text = f"b0{bb}{gg}{rr}"
        document.insert(0, style)
    for placemark in root.iter(f"{{{ns}}}Placemark"):
        plot_id = None
        for data in placemark.iter(f"{{{ns}}}SimpleData"):
            if data.get("name") == "plot_id":
                plot_id = data.text
        if plot_id in levels:
            url = ET.Element(f"{{{ns}}}styleUrl")
            url.text = f"#level{int(levels[plot_id])}"
            position = 1 if placemark.find(f"{{{ns}}}name") is not None else 0
            placemark.insert(position, url)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


# ----------------------------------------------------------------------------------------------------------
# Maps
# ----------------------------------------------------------------------------------------------------------
def _read_reduced(path: Path):
    """A class COG at most :data:`MAP_PIXELS` on its longest side (read from its overviews)."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        step = max(1, math.ceil(max(src.width, src.height) / MAP_PIXELS))
        shape = (math.ceil(src.height / step), math.ceil(src.width / step))
        return src.read(1, out_shape=shape, resampling=Resampling.nearest)


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a quarter of ``span_m`` [m]."""
    target = span_m / 4.0
    power = 10 ** math.floor(math.log10(target))
    return max(n * power for n in (1, 2, 5) if n * power <= target)


def render_maps(run: RiskGridRun, folder: Path, plots, meta: dict, font: str) -> list[dict]:
    """PNG and PDF map of every pest (three horizons side by side); return the manifest entries."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    ds, dem = run.dataset, run.dem
    pests, horizons = [str(p) for p in ds["pest"].values], [str(h) for h in ds["horizon"].values]
    left, bottom, right, top = dem.bounds
    outlines = plots.to_crs(dem.crs_wkt).geometry if len(plots) else []
    cmap = ListedColormap([LEVEL_COLOURS[k] for k in range(1, 6)]).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    norm = BoundaryNorm(np.arange(0.5, 6.5), cmap.N)
    aspect = 1.0 / math.cos(math.radians(dem.centre_lat)) if dem.is_geographic else 1.0
    ground_w, ground_h = dem.width * dem.cell_x_m, dem.height * dem.cell_y_m
    panel_w = 4.3
    panel_h = min(max(panel_w * ground_h / ground_w, 2.2), 6.5)
    legend = [
        Patch(facecolor=LEVEL_COLOURS[k], edgecolor="#555555", label=_level_label(k)) for k in range(1, 6)
    ]
    legend.append(Patch(facecolor="white", edgecolor="#555555", label="无数据 no data"))
    issue = pd.Timestamp(meta["issue_date"])
    sources = (
        f"数据来源 Sources: 气象 weather {meta['weather_text']}; 高程 DEM {Path(dem.path).name} "
        f"({dem.width}×{dem.height} cells, {dem.cell_x_m:.0f} m); 模型 models pests.outlook "
        f"{ds.attrs.get('model_version', '')}, parameter sets {ds.attrs.get('parameter_set', '')}; "
        f"weather classes: elevation bins of {run.scheme.elevation_bin_m:g} m"
        + (", slope/aspect corrected" if run.scheme.slope_bin_deg else "")
        + f"; lapse rate {ds.attrs.get('lapse_rate_c_per_100m', 0.6):g} °C/100 m. "
        "Horizons start the day after the issue date. No basemap tiles."
    )
    entries = []
    rc = {"font.family": [font, "DejaVu Sans"], "axes.unicode_minus": False, "pdf.fonttype": 3}
    with plt.rc_context(rc):
        for pest in pests:
            fig = plt.figure(figsize=(3 * panel_w + 0.6, panel_h + 2.3))
            title = (
                f"{PEST_NAMES_ZH[pest]} {PEST_LABELS[pest]} · 风险等级 risk level · {meta['district']} · "
                f"{meta['week']}（发布 issued {issue:%Y-%m-%d}）"
            )
            fig.suptitle(title, fontsize=12, y=0.98)
            axes = fig.subplots(1, len(horizons))
            axes = np.atleast_1d(axes)
            for k, (ax, h) in enumerate(zip(axes, horizons, strict=True)):
                name = f"{pest}.tif" if k == 0 else f"{pest}_{h}.tif"
                data = _read_reduced(folder / name).astype(float)
                data[(data < 1) | (data > 5)] = np.nan
                ax.imshow(
                    np.ma.masked_invalid(data),
                    cmap=cmap,
                    norm=norm,
                    extent=(left, right, bottom, top),
                    interpolation="nearest",
                    aspect=aspect,
                )
                for geom in outlines:
                    for poly in getattr(geom, "geoms", [geom]):
                        x, y = poly.exterior.xy
                        ax.plot(x, y, color="#222222", linewidth=0.6)
                days = int(ds["horizon_days"].sel(horizon=h))
                start, end = issue + pd.Timedelta(days=1), issue + pd.Timedelta(days=days)
                zh, en = HORIZON_NAMES.get(h, (h, h))
                ax.set_title(f"{zh} {en}: {start:%m-%d} – {end:%m-%d}", fontsize=10)
                ax.set_xlim(left, right)
                ax.set_ylim(bottom, top)
                ax.set_xticks([])
                ax.set_yticks([])
                if k == 0:
                    _north_arrow(ax)
                    _scale_bar(ax, dem, left, right, bottom, top)
            fig.legend(
                handles=legend,
                loc="lower center",
                ncol=6,
                fontsize=9,
                frameon=False,
                title="风险等级 Risk level (pests.outlook level.bounds "
                + ds.attrs.get("level_bounds", "")
                + ")",
                title_fontsize=9,
                bbox_to_anchor=(0.5, 0.07),
            )
            fig.text(
                0.01,
                0.005,
                textwrap.fill(sources, width=int(fig.get_figwidth() * 21)),
                fontsize=6.5,
                va="bottom",
                ha="left",
                color="#333333",
            )
            fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.2, wspace=0.05)
            labels = [_level_label(k) for k in range(1, 6)]
            metadata = {
                "Title": title,
                "Description": "; ".join(labels),
                "Source": sources,
                "Software": f"citrus orchard toolkit, exports.riskmap {RISKMAP_EXPORT_VERSION}",
            }
            fig.savefig(folder / f"{pest}.png", dpi=130, metadata=metadata)
            fig.savefig(
                folder / f"{pest}.pdf",
                metadata={"Title": title, "Subject": "; ".join(labels), "Creator": metadata["Software"]},
            )
            plt.close(fig)
            entries += [
                {"path": f"{pest}.png", "kind": "map_png", "pest": pest},
                {"path": f"{pest}.pdf", "kind": "map_pdf", "pest": pest},
            ]
    return entries


def _north_arrow(ax) -> None:
    ax.annotate(
        "",
        xy=(0.93, 0.95),
        xytext=(0.93, 0.80),
        xycoords="axes fraction",
        arrowprops={"facecolor": "black", "edgecolor": "white", "width": 3.5, "headwidth": 10},
    )
    ax.text(
        0.93,
        0.74,
        "N 北",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
    )


def _scale_bar(ax, dem, left, right, bottom, top) -> None:
    span_m = (right - left) * (dem.cell_x_m / dem.transform.a)
    length_m = _nice_length(span_m)
    length_units = length_m / (dem.cell_x_m / dem.transform.a)
    x0 = left + 0.05 * (right - left)
    y0 = bottom + 0.06 * (top - bottom)
    ax.plot([x0, x0 + length_units], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(
        x0 + length_units / 2,
        y0 + 0.02 * (top - bottom),
        label,
        ha="center",
        va="bottom",
        fontsize=8,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
    )


# ----------------------------------------------------------------------------------------------------------
# The export
# ----------------------------------------------------------------------------------------------------------
def _prepare_folder(out_dir: Path, final: Path, overwrite: bool) -> Path:
    """Check the output folder and make the temporary sibling folder the export is built in."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: is a file, not a folder; give --out a folder.")
    if final.exists():
        if not final.is_dir():
            raise InputError(f"{final}: exists and is not a folder; remove it or choose another --out.")
        if any(final.iterdir()) and not overwrite:
            raise InputError(
                f"{final}: the export folder already exists and holds files; pass --overwrite to "
                "replace it, or choose another --out folder."
            )
    tmp = out_dir / f".{final.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        probe = tmp / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(
            f"{out_dir}: cannot write there ({exc.strerror or exc}); choose a folder you may write "
            "to with --out."
        ) from None
    return tmp


def _move_into_place(tmp: Path, final: Path, overwrite: bool) -> None:
    """Rename the finished temporary folder to its final name (replacing an old export if allowed)."""
    old = None
    if final.exists():
        if any(final.iterdir()) and not overwrite:  # appeared while we worked
            raise InputError(
                f"{final}: the export folder appeared while exporting; pass --overwrite to replace it."
            )
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_riskmap(
    week: str,
    dem_path,
    out_dir,
    *,
    engine=None,
    district: str | None = None,
    pests=None,
    slope_correction: bool = False,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> Path:
    """Export the weekly risk maps of a district: COGs, plot vectors, PNG/PDF maps and a manifest.

    Parameters
    ----------
    week : str
        ISO week ``YYYY-Www``; the issue date is its Monday (:func:`pests.riskmap.iso_week`) and must lie
        inside the stored daily weather record.
    dem_path : path
        DEM of the district (GeoTIFF with a CRS; any size: the grid is processed in dask blocks).
    out_dir : path
        Folder in which the export folder ``<district-slug>_<YYYY-Www>`` is made.
    engine : sqlalchemy.Engine, optional
        The database (default: ORCHARD_HOME / ORCHARD_DB_URL).
    district : str, optional
        Only this district's plots (the ``district`` column) in the vector exports; also names the folder
        (default: the DEM file's name).
    pests : list of str, optional
        Default all four.
    slope_correction : bool
        Weather classes also by slope and aspect, corrected with the growth module's ``slope_weather``.
    scheduler : str, optional
        ``tcp://host:port`` of a ``dask.distributed`` scheduler; default dask's local threads.
    overwrite : bool
        Replace an existing export folder of the same district and week.
    progress : callable, optional
        ``progress(step, fraction)`` with fraction 0-1 of the whole export.

    Returns
    -------
    pathlib.Path
        The export folder.
    """
    from orchard import config, store

    started = time.perf_counter()
    progress = progress or (lambda step, fraction: None)
    timings = {}
    week_label, monday = iso_week(week)
    pest_list = check_pests(pests)
    dem = dem_grid(dem_path)
    out_dir = Path(out_dir)
    label = district if district else f"DEM {Path(dem.path).stem}"
    final = out_dir / f"{district_slug(district or Path(dem.path).stem)}_{week_label}"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: is a file, not a folder; give --out a folder.")
    if final.exists() and final.is_dir() and any(final.iterdir()) and not overwrite:
        raise InputError(
            f"{final}: the export folder already exists and holds files; pass --overwrite to "
            "replace it, or choose another --out folder."
        )
    engine = engine if engine is not None else store.init_db(config.database_url())
    progress("weather and plots from the database", 0.0)
    t0 = time.perf_counter()
    weather, stations, bundle, plots = _database_inputs(engine, dem, district, monday, week_label)
    weekly, status = None, pd.DataFrame(columns=["plot_id", "issued_on", "pests", "results_chunk"])
    if len(plots):  # the plot table shows the stored run's numbers: no run, no export
        weekly, status = run_for_week(engine, week_label, plots["plot_id"].astype(str).tolist())
        if status.empty:
            raise InputError(
                f"the weekly run {weekly['run_id']} of {weekly['issued_on']} covers none of the "
                f"{len(plots)} plots on the DEM; run `orchard run-week --date {monday:%Y-%m-%d}` for them "
                "first, then export again."
            )
    timings["database_s"] = time.perf_counter() - t0
    font = cjk_font()  # before any work: a machine without a CJK font fails at once
    slope_weather = None
    if slope_correction:
        # The orchestrator's step: the growth module's slope correction is handed to the pest grid as a
        # function (modules do not import each other; exports/ is the layer that may combine them).
        from growth.slope import slope_weather
    tmp = _prepare_folder(out_dir, final, overwrite)
    try:
        work = tmp / ".work"
        work.mkdir()
        with dask_scheduler(scheduler) as sched:
            run = risk_grid_run(
                dem.path,
                weather,
                monday,
                pests=pest_list,
                params=bundle,
                lapse_rate_c_per_100m=float(bundle["weather"]["elevation.lapse_rate"]),
                slope_correction=slope_correction,
                slope_weather=slope_weather,
                scheduler=sched,
                progress=lambda step, f: progress(step, 0.05 + 0.1 * f),
            )
            timings.update(run.timings)
            meta = _metadata(run, stations, bundle, label, week_label, monday, dem, plots, scheduler)
            t0 = time.perf_counter()
            files = write_rasters(
                run,
                tmp,
                work,
                meta,
                sched,
                progress=lambda f: progress("writing the GeoTIFFs", 0.15 + 0.65 * f),
                timings=timings,
            )
            timings["rasters_s"] = time.perf_counter() - t0
        progress("plots: GeoPackage, GeoJSON, KML, CSV", 0.8)
        t0 = time.perf_counter()
        horizons = [str(h) for h in run.dataset["horizon"].values]
        reasons = _stored_reasons(weekly, status, pest_list, horizons) if weekly is not None else None
        table = plots_table(run, plots, status, reasons)
        files += write_vectors(table, plots, tmp, week_label)
        timings["vectors_s"] = time.perf_counter() - t0
        progress("maps: PNG and PDF", 0.85)
        t0 = time.perf_counter()
        files += render_maps(run, tmp, plots[plots["plot_id"].astype(str).isin(table["plot_id"])], meta, font)
        timings["maps_s"] = time.perf_counter() - t0
        shutil.rmtree(work)
        timings["total_s"] = time.perf_counter() - started
        manifest = dict(
            meta,
            files=files,
            timings_s={k: round(v, 2) for k, v in timings.items()},
            created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        manifest["plots"]["count"] = len(table)
        manifest["plots"]["plot_ids"] = table["plot_id"].tolist()
        used = [n for n in manifest["parameter_bundle"]["used"] if n != "riskmap"]
        manifest["plots"].update(_run_metadata(weekly, status, plots, bundle, used, reasons is not None))
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        _move_into_place(tmp, final, overwrite)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(
            f"{out_dir}: writing the export failed ({exc.strerror or exc}); free disk space or "
            "choose another --out folder (nothing was left behind)."
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress("done", 1.0)
    return final


def weekly_risk_grid(week: str, dem_path, *, engine=None, pests=None, slope_correction: bool = False):
    """The lazy risk grid of a DEM for an ISO week, from the database's station weather (for the app's map).

    Same inputs and rules as :func:`export_riskmap` (issue date = the week's Monday, inside the weather
    record; stations within 100 km; the parameter sets in force, :func:`orchard.bundle.resolve`, with their
    lapse rate; no stored run needed: there is no plot table) but nothing is written: returns the dataset of
    :func:`pests.riskmap.risk_grid` (dims pest, horizon, y, x; ``probability``, ``level``) with ``week`` and
    ``issue_date`` in its attrs. Compute it (``.compute()``) or a part of it (``.isel(...)``) to show it.
    """
    from orchard import config, store

    week_label, monday = iso_week(week)
    dem = dem_grid(dem_path)
    engine = engine if engine is not None else store.init_db(config.database_url())
    weather, _, bundle, _ = _database_inputs(engine, dem, None, monday, week_label)
    slope_weather = None
    if slope_correction:
        from growth.slope import slope_weather  # the orchestrator's step, as in export_riskmap
    run = risk_grid_run(
        dem.path,
        weather,
        monday,
        pests=check_pests(pests),
        params=bundle,
        lapse_rate_c_per_100m=float(bundle["weather"]["elevation.lapse_rate"]),
        slope_correction=slope_correction,
        slope_weather=slope_weather,
    )
    run.dataset.attrs.update(week=week_label, issue_date=f"{monday:%Y-%m-%d}")
    return run.dataset


def _grid_set_names(ds) -> list[str]:
    """The bundle's sets the grid read: the pest sets of its outlook (canker brings leaf_miner), host,
    outlook and weather."""
    names = [item.split("@", 1)[0] for item in ds.attrs.get("parameter_set", "").split("; ") if "@" in item]
    return list(dict.fromkeys(names + list(GRID_SETS)))


def _metadata(run, stations, bundle, label, week_label, monday, dem, plots, scheduler) -> dict:
    ds = run.dataset
    parameter_sets = dict(
        item.split("@", 1) for item in ds.attrs.get("parameter_set", "").split("; ") if "@" in item
    )
    parameter_sets = {k: f"{k}@{v}" for k, v in parameter_sets.items()}
    parameter_sets["riskmap"] = ds.attrs.get("grid_parameter_set", "")
    core = bundle["weather"]
    parameter_sets["weather"] = f"{core.name}@{core.hash}"
    versions = bundle.versions()
    grid_hash = parameter_sets["riskmap"].split("@", 1)[-1]
    station_list = [
        {
            "station_id": str(r["station_id"]),
            "name": str(r.get("name", "")),
            "source": str(r.get("source", "")),
            "distance_km": round(float(r["distance_km"]), 1),
        }
        for _, r in stations.iterrows()
    ]
    weather_text = ", ".join(f"{s['name'] or s['station_id']}" for s in station_list)
    return {
        "district": label,
        "district_slug": district_slug(label if not label.startswith("DEM ") else Path(dem.path).stem),
        "week": week_label,
        "issue_date": f"{monday:%Y-%m-%d}",
        "issue_date_rule": "Monday of the ISO 8601 week; horizons start the day after",
        "horizons": {
            str(h): int(d) for h, d in zip(ds["horizon"].values, ds["horizon_days"].values, strict=True)
        },
        "pests": [str(p) for p in ds["pest"].values],
        "crs": {"wkt": dem.crs_wkt, "epsg": dem.epsg},
        "bounds": list(dem.bounds),
        "lonlat_bounds": list(dem.lonlat_bounds),
        "shape": [dem.height, dem.width],
        "resolution": [dem.transform.a, -dem.transform.e],
        "dem": Path(dem.path).name,
        "models": {
            "pests.outlook": ds.attrs.get("model_version", ""),
            "exports.riskmap": RISKMAP_EXPORT_VERSION,
        },
        "parameter_sets": parameter_sets,
        "parameter_bundle": {
            "hash": bundle.hash,
            "district": bundle.district,
            "rule": "the sets in force (orchard.bundle.resolve): the latest version an agronomist stored, "
            "else the shipped file (version 0); the grid's class bins (riskmap) are always shipped",
            "used": {name: versions[name] for name in _grid_set_names(ds) if name in versions}
            | {"riskmap": {"version": 0, "hash": grid_hash}},
            "versions": versions,
        },
        "weather_sources": {
            "stations": station_list,
            "observed": ds.attrs.get("observed_weather_source", ""),
            "members_15d": json.loads(ds.attrs.get("member_sources_15d", "[]")),
            "members_1m_3m": json.loads(ds.attrs.get("member_sources_1m_3m", "[]")),
            "forecast": ds.attrs.get("forecast_source", ""),
            "host_state": ds.attrs.get("host_state_source", ""),
        },
        "weather_text": weather_text,
        "grid": {
            "n_classes": int(ds.attrs["n_classes"]),
            "elevation_bin_m": run.scheme.elevation_bin_m,
            "slope_correction": bool(run.scheme.slope_bin_deg),
            "slope_bin_deg": run.scheme.slope_bin_deg,
            "aspect_sectors": run.scheme.n_aspect,
            "stations": list(run.scheme.station_ids),
            "lapse_rate_c_per_100m": ds.attrs.get("lapse_rate_c_per_100m"),
            "classes": ds.attrs.get("classes", ""),
        },
        "levels": {
            str(k): {"zh": LEVEL_NAMES[k], "en": LEVEL_NAMES_EN[k], "colour": LEVEL_COLOURS[k]}
            for k in range(1, 6)
        },
        "level_bounds": json.loads(ds.attrs.get("level_bounds", "[]")),
        "plots": {
            "rule": "each plot's level, probability and reason per pest and horizon are those the stored "
            "weekly run found on the plot's own slope-corrected weather (its plot_status row, as the plot "
            "page and orchard advice show them), not the grid's; the run is the latest issued on or before "
            f"the week's Sunday and at most {RUN_MAX_AGE_DAYS} days before its Monday",
            "count": len(plots),
        },
        "scheduler": scheduler if isinstance(scheduler, str) else "local threads",
        "notes": ds.attrs.get("notes", ""),
    }


def _run_metadata(weekly, status, plots, bundle, names, reasons_found: bool) -> dict:
    """The manifest's account of the run behind the plot table: which run, its versions of the sets the grid
    used (``names``) and those that differ from the grid's, and the plots on the DEM it does not cover."""
    if weekly is None:
        return {"run": None}
    run_bundle = weekly.get("bundle") or {}
    versions = bundle.versions()
    differ = [n for n in names if n in run_bundle and run_bundle[n].get("hash") != versions[n]["hash"]]
    on_dem = set(plots["plot_id"].astype(str))
    in_run = set(status["plot_id"].astype(str))
    return {
        "run": {
            "run_id": weekly["run_id"],
            "issued_on": str(weekly["issued_on"]),
            "parameter_sets": {n: run_bundle[n] for n in names if n in run_bundle},
            "parameter_sets_differ_from_grid": differ,
            "reasons": "stored pests output" if reasons_found else "missing (results folder gone)",
        },
        "not_in_run": sorted(on_dem - in_run),
    }
