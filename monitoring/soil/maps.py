"""Maps of soil moisture, EC and pH from a few to a few dozen sensors.

Methods (science note soil.md §4): inverse distance weighting (power 2, the default; exact at the sensors),
regression on terrain plus IDW of the residuals ("RK-lite", needs a DEM), and ordinary kriging with PyKrige
when there are at least ``KRIGING_MIN_SENSORS`` sensors (a fitted variogram needs many points). Every map
carries its leave-one-out cross-validation error (RMSE, MAE, mean error, n) and a low-confidence mask: cells
farther from the nearest sensor than 1.5 × the median nearest-neighbour spacing of the sensors.
Maps are computed on a grid in the local UTM zone and written as GeoTIFF (band 1 value, band 2 mask).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError

__all__ = [
    "KRIGING_MIN_SENSORS",
    "METHODS",
    "idw",
    "loocv",
    "nearest_distance",
    "low_confidence_mask",
    "regression_idw",
    "ordinary_kriging",
    "utm_crs",
    "make_grid",
    "interpolate",
    "write_geotiff",
    "plot_summaries",
]

KRIGING_MIN_SENSORS = 30
METHODS = ("idw", "regression", "kriging")


def idw(x, y, z, gx, gy, power=2.0, neighbours=12):
    """Inverse-distance-weighted values at points ``(gx, gy)`` [unit of z].

    Parameters
    ----------
    x, y, z : array-like, shape ``(n,)``
        Sensor coordinates [m] and values.
    gx, gy : array-like, any shape
        Target coordinates [m].
    power : float
        Distance exponent (2 is the usual default).
    neighbours : int
        Use only the nearest this many sensors.

    Returns
    -------
    numpy.ndarray, shape of ``gx``; exact (= z) at a sensor location.
    """
    x, y, z = (np.asarray(v, float) for v in (x, y, z))
    gx, gy = np.asarray(gx, float), np.asarray(gy, float)
    px, py = gx.ravel(), gy.ravel()
    d = np.hypot(px[:, None] - x[None, :], py[:, None] - y[None, :])
    k = min(neighbours, len(x))
    if k < len(x):
        far = np.argpartition(d, k - 1, axis=1)[:, k:]
        np.put_along_axis(d, far, np.inf, axis=1)
    exact = d < 1e-9
    with np.errstate(divide="ignore"):
        w = 1.0 / d**power
    w[exact] = 0.0
    values = (w @ z) / w.sum(axis=1)
    hit = exact.any(axis=1)
    values[hit] = z[np.argmax(exact[hit], axis=1)]
    return values.reshape(gx.shape)


def nearest_distance(x, y, gx, gy):
    """Distance from each target point to the nearest sensor [m]."""
    gx, gy = np.asarray(gx, float), np.asarray(gy, float)
    d = np.hypot(gx.ravel()[:, None] - np.asarray(x)[None, :], gy.ravel()[:, None] - np.asarray(y)[None, :])
    return d.min(axis=1).reshape(gx.shape)


def low_confidence_mask(x, y, gx, gy, factor=1.5):
    """True where a cell is farther from any sensor than ``factor`` × the median nearest-neighbour spacing."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(d, np.inf)
    spacing = float(np.median(d.min(axis=1))) if len(x) > 1 else 0.0
    return nearest_distance(x, y, gx, gy) > factor * spacing


def loocv(predict, x, y, z) -> dict[str, float]:
    """Leave-one-out cross-validation of ``predict(x, y, z, gx, gy) -> values``: RMSE, MAE, mean error, n."""
    x, y, z = (np.asarray(v, float) for v in (x, y, z))
    errors = []
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        errors.append(float(predict(x[keep], y[keep], z[keep], x[i : i + 1], y[i : i + 1])[0]) - z[i])
    e = np.asarray(errors)
    return {
        "rmse": float(np.sqrt(np.mean(e**2))),
        "mae": float(np.mean(np.abs(e))),
        "mean_error": float(e.mean()),
        "n": int(len(z)),
    }


def regression_idw(x, y, z, covariates, grid_covariates, gx, gy, power=2.0):
    """Linear regression of z on covariates (e.g. elevation, slope) plus IDW of the residuals.

    ``covariates`` has shape ``(n, k)`` at the sensors; ``grid_covariates`` ``(..., k)`` at the targets.
    """
    from sklearn.linear_model import LinearRegression

    a = np.asarray(covariates, float).reshape(len(z), -1)
    model = LinearRegression().fit(a, z)
    residual = np.asarray(z, float) - model.predict(a)
    g = np.asarray(grid_covariates, float)
    trend = model.predict(g.reshape(-1, a.shape[1])).reshape(np.shape(gx))
    return trend + idw(x, y, residual, gx, gy, power)


