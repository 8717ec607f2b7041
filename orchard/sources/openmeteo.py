"""Open-Meteo forecast, ensemble and seasonal responses as weather datasets, and a small HTTP client.

Endpoints (documented at https://open-meteo.com/en/docs):

- forecast  https://api.open-meteo.com/v1/forecast           (deterministic, up to 16 days)
- ensemble  https://ensemble-api.open-meteo.com/v1/ensemble   (members as ``<variable>_memberNN``)
- seasonal  https://seasonal-api.open-meteo.com/v1/seasonal   (members as ``<variable>_memberNN``)
- archive   https://archive-api.open-meteo.com/v1/archive     (reanalysis, ERA5 and successors; needs
  ``start_date`` and ``end_date``)

A JSON response holds ``latitude``, ``longitude``, ``elevation``, ``utc_offset_seconds``, ``timezone`` and
blocks ``hourly``/``hourly_units`` and ``daily``/``daily_units`` with a ``time`` array and one array per
variable. In ensemble and seasonal responses the unsuffixed variable is the control run (member 0) and
``_member01`` … the perturbed members; :func:`parse_openmeteo` puts them along a ``member`` dimension.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from orchard import weather as w
from orchard.config import CHINA_TIMEZONE
from orchard.errors import InputError, check_input_file

#: Base URL per kind of forecast.
OPENMETEO_URLS = {
    "forecast": "https://api.open-meteo.com/v1/forecast",
    "ensemble": "https://ensemble-api.open-meteo.com/v1/ensemble",
    "seasonal": "https://seasonal-api.open-meteo.com/v1/seasonal",
    "archive": "https://archive-api.open-meteo.com/v1/archive",
}

#: Open-Meteo hourly variable -> ours (with legacy spellings).
HOURLY_NAMES = {
    "temperature_2m": "t_c", "relative_humidity_2m": "rh_pct", "relativehumidity_2m": "rh_pct",
    "dew_point_2m": "dewpoint_c", "dewpoint_2m": "dewpoint_c", "precipitation": "precip_mm",
    "wind_speed_10m": "wind_ms", "windspeed_10m": "wind_ms", "shortwave_radiation": "ghi_w_m2",
}
#: Open-Meteo daily variable -> ours.
DAILY_NAMES = {
    "temperature_2m_max": "tmax_c", "temperature_2m_min": "tmin_c", "temperature_2m_mean": "tmean_c",
    "relative_humidity_2m_mean": "rh_mean_pct", "relative_humidity_2m_min": "rh_min_pct",
    "relative_humidity_2m_max": "rh_max_pct", "precipitation_sum": "precip_mm",
    "wind_speed_10m_mean": "wind_ms", "shortwave_radiation_sum": "rs_mj_m2",
    "sunshine_duration": "sunshine_h",
}
#: Variables requested by :func:`fetch_openmeteo` when none are given.
DEFAULT_HOURLY = ("temperature_2m", "relative_humidity_2m", "dew_point_2m", "precipitation", "wind_speed_10m",
                  "shortwave_radiation")
DEFAULT_DAILY = ("temperature_2m_max", "temperature_2m_min", "precipitation_sum", "shortwave_radiation_sum")

_MEMBER = re.compile(r"^(?P<base>.+)_member(?P<n>\d+)$")
_CONVERT = {
    "°c": lambda x: x, "°f": lambda x: (x - 32.0) * 5.0 / 9.0, "%": lambda x: x, "mm": lambda x: x,
    "inch": lambda x: x * 25.4, "m/s": lambda x: x, "km/h": lambda x: x / 3.6, "mp/h": lambda x: x * 0.44704,
    "mph": lambda x: x * 0.44704, "kn": lambda x: x * 0.514444, "w/m²": lambda x: x, "w/m2": lambda x: x,
    "mj/m²": lambda x: x, "mj/m2": lambda x: x, "s": lambda x: x / 3600.0, "h": lambda x: x,
}


def _unit_converter(unit: str, var: str, where: str):
    key = str(unit).strip().lower()
    if key not in _CONVERT:
        raise InputError(f"{where}: unit '{unit}' of {var} is not understood; request metric units "
                         "(wind_speed_unit=ms).")
    return _CONVERT[key]


def _kind_of(payload: dict, has_members: bool) -> str:
    if "six_hourly" in payload:
        return "seasonal"
    return "ensemble" if has_members else "forecast"


def parse_openmeteo(
    payload: dict,
    station_id: str,
    *,
    resolution: str | None = None,
    kind: str | None = None,
    where: str = "Open-Meteo response",
    lat: float | None = None,
    lon: float | None = None,
    elevation_m: float | None = None,
) -> xr.Dataset:
    """Turn an Open-Meteo JSON response into a weather dataset.

    Parameters
    ----------
    payload : dict
        The decoded JSON.
    station_id : str
        Id given to the point.
    resolution : {"hourly", "daily"}, optional
        Which block to read; default ``hourly`` when present, else ``daily``.
    kind : {"forecast", "ensemble", "seasonal"}, optional
        Stored in the ``source`` attr; default ``ensemble`` when members are present, else ``forecast``.
    where : str
        Name used in error messages (the file name for saved responses).
    lat, lon, elevation_m : optional
        Station coordinates to record instead of the model cell's (``latitude``, ``longitude``,
        ``elevation`` of the response).

    Returns
    -------
    xarray.Dataset
        Dims (time, station) or (time, station, member) with member 0 = control; local time of the response's
        ``utc_offset_seconds``; wind converted from 10 m to 2 m (FAO-56 Eq. 47); sunshine from s to h.
        Variables this module does not use (weather_code, ...) are listed in the attr ``ignored_variables``.
    """
    if not isinstance(payload, dict):
        raise InputError(f"{where}: is not a JSON object; save the API response as it came.")
    if payload.get("error"):
        reason = payload.get("reason", "no reason given")
        raise InputError(f"{where}: Open-Meteo refused the request: {reason}.")
    blocks = [b for b in ("hourly", "daily") if isinstance(payload.get(b), dict)]
    if not blocks:
        raise InputError(f"{where}: has no 'hourly' or 'daily' block; request hourly= or daily= variables.")
    if resolution is None:
        resolution = blocks[0]
    if resolution not in ("hourly", "daily"):
        raise InputError(f"resolution '{resolution}' is not supported; use 'hourly' or 'daily'.")
    if resolution not in blocks:
        raise InputError(f"{where}: has no '{resolution}' block (it has {', '.join(blocks)}).")
    for key in ("latitude", "longitude", "utc_offset_seconds"):
        if key not in payload:
            raise InputError(f"{where}: lacks '{key}'; is it an Open-Meteo response?")
    block = payload[resolution]
    units = payload.get(f"{resolution}_units", {}) or {}
    names = HOURLY_NAMES if resolution == "hourly" else DAILY_NAMES
    offset_h = float(payload["utc_offset_seconds"]) / 3600.0

    if "time" not in block:
        raise InputError(f"{where}: the {resolution} block has no 'time' array.")
    raw_times = block["time"]
    if len(raw_times) == 0:
        raise InputError(f"{where}: the {resolution} block is empty.")
    if all(isinstance(t, (int, float)) for t in raw_times):
        # timeformat=unixtime: seconds since 1970 in UTC; daily stamps need the offset to give local dates
        times = pd.to_datetime(np.asarray(raw_times, dtype=np.int64), unit="s") + pd.Timedelta(hours=offset_h)
    else:
        try:
            times = pd.to_datetime(pd.Series(raw_times, dtype=str), format="ISO8601")
        except (ValueError, TypeError):
            raise InputError(f"{where}: the {resolution} time stamps are not ISO 8601 (first "
                             f"{raw_times[0]!r}).") from None
        if getattr(times.dt, "tz", None) is not None:
            times = times.dt.tz_convert("UTC").dt.tz_localize(None) + pd.Timedelta(hours=offset_h)
    times = pd.DatetimeIndex(times).as_unit("ns")
    w.check_time_axis(times, where)

    # group base variables and members
    series: dict[str, dict[int, list]] = {}
    ignored = []
    for key, values in block.items():
        if key == "time":
            continue
        m = _MEMBER.match(key)
        base, member = (m.group("base"), int(m.group("n"))) if m else (key, 0)
        if base not in names:
            if base not in ignored:
                ignored.append(base)
            continue
        if not isinstance(values, list) or len(values) != len(times):
            count = len(values) if isinstance(values, list) else "no"
            raise InputError(f"{where}: {resolution} variable '{key}' has {count} values for {len(times)} "
                             "times.")
        series.setdefault(base, {})[member] = values
    if not series:
        raise InputError(f"{where}: none of the {resolution} variables is one we use "
                         f"({', '.join(sorted(names))}); it has {', '.join(ignored) or 'none'}.")
    members = sorted({m for by_member in series.values() for m in by_member})
    has_members = members != [0]
    request = payload.get("orchard_request") if isinstance(payload.get("orchard_request"), dict) else {}
    kind = kind or request.get("kind") or _kind_of(payload, has_members)

    data, attrs = {}, {}
    for base, by_member in series.items():
        ours = names[base]
        if ours in data:
            continue  # a legacy spelling next to the current one
        unit = units.get(base, units.get(f"{base}_member01", ""))
        convert = _unit_converter(unit, base, where)
        arr = np.full((len(times), len(members)), np.nan)
        for j, m in enumerate(members):
            if m in by_member:
                arr[:, j] = np.array([np.nan if v is None else v for v in by_member[m]], dtype=float)
        arr = convert(arr)
        va = {"openmeteo_variable": base, "openmeteo_units": str(unit)}
        if ours == "wind_ms":
            arr = w.wind_speed_2m(arr, 10.0)
            va["measurement_height_m"] = 10.0
            va["height_conversion"] = "from 10 m to 2 m, FAO-56 Eq. 47"
        data[ours] = arr
        attrs[ours] = va

    st_lat = float(payload["latitude"]) if lat is None else float(lat)
    st_lon = float(payload["longitude"]) if lon is None else float(lon)
    elev = payload.get("elevation", np.nan) if elevation_m is None else elevation_m
    elev = float("nan") if elev is None else float(elev)
    member_data = {k: v[:, 0] for k, v in data.items()}
    ds = w.weather_dataset(member_data, times.values, str(station_id), lat=st_lat, lon=st_lon,
                           elevation_m=elev, resolution=resolution, source=f"{kind}: Open-Meteo {where}",
                           utc_offset_h=offset_h, var_attrs=attrs,
                           attrs={"openmeteo_timezone": str(payload.get("timezone", "")),
                                  "openmeteo_cell": f"{payload['latitude']}N {payload['longitude']}E "
                                                    f"{payload.get('elevation', '?')} m",
                                  "ignored_variables": ", ".join(ignored)})
    if has_members:
        for name, arr in data.items():
            qc_attrs = ds[f"{name}_qc"].attrs
            ds[name] = (("time", "station", "member"), arr[:, None, :], ds[name].attrs)
            flag = np.where(np.isnan(arr), w.QC_MISSING, 0).astype(np.uint8)[:, None, :]
            ds[f"{name}_qc"] = (("time", "station", "member"), flag, qc_attrs)
        ds = ds.assign_coords(member=("member", np.asarray(members, dtype=int),
                                      {"long_name": "ensemble member (0 = control run)"}))
    else:
        for name, arr in data.items():
            ds[f"{name}_qc"].values[:] = np.where(np.isnan(arr[:, :1]), w.QC_MISSING, 0)
    return ds


def read_openmeteo(path, station_id: str, *, resolution: str | None = None, kind: str | None = None,
                   lat: float | None = None, lon: float | None = None,
                   elevation_m: float | None = None) -> xr.Dataset:
    """Read a saved Open-Meteo JSON response (see :func:`parse_openmeteo` for the parameters)."""
    path = check_input_file(path, what="Open-Meteo JSON file")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                         "save the API response unchanged.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text; save the API response unchanged.") from None
    if kind is None:  # a saved response does not say which API it came from; the file name may
        kind = next((k for k in ("seasonal", "ensemble", "forecast") if k in path.name.lower()), None)
    return parse_openmeteo(payload, station_id, resolution=resolution, kind=kind, where=path.name, lat=lat,
                           lon=lon, elevation_m=elevation_m)


def openmeteo_url(kind: str, lat: float, lon: float, *, hourly: Sequence[str] | None = None,
                  daily: Sequence[str] | None = None, days: int = 16, timezone: str = CHINA_TIMEZONE,
                  models: str | Sequence[str] | None = None, start_date=None, end_date=None) -> str:
    """The request URL (metric units, wind in m/s, local time of ``timezone``); with ``start_date`` and
    ``end_date`` (YYYY-MM-DD, required by the archive) the span replaces ``forecast_days``."""
    if kind not in OPENMETEO_URLS:
        raise InputError(f"unknown Open-Meteo kind '{kind}'; use one of {', '.join(OPENMETEO_URLS)}.")
    if not (-90.0 <= float(lat) <= 90.0 and -180.0 <= float(lon) <= 180.0):
        raise InputError(f"lat {lat} / lon {lon} is not a position in degrees.")
    if int(days) < 1:
        raise InputError(f"days must be at least 1, not {days}.")
    params = {"latitude": f"{float(lat):.4f}", "longitude": f"{float(lon):.4f}"}
    if hourly:
        params["hourly"] = ",".join(hourly)
    if daily:
        params["daily"] = ",".join(daily)
    if (start_date is None) != (end_date is None):
        raise InputError("give both start_date and end_date, or neither.")
    if kind == "archive" and start_date is None:
        raise InputError("the Open-Meteo archive needs start_date and end_date.")
    span = ({"start_date": str(start_date), "end_date": str(end_date)} if start_date is not None
            else {"forecast_days": str(int(days))})
    params.update({**span, "timezone": timezone, "wind_speed_unit": "ms",
                   "temperature_unit": "celsius", "precipitation_unit": "mm"})
    if models:
        params["models"] = models if isinstance(models, str) else ",".join(models)
    return f"{OPENMETEO_URLS[kind]}?{urllib.parse.urlencode(params, safe=',/')}"


def fetch_openmeteo(
    kind: str,
    lat: float,
    lon: float,
    *,
    hourly: Sequence[str] | None = None,
    daily: Sequence[str] | None = None,
    days: int = 16,
    timezone: str = CHINA_TIMEZONE,
    models: str | Sequence[str] | None = None,
    opener: Callable = urllib.request.urlopen,
    timeout_s: float = 30.0,
) -> dict:
    """Fetch an Open-Meteo response (decoded JSON); save it with ``json.dump`` or parse it directly.

    The returned dict gains a key ``orchard_request`` (kind and URL) so a saved response says where it came
    from; :func:`parse_openmeteo` reads the kind from it.

    Without ``hourly`` and ``daily`` the defaults :data:`DEFAULT_HOURLY` (forecast, ensemble) and
    :data:`DEFAULT_DAILY` are requested: hourly ``shortwave_radiation`` is in W m-2 and daily
    ``shortwave_radiation_sum`` in MJ m-2; wind is requested in m/s (``wind_speed_unit=ms``).

    Parameters
    ----------
    kind : {"forecast", "ensemble", "seasonal"}
    lat, lon : float [deg]
    hourly, daily : sequences of Open-Meteo variable names, optional
    days : int, default 16 (``forecast_days``)
    timezone : str, default "Asia/Shanghai" (local time stamps, no daylight saving in China)
    models : str or sequence, optional (e.g. "ecmwf_ifs025" for the ensemble API)
    opener : callable, default ``urllib.request.urlopen``
        Called as ``opener(url, timeout=timeout_s)``; tests inject a fake.
    timeout_s : float, default 30

    Raises
    ------
    InputError
        On an HTTP error, a network error or timeout, a body that is not JSON, or ``{"error": true,
        "reason": ...}``.
    """
    if hourly is None and daily is None:
        hourly = None if kind == "seasonal" else DEFAULT_HOURLY
        daily = DEFAULT_DAILY
    url = openmeteo_url(kind, lat, lon, hourly=hourly, daily=daily, days=days, timezone=timezone,
                        models=models)
    try:
        response = opener(url, timeout=timeout_s)
        try:
            body = response.read()
        finally:
            close = getattr(response, "close", None)
            if close:
                close()
    except urllib.error.HTTPError as exc:
        reason = ""
        try:
            reason = json.loads(exc.read().decode("utf-8")).get("reason", "")
        except Exception:
            pass
        raise InputError(f"Open-Meteo {kind} request failed with HTTP {exc.code}"
                         f"{': ' + reason if reason else ''}; check the variables and position.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise InputError(f"could not reach Open-Meteo ({why}); check the network connection or try later.") \
            from None
    try:
        payload = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"Open-Meteo {kind} answered with something that is not JSON; try later.") from None
    if not isinstance(payload, dict):
        raise InputError(f"Open-Meteo {kind} answered with JSON that is not an object; try later.")
    if payload.get("error"):
        reason = payload.get("reason", "no reason given")
        raise InputError(f"Open-Meteo refused the {kind} request: {reason}.")
    payload["orchard_request"] = {"kind": kind, "url": url}  # provenance, kept when the response is saved
    return payload
