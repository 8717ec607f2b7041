"""The weekly chain: the one place where the modules meet, in pvlib ``ModelChain`` style.

Named steps, each a function with explicit inputs and outputs, run in this order::

    prepare      plots + parameter bundle + station weather (the member years only) + sensors, scenes,
                 applications: everything read from the database, once
    monitoring   crop condition from imagery up to the issue date (all plots at once)
    ── for each chunk of plots (local processes or threads, or dask.distributed workers) ─────────────────────
    weather      plot weather on the slope, once: station series + the plot's lapse-rate offset + the slope
                 correction of the plot's terrain class (float32, this chunk only)
    soil         FAO-56 water balance on that weather (sensors reset it) -> Ks, irrigation need
    growth       the season with Ks; expected colour break and maturity; the 30-day size and Brix outlook
    pests        the outlook at 15 d / 1 month / 3 months with the host state from growth, same weather
    rules        recommendations from every module's output
    products     fitting products (rotation, maximum uses, PHI) from the season's applications
    ───────────────────────────────────────────────────────────────────────────────────────────────────
    store        module outputs (NetCDF) + plot_status + recommendations, whole or not at all

:class:`WeeklyChain` runs them; a step can be swapped (``steps={"pests": my_pests}``) or skipped
(``skip=("monitoring",)``) by name. A chunk step is a function ``step(state: ChunkState) -> None`` that reads
what earlier steps left on the state and adds its own outputs; it must be importable (a module-level
function) to run on a dask cluster. ``orchard run-week``, the app's re-run and the season replay
(:func:`advice.replay.replay_season`) all go through :func:`run_chain`; there is no second path.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from advice import rules
from advice.recommendation import Recommendation
from orchard import config, store
from orchard.errors import InputError, OrchardError, ParameterError
from orchard.params import load_parameters
from orchard.plots import PlotSet

__all__ = ["ChainInputs", "ChunkState", "ChainResult", "WeeklyChain", "run_chain", "CHUNK_STEPS",
           "RUN_STEPS", "chain_parameters", "CHAIN_FILE"]

CHAIN_FILE = Path(__file__).parent / "parameters" / "chain.toml"
#: Steps run once per chunk of plots, in order.
CHUNK_STEPS = ("weather", "soil", "growth", "pests", "rules", "products")
#: Every step of a run, in order (what ``progress`` reports and ``skip`` may name).
RUN_STEPS = ("prepare", "monitoring", *CHUNK_STEPS, "store")
#: Weather variables a chunk's plot weather carries (float32).
WEATHER_VARIABLES = ("tmin_c", "tmax_c", "tmean_c", "rh_mean_pct", "rh_min_pct", "rh_max_pct", "precip_mm",
                     "wind_ms", "rs_mj_m2", "sunshine_h")
#: How chunks run on one machine when no scheduler address is given: "processes" or "threads".
DEFAULT_LOCAL_SCHEDULER = "processes"
#: Days of the soil water balance kept in the stored results (the plot page's chart).
SOIL_DAYS_STORED = 60


def chain_parameters():
    """The chain's parameters as shipped (``advice/parameters/chain.toml``)."""
    return load_parameters(CHAIN_FILE, name="advice.chain")


# ----------------------------------------------------------------------------------------------------------
# What flows through the chain
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainInputs:
    """Everything a chunk needs besides its plots, read once per run (and shipped to dask workers).

    ``station_weather`` holds the stations' daily series (time, station) in float32 over the member years
    only; ``bundle`` the parameter sets in force; ``sensor_theta`` the sensors' daily mean soil moisture;
    ``history`` the season's applications (products step); ``alerts`` the monitoring alerts.
    """

    issue: pd.Timestamp
    bundle: Mapping
    station_weather: xr.Dataset
    sensor_theta: pd.DataFrame
    history: pd.DataFrame | None
    recent_n: frozenset
    alerts: pd.DataFrame | None
    monitoring_source: str
    run_attrs: Mapping
    #: Plot weather already on the slope (time, plot) over at least the member years to the issue date, for
    #: callers running many dates on one record (the season replay); None: each chunk makes its own.
    plot_weather: xr.Dataset | None = None
    #: A season replay's leave-one-season-out record: ``plot_weather`` also holds the years after the issue
    #: date's season, and the weather step drops the year after the issue date (the season's own future), so
    #: the outlooks' climatology members are every other year of the record.
    hindcast: bool = False
    #: Latest clear NDVI of each plot up to the issue date (index plot_id; ``ndvi``, ``ndvi_date``), from the
    #: monitoring step; None without imagery.
    ndvi: pd.DataFrame | None = None
    #: Stored forecasts of the issue date at the stations (time, station, member), issue #20: the 15-day
    #: members (ensemble + deterministic) and the seasonal members; None when none is stored
    #: (advice/forecasts.py).
    forecast: xr.Dataset | None = None
    seasonal: xr.Dataset | None = None


@dataclass
class ChunkState:
    """One chunk of plots on its way through the chain; each step adds its outputs."""

    chunk: int
    plots: xr.Dataset
    inputs: ChainInputs
    weather: xr.Dataset | None = None
    balance: xr.Dataset | None = None
    irrigation: pd.DataFrame | None = None
    ks: xr.DataArray | None = None
    growth: xr.Dataset | None = None
    expected: xr.Dataset | None = None
    growth_outlook: xr.Dataset | None = None
    pests: xr.Dataset | None = None
    decisions: pd.DataFrame | None = None
    forecast: xr.Dataset | None = None  # the 15-day members on the plots, bias-adjusted (issue #20)
    seasonal: xr.Dataset | None = None  # the seasonal members on the plots, blended with climatology
    recommendations: list = field(default_factory=list)
    min_phi: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    sources: dict = field(default_factory=dict)
    parameter_sets: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def plot_ids(self) -> np.ndarray:
        return self.plots["plot"].values.astype(str)

    @property
    def day(self) -> date:
        return self.inputs.issue.date()


@dataclass
class ChunkOutput:
    """What a chunk hands back: the files to store, its plot_status rows, its recommendations."""

    chunk: int
    modules: dict
    status: pd.DataFrame
    recommendations: list
    notes: list
    sources: dict
    parameter_sets: dict
    seconds: dict
    stashed: bool = False  # the worker wrote the files and rows itself


@dataclass
class ChainResult:
    """One run of the chain (stored unless asked not to)."""

    run_id: str
    issued_on: date
    recommendations: list
    status: pd.DataFrame
    parameter_sets: dict = field(default_factory=dict)
    bundle: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    results_path: str | None = None

    def records(self) -> list[dict]:
        return [r.record() for r in self.recommendations]


def _data_note(plot_ids, day: date, module: str, exc: Exception) -> list[Recommendation]:
    """A module that could not run: one ``data`` recommendation per plot says so (severity 1)."""
    return [Recommendation(plot_id=str(pid), issued_on=day, valid_from=day, valid_to=day + timedelta(7),
                           topic="data", severity=1, action_key="advice.action.check_data",
                           reason_key="advice.reason.module_unavailable", module=module,
                           reason_numbers={"module": module}, evidence=f"{module}: {exc}")
            for pid in plot_ids]


# ----------------------------------------------------------------------------------------------------------
# Chunk steps
# ----------------------------------------------------------------------------------------------------------
def _class_keys(plots: xr.Dataset, chain) -> tuple[np.ndarray, dict]:
    """Slope-correction class of each plot: station, solar site cell and rounded slope, aspect, horizon.

    Plots of one class get one slope correction (computed on the rounded terrain at the site cell's
    centre), so the correction costs per class, not per plot; with every step 0 each plot is its own class.
    """
    from growth.slope import SITE_RESOLUTION_DEG

    def rounded(values, step):
        values = np.asarray(values, dtype=float)
        return values if step <= 0 else np.round(values / step) * step

    slope = rounded(plots["slope_deg"].values, float(chain["classes.slope_step_deg"]))
    aspect = rounded(plots["aspect_deg"].values, float(chain["classes.aspect_step_deg"])) % 360.0
    horizon = rounded(plots["horizon_deg"].transpose("plot", ...).values,
                      float(chain["classes.horizon_step_deg"]))
    lat_cell = np.floor(plots["lat"].values.astype(float) / SITE_RESOLUTION_DEG)
    lon_cell = np.floor(plots["lon"].values.astype(float) / SITE_RESOLUTION_DEG)
    station = pd.factorize(plots["weather_station"].values.astype(str))[0]
    table = np.column_stack([station, lat_cell, lon_cell, slope, aspect, horizon])
    _, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
    terrain = {"slope_deg": slope[first], "aspect_deg": aspect[first], "horizon_deg": horizon[first],
               "lat": (lat_cell[first] + 0.5) * SITE_RESOLUTION_DEG,
               "lon": (lon_cell[first] + 0.5) * SITE_RESOLUTION_DEG,
               "station": plots["weather_station"].values.astype(str)[first]}
    return np.ravel(inverse), terrain


