"""Stored forecasts (issue #20): daily forecast, ensemble and seasonal members per station, with the date they
were issued for, when they were fetched and from where (tables ``forecast_issues`` and ``forecast_values``,
migration 0009).

:func:`store_forecast` writes one parsed Open-Meteo response
(:func:`orchard.sources.openmeteo.parse_openmeteo`, dims (time, station[, member])); fetching the same
station, kind and issue date again replaces it, so a day's cycle run twice stores the same thing.
:func:`stored_forecast` gives the members back as a weather dataset (time, station, member) for the chain, or None when none is stored for that date.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import delete, insert, select

from orchard import store
from orchard import weather as ow
from orchard.errors import InputError

__all__ = ["STORED_VARIABLES", "store_forecast", "stored_forecast", "list_forecast_issues"]

#: Daily variables kept from a response (the chain's daily weather variables).
STORED_VARIABLES = ("tmin_c", "tmax_c", "tmean_c", "rh_mean_pct", "rh_min_pct", "rh_max_pct", "precip_mm",
                    "wind_ms", "rs_mj_m2", "sunshine_h")


def store_forecast(session, ds: xr.Dataset, *, station_id: str, kind: str, issued_on: date, source: str,
                   fetched_utc: datetime | None = None) -> int:
    """Store a daily forecast of one station in the caller's transaction (replacing the same station, kind
    and issue date); return the number of values stored.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily, dims (time, station[, member]) with one station (a parsed Open-Meteo response).
    station_id : str
        The station it is stored under (must be in the ``stations`` table).
    kind : {"forecast", "ensemble", "seasonal"}
    issued_on : date
        Local date the forecast was issued for (its day 1 is the day after).
    source : str
        Where it came from (request URL or recorded file).
    """
    if kind not in store.FORECAST_KINDS:
        raise InputError(f"forecast kind '{kind}' is not one of {', '.join(store.FORECAST_KINDS)}.")
    if ds.attrs.get("resolution") != "daily":
        raise InputError(f"the {kind} for station {station_id} is not daily; request daily= variables.")
    if session.get(store.Station, station_id) is None:
        raise InputError(f"station {station_id} is not in the database; add it first (orchard stations add).")
    one = ds.isel(station=0) if "station" in ds.dims else ds
    if "member" not in one.dims:
        one = one.expand_dims(member=[0], axis=-1)
    days = pd.DatetimeIndex(one["time"].values).normalize()
    names = [n for n in STORED_VARIABLES if n in one]
    if not names or len(days) == 0:
        raise InputError(f"the {kind} for station {station_id} has no daily variable the chain uses.")
    members = one["member"].values.astype(int)
    session.execute(delete(store.ForecastIssue).where(store.ForecastIssue.station_id == station_id,
                                                      store.ForecastIssue.kind == kind,
                                                      store.ForecastIssue.issued_on == issued_on))
    issue = store.ForecastIssue(station_id=station_id, kind=kind, issued_on=issued_on,
                                fetched_utc=fetched_utc or datetime.now(timezone.utc), source=source[:500],
                                n_members=len(members), first_day=days[0].date(), last_day=days[-1].date())
    session.add(issue)
    session.flush()
    rows = []
    day_list = [d.date() for d in days]
    for name in names:
        values = one[name].transpose("time", "member").values.astype(float)
        for j, m in enumerate(members):
            rows += [{"issue_id": issue.id, "member": int(m), "variable": name, "day": d,
                      "value": None if not np.isfinite(v) else float(v)}
                     for d, v in zip(day_list, values[:, j], strict=True)]
    session.execute(insert(store.ForecastValue), rows)
    return len(rows)


def list_forecast_issues(session, issued_on: date | None = None) -> list[dict]:
    """The stored forecasts (all, or of one issue date), by station and kind."""
    query = select(store.ForecastIssue)
    if issued_on is not None:
        query = query.where(store.ForecastIssue.issued_on == issued_on)
    columns = ("id", "station_id", "kind", "issued_on", "fetched_utc", "source", "n_members", "first_day",
               "last_day")
    order = (store.ForecastIssue.station_id, store.ForecastIssue.kind)
    return [{c: getattr(r, c) for c in columns} for r in session.scalars(query.order_by(*order))]


def stored_forecast(session, issued_on: date, kind: str, station_ids=None) -> xr.Dataset | None:
    """The stored members of one kind issued for ``issued_on``, as daily weather (time, station, member), or
    None when there are none.

    Stations with a forecast of a shorter span get NaN on the missing days (the chain fills them from past
    years). Attrs: ``source`` (``"<kind>: Open-Meteo, issued <date>, fetched <UTC time>"``), ``resolution``
    daily, ``issued_on``, ``fetched_utc`` (the latest fetch), ``n_members``.
    """
    query = select(store.ForecastIssue).where(store.ForecastIssue.issued_on == issued_on,
                                              store.ForecastIssue.kind == kind)
    if station_ids is not None:
        query = query.where(store.ForecastIssue.station_id.in_(list(map(str, station_ids))))
    issues = list(session.scalars(query.order_by(store.ForecastIssue.station_id)))
    if not issues:
        return None
    by_id = {i.id: i.station_id for i in issues}
    rows = session.execute(select(store.ForecastValue.issue_id, store.ForecastValue.member,
                                  store.ForecastValue.variable, store.ForecastValue.day,
                                  store.ForecastValue.value)
                           .where(store.ForecastValue.issue_id.in_(list(by_id)))).all()
    frame = pd.DataFrame(rows, columns=["issue_id", "member", "variable", "day", "value"])
    frame["station"] = frame["issue_id"].map(by_id)
    frame["time"] = pd.to_datetime(frame["day"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    cube = frame.set_index(["time", "station", "member", "variable"])["value"].to_xarray()
    ds = cube.to_dataset(dim="variable")
    stations = {s.station_id: s for s in session.scalars(
        select(store.Station).where(store.Station.station_id.in_(list(by_id.values()))))}
    sids = [str(s) for s in ds["station"].values]
    ds = ds.assign_coords(
        lat=("station", [_num(stations[s].lat) for s in sids]),
        lon=("station", [_num(stations[s].lon) for s in sids]),
        elevation_m=("station", [_num(stations[s].elevation_m) for s in sids]))
    for name in ds.data_vars:
        units, long_name = ow.DAILY_VARIABLES.get(str(name), ("", str(name)))
        ds[name].attrs.update(units=units, long_name=long_name)
    fetched = max(i.fetched_utc for i in issues)
    ds.attrs.update(resolution="daily", time_zone="Asia/Shanghai", utc_offset_h=8.0, issued_on=str(issued_on),
                    fetched_utc=fetched.isoformat(timespec="minutes"), n_members=int(ds.sizes["member"]),
                    source=f"{kind}: Open-Meteo, issued {issued_on}, fetched {fetched:%Y-%m-%d %H:%M} UTC")
    return ds


def _num(value) -> float:
    return float("nan") if value is None else float(value)
