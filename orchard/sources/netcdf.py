"""Weather from NetCDF: reanalysis grids (ERA5 / ERA5-Land names by default) or station files.

:func:`read_netcdf` selects stations (nearest grid cell to each point, or a ``station`` dimension), maps the
file's variables to :mod:`orchard.weather` names, converts units from the variables' ``units`` attrs
(K -> °C, m -> mm, J m-2 -> W m-2 or MJ m-2, wind components -> speed at 2 m) and returns a weather dataset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from orchard import weather as w
from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError, check_input_file

#: Default mapping for hourly files, ERA5-Land short names (a pair means wind components u, v).
ERA5_LAND_HOURLY: dict[str, str | tuple[str, str]] = {
    "t_c": "t2m", "dewpoint_c": "d2m", "precip_mm": "tp", "wind_ms": ("u10", "v10"), "ghi_w_m2": "ssrd",
}
#: Default mapping for daily files (ERA5-Land daily statistics; mx2t/mn2t for the extremes).
ERA5_LAND_DAILY: dict[str, str | tuple[str, str]] = {
    "tmean_c": "t2m", "tmax_c": "mx2t", "tmin_c": "mn2t", "precip_mm": "tp", "wind_ms": ("u10", "v10"),
    "rs_mj_m2": "ssrd",
}
_ACCUMULATED = ("precip_mm", "ghi_w_m2", "rs_mj_m2")
_TIME_NAMES = ("time", "valid_time")
_LAT_NAMES = ("latitude", "lat")
_LON_NAMES = ("longitude", "lon")


def _norm_unit(unit) -> str:
    return str(unit or "").strip().lower().replace("**", "").replace("^", "").replace(" ", "")


def _first(names, container):
    for n in names:
        if n in container:
            return n
    return None


def _convert(name: str, da: xr.DataArray, file_name: str, resolution: str, step_h: float,
             path) -> xr.DataArray:
    """Convert to the units of :mod:`orchard.weather` from the ``units`` attr (ERA5 defaults if absent)."""
    unit = _norm_unit(da.attrs.get("units"))
    values = da.astype(float)
    if name in ("t_c", "dewpoint_c", "tmin_c", "tmax_c", "tmean_c"):
        if unit in ("k", "kelvin") or (not unit and float(values.median()) > 150.0):
            return values - 273.15
        if unit in ("degf", "°f", "f", "fahrenheit"):
            return (values - 32.0) * 5.0 / 9.0
        if unit in ("", "degc", "°c", "c", "celsius", "deg_c", "degreec", "degreesc", "degrees_celsius"):
            return values
    elif name == "precip_mm":
        if unit == "m" or (not unit and file_name == "tp"):
            return values * 1000.0
        if unit in ("", "mm", "kgm-2", "kg/m2", "mm/d", "mm/h", "mmday-1", "mmh-1"):
            return values
    elif name in ("ghi_w_m2", "rs_mj_m2"):
        seconds = step_h * 3600.0
        if unit in ("jm-2", "j/m2") or (not unit and file_name == "ssrd"):
            return values / seconds if name == "ghi_w_m2" else values / 1e6
        if unit in ("wm-2", "w/m2"):
            return values if name == "ghi_w_m2" else values * 0.0864
        if unit in ("mjm-2", "mj/m2", "mjm-2d-1"):
            return values * 1e6 / seconds if name == "ghi_w_m2" else values
    elif name == "wind_ms":
        if unit in ("", "ms-1", "m/s", "meterspersecond"):
            return values
        if unit in ("km/h", "kmh-1"):
            return values / 3.6
    elif name in ("rh_pct", "rh_mean_pct", "rh_min_pct", "rh_max_pct"):
        if unit in ("", "%", "percent", "pct"):
            return values
        if unit in ("1", "fraction", "0-1"):
            return values * 100.0
    elif name == "sunshine_h":
        if unit in ("", "h", "hours"):
            return values
        if unit == "s":
            return values / 3600.0
    else:
        return values
    raise InputError(f"{path}: variable '{file_name}' (for {name}) has units '{da.attrs.get('units')}', "
                     "which cannot be converted; fix the units attribute or convert the variable first.")


def read_netcdf(
    path,
    *,
    variables: Mapping[str, str | tuple[str, str]] | None = None,
    points: Mapping[str, tuple[float, float]] | pd.DataFrame | None = None,
    station_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    elevation_m: float | Sequence[float] | None = None,
    station_dim: str | None = None,
    resolution: str | None = None,
    file_utc_offset_h: float = 0.0,
    utc_offset_h: float = CHINA_UTC_OFFSET_H,
    accumulated: bool = False,
    wind_height_m: float = 10.0,
    source: str = "reanalysis",
) -> xr.Dataset:
    """Read weather from a NetCDF file (reanalysis grid or station file).

    Parameters
    ----------
    path : str or Path
    variables : mapping our name -> file variable (or a (u, v) pair for wind), optional
        Default: the ERA5-Land names of :data:`ERA5_LAND_HOURLY` / :data:`ERA5_LAND_DAILY` that the file has.
        Every variable of an explicit mapping must be in the file.
    points : mapping station_id -> (lat, lon), or DataFrame with station_id, lat, lon, optional
        Stations to take from a grid (nearest cell). ``station_id``/``lat``/``lon`` give a single one.
    elevation_m : float or one per station, optional
        Station elevations [m]; default from the file (``z`` geopotential / 9.80665, or ``elevation``,
        ``orog``), else NaN.
    station_dim : str, optional
        Name of a station dimension (default ``station`` when present); then no grid selection is done.
    resolution : {"daily", "hourly"}, optional
        Default: from the time step (a day or more -> daily).
    file_utc_offset_h : float, default 0 (ERA5 times are UTC)
        Offset of the file's time stamps; hourly stamps are shifted to local standard time
        ``utc_offset_h`` (daily dates are kept).
    utc_offset_h : float, default 8
    accumulated : bool, default False
        True for ERA5-Land hourly files, whose ``tp`` and ``ssrd`` accumulate from 00 UTC: amounts are then
        de-accumulated (value minus previous value; the 01 UTC value stands alone).
    wind_height_m : float, default 10 (ERA5 u10/v10)
        Height of the wind in the file; converted to 2 m with FAO-56 Eq. 47.
    source : str, default "reanalysis"

    Returns
    -------
    xarray.Dataset (time, station) following :mod:`orchard.weather`.
    """
    path = check_input_file(path, what="NetCDF file")
    try:
        raw = xr.open_dataset(path)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "time" in text.lower() and ("decode" in text.lower() or "units" in text.lower()):
            raise InputError(f"{path}: the time variable cannot be decoded ({text}); give it units like "
                             "'hours since 1970-01-01 00:00' and a calendar.") from None
        raise InputError(f"{path}: cannot be read as NetCDF ({text}); check that it is a NetCDF "
                         "file.") from None
    with raw:
        ds = raw.load()
    time_name = _first(_TIME_NAMES, ds.dims) or _first(_TIME_NAMES, ds.coords)
    if time_name is None:
        raise InputError(f"{path}: has no time dimension (looked for {', '.join(_TIME_NAMES)}); dims are "
                         f"{', '.join(map(str, ds.dims))}.")
    if time_name != "time":
        if "time" in ds.variables:
            ds = ds.drop_vars("time")
        ds = ds.rename({time_name: "time"})
    if "time" not in ds.dims:
        ds = ds.expand_dims("time")
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise InputError(f"{path}: the time variable has no usable units/calendar (values like "
                         f"{ds['time'].values[:1].tolist()}); give it units like 'hours since 1970-01-01 "
                         "00:00'.")
    times = pd.DatetimeIndex(ds["time"].values).as_unit("ns")
    w.check_time_axis(times, str(path))
    if resolution is None:
        steps = np.diff(np.unique(times.asi8))
        resolution = "daily" if (steps.min() if steps.size else 86400e9) >= 20 * 3600e9 else "hourly"
    if resolution not in ("daily", "hourly"):
        raise InputError(f"resolution '{resolution}' is not supported; use 'daily' or 'hourly'.")
    step_h = 24.0 if resolution == "daily" else (
        float(np.median(np.diff(times.asi8))) / 3600e9 if len(times) > 1 else 1.0)

    # variables
    explicit = variables is not None
    defaults = ERA5_LAND_DAILY if resolution == "daily" else ERA5_LAND_HOURLY
    mapping = dict(variables) if explicit else dict(defaults)
    table = w.DAILY_VARIABLES if resolution == "daily" else w.HOURLY_VARIABLES
    found = ", ".join(str(v) for v in ds.data_vars)
    chosen = {}
    for ours, theirs in mapping.items():
        if ours not in table:
            raise InputError(f"'{ours}' is not a {resolution} weather variable; use one of "
                             f"{', '.join(table)}.")
        names = tuple(theirs) if isinstance(theirs, (tuple, list)) else (theirs,)
        absent = [n for n in names if n not in ds.data_vars]
        if absent:
            if explicit:
                raise InputError(f"{path}: variable '{absent[0]}' (for {ours}) is not in the file; it has "
                                 f"{found}; fix `variables`.")
            continue
        chosen[ours] = names
    if not chosen:
        wanted = ", ".join("/".join(v) if isinstance(v, tuple) else v for v in mapping.values())
        raise InputError(f"{path}: none of the variables {wanted} is in the file; it has {found}; pass "
                         "`variables` mapping our names to the file's.")

    # stations
    sdim = station_dim or ("station" if "station" in ds.dims else None)
    lat_name = _first(_LAT_NAMES, ds.variables)
    lon_name = _first(_LON_NAMES, ds.variables)
    if sdim is not None:
        if sdim not in ds.dims:
            raise InputError(f"{path}: has no dimension '{sdim}'; dims are {', '.join(map(str, ds.dims))}.")
        sel = ds
        ids = [str(v) for v in (ds[sdim].values if sdim in ds.coords else range(ds.sizes[sdim]))]
        st_lat = ds[lat_name].values.astype(float) if lat_name and sdim in ds[lat_name].dims else \
            np.full(len(ids), np.nan if lat is None else lat)
        st_lon = ds[lon_name].values.astype(float) if lon_name and sdim in ds[lon_name].dims else \
            np.full(len(ids), np.nan if lon is None else lon)
        if sdim != "station":
            sel = sel.rename({sdim: "station"})
        if "station" in sel.coords:
            sel = sel.drop_vars("station")
        grid_note = None
    else:
        if lat_name is None or lon_name is None or lat_name not in ds.dims or lon_name not in ds.dims:
            raise InputError(f"{path}: has neither a station dimension nor latitude/longitude grid "
                             "dimensions; pass station_dim naming the station dimension.")
        pts = _points(points, station_id, lat, lon)
        glat, glon = ds[lat_name].values.astype(float), ds[lon_name].values.astype(float)
        if pts is None:
            if len(glat) == 1 and len(glon) == 1:
                pts = pd.DataFrame({"station_id": [station_id or "grid"], "lat": glat, "lon": glon})
            else:
                raise InputError(f"{path}: is a {len(glat)} x {len(glon)} grid; pass points (station_id -> "
                                 "(lat, lon)) or station_id, lat and lon to choose cells.")
        want_lon = pts["lon"].to_numpy(float)
        if glon.max() > 180.0:
            want_lon = np.mod(want_lon, 360.0)
        want_lat = pts["lat"].to_numpy(float)
        dlat = np.abs(np.diff(glat)).max() if len(glat) > 1 else 1.0
        dlon = np.abs(np.diff(glon)).max() if len(glon) > 1 else 1.0
        for i, sid in enumerate(pts["station_id"]):
            if not (glat.min() - dlat <= want_lat[i] <= glat.max() + dlat
                    and glon.min() - dlon <= want_lon[i] <= glon.max() + dlon):
                raise InputError(f"{path}: station {sid} at {want_lat[i]:g}N {pts['lon'].iloc[i]:g}E is "
                                 f"outside the grid ({glat.min():g}..{glat.max():g}N, "
                                 f"{glon.min():g}..{glon.max():g}E).")
        sel = ds.sel({lat_name: xr.DataArray(want_lat, dims="station"),
                      lon_name: xr.DataArray(want_lon, dims="station")}, method="nearest")
        ids = [str(s) for s in pts["station_id"]]
        st_lat = sel[lat_name].values.astype(float)
        st_lon = sel[lon_name].values.astype(float)
        st_lon = np.where(st_lon > 180.0, st_lon - 360.0, st_lon)
        grid_note = "nearest grid cell; lat/lon are the cell centres"
        sel = sel.drop_vars([lat_name, lon_name])

    # elevation
    if elevation_m is not None:
        elev = np.broadcast_to(np.asarray(elevation_m, dtype=float), (len(ids),)).copy()
    else:
        elev = np.full(len(ids), np.nan)
        for name, scale in (("z", 1.0 / 9.80665), ("elevation", 1.0), ("elevation_m", 1.0), ("orog", 1.0),
                            ("height", 1.0)):
            if name in sel.variables and "station" in sel[name].dims:
                e = sel[name]
                for d in list(e.dims):
                    if d != "station":
                        e = e.isel({d: 0})
                elev = e.values.astype(float) * scale
                break

    data, flags, attrs = {}, {}, {}
    for ours, names in chosen.items():
        if len(names) == 2:
            u = _convert("wind_ms", sel[names[0]], names[0], resolution, step_h, path)
            v = _convert("wind_ms", sel[names[1]], names[1], resolution, step_h, path)
            da = np.hypot(u, v)
        else:
            da = _convert(ours, sel[names[0]], names[0], resolution, step_h, path)
        extra_dims = [d for d in da.dims if d not in ("time", "station")]
        for d in extra_dims:
            if da.sizes[d] != 1:
                raise InputError(f"{path}: variable '{names[0]}' has an extra dimension '{d}' of size "
                                 f"{da.sizes[d]}; select one {d} first.")
            da = da.isel({d: 0}, drop=True)
        if "station" not in da.dims:
            da = da.expand_dims(station=len(ids))
        values = da.transpose("time", "station").values.astype(float)
        if accumulated and ours in _ACCUMULATED and resolution == "hourly":
            utc_hour = (times - pd.Timedelta(hours=file_utc_offset_h)).hour.values
            inc = np.diff(values, axis=0, prepend=np.nan)
            values = np.where((utc_hour == 1)[:, None], values, inc)
            values = np.where(values < 0, 0.0, values)
        va = {"file_variable": "/".join(names)}
        if ours == "wind_ms":
            va["measurement_height_m"] = float(wind_height_m)
            if abs(wind_height_m - 2.0) > 1e-9:
                values = w.wind_speed_2m(values, wind_height_m)
                va["height_conversion"] = f"from {wind_height_m:g} m to 2 m, FAO-56 Eq. 47"
        data[ours] = values
        flags[ours] = np.where(np.isnan(values), w.QC_MISSING, 0).astype(np.uint8)
        attrs[ours] = va
    if resolution == "hourly" and "t_c" in data and "dewpoint_c" in data and "rh_pct" not in data:
        rh = np.minimum(w.rh_from_dewpoint(data["t_c"], data["dewpoint_c"]), 100.0)
        data["rh_pct"] = rh
        flags["rh_pct"] = np.where(np.isnan(rh), w.QC_MISSING, w.QC_DERIVED).astype(np.uint8)
        attrs["rh_pct"] = {"derivation": "from t_c and dewpoint_c (FAO-56 Eqs. 11, 14), clipped to 100"}

    local = times
    if resolution == "hourly":
        local = times + pd.Timedelta(hours=utc_offset_h - file_utc_offset_h)
    extra_attrs = {"file": path.name}
    if grid_note:
        extra_attrs["station_selection"] = grid_note
    out = w.weather_dataset(data, local.values, ids, lat=st_lat, lon=st_lon, elevation_m=elev,
                            resolution=resolution, source=f"{source}: {path.name}", utc_offset_h=utc_offset_h,
                            flags=flags, var_attrs=attrs, attrs=extra_attrs)
    return w.regular_time_axis(out, where=str(path))


def _points(points, station_id, lat, lon) -> pd.DataFrame | None:
    if points is not None:
        if isinstance(points, pd.DataFrame):
            missing = {"station_id", "lat", "lon"} - set(points.columns)
            if missing:
                raise InputError(f"points table lacks columns {', '.join(sorted(missing))}.")
            return points[["station_id", "lat", "lon"]].reset_index(drop=True)
        rows = [(str(k), float(v[0]), float(v[1])) for k, v in dict(points).items()]
        return pd.DataFrame(rows, columns=["station_id", "lat", "lon"])
    if lat is not None and lon is not None:
        return pd.DataFrame({"station_id": [station_id or "point"], "lat": [float(lat)], "lon": [float(lon)]})
    if (lat is None) != (lon is None):
        raise InputError("give both lat and lon (or points) to choose a grid cell.")
    return None