def weather_step(state: ChunkState) -> None:
    """Plot weather on the slope, once for every later step: station series moved to the plot's elevation
    (lapse rate), then the slope correction of the plot's terrain class; float32, this chunk only."""
    if state.inputs.plot_weather is not None:
        issue = state.inputs.issue
        start = _history_start(issue, int(state.inputs.bundle["advice.chain"]["members.years"]))
        if state.inputs.hindcast:
            weather = state.inputs.plot_weather.sel(plot=state.plot_ids, time=slice(start, None))
            days = pd.DatetimeIndex(weather["time"].values)
            state.weather = weather.isel(time=np.flatnonzero((days <= issue)
                                                             | (days > issue + pd.Timedelta(days=365))))
        else:
            state.weather = state.inputs.plot_weather.sel(plot=state.plot_ids, time=slice(start, issue))
        state.sources["weather"] = state.weather.attrs.get("source", "")
        return
    state.weather = plot_weather_on_slope(state.plots, state.inputs.station_weather, state.inputs.bundle)
    state.sources["weather"] = state.weather.attrs["source"]
    _plot_forecasts(state)


def _plot_forecasts(state: ChunkState) -> None:
    """The stored forecasts of the issue date on the chunk's plots (advice/forecasts.py); a forecast that
    does not fit (a station without one) is a note, and the outlooks use past years as before."""
    from advice.forecasts import forecast_on_plots, plot_climatology

    lapse = float(state.inputs.bundle["weather"]["elevation.lapse_rate"])
    issue = state.inputs.issue
    used, climate = [], None
    stored_sets = [s for s in (state.inputs.forecast, state.inputs.seasonal) if s is not None]
    if stored_sets:  # one climatology for both, over the longest span
        last = max(pd.Timestamp(s["time"].values[-1]) for s in stored_sets)
        span = int((last - issue) / pd.Timedelta(days=1))
        climate = plot_climatology(state.weather, issue=issue, days=max(span, 1))
    for name in ("forecast", "seasonal"):
        stored = getattr(state.inputs, name)
        if stored is None:
            continue
        try:
            on_plots = forecast_on_plots(stored, state.plots, state.weather, issue=issue,
                                         lapse_rate_c_per_100m=lapse, climate=climate)
        except InputError as exc:
            state.notes.append(f"{name}: {exc}")
            continue
        setattr(state, name, on_plots)
        used.append(f"{name}: {on_plots.attrs['source']}; "
                    f"bias adjustment: {on_plots.attrs['bias_adjustment']}")
    state.sources["forecast"] = " | ".join(used) if used else "none (climatology)"


def plot_weather_on_slope(plots: xr.Dataset, stations: xr.Dataset, bundle) -> xr.Dataset:
    """Daily weather of ``plots`` (with ``weather_station``) on their slopes, float32 (see weather_step)."""
    from growth import slope
    from orchard import weather as ow

    lapse = float(bundle["weather"]["elevation.lapse_rate"])
    flat = ow.weather_for_plots(stations, plots, station_ids=plots["weather_station"].values.astype(str),
                                lapse_rate_c_per_100m=lapse)
    chain = bundle["advice.chain"]
    inverse, terrain = _class_keys(plots, chain)
    n_class = len(terrain["station"])
    class_ids = np.array([f"class{k}" for k in range(n_class)])
    horizon_dim = plots["horizon_deg"].transpose("plot", ...).dims[1]
    class_plots = xr.Dataset(
        {"lat": ("plot", terrain["lat"]), "lon": ("plot", terrain["lon"]),
         "slope_deg": ("plot", terrain["slope_deg"]), "aspect_deg": ("plot", terrain["aspect_deg"]),
         "horizon_deg": (("plot", horizon_dim), terrain["horizon_deg"])},
        coords={"plot": class_ids, horizon_dim: plots[horizon_dim].values})
    station_pos = pd.Index(stations["station"].values.astype(str)).get_indexer(terrain["station"])
    class_weather = stations[["rs_mj_m2", "tmin_c", "tmax_c"]].isel(
        station=xr.DataArray(station_pos, dims="plot")).drop_vars(
        [c for c in ("station", "lat", "lon", "elevation_m") if c in stations.coords])
    class_weather = class_weather.assign_coords(plot=class_ids).transpose("time", "plot")
    class_weather.attrs.update(stations.attrs, resolution="daily")
    corrected = slope.slope_weather(class_weather, class_plots, bundle["growth.slope"])
    rs_slope = corrected["rs_slope_mj_m2"].values[:, inverse]
    d_tmax = corrected["delta_tmax_c"].values[:, inverse]
    d_tmin = corrected["delta_tmin_c"].values[:, inverse]

    out = xr.Dataset(coords={"time": flat["time"].values, "plot": flat["plot"].values})
    for name in WEATHER_VARIABLES:
        if name in flat and name not in ("tmin_c", "tmax_c", "tmean_c", "rs_mj_m2"):
            out[name] = flat[name].astype(np.float32)
    tmin, tmax, tmean = slope.corrected_temperatures(
        flat["tmin_c"].values, flat["tmax_c"].values,
        flat["tmean_c"].values if "tmean_c" in flat else None, d_tmax, d_tmin)
    dims = ("time", "plot")
    for name, values in (("tmin_c", tmin), ("tmax_c", tmax), ("tmean_c", tmean),
                         ("tmin_flat_c", flat["tmin_c"].values), ("tmax_flat_c", flat["tmax_c"].values),
                         ("rs_mj_m2", rs_slope), ("rs_flat_mj_m2", flat["rs_mj_m2"].values),
                         ("rs_slope_mj_m2", rs_slope), ("delta_tmax_c", d_tmax), ("delta_tmin_c", d_tmin)):
        if values is not None:
            out[name] = xr.DataArray(np.asarray(values, dtype=np.float32), dims=dims)
    if "tmean_c" in flat:
        out["tmean_flat_c"] = flat["tmean_c"].astype(np.float32)
    for name in out.data_vars:
        base = name.replace("_flat", "").replace("_slope", "")
        if base in flat:
            out[name].attrs.update(flat[base].attrs)
    out.attrs.update({**flat.attrs, **corrected.attrs})
    out.attrs["source"] = (f"{flat.attrs.get('source', '')}; slope/aspect corrected per terrain class "
                           f"({n_class} classes for {plots.sizes['plot']} plots)")
    out.attrs["slope_classes"] = n_class
    return out


def _season_start(issue: pd.Timestamp) -> pd.Timestamp:
    from growth import model as growth_model

    return growth_model.season_start(growth_model.bloom_year_of(issue))


def soil_step(state: ChunkState) -> None:
    """FAO-56 root-zone water balance from the season start on the chain's plot weather (the slope's
    radiation included); sensor readings reset the depletion where they exist. Gives Ks for growth and the
    irrigation table for the rules."""
    from monitoring.soil import advice as soil_advice
    from monitoring.soil import model as soil_model

    issue = state.inputs.issue
    season = state.weather.sel(time=slice(_season_start(issue), issue))
    wb_params = state.inputs.bundle["soil.water_balance"]
    observed = soil_model.observed_depletion(state.inputs.sensor_theta, state.plots, season["time"].values,
                                             wb_params)
    balance = soil_model.run(state.plots, season, wb_params,
                             observed_depletion_mm=observed if np.isfinite(observed).any() else None)
    state.balance = balance
    state.ks = balance["ks"].transpose("time", "plot")
    # irrigation_advice reads its thresholds from the water-balance set (as the soil CLI does)
    state.irrigation = soil_advice.irrigation_advice(balance, wb_params, day=issue)
    state.sources["soil"] = "water balance on the chain's plot weather" + (
        "; sensors reset the depletion" if np.isfinite(observed).any() else "")


def _growth_params(state: ChunkState):
    from growth import cultivars

    plots = state.plots
    codes = [str(c) for c in plots["cultivar"].values]
    districts = plots["district"].values if "district" in plots else [None] * len(codes)
    return cultivars.parameters_from_bundle(state.inputs.bundle, codes, districts)


def growth_step(state: ChunkState) -> None:
    """The season to the issue date with Ks; expected colour break and maturity (members to the next
    June); the 30-day fruit size and Brix outlook. All on the chain's slope-corrected weather."""
    from growth import model as growth_model
    from growth import outlook as growth_outlook

    issue = state.inputs.issue
    params = _growth_params(state)
    season = state.weather.sel(time=slice(_season_start(issue), issue))
    ks = state.ks
    # the slope delay comes from the members (expected dates): no flat-ground pass for the season itself
    state.growth = growth_model.run(state.plots, season, params, ks=ks, flat_reference=False)
    state.parameter_sets["growth"] = state.growth.attrs["parameter_set"]
    try:
        state.expected = growth_outlook.expected_dates(state.plots, state.weather, issue, params)
        state.growth_outlook = growth_outlook.outlook(state.plots, state.weather, issue, params, ks=ks,
                                                      forecast=state.forecast)
        state.sources["growth"] = (f"{state.growth.attrs['weather_source']}; members: "
                                   f"{state.expected.attrs['member_sources']}")
        state.sources["growth_outlook"] = (
            f"30-day outlook: {state.forecast.attrs['source']} over its days, then past years"
            if state.forecast is not None else "30-day outlook: past years only (climatology)")
    except InputError as exc:  # too few past years: the season stands, the expectation says why
        state.notes.append(f"growth outlook: {exc}")
        state.sources["growth"] = state.growth.attrs["weather_source"]


