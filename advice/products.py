"""Product choice: the catalogue products that fit a target, a plot's spray history and the harvest date.

Rules (ecosystem notes §4.2; the label is always binding), counted per plot and season:

- the product's own maximum uses per season (每季最多使用次数): blocked when its count has reached it;
- per FRAC/IRAC group, across all targets: blocked when the group's count has reached
  ``rotation.max_applications_per_code_per_season``;
- rotation: blocked when the trailing run of applications *against this target* using the same group has
  reached ``rotation.max_consecutive_same_code`` (1 = the last application for this target used the group);
- QoI cap: FRAC 11 and 11A are separate groups for rotation, but together may be used at most
  ``rotation.qoi_max_applications_per_season`` times (one more when both 11 and 11A are in the programme);
- FRAC multi-site (M) groups are exempt from the rotation and group limits, never from the product's maximum;
- pre-harvest interval: blocked when ``on + phi_days > harvest_date``.

Allowed products are ranked cheapest first by their cost for the plot's area; when the ``n`` cheapest share
one mode of action and another is allowed, the last slot goes to the cheapest product with another mode, so
the grower always sees a rotation partner.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from orchard.errors import InputError
from orchard.params import ParameterSet, load_parameters

from .catalogue import Catalogue, dose_for_area

__all__ = ["attach_products", "EXCLUSION_REASONS", "ROTATION_FILE", "recommend_products", "rotation_parameters", "season_window"]

ROTATION_FILE = Path(__file__).resolve().parent / "parameters" / "rotation.toml"
QOI_GROUPS = ("FRAC 11", "FRAC 11A")

#: Reason keys of excluded products (the app translates ``advice.exclude.<key>``), in the order checked.
EXCLUSION_REASONS = {
    "product_max_uses": "the product has been used {uses} times this season, its label maximum is {limit}",
    "code_max_uses": "group {group} has been used {uses} times this season, the limit is {limit}",
    "consecutive_same_code": "the last {uses} application(s) against {target} used group {group}; rotate to "
    "another group",
    "qoi_cap": "QoI fungicides (FRAC 11/11A) have been used {uses} times this season, the limit is {limit}",
    "phi": "its pre-harvest interval of {phi} days ends on {until}, after the harvest on {harvest}",
}

RESULT_COLUMNS = [
    "rank",
    "product_id",
    "trade_name_zh",
    "trade_name_en",
    "moa_groups",
    "amount",
    "unit",
    "dose_per_ha",
    "spray_liquid_l",
    "water_l",
    "cost_cny",
    "packs",
    "pack_size",
    "price_cny",
    "phi_days",
    "rei_hours",
    "uses_this_season",
    "max_applications_per_season",
    "is_example",
]
EXPLAIN_COLUMNS = RESULT_COLUMNS + ["recommended", "excluded", "reason", "reason_text"]


@functools.cache
def _shipped_parameters() -> ParameterSet:
    return load_parameters(ROTATION_FILE)


def rotation_parameters(session=None) -> ParameterSet:
    """The rotation limits: the latest version stored in the database (``session``), else the shipped
    ``advice/parameters/rotation.toml``."""
    from orchard.params import in_force

    return in_force(session, _shipped_parameters())


def _as_date(what: str, value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date; use YYYY-MM-DD.") from None


def season_window(on, start_month: int = 1) -> tuple[date, date]:
    """First and last day of the twelve-month season holding ``on``, starting on day 1 of
    ``start_month``."""
    on = _as_date("date", on)
    year = on.year if on.month >= start_month else on.year - 1
    start = date(year, start_month, 1)
    end = date(year + 1, start_month, 1) if start_month > 1 else date(year + 1, 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def _history_groups(history: pd.DataFrame, catalogue: Catalogue) -> list[tuple[str, ...]]:
    if "moa_groups" in history.columns:
        return [
            tuple(g for g in str(v).split(";") if g) if isinstance(v, str) else tuple(v or ())
            for v in history["moa_groups"]
        ]
    out = []
    for pid in history["product_id"]:
        out.append(catalogue.groups(pid) if pid in catalogue.products.index else ())
    return out


def _prepare_history(history, catalogue: Catalogue, start: date, on: date) -> pd.DataFrame:
    columns = ["product_id", "applied_on", "target", "groups", "product_targets"]
    if history is None or len(history) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    history = pd.DataFrame(history).reset_index(drop=True)
    for column in ("product_id", "applied_on"):
        if column not in history.columns:
            raise InputError(
                f"the application history has no column '{column}'; pass the frame from "
                "advice.market.history_for()."
            )
    if "plot_id" in history.columns and history["plot_id"].nunique() > 1:
        raise InputError("the application history holds several plots; pass the history of one plot.")
    frame = pd.DataFrame(
        {
            "product_id": history["product_id"].astype(str),
            "applied_on": [_as_date("applied_on", v) for v in history["applied_on"]],
            "target": history["target"] if "target" in history.columns else None,
            "groups": _history_groups(history, catalogue),
        }
    )
    frame["product_targets"] = [
        tuple(catalogue.products.at[p, "targets"].split(";")) if p in catalogue.products.index else ()
        for p in frame["product_id"]
    ]
    order = history["id"] if "id" in history.columns else pd.Series(range(len(history)))
    frame["_order"] = order.to_numpy()
    frame = frame[(frame["applied_on"] >= start) & (frame["applied_on"] <= on)]
    return frame.sort_values(["applied_on", "_order"], kind="stable").reset_index(drop=True)


def _against(history: pd.DataFrame, target: str) -> pd.DataFrame:
    """Applications aimed at ``target``: recorded so, or without a recorded target on a product for it."""
    if history.empty:
        return history
    recorded = history["target"].where(history["target"].notna(), None)
    mask = [
        (t == target) if isinstance(t, str) and t else (target in pts)
        for t, pts in zip(recorded, history["product_targets"], strict=True)
    ]
    return history[mask]


def _trailing_run(group_lists, group: str) -> int:
    run = 0
    for groups in reversed(list(group_lists)):
        if group not in groups:
            break
        run += 1
    return run


def _exclusions(
    pid: str,
    row: pd.Series,
    groups: tuple[str, ...],
    history: pd.DataFrame,
    target_history: pd.DataFrame,
    *,
    target: str,
    on: date,
    harvest: date | None,
    exempt: frozenset[str],
    max_consecutive: int,
    code_cap: int,
    qoi_cap: int,
) -> list[tuple[str, str]]:
    """(reason key, reason text) for every rule the product breaks, in the order of EXCLUSION_REASONS."""
    reasons = []
    uses = int((history["product_id"] == pid).sum()) if not history.empty else 0
    limit = int(row["max_applications_per_season"])
    if uses >= limit:
        reasons.append(
            ("product_max_uses", EXCLUSION_REASONS["product_max_uses"].format(uses=uses, limit=limit))
        )
    rotating = [g for g in groups if g not in exempt]
    all_groups = list(history["groups"]) if not history.empty else []
    for g in rotating:
        count = sum(g in gs for gs in all_groups)
        if count >= code_cap:
            reasons.append(
                (
                    "code_max_uses",
                    EXCLUSION_REASONS["code_max_uses"].format(group=g, uses=count, limit=code_cap),
                )
            )
            break
    target_groups = list(target_history["groups"]) if not target_history.empty else []
    for g in rotating:
        run = _trailing_run(target_groups, g)
        if run >= max_consecutive:
            reasons.append(
                (
                    "consecutive_same_code",
                    EXCLUSION_REASONS["consecutive_same_code"].format(uses=run, target=target, group=g),
                )
            )
            break
    if any(g in QOI_GROUPS for g in groups):
        qoi_uses = sum(any(g in QOI_GROUPS for g in gs) for gs in all_groups)
        both = all(any(q in gs for gs in all_groups + [groups]) for q in QOI_GROUPS)
        cap = qoi_cap + (1 if both else 0)
        if qoi_uses >= cap:
            reasons.append(("qoi_cap", EXCLUSION_REASONS["qoi_cap"].format(uses=qoi_uses, limit=cap)))
    if harvest is not None:
        until = date.fromordinal(on.toordinal() + int(row["phi_days"]))
        if until > harvest:
            reasons.append(
                (
                    "phi",
                    EXCLUSION_REASONS["phi"].format(phi=int(row["phi_days"]), until=until, harvest=harvest),
                )
            )
    return reasons


def recommend_products(
    catalogue: Catalogue,
    target: str,
    plot_area_ha: float,
    history=None,
    *,
    on,
    harvest_date=None,
    season_start=None,
    max_consecutive_same_code: int | None = None,
    n: int = 3,
    explain: bool = False,
    params: ParameterSet | None = None,
) -> pd.DataFrame:
    """The catalogue products that fit a target on one plot, cheapest first, respecting rotation and PHI.

    Parameters
    ----------
    catalogue : advice.catalogue.Catalogue
    target : str
        A pest id (black_spot, canker, mites, leaf_miner) or a nutrient (N, P, K, Mg, B, Zn).
    plot_area_ha : float
        Area to treat [ha]; doses and costs are for this area.
    history : pandas.DataFrame, optional
        The plot's applications (:func:`advice.market.history_for` for one plot): ``product_id``,
        ``applied_on``, optionally ``target``, ``moa_groups`` (else from the catalogue) and ``id`` (order of
        same-day applications). Rows outside the season holding ``on`` (or after ``on``) are ignored. An
        application without a recorded target counts against every target of its product.
    on : date or str
        Planned application date.
    harvest_date : date or str, optional
        Predicted harvest date; products whose PHI [d] would end after it are excluded.
    season_start : date or str, optional
        First day of the season whose counters apply; default from ``season.start_month``.
    max_consecutive_same_code : int, optional
        Rotation limit; default ``rotation.max_consecutive_same_code`` (1).
    n : int
        Number of products to recommend (≥ 1).
    explain : bool
        Return every candidate for the target, with ``recommended``, ``excluded``, ``reason`` (a key of
        :data:`EXCLUSION_REASONS`, None when allowed; the first rule broken) and ``reason_text`` (all rules
        broken, in English).
    params : orchard.params.ParameterSet, optional
        Rotation limits (e.g. an agronomist's version); default the shipped ``rotation.toml``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESULT_COLUMNS` (``amount`` [kg or L] and ``cost_cny`` [CNY] for the plot's area,
        ``packs`` whole packs to buy, ``water_l`` [L]); with ``explain`` also the explanation columns.
    """
    params = params or rotation_parameters()
    for_target = catalogue.for_target(target)
    on = _as_date("on", on)
    harvest = None if harvest_date is None else _as_date("harvest_date", harvest_date)
    if season_start is None:
        start, _ = season_window(on, int(params["season.start_month"]))
    else:
        start = _as_date("season_start", season_start)
    limit = (
        params["rotation.max_consecutive_same_code"]
        if max_consecutive_same_code is None
        else max_consecutive_same_code
    )
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit < 1:
        raise InputError(f"max_consecutive_same_code {limit!r} is not a whole number ≥ 1.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n {n!r} is not a whole number ≥ 1; ask for at least one product.")
    hist = _prepare_history(history, catalogue, start, on)
    target_hist = _against(hist, target)
    exempt = catalogue.exempt_groups()
    rows = []
    for pid, row in for_target.iterrows():
        groups = catalogue.groups(pid)
        dose = dose_for_area(row, plot_area_ha)
        cost = dose["amount"] / row["pack_size"] * row["price_cny"]
        reasons = _exclusions(
            pid,
            row,
            groups,
            hist,
            target_hist,
            target=target,
            on=on,
            harvest=harvest,
            exempt=exempt,
            max_consecutive=int(limit),
            code_cap=int(params["rotation.max_applications_per_code_per_season"]),
            qoi_cap=int(params["rotation.qoi_max_applications_per_season"]),
        )
        rows.append(
            {
                "product_id": pid,
                "trade_name_zh": row["trade_name_zh"],
                "trade_name_en": row["trade_name_en"],
                "moa_groups": row["moa_groups"],
                "amount": dose["amount"],
                "unit": dose["unit"],
                "dose_per_ha": dose["dose_per_ha"],
                "spray_liquid_l": dose["spray_liquid_l"],
                "water_l": dose["water_l"],
                "cost_cny": cost,
                "packs": int(math.ceil(dose["amount"] / row["pack_size"] - 1e-9)),
                "pack_size": row["pack_size"],
                "price_cny": row["price_cny"],
                "phi_days": int(row["phi_days"]),
                "rei_hours": row["rei_hours"],
                "uses_this_season": int((hist["product_id"] == pid).sum()) if not hist.empty else 0,
                "max_applications_per_season": int(row["max_applications_per_season"]),
                "is_example": bool(row["is_example"]),
                "excluded": bool(reasons),
                "reason": reasons[0][0] if reasons else None,
                "reason_text": "; ".join(text for _, text in reasons) if reasons else None,
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in EXPLAIN_COLUMNS if c not in ("rank", "recommended")])
    frame = frame.sort_values(["cost_cny", "product_id"], kind="stable").reset_index(drop=True)
    picked = _pick(frame[~frame["excluded"]], n)
    frame["recommended"] = frame.index.isin(picked)
    frame["rank"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame.loc[picked, "rank"] = range(1, len(picked) + 1)
    if explain:
        return frame[EXPLAIN_COLUMNS]
    return frame.loc[picked, RESULT_COLUMNS].reset_index(drop=True)


def _pick(allowed: pd.DataFrame, n: int) -> list:
    """Index labels of the ``n`` cheapest allowed products, keeping two modes of action when possible."""
    chosen = list(allowed.index[:n])
    if len(chosen) >= 2 and allowed.loc[chosen, "moa_groups"].nunique() == 1:
        same = allowed.at[chosen[0], "moa_groups"]
        others = allowed[(allowed["moa_groups"] != same) & ~allowed.index.isin(chosen)]
        if not others.empty:
            chosen[-1] = others.index[0]
    return chosen


#: Sprayer sizes when the caller passes none (the values of advice/parameters/rules.toml ``application.*``).
DEFAULT_APPLICATION = {"application.knapsack_l": 15.0, "application.drone_tank_l": 30.0,
                       "application.drone_water_l_per_mu": 3.0}


def _grower_dose(catalogue: Catalogue, product_id: str, dose_per_ha: float, unit: str, area_ha: float,
                 application: Mapping) -> dict:
    """The spray's dose per 亩, as 倍液 with its water, per knapsack and per drone tank (advice.doses)."""
    from advice.doses import dose_in_grower_units

    volume = catalogue.products.at[product_id, "spray_volume_l_per_ha"]
    return dose_in_grower_units(dose_per_ha=dose_per_ha, unit=unit, area_ha=area_ha,
                                spray_volume_l_per_ha=None if pd.isna(volume) else float(volume),
                                knapsack_l=float(application["application.knapsack_l"]),
                                drone_tank_l=float(application["application.drone_tank_l"]),
                                drone_water_l_per_mu=float(application["application.drone_water_l_per_mu"]))