def ordinary_kriging(x, y, z, gx, gy, variogram_model="spherical"):
    """Ordinary kriging (PyKrige) at points; returns (values, kriging standard deviation)."""
    from pykrige.ok import OrdinaryKriging

    ok = OrdinaryKriging(
        np.asarray(x, float),
        np.asarray(y, float),
        np.asarray(z, float),
        variogram_model=variogram_model,
        nlags=6,
    )
    values, variance = ok.execute("points", np.ravel(gx).astype(float), np.ravel(gy).astype(float))
    return (
        np.asarray(values).reshape(np.shape(gx)),
        np.sqrt(np.maximum(np.asarray(variance), 0)).reshape(np.shape(gx)),
    )


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone of a point (WGS84)."""
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def make_grid(bounds_lonlat, cell_m=10.0, margin_m=100.0):
    """A north-up grid in the local UTM zone covering lon/lat bounds: (crs, transform, gx, gy)."""
    from pyproj import Transformer
    from rasterio.transform import from_origin

    west, south, east, north = bounds_lonlat
    crs = utm_crs((west + east) / 2, (south + north) / 2)
    to_utm = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = to_utm.transform([west, east, west, east], [south, south, north, north])
    x0, x1 = min(xs) - margin_m, max(xs) + margin_m
    y0, y1 = min(ys) - margin_m, max(ys) + margin_m
    nx, ny = int(np.ceil((x1 - x0) / cell_m)), int(np.ceil((y1 - y0) / cell_m))
    transform = from_origin(x0, y1, cell_m, cell_m)
    gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * cell_m, y1 - (np.arange(ny) + 0.5) * cell_m)
    return crs, transform, gx, gy


def _dem_on_grid(dem_path, crs, transform, shape):
    import rasterio
    from rasterio.warp import Resampling, reproject

    out = np.full(shape, np.nan)
    with rasterio.open(dem_path) as src:
        reproject(
            rasterio.band(src, 1),
            out,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
    return out


def interpolate(
    lon,
    lat,
    values,
    *,
    variable: str,
    method: str = "idw",
    bounds_lonlat=None,
    cell_m=10.0,
    dem_path=None,
    power=2.0,
) -> xr.Dataset:
    """Map sensor values over the orchard.

    Parameters
    ----------
    lon, lat : array-like
        Sensor positions [deg, WGS84].
    values : array-like
        One value per sensor (e.g. the day's mean of QC-passed readings) [unit of the variable].
    variable : str
        Name of the mapped variable (``moisture_m3_m3``, ``ec_ds_m``, ``ph``).
    method : {"idw", "regression", "kriging"}
        ``regression`` needs ``dem_path``; ``kriging`` needs at least :data:`KRIGING_MIN_SENSORS` sensors.
    bounds_lonlat : tuple, optional
        (west, south, east, north) to cover; default the sensors' bounds.

    Returns
    -------
    xarray.Dataset with ``value(y, x)``, ``low_confidence(y, x)`` (1 = far from sensors), ``distance_m`` and
    attrs ``crs``, ``transform`` (GDAL order), ``method``, ``loocv_rmse`` / ``loocv_mae`` /
    ``loocv_mean_error``
    / ``n_sensors``.
    """
    from pyproj import Transformer

    lon, lat, z = (np.asarray(v, float) for v in (lon, lat, values))
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(z)
    lon, lat, z = lon[ok], lat[ok], z[ok]
    if method not in METHODS:
        raise InputError(f"unknown map method '{method}'; use one of {', '.join(METHODS)}.")
    if len(z) < 3:
        raise InputError(
            f"only {len(z)} sensors have valid {variable} readings on that day; a map needs at least 3 "
            "(show the sensors as points instead)."
        )
    if method == "kriging" and len(z) < KRIGING_MIN_SENSORS:
        raise InputError(
            f"ordinary kriging needs at least {KRIGING_MIN_SENSORS} sensors to fit a variogram, there "
            f"are {len(z)}; use --method idw or regression."
        )
    if method == "regression" and dem_path is None:
        raise InputError("the regression method needs a DEM for the terrain covariates; pass --dem FILE.")
    bounds = bounds_lonlat or (lon.min(), lat.min(), lon.max(), lat.max())
    crs, transform, gx, gy = make_grid(bounds, cell_m)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    x, y = np.asarray(x), np.asarray(y)
    std = None
    if method == "idw":

        def predict(px, py, pz, qx, qy):
            return idw(px, py, pz, qx, qy, power)

        grid = predict(x, y, z, gx, gy)
    elif method == "regression":
        dem = _dem_on_grid(dem_path, crs, transform, gx.shape)
        cell = abs(transform.a)
        dzdy, dzdx = np.gradient(dem, cell)
        slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
        cov_grid = np.stack([dem, slope], axis=-1)
        rows, cols = ((transform.f - y) / cell).astype(int), ((x - transform.c) / cell).astype(int)
        cov_pts = cov_grid[np.clip(rows, 0, gx.shape[0] - 1), np.clip(cols, 0, gx.shape[1] - 1)]

        def predict(px, py, pz, qx, qy):
            keep = np.isin(px, x) & np.isin(py, y)
            index = [int(np.flatnonzero((x == a) & (y == b))[0]) for a, b in zip(px, py, strict=False)]
            del keep
            r = ((transform.f - np.asarray(qy)) / cell).astype(int)
            c = ((np.asarray(qx) - transform.c) / cell).astype(int)
            q = cov_grid[np.clip(r, 0, gx.shape[0] - 1), np.clip(c, 0, gx.shape[1] - 1)]
            return regression_idw(px, py, pz, cov_pts[index], q, qx, qy, power)

        grid = np.where(np.isfinite(dem), predict(x, y, z, gx, gy), np.nan)
    else:

        def predict(px, py, pz, qx, qy):
            return ordinary_kriging(px, py, pz, qx, qy)[0]

        grid, std = ordinary_kriging(x, y, z, gx, gy)
    cv = loocv(predict, x, y, z)
    distance = nearest_distance(x, y, gx, gy)
    low = low_confidence_mask(x, y, gx, gy)
    coords = {"y": gy[:, 0], "x": gx[0]}
    ds = xr.Dataset(
        {
            "value": (("y", "x"), grid, {"long_name": f"{variable} ({method})"}),
            "low_confidence": (
                ("y", "x"),
                low.astype(np.uint8),
                {
                    "units": "1",
                    "long_name": "1 where the nearest sensor is farther than 1.5x the median sensor spacing",
                },
            ),
            "distance_m": (
                ("y", "x"),
                distance,
                {"units": "m", "long_name": "Distance to the nearest sensor"},
            ),
        },
        coords=coords,
    )
    if std is not None:
        ds["kriging_sd"] = (("y", "x"), std, {"long_name": "Kriging standard deviation"})
    ds.attrs.update(
        variable=variable,
        method=method,
        crs=crs,
        transform=list(transform)[:6],
        loocv_rmse=cv["rmse"],
        loocv_mae=cv["mae"],
        loocv_mean_error=cv["mean_error"],
        n_sensors=cv["n"],
        sources="IDW / regression + IDW residuals / PyKrige ordinary kriging; science note soil.md section 4",
    )
    return ds


def write_geotiff(ds: xr.Dataset, path) -> Path:
    """Write ``value`` (band 1, float32, NaN nodata) and ``low_confidence`` (band 2) as a GeoTIFF."""
    import rasterio
    from rasterio.transform import Affine

    path = Path(path)
    transform = Affine(*ds.attrs["transform"])
    tmp = path.with_name(f".{path.name}.part")
    profile = {
        "driver": "GTiff",
        "height": ds.sizes["y"],
        "width": ds.sizes["x"],
        "count": 2,
        "dtype": "float32",
        "crs": ds.attrs["crs"],
        "transform": transform,
        "nodata": np.nan,
        "compress": "deflate",
    }
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(ds["value"].values.astype("float32"), 1)
            dst.write(ds["low_confidence"].values.astype("float32"), 2)
            dst.set_band_description(1, str(ds.attrs["variable"]))
            dst.set_band_description(2, "low_confidence")
            dst.update_tags(
                method=ds.attrs["method"],
                loocv_rmse=str(ds.attrs["loocv_rmse"]),
                n_sensors=str(ds.attrs["n_sensors"]),
            )
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def plot_summaries(ds: xr.Dataset, plots_frame) -> pd.DataFrame:
    """Per plot: mean, min, max of the map inside the polygon and the fraction of low-confidence cells.

    ``plots_frame`` is a GeoDataFrame (EPSG:4326) indexed by plot_id.
    """
    from rasterio.features import geometry_mask
    from rasterio.transform import Affine

    transform = Affine(*ds.attrs["transform"])
    shape = (ds.sizes["y"], ds.sizes["x"])
    frame = plots_frame.to_crs(ds.attrs["crs"])
    value, low = ds["value"].values, ds["low_confidence"].values
    rows = []
    for plot_id, geom in zip(frame.index, frame.geometry, strict=False):
        inside = ~geometry_mask([geom], shape, transform, all_touched=True)
        v = value[inside]
        rows.append(
            {
                "plot_id": str(plot_id),
                "mean": float(np.nanmean(v)) if np.isfinite(v).any() else np.nan,
                "min": float(np.nanmin(v)) if np.isfinite(v).any() else np.nan,
                "max": float(np.nanmax(v)) if np.isfinite(v).any() else np.nan,
                "low_confidence_fraction": float(low[inside].mean()) if inside.any() else np.nan,
                "cells": int(inside.sum()),
            }
        )
    return pd.DataFrame(rows)