def host_from_growth(growth: xr.Dataset) -> dict:
    """The pests' host state from the growth model's season (time, plot): the flush fraction, the days since
    the current flush cohort emerged and since petal fall; each pest derives its own susceptible window
    from them (pests.host)."""
    host = {"flush_fraction": growth["flush_active"].astype(float).transpose("time", "plot"),
            "fruit_age_d": growth["fruit_age_d"].astype(float).transpose("time", "plot")}
    if "flush_age_d" in growth:
        host["flush_age_d"] = growth["flush_age_d"].astype(float).transpose("time", "plot")
    return host


def pests_step(state: ChunkState) -> None:
    """Pest outlook at every horizon with the host state from growth (flush, fruit on the tree), on the same
    plot weather as growth and soil."""
    from pests.outlook import outlook as pest_outlook
    from pests.paramsets import load_all

    host = None if state.growth is None else host_from_growth(state.growth)
    params = load_all(params=state.inputs.bundle)
    state.pests = pest_outlook(state.plots, state.weather, state.inputs.issue, host=host, params=params,
                               workers=1, forecast=state.forecast, seasonal=state.seasonal)
    state.parameter_sets["pests"] = state.pests.attrs["parameter_set"]
    state.sources["pests"] = (f"{state.pests.attrs.get('forecast_source', '')}; "
                              f"{state.pests.attrs.get('observed_weather_source', '')}")


def _levels(outlook: xr.Dataset) -> pd.DataFrame:
    n_pest = outlook.sizes["pest"]
    return pd.DataFrame({
        "plot_id": np.repeat(outlook["plot"].values.astype(str), n_pest),
        "pest": np.tile(outlook["pest"].values.astype(str), outlook.sizes["plot"]),
        "level_15d": outlook["level"].sel(horizon="15d").transpose("plot", "pest").to_numpy().ravel(),
        "probability_15d": outlook["probability"].sel(horizon="15d").transpose("plot", "pest")
        .to_numpy().ravel()})


def _expected_frame(state: ChunkState) -> pd.DataFrame | None:
    ex = state.expected
    if ex is None:
        return None
    return pd.DataFrame({
        "plot_id": ex["plot"].values.astype(str),
        "maturity_p10": ex["maturity_date"].sel(quantile=0.1).to_numpy(),
        "maturity_p50": ex["maturity_date"].sel(quantile=0.5).to_numpy(),
        "maturity_p90": ex["maturity_date"].sel(quantile=0.9).to_numpy(),
        "maturity_delay_days": ex["maturity_delay_days"].to_numpy()})


def _stages(state: ChunkState) -> pd.Series:
    if state.growth is None:
        return pd.Series(dtype=int)
    return pd.Series(state.growth["stage"].isel(time=-1).to_numpy().astype(int), index=state.plot_ids)


def rules_step(state: ChunkState) -> None:
    """Every rule on this chunk's module outputs (advice.rules), before products and conflicts."""
    from monitoring.soil import advice as soil_advice

    day = state.day
    params = state.inputs.bundle["advice.rules"]
    stages = _stages(state)
    recs = state.recommendations
    if state.pests is not None:
        levels = _levels(state.pests)
        source = state.sources.get("pests", "")
        state.decisions = spray_decisions(state)
        recs += rules.spray_rule(state.decisions, day, state.inputs.bundle["advice.protection"], source)
        recs += rules.skip_spray_rule(levels, day, params, source)
        recs += rules.scout_rule(levels, day, params, source)
    alerts = state.inputs.alerts
    if alerts is not None and not alerts.empty:
        mine = alerts[alerts["plot_id"].astype(str).isin(set(state.plot_ids))]
        recs += rules.inspect_rule(mine, day, state.inputs.monitoring_source)
    if state.irrigation is not None:
        recs += rules.irrigate_rule(state.irrigation, stages, day, state.sources.get("soil", ""))
    expected = _expected_frame(state)
    if expected is not None:
        recs += rules.harvest_rule(expected, stages, day, params, state.sources.get("growth", ""))
    frame = pd.DataFrame({"cultivar": state.plots["cultivar"].values.astype(str),
                          "area_ha": state.plots["area_ha"].values.astype(float)},
                         index=pd.Index(state.plot_ids, name="plot_id"))
    rate, _ = soil_advice.nitrogen_rate(np.full(len(frame), float(params["nitrogen.expected_yield"])))
    recent = pd.Series({pid: pid in state.inputs.recent_n for pid in state.plot_ids})
    recs += rules.nitrogen_rule(frame, stages, day, recent, params, pd.Series(rate, index=frame.index),
                                f"expected yield {float(params['nitrogen.expected_yield']):.0f} t/ha "
                                "(rules.toml)")


def products_step(state: ChunkState) -> None:
    """Fitting products for every spray and nitrogen recommendation, then conflicts and order."""
    from advice.products import attach_products

    harvest_by_plot = {r.plot_id: r.valid_from for r in state.recommendations if r.topic == "harvest"}
    area = pd.Series(state.plots["area_ha"].values.astype(float), index=state.plot_ids)
    excluded = _copper_excluded(state)
    state.min_phi = attach_products(state.recommendations, area, state.day, harvest_by_plot,
                                    state.inputs.history, state.inputs.bundle["rotation"], excluded=excluded,
                                    not_curative=_not_curative(state),
                                    application=state.inputs.bundle["advice.rules"])
    params = state.inputs.bundle["advice.protection"]
    rank_by_protection(state.recommendations, _protection_table(params)[0], area,
                       float(params["decision.application_cost_cny_per_ha"]))
    state.recommendations = merge_sprays(_capped(state.recommendations, excluded))


def _protection_table(params):
    """Protection of each catalogue product against each pest (advice.protection.product_protection)."""
    from advice import protection
    from advice.catalogue import default_catalogue

    key = params.hash
    if key not in _PROTECTION_TABLES:
        catalogue = default_catalogue()
        _PROTECTION_TABLES[key] = (protection.product_protection(catalogue, params),
                                   protection.copper_content(catalogue))
    return _PROTECTION_TABLES[key]


_PROTECTION_TABLES: dict = {}


def _severity_daily(outlook: xr.Dataset) -> np.ndarray:
    """Expected severity per lead day (plot, pest, lead_day): the pest outlook's member mean of events ×
    host susceptibility; from an outlook without it, the chance of the first event on each day (a lower
    bound)."""
    if "expected_severity_daily" in outlook:
        return outlook["expected_severity_daily"].transpose("plot", "pest", "lead_day").values.astype(float)
    cum = outlook["cumulative_probability"].transpose("plot", "pest", "lead_day").values.astype(float)
    return np.diff(cum, axis=2, prepend=0.0)