def attach_products(recs, area_ha: pd.Series, day: date, harvest_by_plot: dict, history: pd.DataFrame | None,
                    rotation: ParameterSet, catalogue: Catalogue | None = None,
                    excluded: Mapping[str, frozenset] | None = None,
                    not_curative: frozenset = frozenset(),
                    application: Mapping | None = None) -> dict[str, float]:
    """Fitting products for every spray and nitrogen recommendation in ``recs`` (set on ``r.products``).

    Target matched, rotation and maximum uses against the plot's season ``history`` (applications up to
    ``day``), pre-harvest interval before the expected harvest (``harvest_by_plot``), cheapest first; doses
    scaled to the plot's ``area_ha``. ``excluded`` maps a plot to product ids it may not get this time (the
    copper cap, hot days); ``not_curative`` lists products that cannot stop an infection already under way
    (contact, copper), never offered for a curative spray. ``application`` holds the sprayer sizes of the
    grower's dose (``application.*`` of the advice.rules set; :data:`DEFAULT_APPLICATION` when None). Every
    spray product carries its label PHI (安全间隔期) and REI (re-entry interval); fertilisers carry neither.
    Returns the shortest PHI per pest (for the conflict rules).
    """
    application = DEFAULT_APPLICATION if application is None else application
    from advice.catalogue import default_catalogue

    catalogue = catalogue or default_catalogue()
    wanted = [r for r in recs if r.topic in ("spray", "fertilise")]
    min_phi: dict[str, float] = {}
    if not wanted:
        return min_phi
    ai = catalogue.active_ingredients
    n_content = ai[ai["ai_name_en"] == "N"].set_index("product_id")["content"]  # g N per kg
    by_plot = {} if history is None or history.empty else dict(tuple(history.groupby("plot_id")))
    # The choice depends on the target, the harvest date and the plot's history, not on its area (doses and
    # costs scale with it): choose once per distinct case at 1 ha, then scale to each plot.
    chosen: dict[tuple, tuple] = {}
    longest_phi = int(catalogue.products["phi_days"].max())
    for r in wanted:
        target = r.action_numbers.get("pest") if r.topic == "spray" else "N"
        own = by_plot.get(r.plot_id)
        history_key = () if own is None or own.empty else tuple(own["id"])
        harvest = harvest_by_plot.get(r.plot_id)
        if harvest is not None and (harvest - day).days > longest_phi:
            harvest = None  # no pre-harvest interval reaches it: the choice does not depend on it
        banned = (excluded or {}).get(r.plot_id, frozenset()) if r.topic == "spray" else frozenset()
        if r.action_key == "advice.action.spray_curative":
            banned = banned | not_curative
        key = (target, harvest, history_key, banned)
        if key not in chosen:
            allowed = catalogue if not banned else dataclasses.replace(
                catalogue, products=catalogue.products.drop(index=[p for p in banned
                                                                    if p in catalogue.products.index]))
            frame = recommend_products(allowed, target, 1.0, own, on=day, harvest_date=harvest, n=3,
                                       params=rotation)
            chosen[key] = (frame.to_dict("records"), float(frame["phi_days"].min()) if len(frame) else None)
        rows, shortest_phi = chosen[key]
        plot_area = float(area_ha.get(r.plot_id, 1.0))
        if r.topic == "fertilise":
            # the label dose is replaced by the advised N: product amount = kg N / N content
            kg_n = r.action_numbers.get("kg_n_plot") or 0.0
            amounts = [kg_n / (float(n_content.get(row["product_id"], np.nan)) / 1000.0) for row in rows]
        else:
            amounts = [row["amount"] * plot_area for row in rows]
        r.products = [
            {"product_id": row["product_id"], "name_zh": row["trade_name_zh"], "name_en": row["trade_name_en"],
             "moa_groups": row["moa_groups"], "amount": round(float(amount), 2), "unit": row["unit"],
             "cost_cny": None if pd.isna(row["cost_cny"])
             else round(float(row["cost_cny"]) * float(amount) / float(row["amount"]), 1),
             **({"phi_days": int(row["phi_days"]),
                 "rei_hours": None if pd.isna(row["rei_hours"]) else float(row["rei_hours"]),
                 "dose": _grower_dose(catalogue, row["product_id"], float(amount) / plot_area, row["unit"],
                                      plot_area, application)} if r.topic == "spray" else {})}
            for row, amount in zip(rows, amounts, strict=True)]
        if r.topic == "spray" and shortest_phi is not None:
            pest = r.action_numbers.get("pest")
            min_phi[pest] = min(min_phi.get(pest, np.inf), shortest_phi)
    return min_phi
