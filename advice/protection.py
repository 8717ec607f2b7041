"""Spray decisions with memory: what protects a plot against each pest, and whether a spray is needed.

Every pesticide application (recorded, or advised and followed in a season replay) leaves a *deposit* on the
plot for each pest its product controls. A deposit protects from the day of the spray for the residual days
of its product kind and the tissue the pest attacks (fruit for black spot, young leaves for the others), and
rain ends it early for products that wash off (contact, copper, oil): counted rain since the spray (days with
more than ``washoff.count_min_mm``) of ``washoff.halve_mm`` halves the days left, ``washoff.end_mm`` ends it
(the extension rule of K-State and OMAFRA; science note decisions.md 1.1-1.3).

A spray is advised for a pest only when (decisions.md 2.5)

- the pest's 15-day risk level reaches the level required since the plot's last spray (none within
  ``decision.min_days_between_sprays``; ``decision.level_8_14d`` up to 14 days; ``decision.level_after_14d``
  later: the PFD-FAD escalation), **and**
- the expected severity (the pest model's member-mean events × host susceptibility) summed over the days of
  the next 15 that no live deposit covers reaches ``decision.min_severity``.

Otherwise the plot is *protected* (a deposit covers the days at risk: the advice names it) or at *low risk*.
An infection event that already happened on unprotected tissue gets a *curative* spray inside the window of
a systemic product, else it is *missed*: scout for symptoms. Copper is held to a seasonal cap in kg Cu/ha and
kept off hot days.

Everything here is a pure function on tables and arrays; the weekly chain (advice/chain.py) calls them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from orchard.params import ParameterSet, load_parameters

__all__ = [
    "DECISIONS",
    "INFECTION_PESTS",
    "PEST_TISSUE",
    "PROTECTION_FILE",
    "copper_content",
    "copper_kg_per_ha",
    "deposits",
    "product_kind",
    "min_severity",
    "product_protection",
    "tank_mix",
    "protection_end",
    "protection_parameters",
    "protection_state",
    "spray_decisions",
]

PROTECTION_FILE = Path(__file__).resolve().parent / "parameters" / "protection.toml"

#: What each decision means (the app translates ``advice.decision.<code>``).
DECISIONS = {
    "spray": "a spray is needed before the expected infection or outbreak",
    "tank_mix": "a lesser risk covered in the same spray, as the plot is sprayed anyway",
    "curative": "an infection happened on unprotected tissue; a systemic product can still stop it",
    "missed": "an infection happened on unprotected tissue past any curative window; scout for symptoms",
    "protected": "a live spray deposit covers the days at risk",
    "too_soon": "risk is high but the last spray is too recent to spray again",
    "low_risk": "no infection or outbreak expected on susceptible tissue",
}

#: Pests whose events are infections (a past event can be cured or missed); for mites and leaf miner an
#: event is a population state that the outlook's severity already carries forward.
INFECTION_PESTS = ("black_spot", "canker")

#: The tissue each pest attacks (sets the residual of contact and systemic products).
PEST_TISSUE = {"black_spot": "fruit", "canker": "leaf", "mites": "leaf", "leaf_miner": "leaf"}

#: Metallic copper per kg of each copper active ingredient (computed from the formulae: Cu(OH)2 65.1 %,
#: Cu2(OH)3Cl 59.5 %, Cu2O 88.8 %; decisions.md section 6).
COPPER_FRACTION = {"copper hydroxide": 0.651, "copper oxychloride": 0.595, "cuprous oxide": 0.888,
                   "copper(i) oxide": 0.888}

_LONG_ACARICIDES = {"IRAC 10A", "IRAC 10B", "IRAC 20D", "IRAC 23", "IRAC 25B"}
_SHORT_ACARICIDES = {"IRAC 6", "IRAC 21A"}
_WASHES_OFF = {"copper", "contact", "oil"}
# longest-lasting first, for a product with several ingredients
_KIND_ORDER = ("acaricide_long", "systemic", "copper", "acaricide_short", "insecticide_long", "contact",
               "insecticide", "oil")


def protection_parameters(session=None) -> ParameterSet:
    """The decision parameters: the latest version stored in the database (``session``), else the shipped
    file ``advice/parameters/protection.toml``."""
    from orchard import params as orchard_params

    return orchard_params.in_force(session, load_parameters(PROTECTION_FILE, name="advice.protection"))


def product_kind(moa_group: str, ai_name: str = "") -> str:
    """Protection kind of one active ingredient from its FRAC/IRAC group (``"FRAC M01"``) and name.

    copper (FRAC M01), contact (other FRAC M), systemic (other FRAC groups), acaricide_long (IRAC 10A, 10B,
    20D, 23, 25B), acaricide_short (IRAC 6, 21A), oil (mineral oil), insecticide_long (IRAC 28), insecticide
    (other IRAC groups); "" for nutrients.
    """
    group = str(moa_group or "").strip()
    if "oil" in str(ai_name).lower():
        return "oil"
    if group == "FRAC M01":
        return "copper"
    if group.startswith("FRAC M"):
        return "contact"
    if group.startswith("FRAC"):
        return "systemic"
    if group in _LONG_ACARICIDES:
        return "acaricide_long"
    if group in _SHORT_ACARICIDES:
        return "acaricide_short"
    if group == "IRAC 28":
        return "insecticide_long"
    if group.startswith("IRAC"):
        return "insecticide"
    return ""


def _residual(kind: str, tissue: str, p) -> float:
    if kind in ("copper", "acaricide_long", "acaricide_short", "oil", "insecticide", "insecticide_long"):
        return float(p[f"residual.{kind}_d"])
    if kind in ("contact", "systemic"):
        return float(p[f"residual.{kind}_{tissue}_d"])
    return 0.0


def copper_content(catalogue) -> pd.Series:
    """Metallic copper per unit of each product [kg Cu per kg or L of product]; 0 for copper-free ones."""
    ais = catalogue.active_ingredients
    cu_share = ais["ai_name_en"].str.lower().map(COPPER_FRACTION).fillna(0.0)
    fraction = ais["content"].astype(float) / 1000.0 * cu_share
    out = fraction.groupby(ais["product_id"]).sum()
    return out.reindex(catalogue.products.index).fillna(0.0).rename("kg_cu_per_unit")


def copper_kg_per_ha(catalogue) -> pd.Series:
    """Metallic copper [kg Cu/ha] of one label-dose application of each product (0 for copper-free ones).

    kg Cu/ha = dose [kg product/ha] × content [g a.i./kg] / 1000 × Cu fraction of the a.i.
    """
    from advice.catalogue import dose_for_area

    content = copper_content(catalogue)
    out = {product_id: float(dose_for_area(row, 1.0)["dose_per_ha"]) * float(content[product_id])
           if content[product_id] > 0 else 0.0 for product_id, row in catalogue.products.iterrows()}
    return pd.Series(out, name="kg_cu_per_ha", dtype=float)


def product_protection(catalogue, params) -> pd.DataFrame:
    """Per product and pest it controls: kind, residual days, wash-off and curative window.

    Returns
    -------
    pandas.DataFrame
        One row per (product_id, pest): ``kind``, ``residual_d`` [d] (for the pest's tissue), ``washes_off``
        (bool), ``curative_h`` [h] (systemic fungicides only), ``kg_cu_per_ha`` [kg Cu/ha per application].
    """
    ais = catalogue.active_ingredients
    copper = copper_kg_per_ha(catalogue)
    rows = []
    for product_id, product in catalogue.products.iterrows():
        mine = ais[ais["product_id"] == product_id]
        kinds = [product_kind(a.moa_group, a.ai_name_en) for a in mine.itertuples()]
        kinds = [k for k in kinds if k]
        if not kinds:
            continue
        for pest in str(product["targets"]).split(";"):
            if pest not in PEST_TISSUE:
                continue
            tissue = PEST_TISSUE[pest]
            # abamectin against leaf miner acts as a foliar insecticide on new leaves (5-7 d, [C6])
            pest_kinds = ["insecticide" if pest == "leaf_miner" and k.startswith("acaricide") else k
                          for k in kinds]
            best = max(pest_kinds, key=lambda k: (_residual(k, tissue, params), -_KIND_ORDER.index(k)))
            rain_fast = "copper_" if best == "copper" else ""  # copper withstands more rain
            rows.append({
                "product_id": product_id, "pest": pest, "kind": best,
                "residual_d": _residual(best, tissue, params),
                "washes_off": all(k in _WASHES_OFF for k in pest_kinds),
                "halve_mm": float(params[f"washoff.{rain_fast}halve_mm"]),
                "end_mm": float(params[f"washoff.{rain_fast}end_mm"]),
                "curative_h": float(params["curative.systemic_h"]) if "systemic" in pest_kinds else 0.0,
                "kg_cu_per_ha": float(copper.get(product_id, 0.0))})
    return pd.DataFrame(rows, columns=["product_id", "pest", "kind", "residual_d", "washes_off", "halve_mm",
                                       "end_mm", "curative_h", "kg_cu_per_ha"])


def deposits(applications: pd.DataFrame | None, table: pd.DataFrame) -> pd.DataFrame:
    """The deposits of some applications: one row per application and pest its product controls.

    ``applications``: ``plot_id``, ``product_id``, ``applied_on`` (dates); ``table`` from
    :func:`product_protection`. Products without protection (fertilisers, unknown ids) leave none.
    """
    columns = ["plot_id", "product_id", "applied_on", "pest", "kind", "residual_d", "washes_off",
               "halve_mm", "end_mm", "curative_h"]
    if applications is None or len(applications) == 0:
        return pd.DataFrame(columns=columns)
    apps = applications[["plot_id", "product_id", "applied_on"]].copy()
    apps["plot_id"] = apps["plot_id"].astype(str)
    apps["applied_on"] = pd.to_datetime(apps["applied_on"]).dt.normalize()
    out = apps.merge(table, on="product_id", how="inner")
    return out[columns].reset_index(drop=True)


def protection_end(start_index, residual_d, washes_off, rain_mm, plot_index, *, count_min_mm: float = 2.0,
                   halve_mm: float = 25.0, end_mm: float = 50.0) -> np.ndarray:
    """First unprotected day of each deposit, as a day index (fractional after halving).

    A deposit made on day ``s`` protects days s … s + residual − 1. For products that wash off, rain is
    counted from the day after the spray (a spray goes on in a dry spell), only on days with more than
    ``count_min_mm``: on the day the count reaches ``halve_mm`` the days left are halved; on the day it
    reaches ``end_mm`` protection ends (K-State / OMAFRA rule, decisions.md 1.3). Rain after the last day of
    ``rain_mm`` (the future, in a live run) is unknown and does not shorten anything.

    Parameters
    ----------
    start_index : int array (n,)
        Day index of each spray in ``rain_mm``'s time axis (may be negative or past the end).
    residual_d : float array (n,) [d]
    washes_off : bool array (n,)
    rain_mm : float array (time, plot) [mm/d]
    halve_mm, end_mm : float or float array (n,) [mm], per deposit (copper is more rain-fast)
    plot_index : int array (n,)
        Column of each deposit's plot in ``rain_mm``.

    Returns
    -------
    numpy.ndarray (n,) float: day index of the first unprotected day.

    Examples: 10-d residual, 30 mm on day 2 → ends on day 2 + (10 − 2)/2 = 6; 50 mm on day 2 → ends on day 2
    (decisions.md check-values 1 and 2).
    """
    start = np.asarray(start_index, dtype=np.int64)
    residual = np.asarray(residual_d, dtype=float)
    end = start + residual
    wash = np.asarray(washes_off, dtype=bool) & (residual > 0)
    if not wash.any() or rain_mm.shape[0] == 0:
        return end
    n_time = rain_mm.shape[0]
    longest = int(np.ceil(residual[wash].max()))
    offsets = np.arange(1, longest + 1)
    days = start[wash, None] + offsets[None, :]
    inside = (days >= 0) & (days < n_time)
    rain = np.where(inside, np.asarray(rain_mm)[np.clip(days, 0, n_time - 1),
                                               np.asarray(plot_index)[wash, None]], 0.0)
    rain = np.where(np.isfinite(rain) & (rain > count_min_mm), rain, 0.0)
    counted = np.cumsum(rain, axis=1)
    new_end = end[wash].copy()
    halve_mm = np.broadcast_to(np.asarray(halve_mm, float), start.shape)[wash][:, None]
    end_mm = np.broadcast_to(np.asarray(end_mm, float), start.shape)[wash][:, None]
    halve = counted >= halve_mm
    has = halve.any(axis=1)
    r = start[wash] + offsets[np.argmax(halve, axis=1)]
    halved = r + (new_end - r) / 2.0
    new_end = np.where(has & (r < new_end), halved, new_end)
    gone = counted >= end_mm
    has = gone.any(axis=1)
    r2 = start[wash] + offsets[np.argmax(gone, axis=1)]
    new_end = np.where(has, np.minimum(new_end, r2), new_end)
    end = end.copy()
    end[wash] = new_end
    return end


def protection_state(deps: pd.DataFrame, day, times, rain_mm: np.ndarray, plot_ids, pests, params,
                     event_days: np.ndarray | None = None) -> dict:
    """Protection of every plot against every pest on ``day`` (and on each pest's last event day).

    Parameters
    ----------
    deps : DataFrame from :func:`deposits` (deposits made after ``day`` are ignored)
    day : date-like, the issue date
    times : datetime64 array of ``rain_mm``'s days (to ``day`` or beyond)
    rain_mm : float array (time, plot) [mm/d]
    plot_ids, pests : the order of the output axes
    params : :func:`protection_parameters`
    event_days : float array (plot, pest), optional
        Day offset (negative, from ``day``) of each pest's last infection event; NaN for none.

    Returns
    -------
    dict of arrays (plot, pest): ``end_offset`` (first unprotected day, in days from ``day``; −inf when no
    deposit), ``product_id`` and ``applied_on`` of the deposit lasting longest, ``rain_counted_mm`` since that
    spray and ``rain_end_mm``, the counted rain that ends it; ``protected_at_event`` (bool); (plot,):
    ``days_since_spray`` (inf when none).
    """
    day = pd.Timestamp(day).normalize()
    plot_ids = np.asarray(plot_ids).astype(str)
    n_plot, n_pest = len(plot_ids), len(pests)
    out = {"end_offset": np.full((n_plot, n_pest), -np.inf),
           "product_id": np.full((n_plot, n_pest), "", dtype=object),
           "applied_on": np.full((n_plot, n_pest), None, dtype=object),
           "rain_counted_mm": np.zeros((n_plot, n_pest)),
           "rain_end_mm": np.full((n_plot, n_pest), np.nan),
           "protected_at_event": np.zeros((n_plot, n_pest), dtype=bool),
           "days_since_spray": np.full(n_plot, np.inf)}
    if deps is None or deps.empty:
        return out
    deps = deps[(deps["applied_on"] <= day) & deps["plot_id"].isin(set(plot_ids))]
    if deps.empty:
        return out
    times = pd.DatetimeIndex(times).normalize()
    plot_col = pd.Index(plot_ids).get_indexer(deps["plot_id"])
    pest_col = pd.Index(list(pests)).get_indexer(deps["pest"])
    keep = pest_col >= 0
    deps, plot_col, pest_col = deps[keep], plot_col[keep], pest_col[keep]
    origin = times[0] if len(times) else day
    start = ((deps["applied_on"] - origin).dt.days).to_numpy()
    end = protection_end(start, deps["residual_d"].to_numpy(float), deps["washes_off"].to_numpy(bool),
                         rain_mm, plot_col, count_min_mm=float(params["washoff.count_min_mm"]),
                         halve_mm=deps["halve_mm"].to_numpy(float), end_mm=deps["end_mm"].to_numpy(float))
    day_index = (day - origin).days
    end_offset = end - day_index
    start_offset = start - day_index
    # the longest-lasting deposit per (plot, pest)
    order = np.lexsort((end_offset, pest_col, plot_col))
    last = np.ones(len(order), dtype=bool)
    key = plot_col[order] * n_pest + pest_col[order]
    last[:-1] = key[1:] != key[:-1]
    best = order[last]
    out["end_offset"][plot_col[best], pest_col[best]] = end_offset[best]
    out["product_id"][plot_col[best], pest_col[best]] = deps["product_id"].to_numpy()[best]
    out["applied_on"][plot_col[best], pest_col[best]] = deps["applied_on"].dt.date.to_numpy()[best]
    out["rain_end_mm"][plot_col[best], pest_col[best]] = deps["end_mm"].to_numpy(float)[best]
    rain = np.where(np.asarray(rain_mm) > float(params["washoff.count_min_mm"]), np.asarray(rain_mm), 0.0)
    rain = np.nan_to_num(rain)
    cum = np.vstack([np.zeros((1, rain.shape[1])), np.cumsum(rain, axis=0)]) if rain.size else None
    if cum is not None:
        lo = np.clip(start[best] + 1, 0, rain.shape[0])
        hi = np.clip(np.full(len(best), day_index + 1), 0, rain.shape[0])
        counted = cum[hi, plot_col[best]] - cum[lo, plot_col[best]]
        out["rain_counted_mm"][plot_col[best], pest_col[best]] = np.maximum(counted, 0.0)
    since = pd.Series(-start_offset.astype(float)).groupby(plot_col).min()
    out["days_since_spray"][since.index.to_numpy()] = since.to_numpy()
    if event_days is not None:
        ev = np.asarray(event_days, float)[plot_col, pest_col]
        covered = np.isfinite(ev) & (start_offset <= ev) & (ev < end_offset)
        hit = np.zeros((n_plot, n_pest), dtype=bool)
        np.logical_or.at(hit, (plot_col[covered], pest_col[covered]), True)
        out["protected_at_event"] = hit
    return out


def spray_decisions(*, level, severity_daily, end_offset, days_since_spray, days_since_event,
                    protected_at_event, curative_window_d, min_severity, params) -> dict:
    """Decision per plot and pest (arrays of one shape (n,); ``severity_daily`` (n, lead_day)).

    Parameters
    ----------
    level : int array, 15-day risk level 1-5
    severity_daily : float array (n, L): expected severity on lead days 1 … L (member-mean events × host
        susceptibility)
    end_offset : float array [d from the issue date]: first unprotected day (≤ 0: unprotected now)
    days_since_spray : float array [d]: since the plot's last pesticide spray (inf: none)
    days_since_event : float array [d]: since the pest's last infection event on observed weather (NaN: none)
    protected_at_event : bool array: a deposit covered that event
    curative_window_d : float array [d]: the best curative window of products against the pest (0: none)
    min_severity : float array: the pest's ``decision.min_severity_<pest>`` (:func:`min_severity`)
    params : :func:`protection_parameters`

    Returns
    -------
    dict: ``decision`` (codes of :data:`DECISIONS`), ``severity_unprotected`` (sum over the unprotected lead
    days), ``severity_total``, ``required_level``, ``first_day`` (lead day of the first expected severity on
    unprotected days, 0 = none).
    """
    level = np.asarray(level, int)
    sev = np.nan_to_num(np.asarray(severity_daily, float))
    lead = np.arange(1, sev.shape[1] + 1)
    end_offset = np.asarray(end_offset, float)
    unprotected = lead[None, :] >= end_offset[:, None]
    sev_unprot = np.where(unprotected, sev, 0.0)
    total = sev.sum(axis=1)
    open_sum = sev_unprot.sum(axis=1)
    days_since_spray = np.asarray(days_since_spray, float)
    required = np.where(days_since_spray <= 14, int(params["decision.level_8_14d"]),
                        int(params["decision.level_after_14d"]))
    too_soon = days_since_spray <= int(params["decision.min_days_between_sprays"])
    min_sev = np.asarray(min_severity, float)
    at_risk = (level >= required) & (open_sum >= min_sev)
    since_event = np.asarray(days_since_event, float)
    recent_event = np.isfinite(since_event) & (since_event <= 7) & ~np.asarray(protected_at_event, bool)
    window = np.asarray(curative_window_d, float)
    # a curative spray is a spray too: only where the pest's level says the season is dangerous, and not
    # within the minimum interval after the last spray (the PFD-FAD rule holds for any fungicide)
    # (and only while part of the window is left after the advice day: a window closing on the issue day
    # cannot be met by a grower who reads the advice that day; issue #19)
    curable = (recent_event & (window > 0) & (since_event < window) & ~too_soon
               & (level >= int(params["decision.level_after_14d"])))
    decision = np.full(level.shape, "low_risk", dtype=object)
    covered = (level >= int(params["decision.level_after_14d"])) & (total >= min_sev) & (open_sum < min_sev)
    decision[covered & (end_offset > 0)] = "protected"
    decision[recent_event] = "missed"
    decision[at_risk & too_soon] = "too_soon"
    decision[at_risk & ~too_soon] = "spray"
    decision[curable] = "curative"
    has = (sev_unprot > 1e-6).any(axis=1)
    first = np.where(has, lead[np.argmax(sev_unprot > 1e-6, axis=1)], 0)
    return {"decision": decision, "severity_unprotected": open_sum, "severity_total": total,
            "required_level": required, "first_day": first}


def min_severity(pests, params, tree_age_y=None) -> np.ndarray:
    """Each pest's ``decision.min_severity_<pest>`` (the expected severity that calls for a spray), shape
    (pest,); with ``tree_age_y`` (plot,) [yr], shape (plot, pest), infinite for leaf miner on plots at or
    over ``decision.leaf_miner_max_tree_age_y`` (bearing trees are not significantly affected; pests.md §7).
    Unknown ages (NaN) keep the threshold."""
    base = np.array([float(params[f"decision.min_severity_{p}"]) for p in pests])
    if tree_age_y is None:
        return base
    age = np.asarray(tree_age_y, float)
    out = np.tile(base, (len(age), 1))
    if "leaf_miner" in list(pests):
        old = np.isfinite(age) & (age >= float(params["decision.leaf_miner_max_tree_age_y"]))
        out[old, list(pests).index("leaf_miner")] = np.inf
    return out


def tank_mix(plot_id, decision, level, severity_unprotected, min_severity, params) -> np.ndarray:
    """Add lesser risks to a spray the plot gets anyway (arrays of one shape (n,), rows of several pests per
    plot): where a plot has a spray (or curative spray) this week, another pest at level
    ``decision.tank_mix_level`` or more with expected severity on unprotected days of at least
    ``decision.tank_mix_fraction`` of its ``min_severity`` becomes ``tank_mix``; no new spray day, and that
    pest is protected before its risk grows. Returns the new decisions.
    """
    decision = np.asarray(decision, dtype=object).copy()
    plot_id = np.asarray(plot_id).astype(str)
    sprayed = set(plot_id[np.isin(decision, ("spray", "curative"))])
    add = (np.isin(plot_id, list(sprayed)) & np.isin(decision, ("low_risk", "too_soon"))
           & (np.asarray(level, int) >= int(params["decision.tank_mix_level"]))
           & (np.asarray(severity_unprotected, float)
              >= float(params["decision.tank_mix_fraction"]) * np.asarray(min_severity, float)))
    decision[add] = "tank_mix"
    return decision