def spray_decisions(state: ChunkState) -> pd.DataFrame:
    """Per plot and pest: spray, curative, missed, protected, too soon or low risk (advice.protection), from
    the pest outlook, the season's applications (recorded, and in a replay the advised ones followed) and
    the rain on the plot since each spray."""
    from advice import protection
    from advice.catalogue import default_catalogue

    params = state.inputs.bundle["advice.protection"]
    o = state.pests
    issue = state.inputs.issue
    plot_ids = o["plot"].values.astype(str)
    pests = [str(p) for p in o["pest"].values]
    table, _ = _protection_table(params)
    deps = protection.deposits(state.inputs.history, table)
    weather = state.weather.sel(time=slice(_season_start(issue), issue))
    rain = weather["precip_mm"].sel(plot=plot_ids).transpose("time", "plot").values.astype(float)
    level = o["level"].sel(horizon="15d").transpose("plot", "pest").values.astype(int)
    since = o["days_since_event"].transpose("plot", "pest").values.astype(float)
    since = np.where(np.isin(pests, protection.INFECTION_PESTS)[None, :], since, np.nan)
    severity = _severity_daily(o)
    ps = protection.protection_state(deps, issue, weather["time"].values, rain, plot_ids, pests, params,
                                     event_days=-since)
    window = (table.groupby("pest")["curative_h"].max() / 24.0).reindex(pests).fillna(0.0).to_numpy()
    n_plot, n_pest = level.shape
    window = np.tile(window, n_plot)
    planted = (state.plots["planting_year"].sel(plot=plot_ids).values.astype(float)
               if "planting_year" in state.plots else np.full(n_plot, np.nan))
    thresholds = protection.min_severity(pests, params, tree_age_y=issue.year - planted).ravel()
    dec = protection.spray_decisions(
        level=level.ravel(), severity_daily=severity.reshape(n_plot * n_pest, -1),
        end_offset=ps["end_offset"].ravel(), days_since_spray=np.repeat(ps["days_since_spray"], n_pest),
        days_since_event=since.ravel(), protected_at_event=ps["protected_at_event"].ravel(),
        curative_window_d=window, min_severity=thresholds,
        params=params)
    names = default_catalogue().products
    product = pd.Series(ps["product_id"].ravel())
    decision = protection.tank_mix(np.repeat(plot_ids, n_pest), dec["decision"], level.ravel(),
                                   dec["severity_unprotected"], thresholds, params)
    # the last protected day: the day before the first unprotected one (None when nothing protects now)
    end = ps["end_offset"].ravel()
    live = np.isfinite(end) & (end > 0)
    last_day = issue + pd.to_timedelta(np.where(live, np.ceil(np.where(live, end, 1.0)) - 1, 0), unit="D")
    until = np.where(live, last_day.date, None)
    return pd.DataFrame({
        "plot_id": np.repeat(plot_ids, n_pest), "pest": np.tile(pests, n_plot),
        "decision": decision, "level_15d": level.ravel(),
        "probability_15d": o["probability"].sel(horizon="15d").transpose("plot", "pest").values.ravel(),
        "severity_unprotected": dec["severity_unprotected"], "severity_total": dec["severity_total"],
        "first_day": dec["first_day"], "protected_until": until,
        "product_id": product.to_numpy(), "applied_on": ps["applied_on"].ravel(),
        "product_zh": product.map(names["trade_name_zh"]).fillna("").to_numpy(),
        "product_en": product.map(names["trade_name_en"]).fillna("").to_numpy(),
        "rain_counted_mm": ps["rain_counted_mm"].ravel(), "rain_end_mm": ps["rain_end_mm"].ravel(),
        "days_since_event": since.ravel(),
        "days_since_spray": np.repeat(ps["days_since_spray"], n_pest),
        "curative_days_left": window - since.ravel()})


def _copper_excluded(state: ChunkState) -> dict:
    """Copper products a plot may not get now: past the season's copper cap with this spray (recorded and
    followed copper, kg Cu/ha), or on a day at or above the copper heat limit."""
    params = state.inputs.bundle["advice.protection"]
    table, content = _protection_table(params)
    per_spray = table.drop_duplicates("product_id").set_index("product_id")["kg_cu_per_ha"]
    copper_ids = per_spray[per_spray > 0]
    if copper_ids.empty:
        return {}
    cap = float(params["copper.season_cap_kg_ha"])
    used = pd.Series(0.0, index=state.plot_ids)
    history = state.inputs.history
    if history is not None and not history.empty:
        own = history[history["plot_id"].isin(set(state.plot_ids))
                      & (pd.to_datetime(history["applied_on"]).dt.year == state.day.year)]
        per_unit = own["product_id"].map(content).fillna(0.0)
        kg = own["amount"].astype(float) / own["area_ha"].astype(float) * per_unit
        used = used.add(kg.groupby(own["plot_id"]).sum(), fill_value=0.0)
    hot = np.zeros(len(state.plot_ids), dtype=bool)
    if state.weather is not None and "tmax_c" in state.weather:
        tmax = state.weather["tmax_c"].sel(time=slice(None, state.inputs.issue)).isel(time=-1)
        hot = tmax.sel(plot=state.plot_ids).values >= float(params["copper.max_tmax_c"])
    # (plot, copper product): banned when this spray would pass the cap, or on a hot day
    banned = hot[:, None] | (used.reindex(state.plot_ids).to_numpy()[:, None] + copper_ids.to_numpy()[None, :]
                             > cap + 1e-9)
    products = copper_ids.index.to_numpy()
    return {plot_id: frozenset(products[row]) for plot_id, row in zip(state.plot_ids, banned, strict=True)
            if row.any()}


def _not_curative(state: ChunkState) -> frozenset:
    table, _ = _protection_table(state.inputs.bundle["advice.protection"])
    curative = set(table.loc[table["curative_h"] > 0, "product_id"])
    return frozenset(set(table["product_id"]) - curative)


def _capped(recs: list[Recommendation], excluded: dict) -> list[Recommendation]:
    """A spray left without any product becomes a note saying why, instead of advice nobody can follow:
    copper capped on its plot (canker has only copper products), or every product blocked by its label's
    maximum uses, the rotation or a pre-harvest interval past the expected harvest."""
    why = {True: ("advice.action.copper_cap", "advice.reason.copper_cap",
                  "the plot's copper this year has reached the seasonal cap (or the day is too hot for copper) "
                  "and no other product controls it; keep flush short and remove infected shoots"),
           False: ("advice.action.no_product", "advice.reason.unprotected_risk",
                   "every product is blocked this time (label maximum uses, rotation or a pre-harvest interval "
                   "past the expected harvest); scout and remove infested shoots")}
    out = []
    for r in recs:
        if r.topic == "spray" and not r.products:
            action_key, reason_key, text = why[r.plot_id in excluded]
            pest = r.action_numbers.get("pest")
            r = Recommendation(
                plot_id=r.plot_id, issued_on=r.issued_on, valid_from=r.valid_from, valid_to=r.valid_to,
                topic="skip_spray", severity=2, action_key=action_key, reason_key=reason_key, module=r.module,
                action_numbers={"pest": pest}, reason_numbers=dict(r.reason_numbers),
                evidence=f"{pest}: a spray would be needed, but {text}", source=r.source,
                confidence=r.confidence)
        out.append(r)
    return out


def rank_by_protection(recs: list[Recommendation], table: pd.DataFrame, area_ha: pd.Series | None = None,
                       application_cost_cny_per_ha: float = 0.0) -> None:
    """Order each protective spray's products by cost per day of protection against its pest, the spraying
    itself included (``application_cost_cny_per_ha`` × the plot's area: a cheap 15-day acaricide that needs a
    second spray day costs more than a 30-day one), so the first product, the one a grower picks, buys the
    longest cover for the money; curative sprays keep their order (any systemic product will do)."""
    residual = table.set_index(["product_id", "pest"])["residual_d"]
    area_ha = pd.Series(dtype=float) if area_ha is None else area_ha
    for r in recs:
        if r.topic != "spray" or r.action_key != "advice.action.spray_protective" or len(r.products) < 2:
            continue
        pest = r.action_numbers.get("pest")
        spraying = application_cost_cny_per_ha * float(area_ha.get(r.plot_id, 1.0))

        def cost_per_day(p, pest=pest, spraying=spraying):
            days = float(residual.get((p["product_id"], pest), 0.0))
            cost = p.get("cost_cny")
            return np.inf if days <= 0 or cost is None else (cost + spraying) / days

        r.products = sorted(r.products, key=cost_per_day)


def merge_sprays(recs: list[Recommendation]) -> list[Recommendation]:
    """One spray per plot covers every pest its first product controls: a protective spray whose pest the
    first product of a more urgent spray on the same plot also controls is folded into that spray
    (``action_numbers["also_controls"]``)."""
    from advice.catalogue import default_catalogue

    catalogue = default_catalogue()
    targets = catalogue.products["targets"].str.split(";")
    sprays = [r for r in recs if r.topic == "spray"]
    if len(sprays) < 2:
        return recs
    dropped = set()
    by_plot: dict[str, list] = {}
    for r in sprays:
        by_plot.setdefault(r.plot_id, []).append(r)
    for plot_sprays in by_plot.values():
        if len(plot_sprays) < 2:
            continue
        plot_sprays.sort(key=lambda r: (-r.severity, r.valid_to))
        for i, lead in enumerate(plot_sprays):
            if id(lead) in dropped or not lead.products:
                continue
            covers = set(targets.get(lead.products[0]["product_id"], []))
            for other in plot_sprays[i + 1:]:
                if (id(other) not in dropped and other.action_key == "advice.action.spray_protective"
                        and other.action_numbers.get("pest") in covers):
                    dropped.add(id(other))
                    lead.action_numbers.setdefault("also_controls", []).append(other.action_numbers["pest"])
                    lead.valid_to = min(lead.valid_to, other.valid_to)
    return [r for r in recs if id(r) not in dropped]


STEP_FUNCTIONS: dict[str, Callable[[ChunkState], None]] = {
    "weather": weather_step, "soil": soil_step, "growth": growth_step, "pests": pests_step,
    "rules": rules_step, "products": products_step}


# ----------------------------------------------------------------------------------------------------------
# What a chunk stores
# ----------------------------------------------------------------------------------------------------------
def _dates(values) -> np.ndarray:
    return pd.to_datetime(np.asarray(values)).to_numpy()


