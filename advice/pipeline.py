"""The weekly pipeline: one entry point that runs every module for an issue date and turns the results into
recommendations.

    plot weather ─> soil water balance (Ks) ─> growth (with Ks, on the slope) ─> expected harvest
                └─> pests (host state from growth) ─> spray signals
    imagery ─────> monitoring alerts
    all of it ───> advice.rules ─> conflicts resolved ─> ordered list ─> stored with versions and sources

Used by ``orchard run-week``, the app and a scheduled batch. A module that cannot run (no sensors, no
imagery for the date) is reported as a ``data`` recommendation saying so, never guessed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import xarray as xr

from advice import rules
from advice.recommendation import Recommendation
from orchard import store
from orchard.errors import InputError, OrchardError
from orchard.plot_weather import plot_weather
from orchard.plots import PlotSet

__all__ = ["WeekResult", "run_week"]

#: Past years of weather fetched for the climatology members of the outlooks.
HISTORY_YEARS = 12


@dataclass
class WeekResult:
    """What one weekly run produced."""

    run_id: str
    issued_on: date
    recommendations: list[Recommendation]
    parameter_sets: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)

    def records(self) -> list[dict]:
        return [r.record() for r in self.recommendations]


def _note(notes: list, recs: list, plot_ids, issue: date, module: str, exc: Exception) -> None:
    """A module that could not run: one ``data`` recommendation per plot says so (severity 1)."""
    notes.append(f"{module}: {exc}")
    for pid in plot_ids:
        recs.append(
            Recommendation(
                plot_id=pid,
                issued_on=issue,
                valid_from=issue,
                valid_to=issue + timedelta(7),
                topic="data",
                severity=1,
                action_key="advice.action.check_data",
                reason_key="advice.reason.module_unavailable",
                module=module,
                reason_numbers={"module": module},
                evidence=f"{module}: {exc}",
            )
        )


def run_week(
    engine,
    issue_date,
    *,
    plot_ids=None,
    params=None,
    store_result: bool = True,
    progress: Callable[[str], None] = lambda step: None,
) -> WeekResult:
    """Run every module for ``issue_date`` and return (and store) the ordered recommendations.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database (plots, weather, sensors, scenes, applications).
    issue_date : date-like
        The day the advice is issued for (weather must reach it).
    plot_ids : sequence of str, optional
        Only these plots (default all).
    params : ParameterSet, optional
        Rule thresholds (default ``advice/parameters/rules.toml``).
    store_result : bool
        Store the run and its recommendations (``advice_runs``, ``recommendations``).
    progress : callable
        Called with the name of each step (the CLI's progress bar).
    """
    from growth import model as growth_model
    from growth import outlook as growth_outlook
    from monitoring.soil import advice as soil_advice
    from monitoring.soil import model as soil_model
    from pests.outlook import outlook as pest_outlook
    from pests.paramsets import load_all as load_pest_parameters
    from pests.spray import spray_signals

    issue = pd.Timestamp(issue_date).normalize()
    day = issue.date()
    if params is None:
        with store.session_scope(engine) as session:
            params = rules.rules_parameters(session)
    notes: list[str] = []
    recs: list[Recommendation] = []
    parameter_sets: dict[str, str] = {}
    sources: dict[str, str] = {}
    tables: dict[str, object] = {}

    progress("plots and weather")
    with store.session_scope(engine) as session:
        rows = store.all_plots(session)
        if plot_ids is not None:
            wanted = set(plot_ids)
            unknown = sorted(wanted - {r["plot_id"] for r in rows})
            if unknown:
                raise InputError(
                    f"plot {unknown[0]} is not in the database; list plots with `orchard plots list`."
                )
            rows = [r for r in rows if r["plot_id"] in wanted]
        if not rows:
            raise InputError("there are no plots in the database; import plots first (orchard import-plots).")
        plots = PlotSet.from_records(rows)
        first = issue - pd.DateOffset(years=HISTORY_YEARS)
        weather = plot_weather(
            session, plots, resolution="daily", start=str(first.date()), end=f"{day} 23:59:59"
        )
    plots_ds = plots.to_dataset()
    ids = plots_ds["plot"].values.astype(str)
    sources["weather"] = str(weather.attrs.get("source", ""))
    if pd.Timestamp(weather["time"].values[-1]) < issue:
        raise InputError(
            f"the weather ends {pd.Timestamp(weather['time'].values[-1]).date()}, before the issue "
            f"date {day}; import recent weather first."
        )

    # Soil water balance over the season so far: Ks for growth, irrigation advice for the rules.
    progress("soil water balance")
    season_start = growth_model.season_start(growth_model.bloom_year_of(issue))
    ks = None
    try:
        with store.session_scope(engine) as session:
            balance = soil_model.balance_from_db(session, plots, str(season_start.date()), str(day))
        ks = balance["ks"].transpose("time", "plot")
        irrigation = soil_advice.irrigation_advice(balance, soil_model.wb.default_parameters(), day=issue)
        tables["irrigation"] = irrigation
        sources["soil"] = "water balance on " + str(balance.attrs.get("source", "plot weather"))
    except OrchardError as exc:
        _note(notes, recs, ids, day, "soil", exc)
        irrigation = None

    # Growth on the slope, with Ks; expected harvest from past years' weather.
    progress("growth")
    season = weather.sel(time=slice(season_start, issue))
    stages = pd.Series(dtype=int)
    expected = None
    try:
        with store.session_scope(engine) as session:
            grown = growth_model.run(plots, season, ks=ks, session=session)
            expected_ds = growth_outlook.expected_dates(plots, weather, issue, ks=None, session=session)
        stages = pd.Series(grown["stage"].isel(time=-1).to_numpy().astype(int), index=ids)
        expected = pd.DataFrame(
            {
                "plot_id": ids,
                "maturity_p10": expected_ds["maturity_date"].sel(quantile=0.1).to_numpy(),
                "maturity_p50": expected_ds["maturity_date"].sel(quantile=0.5).to_numpy(),
                "maturity_p90": expected_ds["maturity_date"].sel(quantile=0.9).to_numpy(),
                "maturity_delay_days": expected_ds["maturity_delay_days"].to_numpy(),
            }
        )
        tables["growth"] = grown
        tables["expected"] = expected
        parameter_sets["growth"] = grown.attrs["parameter_set"]
        sources["growth"] = f"{grown.attrs['weather_source']}; members: {expected_ds.attrs['member_sources']}"
    except OrchardError as exc:
        _note(notes, recs, ids, day, "growth", exc)
        grown = None

    # Pests, with the host state (flush, fruit susceptibility) from growth when it ran.
    progress("pests")
    try:
        host = None
        if grown is not None:
            host = {
                "flush_fraction": grown["flush_active"].astype(float).transpose("time", "plot"),
                "fruit_susceptible": xr.where(grown["fruit_age_d"].notnull(), 1.0, 0.0).transpose(
                    "time", "plot"
                ),
            }
        with store.session_scope(engine) as session:  # the agronomists' stored versions, else shipped
            pest_params = load_pest_parameters(session=session)
        outlook = pest_outlook(plots_ds, weather, issue, host=host, params=pest_params)
        signals = spray_signals(outlook).rename(columns={"plot": "plot_id"})
        levels = pd.DataFrame(
            {
                "plot_id": np.repeat(outlook["plot"].values.astype(str), outlook.sizes["pest"]),
                "pest": np.tile(outlook["pest"].values.astype(str), outlook.sizes["plot"]),
                "level_15d": outlook["level"].sel(horizon="15d").transpose("plot", "pest").to_numpy().ravel(),
                "probability_15d": outlook["probability"]
                .sel(horizon="15d")
                .transpose("plot", "pest")
                .to_numpy()
                .ravel(),
            }
        )
        tables["pests"] = outlook
        parameter_sets["pests"] = outlook.attrs["parameter_set"]
        sources["pests"] = (
            str(outlook.attrs.get("forecast_source", ""))
            + "; "
            + str(outlook.attrs.get("observed_weather_source", ""))
        )
        recs += rules.spray_rule(signals, levels, day, sources["pests"])
        recs += rules.skip_spray_rule(levels, day, params, sources["pests"])
        recs += rules.scout_rule(levels, day, params, sources["pests"])
    except OrchardError as exc:
        _note(notes, recs, ids, day, "pests", exc)

    # Crop condition from imagery registered up to the issue date.
    progress("monitoring")
    try:
        from monitoring import run as monitoring_run

        with store.session_scope(engine) as session:
            scenes = [s["path"] for s in store.list_scenes(session, end=f"{day}T23:59:59+08:00")]
        if not scenes:
            raise InputError(f"no satellite or drone scene registered up to {day}")
        result = monitoring_run.run(plots, scenes, as_of=day)
        alerts = result.alerts
        recs += rules.inspect_rule(
            alerts, day, "imagery: " + ", ".join(sorted({str(s) for s in scenes})[-1:])
        )
        sources["monitoring"] = f"{len(scenes)} scenes up to {day}"
    except OrchardError as exc:
        notes.append(f"monitoring: {exc}")

    progress("recommendations")
    if irrigation is not None:
        recs += rules.irrigate_rule(irrigation, stages, day, sources.get("soil", ""))
    if expected is not None:
        recs += rules.harvest_rule(expected, stages, day, params, sources.get("growth", ""))
    recs += _nitrogen(engine, plots, stages, day, params)
    harvest_by_plot = {r.plot_id: r.valid_from for r in recs if r.topic == "harvest"}
    progress("products")
    min_phi = _attach_products(engine, recs, plots, day, harvest_by_plot, notes)
    recs = rules.order(rules.resolve_conflicts(recs, harvest_by_plot, min_phi_days=min_phi, params=params))

    run_id = "week-" + hashlib.sha1(f"{day}|{','.join(ids)}".encode()).hexdigest()[:12]
    result = WeekResult(
        run_id=run_id,
        issued_on=day,
        recommendations=recs,
        parameter_sets=parameter_sets,
        sources=sources,
        notes=notes,
        tables=tables,
    )
    if store_result:
        with store.session_scope(engine) as session:
            store.store_advice_run(
                session,
                {
                    "run_id": run_id,
                    "issued_on": day,
                    "parameter_sets": parameter_sets,
                    "sources": sources,
                    "n_plots": len(ids),
                    "notes": notes,
                },
                result.records(),
            )
    return result


def _attach_products(
    engine, recs: list[Recommendation], plots: PlotSet, day: date, harvest_by_plot: dict, notes: list
) -> dict[str, float]:
    """Fitting products for every spray and nitrogen recommendation (advice.products.recommend_products):
    target matched, rotation and maximum uses against the plot's season history, PHI before the expected
    harvest, cheapest first; returns the shortest PHI per pest (for the conflict rules)."""
    from advice.catalogue import default_catalogue
    from advice.market import history_for
    from advice.products import recommend_products, rotation_parameters

    catalogue = default_catalogue()
    if catalogue.is_example:
        notes.append(
            "products come from the EXAMPLE catalogue (advice/catalogue): replace it with registered "
            "products before advising growers"
        )
    wanted = [r for r in recs if r.topic in ("spray", "fertilise")]
    plot_ids = sorted({r.plot_id for r in wanted})
    with store.session_scope(engine) as session:
        history = history_for(session, plot_ids, day.year, catalogue=catalogue) if plot_ids else None
        rotation = rotation_parameters(session)
    area = plots.frame["area_ha"].astype(float)
    area.index = area.index.astype(str)
    if history is not None and not history.empty and "id" not in history:
        history = history.assign(id=np.arange(len(history)))
    min_phi: dict[str, float] = {}
    ai = catalogue.active_ingredients
    n_content = ai[ai["ai_name_en"] == "N"].set_index("product_id")["content"]  # g N per kg
    # The choice depends on the target, the harvest date and the plot's history, not on its area (doses and
    # costs scale with it): choose once per distinct case at 1 ha, then scale to each plot.
    chosen: dict[tuple, pd.DataFrame] = {}
    longest_phi = int(catalogue.products["phi_days"].max())
    for r in wanted:
        target = r.action_numbers.get("pest") if r.topic == "spray" else "N"
        own = None if history is None or history.empty else history[history["plot_id"] == r.plot_id]
        history_key = () if own is None or own.empty else tuple(own["id"]) if "id" in own else (r.plot_id,)
        harvest = harvest_by_plot.get(r.plot_id)
        if harvest is not None and (harvest - day).days > longest_phi:
            harvest = None  # no pre-harvest interval reaches it: the choice does not depend on it
        key = (target, harvest, history_key)
        if key not in chosen:
            frame = recommend_products(catalogue, target, 1.0, own, on=day, harvest_date=harvest, n=3,
                                       params=rotation)
            chosen[key] = (
                frame,
                frame.to_dict("records"),
                float(frame["phi_days"].min()) if len(frame) else None,
            )
        fits, rows, shortest_phi = chosen[key]
        plot_area = float(area.get(r.plot_id, 1.0))
        if r.topic == "fertilise":
            # the label dose is replaced by the advised N: product amount = kg N / N content
            kg_n = r.action_numbers.get("kg_n_plot") or 0.0
            amounts = [kg_n / (float(n_content.get(row["product_id"], np.nan)) / 1000.0) for row in rows]
        else:
            amounts = [row["amount"] * plot_area for row in rows]
        r.products = [
            {
                "product_id": row["product_id"],
                "name_zh": row["trade_name_zh"],
                "name_en": row["trade_name_en"],
                "moa_groups": row["moa_groups"],
                "amount": round(float(amount), 2),
                "unit": row["unit"],
                "cost_cny": None
                if pd.isna(row["cost_cny"])
                else round(float(row["cost_cny"]) * float(amount) / float(row["amount"]), 1),
                "phi_days": int(row["phi_days"]),
            }
            for row, amount in zip(rows, amounts, strict=True)
        ]
        if r.topic == "spray" and shortest_phi is not None:
            pest = r.action_numbers.get("pest")
            min_phi[pest] = min(min_phi.get(pest, np.inf), shortest_phi)
    return min_phi


def _nitrogen(engine, plots: PlotSet, stages: pd.Series, day: date, params) -> list[Recommendation]:
    """Nitrogen advice of the current window, skipping plots given N recently (from the application log)."""
    from monitoring.soil import advice as soil_advice

    frame = plots.frame
    rate, _ = soil_advice.nitrogen_rate(np.full(len(frame), float(params["nitrogen.expected_yield"])))
    rate = pd.Series(rate, index=frame.index.astype(str))
    with store.session_scope(engine) as session:
        recent = store.list_applications(
            session,
            plot_ids=list(frame.index.astype(str)),
            start=day - timedelta(days=int(params["nitrogen.recent_days"])),
            end=day,
        )
    given = {a["plot_id"] for a in recent if str(a.get("target") or "").upper() == "N"}
    recent_n = pd.Series({pid: pid in given for pid in frame.index.astype(str)})
    return rules.nitrogen_rule(
        frame,
        stages,
        day,
        recent_n,
        params,
        rate,
        f"expected yield {float(params['nitrogen.expected_yield']):.0f} t/ha (rules.toml)",
    )
