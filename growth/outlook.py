"""30-day outlook of fruit expansion rate and sugar: the season so far, then forecast, then past years.

From an issue date the model runs on the observed weather up to that day, then on each *member*: the
forecast for its first days when one is supplied, followed by the same calendar days of one past year of the
weather record (an analogue-year ensemble, as in ensemble streamflow prediction). The spread of the members
gives P10/P50/P90 of the daily fruit expansion rate and Brix for the next 30 days.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from growth import model, slope
from orchard.errors import InputError

__all__ = ["expected_dates", "outlook"]

WEATHER_VARIABLES = ("tmin_c", "tmax_c", "rs_mj_m2")


#: The slope-corrected weather also carries the same plot's flat-ground values (see growth.slope).
FLAT_VARIABLES = ("tmin_flat_c", "tmax_flat_c", "rs_flat_mj_m2")


def member_quantiles(values: np.ndarray, quantiles) -> np.ndarray:
    """Quantiles over the first axis (members) ignoring NaN: ``np.nanquantile(values, quantiles, axis=0)``.

    Same linear interpolation between order statistics (numpy's default method), vectorised: numpy's
    nanquantile loops over every other index in Python, which dominates with few members and many plots.
    All-NaN columns give NaN.
    """
    ordered = np.sort(np.asarray(values, dtype=float), axis=0)          # NaN sort to the end
    n_valid = (~np.isnan(ordered)).sum(axis=0)
    q = np.asarray(quantiles, dtype=float).reshape((-1,) + (1,) * (ordered.ndim - 1))
    position = q * np.maximum(n_valid - 1, 0)                            # (n_q, ...)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(n_valid - 1, 0))
    low = np.take_along_axis(ordered, below.reshape(q.shape[:1] + ordered.shape[1:]), axis=0)
    high = np.take_along_axis(ordered, above, axis=0)
    out = low + (high - low) * (position - below)
    return np.where(n_valid > 0, out, np.nan)


def _member_days(weather: xr.Dataset, year_shift: int, target: pd.DatetimeIndex,
                 variables=WEATHER_VARIABLES) -> xr.Dataset | None:
    """The days ``target`` shifted back ``year_shift`` years, re-stamped to ``target`` (None if missing)."""
    source = target - pd.DateOffset(years=year_shift)
    position = pd.DatetimeIndex(weather["time"].values).get_indexer(source)
    if (position < 0).any():
        return None
    contiguous = position.size > 0 and position[-1] - position[0] == position.size - 1
    # a run of consecutive days is a view (no copy); a leap day in between needs the general indexing
    picked = slice(position[0], position[-1] + 1) if contiguous else position
    days = weather[list(variables)].isel(time=picked)
    if any(np.isnan(days[v].values).any() for v in variables):  # numpy: xarray's reduce costs 10x here
        return None
    return days.assign_coords(time=target)


def _member_run(plots, weather, issue, target, params, forecast, ks, slope_correction, bloom_year, session,
                dates_only=False):
    """Run the season once per member: observed weather to ``issue``, then the member's days ``target``.

    Returns the model result with plots stacked as ``<plot>#<member>``, the plot ids, the number of members
    and each member's source text.
    """
    plots_ds = model._plots_dataset(plots)
    plot_ids = plots_ds["plot"].values.astype(str)
    observed = weather.sel(time=slice(model.season_start(bloom_year or model.bloom_year_of(issue)), issue))
    if observed.sizes.get("time", 0) == 0 or pd.Timestamp(observed["time"].values[-1]) != issue:
        raise InputError(f"the weather does not reach the issue date {issue.date()}; import weather up to it "
                         "or choose an earlier date.")
    variables = WEATHER_VARIABLES
    if slope_correction and all(name in weather for name in FLAT_VARIABLES):
        variables = WEATHER_VARIABLES + FLAT_VARIABLES  # already on the slope (the weekly chain's weather)
    elif slope_correction and forecast is None:
        # Correct the record once for slope and aspect (members and the observed season share its days),
        # instead of once per member inside the model run.
        first = pd.Timestamp(min(observed["time"].values[0], target[0] - pd.DateOffset(years=59)))
        record = model.select_plots(weather, plot_ids).sel(time=slice(first, target[-1]))
        record = record[list(WEATHER_VARIABLES)]
        record = record.dropna("time", how="all")
        record.attrs.update(weather.attrs)
        weather = slope.slope_weather(record, plots_ds)
        observed = weather.sel(time=slice(observed["time"].values[0], issue))
        variables = WEATHER_VARIABLES + FLAT_VARIABLES
    members, sources = [], []
    weather = model.select_plots(weather, plot_ids)
    record_start = pd.Timestamp(weather["time"].values[0])
    for shift in range(1, 60):
        if target[0] - pd.DateOffset(years=shift) < record_start:
            break
        days = _member_days(weather, shift, target, variables)
        if days is not None:
            members.append(days)
            sources.append(f"{target[0].year - shift} weather record (analogue year)")
    if len(members) < 3:
        raise InputError(f"only {len(members)} past year(s) in the weather record cover "
                         f"{target[0].date()} to {target[-1].date()}; the outlook needs at least 3 "
                         "(import more years of weather).")
    if forecast is not None:
        fc = forecast.sel(plot=plot_ids)[list(WEATHER_VARIABLES)]
        fc = fc.sel(time=slice(target[0], target[-1]))
        n_fc = fc.sizes.get("member", 1)
        for i, member in enumerate(members):
            this = fc.isel(member=i % n_fc) if "member" in fc.dims else fc
            this = this.transpose("time", "plot")
            members[i] = this.combine_first(member).transpose("time", "plot")
            sources[i] = (f"forecast {pd.Timestamp(this['time'].values[0]).date()} to "
                          f"{pd.Timestamp(this['time'].values[-1]).date()}, then " + sources[i])

    # Every member is the observed season plus its own future: stack members along the plot axis and run once.
    observed = observed[list(variables)].transpose("time", "plot")
    n_member = len(members)
    stacked_ids = np.array([f"{pid}#{m}" for m in range(n_member) for pid in plot_ids])
    # One preallocated array per variable, filled once (xarray's concat along time, then plot, copies twice).
    n_obs, n_plot = observed.sizes["time"], len(plot_ids)
    times = np.concatenate([observed["time"].values, np.asarray(target, dtype="datetime64[ns]")])
    stacked = xr.Dataset(coords={"time": times, "plot": stacked_ids})
    for name in variables:
        values = np.empty((times.size, n_member * n_plot), dtype=np.result_type(observed[name].dtype, float))
        for m, member in enumerate(members):
            block = values[:, m * n_plot:(m + 1) * n_plot]
            block[:n_obs] = observed[name].to_numpy()
            block[n_obs:] = member[name].transpose("time", "plot").to_numpy()
        stacked[name] = xr.DataArray(values, dims=("time", "plot"), attrs=dict(observed[name].attrs))
    stacked.attrs.update(weather.attrs, resolution="daily")
    stacked_plots = xr.concat([plots_ds] * n_member, dim="plot").assign_coords(plot=stacked_ids)
    stacked_ks = None
    if ks is not None and isinstance(ks, xr.DataArray) and "plot" in ks.dims:
        stacked_ks = xr.concat([model.select_plots(ks, plot_ids)] * n_member, dim="plot")
        stacked_ks = stacked_ks.assign_coords(plot=stacked_ids)
    elif ks is not None:
        stacked_ks = ks
    # the flat-ground pass gives the maturity delay: the expected dates need it, the 30-day series do not
    result = model.run(stacked_plots, stacked, params, stacked_ks, slope_correction=slope_correction,
                       session=session, dates_only=dates_only, flat_reference=dates_only)
    return result, plot_ids, n_member, sources


def outlook(plots, weather: xr.Dataset, issue_date, params=None, *, forecast: xr.Dataset | None = None,
            ks=None, horizon_days: int = 30, quantiles=(0.1, 0.5, 0.9), slope_correction: bool = True,
            bloom_year: int | None = None, session=None) -> xr.Dataset:
    """P10/P50/P90 of fruit expansion rate and Brix for each plot over the days after ``issue_date``.

    Parameters
    ----------
    plots : PlotSet or xarray.Dataset
        The plots (see :func:`growth.model.run`).
    weather : xarray.Dataset
        Daily plot weather (time, plot) from before the season start (1 October or 1 January) to at least
        ``issue_date``; its earlier years are the climatology members.
    issue_date : str or date
        Last day of observed weather used.
    forecast : xarray.Dataset, optional
        Daily plot forecast (time, plot[, member]) for days after ``issue_date``; it replaces the first days
        of every member (forecast member i goes with climatology member i modulo the forecast's members).
    ks : optional
        Water-stress coefficient as for :func:`growth.model.run` (days beyond it count as 1).
    horizon_days : int
        Days of outlook (default 30).
    quantiles : sequence of float
        Quantiles of the members (default P10, P50, P90).
    bloom_year : int, optional
        The season (year of the bloom of the fruit on the tree); default :func:`growth.model.bloom_year_of`.

    Returns
    -------
    xarray.Dataset
        Dims (plot, quantile, lead_day) with ``fruit_expansion_mm_d``, ``brix`` and ``fruit_diameter_mm``;
        coord ``time`` along lead_day; attrs list the members' sources.
    """
    issue = pd.Timestamp(issue_date).normalize()
    target = pd.date_range(issue + pd.Timedelta(days=1), periods=horizon_days, freq="D")
    result, plot_ids, n_member, sources = _member_run(plots, weather, issue, target, params, forecast, ks,
                                                      slope_correction, bloom_year, session)
    future = result.sel(time=target)
    out = xr.Dataset(coords={"plot": plot_ids, "quantile": np.asarray(quantiles, dtype=float),
                             "lead_day": np.arange(1, horizon_days + 1)})
    for name in ("fruit_expansion_mm_d", "brix", "fruit_diameter_mm"):
        values = future[name].to_numpy().reshape(n_member, len(plot_ids), horizon_days)
        with np.errstate(invalid="ignore"):
            q = member_quantiles(values, quantiles)
        out[name] = xr.DataArray(q.transpose(1, 0, 2), dims=("plot", "quantile", "lead_day"),
                                 attrs=dict(result[name].attrs))
    out = out.assign_coords(time=("lead_day", target))
    out.attrs.update(model=result.attrs["model"], model_version=result.attrs["model_version"],
                     parameter_set=result.attrs["parameter_set"], issue_date=str(issue.date()),
                     n_members=n_member, member_sources="; ".join(sources),
                     ks_source=result.attrs["ks_source"])
    return out


def expected_dates(plots, weather: xr.Dataset, issue_date, params=None, *, ks=None,
                   quantiles=(0.1, 0.5, 0.9), slope_correction: bool = True, bloom_year: int | None = None,
                   session=None) -> xr.Dataset:
    """Expected colour break and harvest maturity: the season run to its end on each past year's weather.

    Like :func:`outlook`, but each member continues to 30 June after the season's winter, so the stage dates
    still ahead (colour break, maturity) are reached on most members; their quantiles are the expectation.
    The members run the model's dates-only path (thermal time and quality; stage III on the unstressed fruit
    clock), which is what the dates depend on.

    Returns
    -------
    xarray.Dataset
        Dims (plot, quantile): ``colour_break_date``, ``maturity_date``, ``maturity_date_flat`` and
        ``maturity_delay_days`` (median over members); ``members_reaching_maturity`` per plot.
    """
    issue = pd.Timestamp(issue_date).normalize()
    year = bloom_year or model.bloom_year_of(issue)
    end = pd.Timestamp(year=year + 1, month=6, day=30)
    if issue >= end:
        raise InputError(f"the {year} season ends on {end.date()}, before the issue date {issue.date()}.")
    target = pd.date_range(issue + pd.Timedelta(days=1), end, freq="D")
    result, plot_ids, n_member, sources = _member_run(plots, weather, issue, target, params, None, ks,
                                                      slope_correction, year, session, dates_only=True)
    out = xr.Dataset(coords={"plot": plot_ids, "quantile": np.asarray(quantiles, dtype=float)})
    for name in ("colour_break_date", "maturity_date", "maturity_date_flat"):
        if name not in result:
            continue
        days = (result[name] - np.datetime64("1970-01-01")) / np.timedelta64(1, "D")
        values = days.to_numpy().reshape(n_member, len(plot_ids))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a plot no member brings to maturity
            q = member_quantiles(values, quantiles)
        dates = np.where(np.isnan(q), np.datetime64("NaT"),
                         (np.datetime64("1970-01-01") + np.round(np.nan_to_num(q)).astype("timedelta64[D]")))
        out[name] = xr.DataArray(dates.T.astype("datetime64[ns]"), dims=("plot", "quantile"),
                                 attrs=dict(result[name].attrs))
    delays = result["maturity_delay_days"].to_numpy().reshape(n_member, len(plot_ids))
    reached = (~np.isnat(result["maturity_date"].to_numpy())).reshape(n_member, len(plot_ids)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["maturity_delay_days"] = ("plot", member_quantiles(delays, [0.5])[0])
    out["maturity_delay_days"].attrs.update(units="d", long_name="median maturity delay against flat ground")
    out["members_reaching_maturity"] = ("plot", reached)
    out.attrs.update(model=result.attrs["model"], model_version=result.attrs["model_version"],
                     parameter_set=result.attrs["parameter_set"], issue_date=str(issue.date()),
                     n_members=n_member, member_sources="; ".join(sources))
    return out