def _status(state: ChunkState, recs: list[Recommendation]) -> pd.DataFrame:
    """One plot_status row per plot: the numbers every face shows (rounded as shown)."""
    ids = state.plot_ids
    status = pd.DataFrame({"plot_id": ids, "issued_on": state.day, "results_chunk": state.chunk})
    if state.growth is not None:
        last = state.growth.isel(time=-1)
        status["stage"] = last["stage"].values.astype(int)
        status["bloom_date"] = _dates(state.growth["bloom_date"].values)
        status["fruit_diameter_mm"] = np.round(last["fruit_diameter_mm"].values.astype(float), 1)
        status["brix"] = np.round(last["brix"].values.astype(float), 1)
    if state.expected is not None:
        ex = state.expected
        for q, name in ((0.1, "maturity_p10"), (0.5, "maturity_p50"), (0.9, "maturity_p90")):
            status[name] = _dates(ex["maturity_date"].sel(quantile=q).values)
        status["colour_break_p50"] = _dates(ex["colour_break_date"].sel(quantile=0.5).values)
        status["maturity_delay_days"] = np.round(ex["maturity_delay_days"].values.astype(float), 0)
        status["members_mature"] = ex["members_reaching_maturity"].values.astype(int)
        status["n_members"] = int(ex.attrs["n_members"])
    if state.pests is not None:
        o = state.pests
        level = o["level"].transpose("plot", "pest", "horizon").values
        prob = o["probability"].transpose("plot", "pest", "horizon").values
        pests = o["pest"].values.astype(str)
        horizons = o["horizon"].values.astype(str)
        status["pests"] = [{p: {h: {"level": int(level[i, j, k]), "probability": round(float(prob[i, j, k]), 2)}
                                for k, h in enumerate(horizons)} for j, p in enumerate(pests)}
                           for i in range(len(ids))]
        status["max_pest_level_15d"] = level[:, :, list(horizons).index("15d")].max(axis=1).astype(int)
    if state.irrigation is not None:
        table = state.irrigation.set_index(state.irrigation["plot_id"].astype(str)).reindex(ids)
        status["ks"] = np.round(table["ks"].values.astype(float), 2)
        status["depletion_mm"] = np.round(table["depletion_mm"].values.astype(float), 0)
        status["raw_mm"] = np.round(table["raw_mm"].values.astype(float), 0)
        status["taw_mm"] = np.round(table["taw_mm"].values.astype(float), 0)
        status["irrigate"] = table["irrigate"].values.astype(bool)
    ndvi = state.inputs.ndvi
    if ndvi is not None and not ndvi.empty:
        latest = ndvi.reindex(ids)
        status["ndvi"] = np.round(latest["ndvi"].values.astype(float), 2)
        status["ndvi_date"] = _dates(latest["ndvi_date"].values)
    alerts = state.inputs.alerts
    if alerts is not None and not alerts.empty:
        by_plot = alerts.groupby(alerts["plot_id"].astype(str))["signal"].apply(lambda s: sorted(set(s)))
        status["alerts"] = [by_plot.get(pid, []) for pid in ids]
    actions: dict[str, list] = {pid: [] for pid in ids}
    for r in recs:
        actions[r.plot_id].append({"topic": r.topic, "severity": int(r.severity),
                                   "pest": r.action_numbers.get("pest"), "valid_to": str(r.valid_to)})
    status["actions"] = [actions[pid] for pid in ids]
    status["top_severity"] = [max((a["severity"] for a in actions[pid]), default=None) for pid in ids]
    from orchard.results import STATUS_FIELDS

    return status.reindex(columns=list(STATUS_FIELDS))  # one schema whatever steps ran


def _modules(state: ChunkState) -> dict[str, xr.Dataset]:
    """The module outputs a face may chart, float32, this chunk's plots."""
    out = {}
    if state.growth is not None:
        keep = [v for v in ("stage", "fruit_diameter_mm", "brix", "acid_pct", "gdd_c_d", "flush_active")
                if v in state.growth]
        ds = state.growth[keep + [v for v in state.growth.data_vars if state.growth[v].dims == ("plot",)
                                  and v != "cultivar"]]
        out["growth"] = _float32(ds)
    if state.growth_outlook is not None:
        out["growth_outlook"] = _float32(state.growth_outlook)
    if state.expected is not None:
        out["expected"] = _float32(state.expected)
    if state.pests is not None:
        o = state.pests
        keep = [v for v in o.data_vars if o[v].dtype.kind in "fiub"]
        strings = [v for v in o.data_vars if o[v].dtype.kind in "OU" and "plot" in o[v].dims]
        ds = o[keep + strings]
        for v in strings:
            ds[v] = ds[v].astype(str)
        if "weather_source" in o:  # which weather each horizon ran on (forecast, seasonal or past years)
            for h, text in zip(o["horizon"].values, o["weather_source"].values, strict=True):
                ds.attrs[f"weather_source_{h}"] = str(text)
        out["pests"] = _float32(ds)
    if state.balance is not None:
        b = state.balance.isel(time=slice(-SOIL_DAYS_STORED, None))
        keep = [v for v in ("depletion_mm", "taw_mm", "raw_mm", "ks", "precip_mm", "eto_mm",
                            "depletion_from_sensor") if v in b]
        ds = b[keep]
        if "precip_mm" not in ds and state.weather is not None:
            ds["precip_mm"] = state.weather["precip_mm"].sel(time=ds["time"]).transpose(*ds["ks"].dims)
        out["soil"] = _float32(ds)
    return out


def _float32(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for name, var in ds.data_vars.items():
        if var.dtype == np.float64:
            ds[name] = var.astype(np.float32)
        elif var.dtype == bool:
            ds[name] = var.astype(np.int8)
    for name in list(ds.attrs):
        if not isinstance(ds.attrs[name], (str, int, float, np.number)):
            ds.attrs[name] = str(ds.attrs[name])
    for var in ds.variables.values():
        for key in list(var.attrs):
            if not isinstance(var.attrs[key], (str, int, float, np.number, np.ndarray)):
                var.attrs[key] = str(var.attrs[key])
    return ds


def run_chunk(chunk: int, plots: xr.Dataset, inputs: ChainInputs, steps: Sequence[tuple[str, Callable]],
              keep_modules: bool = True, writer=None, keep_recommendations: bool = True) -> ChunkOutput:
    """Run the chunk steps on one chunk of plots (the unit of work of a thread, a process or a dask worker).

    With a ``writer`` (:class:`orchard.results.RunWriter`, whose partial folder this worker can reach) the
    chunk writes its module outputs and its rows itself, so the files are written in parallel and only the
    plot status travels back.
    """
    state = ChunkState(chunk=chunk, plots=plots, inputs=inputs)
    for name, step in steps:
        t0 = time.thread_time()  # CPU of this worker: comparable whatever else the machine runs
        try:
            step(state)
        except OrchardError as exc:
            if name in ("weather", "rules", "products"):
                raise
            state.notes.append(f"{name}: {exc}")
            state.recommendations += _data_note(state.plot_ids, state.day, name, exc)
        state.seconds[name] = time.thread_time() - t0
    harvest_by_plot = {r.plot_id: r.valid_from for r in state.recommendations if r.topic == "harvest"}
    recs = rules.order(rules.resolve_conflicts(state.recommendations, harvest_by_plot,
                                               min_phi_days=state.min_phi,
                                               params=inputs.bundle["advice.rules"]))
    status = _status(state, recs)
    modules = _modules(state) if keep_modules else {}
    stashed = False
    if writer is not None:
        t0 = time.thread_time()
        for module, ds in modules.items():
            writer.write(module, chunk, ds)
        writer.stash(chunk, status, [r.record() for r in recs])
        modules, stashed = {}, True
        state.seconds["write"] = time.thread_time() - t0
    return ChunkOutput(chunk=chunk, modules=modules, status=status,
                       recommendations=recs if keep_recommendations or not stashed else [],
                       notes=state.notes, sources=state.sources, parameter_sets=state.parameter_sets,
                       seconds=state.seconds, stashed=stashed)


# ----------------------------------------------------------------------------------------------------------
# Run-level steps
# ----------------------------------------------------------------------------------------------------------
def _load_plots(session, plot_ids) -> PlotSet:
    rows = store.all_plots(session)
    if plot_ids is not None:
        wanted = set(plot_ids)
        unknown = sorted(wanted - {r["plot_id"] for r in rows})
        if unknown:
            raise InputError(f"plot {unknown[0]} is not in the database; list plots with `orchard plots list`.")
        rows = [r for r in rows if r["plot_id"] in wanted]
    if not rows:
        raise InputError("there are no plots to run; import plots first (orchard import-plots) or check "
                         "the district and plot ids asked for.")
    return PlotSet.from_records(rows)


def _history_start(issue: pd.Timestamp, member_years: int) -> pd.Timestamp:
    """First day of weather the chain needs: the member years before the season (and its autumn)."""
    start = _season_start(issue) - pd.DateOffset(years=member_years)
    return (start - pd.DateOffset(months=3)).normalize()


def station_weather(session, issue: pd.Timestamp, member_years: int, *, end: pd.Timestamp | None = None,
                    named=()) -> xr.Dataset:
    """The stations' daily weather from the member years' start to the issue date (or to ``end``, for a
    season replay whose members may come from later years), float32, no QC flags. A station in ``named``
    (the plots' own stations) that holds only hourly readings gets daily weather derived from them
    (:func:`orchard.plot_weather.daily_readings`), so its plots are never given another station's."""
    from orchard import weather as ow
    from orchard.plot_weather import daily_readings

    stations = pd.DataFrame(store.list_stations(session))
    if stations.empty:
        raise InputError("there are no weather stations in the database; import weather first "
                         "(orchard import-weather FILE --station ID).")
    first = _history_start(issue, member_years)
    start_utc = first.tz_localize("Asia/Shanghai").tz_convert("UTC").to_pydatetime()
    end_utc = ((end if end is not None else issue) + pd.Timedelta(hours=23, minutes=59, seconds=59)) \
        .tz_localize("Asia/Shanghai").tz_convert("UTC").to_pydatetime()
    readings, _ = daily_readings(session, stations, start_utc, end_utc, named)
    if readings.empty:
        raise InputError(f"there is no daily weather between {first.date()} and {issue.date()}; import "
                         "weather up to the issue date first.")
    with_data = stations[stations["station_id"].isin(readings["station_id"].unique())].assign(
        resolution="daily")
    ds = ow.weather_from_long(readings, with_data)
    ds = ds[[v for v in WEATHER_VARIABLES if v in ds]]
    for name in ds.data_vars:
        ds[name] = ds[name].astype(np.float32)
    last = pd.Timestamp(ds["time"].values[-1])
    if last < issue:
        raise InputError(f"the weather ends {last.date()}, before the issue date {issue.date()}; import "
                         "recent weather first.")
    return ds


def _named_stations(plot_set: PlotSet) -> list[str]:
    """The stations the plots name (their own ``station_id``s)."""
    return sorted({str(s) for s in plot_set.frame["station_id"].dropna() if str(s).strip()})


def _assign_stations(session, plots: xr.Dataset, stations: xr.Dataset) -> xr.Dataset:
    """Each plot's station: its own (refused when that station has no data: never replaced without a word),
    else, when it names none, the nearest (at most 100 km)."""
    from orchard import weather as ow
    from orchard.plot_weather import check_named_stations, check_nearest_distance

    known = set(stations["station"].values.astype(str))
    named = plots["station_id"].values.astype(str) if "station_id" in plots \
        else np.full(plots.sizes["plot"], "")
    first, last = (pd.Timestamp(stations["time"].values[i]).date() for i in (0, -1))
    check_named_stations(plots["plot"].values.astype(str), named, known, "daily",
                         f"between {first} and {last}")
    probe = ow.weather_for_plots(stations[["tmin_c"]].isel(time=slice(0, 1)), plots, station_ids=named)
    check_nearest_distance(probe, named == "")
    return plots.assign(weather_station=("plot", probe["station_id"].values.astype(str)))


def _issue(issue_date) -> pd.Timestamp:
    """The issue date as local midnight: ``YYYY-MM-DD`` text, a date or a Timestamp within the plausible
    years (:func:`orchard.limits.parse_date`)."""
    from orchard import limits

    if isinstance(issue_date, pd.Timestamp) and not pd.isna(issue_date):
        issue_date = issue_date.to_pydatetime()
    elif isinstance(issue_date, np.datetime64):
        issue_date = pd.Timestamp(issue_date).to_pydatetime()
    return pd.Timestamp(limits.parse_date(issue_date, "issue date"))


def _in_district(plot_set: PlotSet, district: str) -> PlotSet:
    """The plots whose district name contains ``district``."""
    records = [r for r in plot_set.to_records() if district in str(r.get("district") or "")]
    if not records:
        raise InputError(f"no plot lies in a district matching '{district}'; list districts with "
                         "`orchard plots list`.")
    return PlotSet.from_records(records)


def monitoring_alerts(session, plots: PlotSet, day: date, params, cache: dict | None = None,
                      keep: dict | None = None) -> tuple[pd.DataFrame | None, str, list]:
    """Crop-condition alerts from the imagery registered up to ``day`` (None and a note without any);
    ``cache`` keeps each scene's plot statistics between calls (monitoring.run.run). With ``keep`` (a dict),
    ``keep["monitoring"]`` receives the per-plot output to store (:func:`monitoring_output`)."""
    from monitoring import run as monitoring_run

    scenes = [s["path"] for s in store.list_scenes(session, end=f"{day}T23:59:59+08:00")]
    if not scenes:
        return None, "", [f"monitoring: no satellite or drone scene registered up to {day}"]
    stored = cache is None  # a weekly run: the scenes' plot statistics of earlier runs, kept on disk
    if stored:
        cache = _load_scene_cache()
    seen = set(cache)
    result = monitoring_run.run(plots, scenes, params, as_of=day, cache=cache)
    if stored and set(cache) - seen:
        _save_scene_cache(cache)
    source = f"imagery: {len(scenes)} scenes up to {day}, latest {Path(sorted(map(str, scenes))[-1]).name}"
    if keep is not None:
        keep["monitoring"] = monitoring_output(result, source)
    return result.alerts, source, []


def _scene_cache_path() -> Path:
    from orchard import config

    return config.orchard_home() / "cache" / "monitoring_scene_stats.pkl"


def _load_scene_cache() -> dict:
    """Per-scene plot statistics of earlier runs (monitoring.run.plot_series' cache), so a weekly run reads
    only the scenes registered since; an unreadable file is ignored (the statistics are recomputed)."""
    import pickle

    path = _scene_cache_path()
    try:
        with open(path, "rb") as f:
            cache = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _save_scene_cache(cache: dict) -> None:
    """Keep the per-scene statistics (not the index grids, which are large) for the next run; atomic."""
    import os
    import pickle

    path = _scene_cache_path()
    keep = {k: v for k, v in cache.items() if isinstance(k, tuple) and k and k[0] == "stats"}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        with open(partial, "wb") as f:
            pickle.dump(keep, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except OSError:
        pass  # a cache only: the next run recomputes


def monitoring_output(result, source: str = "") -> xr.Dataset:
    """What the faces show of crop condition, per plot (the stored ``monitoring`` module output).

    ``(plot, time)``: ``ndvi_median``, ``ndvi_smooth``, ``clear`` (usable and not a haze dip) and
    ``clear_fraction`` of every scene up to the issue date (time: acquisition, UTC; coordinate ``scene_id``);
    per plot: ``alerts_json`` (the plot's alerts: signal, severity, message_key, since, last_clear, area_mu,
    evidence) and ``zones_geojson`` (a FeatureCollection of its poor-growth zones, EPSG:4326, with
    ``area_mu``, ``since``, ``severity``), both JSON text ("" when none).
    """
    import json

    import shapely

    series = result.series
    index = str(series.attrs.get("index", "ndvi"))
    ids = series["plot"].values.astype(str)
    ds = xr.Dataset(coords={"plot": ids, "time": series["time"].values})
    if "scene_id" in series.coords:
        ds = ds.assign_coords(scene_id=("time", series["scene_id"].values.astype(str)))
    for name in (f"{index}_median", f"{index}_smooth", "clear_fraction"):
        ds[name] = series[name].transpose("plot", "time").astype(np.float32)
        ds[name].attrs.update(series[name].attrs)
    ds["clear"] = series["clear"].transpose("plot", "time").astype(np.int8)
    ds["clear"].attrs.update(series["clear"].attrs)
    alerts: dict[str, list] = {pid: [] for pid in ids}
    for row in result.alerts.drop(columns=["geometry"], errors="ignore").to_dict("records"):
        alerts.setdefault(str(row["plot_id"]), []).append(
            {k: (None if not isinstance(v, (dict, list)) and pd.isna(v) else v) for k, v in row.items()
             if k != "plot_id"})
    zones: dict[str, list] = {pid: [] for pid in ids}
    for row in result.zones.to_dict("records"):
        geometry = row.get("geometry")
        if geometry is None or geometry.is_empty:
            continue
        area_mu = row.get("area_mu")
        area_mu = None if area_mu is None or pd.isna(area_mu) else round(float(area_mu), 2)
        zones.setdefault(str(row["plot_id"]), []).append(
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geometry)),
             "properties": {"area_mu": area_mu, "since": str(row.get("since") or ""),
                            "severity": int(row.get("severity") or 0)}})
    ds["alerts_json"] = ("plot", np.array([json.dumps(alerts[p], ensure_ascii=False, default=str) if alerts[p]
                                           else "" for p in ids], dtype=str))
    ds["zones_geojson"] = ("plot", np.array([json.dumps({"type": "FeatureCollection", "features": zones[p]})
                                             if zones[p] else "" for p in ids], dtype=str))
    ds.attrs.update(index=index, time_zone="UTC", source=source,
                    model=str(series.attrs.get("model", "monitoring.run")),
                    model_version=str(series.attrs.get("model_version", "")),
                    parameter_set=str(series.attrs.get("parameter_set", "")))
    return ds


def latest_ndvi(crop: xr.Dataset | None) -> pd.DataFrame | None:
    """Per plot the latest clear NDVI of a :func:`monitoring_output` and its local day (China standard
    time); NaN/NaT where no scene was clear."""
    if crop is None:
        return None
    index = crop.attrs.get("index", "ndvi")
    clear = crop["clear"].values.astype(bool)
    ids = pd.Index(crop["plot"].values.astype(str), name="plot_id")
    out = pd.DataFrame({"ndvi": np.nan, "ndvi_date": pd.NaT}, index=ids)
    if clear.shape[1] == 0:
        return out
    has = clear.any(axis=1)
    last = clear.shape[1] - 1 - np.argmax(clear[:, ::-1], axis=1)
    values = crop[f"{index}_median"].values.astype(float)[np.arange(len(ids)), last]
    days = (pd.DatetimeIndex(crop["time"].values)
            + pd.Timedelta(hours=config.CHINA_UTC_OFFSET_H)).normalize()[last]
    out.loc[has, "ndvi"] = values[has]
    out.loc[has, "ndvi_date"] = days[has]
    return out


# ----------------------------------------------------------------------------------------------------------
# The chain
# ----------------------------------------------------------------------------------------------------------
class WeeklyChain:
    """The weekly chain with named steps; swap (``steps={name: function}``) or skip (``skip=(name,)``).

    Parameters
    ----------
    steps : mapping of str to callable, optional
        Replacements for chunk steps (``weather``, ``soil``, ``growth``, ``pests``, ``rules``,
        ``products``), each ``step(state: ChunkState) -> None``.
    skip : sequence of str
        Steps not to run (``monitoring``, ``soil``, ``growth``, ``pests``, ``products``; ``weather``,
        ``rules`` and ``store`` cannot be skipped: every later step needs them; skip storing with
        ``store=False`` in :meth:`run`).
    """

    def __init__(self, steps: Mapping[str, Callable] | None = None, skip: Sequence[str] = ()):
        unknown = sorted(set(steps or {}) - set(CHUNK_STEPS))
        if unknown:
            raise InputError(f"unknown chain step '{unknown[0]}'; chunk steps are {', '.join(CHUNK_STEPS)}.")
        bad = sorted(set(skip) - set(RUN_STEPS))
        if bad:
            raise InputError(f"unknown chain step '{bad[0]}'; steps are {', '.join(RUN_STEPS)}.")
        fixed = sorted(set(skip) & {"prepare", "weather", "rules", "store"})
        if fixed:
            raise InputError(f"the chain step '{fixed[0]}' cannot be skipped: later steps need it.")
        self.skip = tuple(skip)
        self.functions = {**STEP_FUNCTIONS, **(steps or {})}

    @property
    def chunk_steps(self) -> list[tuple[str, Callable]]:
        return [(name, self.functions[name]) for name in CHUNK_STEPS if name not in self.skip]

    def prepare(self, session, issue: pd.Timestamp, *, plot_ids=None, district: str | None = None,
                bundle=None, preloaded: Mapping | None = None, seconds: dict | None = None,
                progress: Callable[[str], None] = lambda step: None,
                keep: dict | None = None) -> tuple[xr.Dataset, ChainInputs, list]:
        """The ``prepare`` and ``monitoring`` steps: the plots (with their station) and the chain's inputs.

        ``preloaded`` lets a caller running many dates on one record pass what does not change between them
        (the season replay): ``plot_set``, ``bundle``, ``stations`` (the stations' record, cut here to the
        issue date), ``plot_weather`` (on the slope, cut in the weather step) and ``monitoring_cache``.
        ``keep`` (a dict) receives the run-level module outputs to store (``monitoring``).
        """
        from orchard.bundle import resolve

        preloaded = preloaded or {}
        seconds = {} if seconds is None else seconds
        keep = {} if keep is None else keep
        day = issue.date()
        t0 = time.perf_counter()
        plot_set = preloaded.get("plot_set") or _load_plots(session, plot_ids)
        if district is not None:
            plot_set = _in_district(plot_set, district)
        bundle = preloaded.get("bundle", bundle)
        if bundle is None:
            bundle = resolve(session, district)
        else:
            bundle.check()
        check_bundle(bundle)
        member_years = int(bundle["advice.chain"]["members.years"])
        if "stations" in preloaded:
            stations = preloaded["stations"].sel(time=slice(_history_start(issue, member_years), issue))
            if stations.sizes["time"] == 0 or pd.Timestamp(stations["time"].values[-1]) < issue:
                raise InputError(f"the weather does not reach the issue date {day}; import weather up to "
                                 "it first.")
        else:
            stations = station_weather(session, issue, member_years, named=_named_stations(plot_set))
        plots_ds = _assign_stations(session, plot_set.to_dataset(), stations)
        missing = [str(p) for p, s in zip(plots_ds["plot"].values, plots_ds["slope_deg"].values, strict=True)
                   if not np.isfinite(s)]
        if missing:
            raise InputError(f"plot {missing[0]} has no terrain (slope, aspect, horizon); run "
                             "`orchard import-plots FILE --dem DEM` first.")
        from monitoring.soil.model import sensor_daily_means

        theta = sensor_daily_means(session, "moisture_m3_m3", str(_season_start(issue).date()), str(day))
        history, recent_n = _applications(session, plot_set, day, bundle["advice.rules"])
        if preloaded.get("applications") is not None and len(preloaded["applications"]):
            history = _with_followed(history, preloaded["applications"], day)
        alerts, monitoring_source, notes = None, "", []
        forecast = seasonal = None
        if "plot_weather" not in preloaded:  # a season replay runs on its record alone, as before
            from advice.forecasts import stored_members

            forecast, seasonal = stored_members(session, day)
        seconds["prepare"] = seconds.get("prepare", 0.0) + time.perf_counter() - t0
        if "monitoring" not in self.skip:
            progress("monitoring")
            t1 = time.perf_counter()
            try:
                alerts, monitoring_source, notes = monitoring_alerts(
                    session, plot_set, day, bundle["monitoring.imagery"], preloaded.get("monitoring_cache"),
                    keep=keep)
            except OrchardError as exc:
                notes = [f"monitoring: {exc}"]
            seconds["monitoring"] = seconds.get("monitoring", 0.0) + time.perf_counter() - t1
        run_id = "week-" + hashlib.sha1(
            f"{day}|{','.join(sorted(plots_ds['plot'].values.astype(str)))}|{bundle.hash}|"
            f"{','.join(self.skip)}".encode()).hexdigest()[:16]
        attrs = {"run_id": run_id, "issue_date": str(day), "parameter_bundle": bundle.hash,
                 "steps": ",".join(n for n, _ in self.chunk_steps)}
        inputs = ChainInputs(issue=issue, bundle=bundle, station_weather=stations, sensor_theta=theta,
                             history=history, recent_n=frozenset(recent_n), alerts=alerts,
                             monitoring_source=monitoring_source, run_attrs=attrs,
                             plot_weather=preloaded.get("plot_weather"),
                             hindcast=bool(preloaded.get("hindcast", False)),
                             ndvi=latest_ndvi(keep.get("monitoring")), forecast=forecast, seasonal=seasonal)
        return plots_ds, inputs, notes

    def run(self, engine, issue_date, *, plot_ids=None, district: str | None = None, bundle=None,
            store_result: bool = True, scheduler: str | None = None, chunk_size: int | None = None,
            results_root=None, progress: Callable[[str], None] = lambda step: None,
            keep_recommendations: bool = True, preloaded: Mapping | None = None) -> ChainResult:
        """Run every step for ``issue_date`` and return (and store) the result; see :func:`run_chain`."""
        issue = _issue(issue_date)
        day = issue.date()
        seconds: dict[str, float] = {}
        progress("prepare")
        keep: dict = {}
        with store.session_scope(engine) as session:
            plots_ds, inputs, notes = self.prepare(session, issue, plot_ids=plot_ids, district=district,
                                                   bundle=bundle, preloaded=preloaded, seconds=seconds,
                                                   progress=progress, keep=keep)
        bundle = inputs.bundle
        versions = bundle.versions()
        run_id = inputs.run_attrs["run_id"]
        attrs = dict(inputs.run_attrs)
        size = int(chunk_size or bundle["advice.chain"]["plots.chunk_size"])
        # plots of one terrain class in one chunk, so a class's slope correction is computed once
        classes, _ = _class_keys(plots_ds, bundle["advice.chain"])
        plots_ds = plots_ds.isel(plot=np.argsort(classes, kind="stable"))
        chunks = [plots_ds.isel(plot=slice(i, i + size)) for i in range(0, plots_ds.sizes["plot"], size)]
        for name, _ in self.chunk_steps:
            progress(name)  # the chunks run every step; the bar shows the chain's shape
        writer = None
        if store_result:
            from orchard.results import RunWriter

            writer = RunWriter(run_id, results_root, attrs=attrs)
        try:
            result = self._gather(chunks, inputs, scheduler, writer, keep_recommendations, seconds,
                                  run_modules=keep)
            result.run_id, result.issued_on, result.bundle = run_id, day, versions
            result.notes = notes + result.notes
            if inputs.monitoring_source:
                result.sources["monitoring"] = inputs.monitoring_source
            if writer is not None:
                progress("store")
                t1 = time.perf_counter()
                run = {"run_id": run_id, "issued_on": day, "parameter_sets": result.parameter_sets,
                       "sources": result.sources, "n_plots": int(plots_ds.sizes["plot"]),
                       "notes": result.notes, "bundle": versions,
                       "steps": [n for n in RUN_STEPS if n not in self.skip]}
                try:
                    with store.session_scope(engine) as session:
                        writer.commit(session, run)
                except BaseException:
                    writer.rollback_files()
                    raise
                writer.cleanup()
                result.results_path = str(writer.final)
                seconds["store"] = time.perf_counter() - t1
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)
        result.seconds = seconds
        return result

    def _gather(self, chunks, inputs, scheduler, writer, keep_recommendations, seconds,
                run_modules: Mapping | None = None) -> ChainResult:
        """Run the chunks on threads (or a dask cluster); each finished chunk goes to the writer at once,
        with its plots' part of the run-level outputs (``run_modules``: monitoring)."""
        statuses, recommendations, notes, sources, sets = [], [], [], {}, {}
        for out in _compute(chunks, inputs, self.chunk_steps, scheduler, writer, keep_recommendations):
            if writer is not None:
                t0 = time.perf_counter()
                for module, ds in out.modules.items():
                    writer.write(module, out.chunk, ds)
                for module, ds in (run_modules or {}).items():
                    ids = out.status["plot_id"].astype(str).values
                    writer.write(module, out.chunk, ds.sel(plot=ids[np.isin(ids, ds["plot"].values)]))
                if not out.stashed:
                    writer.stash(out.chunk, out.status, [r.record() for r in out.recommendations])
                seconds["write (main)"] = seconds.get("write (main)", 0.0) + time.perf_counter() - t0
            if keep_recommendations:
                recommendations += out.recommendations
            statuses.append(out.status)
            notes += [n for n in out.notes if n not in notes]
            for k, v in out.sources.items():
                sources.setdefault(k, v)
            for k, v in out.parameter_sets.items():
                sets[k] = v if k not in sets or v in sets[k] else f"{sets[k]}; {v}"
            for k, v in out.seconds.items():
                seconds[k] = seconds.get(k, 0.0) + v
        status = pd.concat(statuses, ignore_index=True).sort_values("plot_id", ignore_index=True)
        return ChainResult(run_id="", issued_on=inputs.issue.date(),
                           recommendations=rules.order(recommendations), status=status,
                           parameter_sets=sets, sources=sources, notes=notes)


def _compute(chunks, inputs, steps, scheduler, writer, keep_recommendations):
    """The chunks through the steps, yielded in chunk order: in a local process pool (default, or
    ``scheduler="processes"``), local threads (``"threads"``), or on a dask.distributed cluster at an address.

    At most two chunks per worker are in flight, so the main process writes finished chunks while the
    workers compute the next, and memory holds a few chunks whatever the district size. Every scheduler
    gives exactly the local result.
    """
    import os
    from collections import deque

    def windowed(submit, window):
        pending, next_chunk = deque(), 0
        while next_chunk < len(chunks) or pending:
            while next_chunk < len(chunks) and len(pending) < window:
                pending.append(submit(next_chunk))
                next_chunk += 1
            yield pending.popleft().result()

    if scheduler not in (None, "threads", "processes"):
        from distributed import Client

        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({exc}); start it or drop "
                             "--scheduler.") from None
        with client:
            shared = client.scatter(inputs, broadcast=True)  # sent once, not with every chunk
            n_workers = max(1, sum(client.nthreads().values()))
            # a cluster's workers may not see this machine's folders: they send the outputs back
            yield from windowed(lambda i: client.submit(run_chunk, i, chunks[i], shared, steps,
                                                        writer is not None, pure=False), 2 * n_workers)
        return
    workers = min(len(chunks), os.cpu_count() or 1)
    keep_modules = writer is not None
    if workers == 1:
        for i, chunk in enumerate(chunks):
            yield run_chunk(i, chunk, inputs, steps, keep_modules, writer, keep_recommendations)
        return
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    if (scheduler or DEFAULT_LOCAL_SCHEDULER) == "processes":
        # one Python per core: the chunk steps hold the GIL often (xarray, pandas), so threads share one
        # core much of the time (benchmarks/README.md)
        import multiprocessing

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = ThreadPoolExecutor(workers)
    with pool:
        yield from windowed(lambda i: pool.submit(run_chunk, i, chunks[i], inputs, steps, keep_modules, writer,
                                                  keep_recommendations), workers + 1)


def _applications(session, plot_set: PlotSet, day: date, params) -> tuple[pd.DataFrame | None, set]:
    """The season's applications up to ``day`` (products step) and the plots given N recently."""
    from advice.catalogue import default_catalogue
    from advice.market import history_for

    # every plot's applications, then this run's: a list of 100,000 ids would pass SQLite's variable limit
    ids = set(plot_set.plot_ids)
    history = history_for(session, None, day.year, catalogue=default_catalogue())
    history = history[history["plot_id"].isin(ids)]
    if history is not None and not history.empty:
        if "applied_on" in history:
            history = history[pd.to_datetime(history["applied_on"]).dt.date <= day]
        if "id" not in history:
            history = history.assign(id=np.arange(len(history)))
    recent = store.list_applications(session, start=day - timedelta(days=int(params["nitrogen.recent_days"])),
                                     end=day)
    return history, {a["plot_id"] for a in recent
                     if a["plot_id"] in ids and str(a.get("target") or "").upper() == "N"}


def _with_followed(history: pd.DataFrame | None, followed: pd.DataFrame, day: date) -> pd.DataFrame:
    """The recorded applications plus those a season replay follows (advised or calendar sprays), up to
    ``day``, in the history's columns (modes of action from the catalogue)."""
    from advice.catalogue import default_catalogue
    from advice.market import HISTORY_COLUMNS

    catalogue = default_catalogue()
    extra = followed[pd.to_datetime(followed["applied_on"]).dt.date <= day].copy()
    if extra.empty:
        return history
    known = extra["product_id"].isin(catalogue.products.index)
    extra["applied_on"] = pd.to_datetime(extra["applied_on"]).dt.date
    extra["moa_groups"] = extra["product_id"].map(catalogue.products["moa_groups"]).fillna("")
    extra["kind"] = extra["product_id"].map(catalogue.products["kind"])
    extra["in_catalogue"] = known.to_numpy(dtype=bool)
    if "target" not in extra:
        extra["target"] = ""
    start = 0 if history is None or history.empty else int(pd.to_numeric(history["id"]).max()) + 1
    extra["id"] = np.arange(start, start + len(extra))
    frames = [f for f in (history, extra[HISTORY_COLUMNS]) if f is not None and not f.empty]
    return pd.concat(frames, ignore_index=True)


def run_chain(engine, issue_date, **kwargs) -> ChainResult:
    """Run the weekly chain with its standard steps (:class:`WeeklyChain`); see :meth:`WeeklyChain.run`.

    Keyword arguments: ``plot_ids``, ``district``, ``bundle`` (default: the parameters in force,
    ``orchard.bundle.resolve``), ``store_result`` (default True: module outputs, plot_status and
    recommendations stored whole or not at all), ``scheduler`` (a dask.distributed address), ``chunk_size``,
    ``results_root`` (default ``ORCHARD_HOME/results``), ``progress`` (called with each step's name),
    ``skip`` and ``steps`` (passed to :class:`WeeklyChain`).
    """
    chain = WeeklyChain(steps=kwargs.pop("steps", None), skip=kwargs.pop("skip", ()))
    return chain.run(engine, issue_date, **kwargs)


def check_bundle(bundle) -> None:
    """Raise ParameterError when the bundle lacks a set the chain reads."""
    for name in ("weather", "growth.slope", "soil.water_balance", "soil.advice", "monitoring.imagery",
                 "advice.rules", "advice.protection", "rotation", "advice.chain"):
        if name not in bundle:
            raise ParameterError(f"the parameter bundle has no set '{name}'; resolve it with "
                                 "orchard.bundle.resolve.")
