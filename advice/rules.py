"""Rules: module outputs -> Recommendation records, conflicts resolved, ordered by urgency.

Each rule is a small function taking the tables the pipeline gathered (pandas DataFrames keyed by
``plot_id``) and returning a list of :class:`~advice.recommendation.Recommendation`. The thresholds are in
``advice/parameters/rules.toml`` (value, unit, range, source). Message keys (``advice.action.*``,
``advice.reason.*``) are translated by the app; ``evidence`` carries the English sentence with the numbers.
"""

from __future__ import annotations

import math

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from advice.recommendation import Recommendation
from orchard import params as orchard_params

__all__ = [
    "RULES_FILE",
    "harvest_rule",
    "inspect_rule",
    "irrigate_rule",
    "nitrogen_rule",
    "order",
    "resolve_conflicts",
    "rules_parameters",
    "scout_rule",
    "skip_spray_rule",
    "spray_rule",
]

RULES_FILE = Path(__file__).resolve().parent / "parameters" / "rules.toml"

#: Stage codes of growth.phenology.STAGES that fall in fruit expansion (water matters most).
FRUIT_EXPANSION_STAGES = (3, 4)


def rules_parameters(session=None) -> orchard_params.ParameterSet:
    """The rule thresholds: the latest version stored in the database (``session``), else the shipped file."""
    return orchard_params.in_force(session, orchard_params.load_parameters(RULES_FILE, name="advice.rules"))


def _day(value) -> date:
    return pd.Timestamp(value).date()


def spray_rule(decisions: pd.DataFrame, issue: date, params, source: str) -> list[Recommendation]:
    """Sprays, protection notes and missed infections from the spray decisions (advice.protection).

    ``decisions``: one row per plot and pest with ``decision`` (spray, curative, missed, protected,
    too_soon, low_risk), ``level_15d``, ``severity_unprotected``, ``first_day`` (lead day of the first
    expected severity on unprotected days), ``protected_until`` (last protected day, date or None),
    ``product_id`` / ``applied_on`` (the deposit lasting longest), ``rain_counted_mm`` (since that spray),
    ``days_since_event``, ``days_since_spray``. ``params``: the protection parameters.

    - spray: severity = the level; the latest date is the day before the first day at risk;
    - curative: severity 5, within the product's curative window after the event;
    - missed: scout for symptoms ``missed.scout_days`` after the event (no spray can stop it now);
    - protected / too_soon: a note (topic skip_spray, severity 1) naming the spray that covers the risk and
      until when, unless more than the wash-off rain falls.
    """
    out = []
    end_mm = float(params["washoff.end_mm"])
    for row in decisions.itertuples(index=False):
        code = row.decision
        if code == "low_risk":
            continue
        level = int(row.level_15d)
        numbers = {
            "pest": row.pest,
            "level": level,
            "decision": code,
            "severity": round(float(row.severity_unprotected), 2),
            "probability_15d": round(float(getattr(row, "probability_15d", np.nan)), 2),
        }
        if code in ("spray", "curative", "tank_mix"):
            # The action window runs from the issue day to a day the grower can still meet (issue #19): the
            # end of the curative window, else the first day the forecast expects an infection (spray before
            # that day's rain), at least the day after the issue day.
            first_day = int(row.first_day) if row.first_day and np.isfinite(row.first_day) else 0
            before_rain = False
            if code == "curative":
                window_left = max(1, math.ceil(float(row.curative_days_left)))
                latest = issue + timedelta(days=window_left)
                evidence = (
                    f"{row.pest}: infection event {row.days_since_event:.0f} d ago on unprotected tissue; "
                    f"a systemic product still stops it until {latest}"
                )
            elif code == "tank_mix":
                before_rain = first_day > 0
                latest = issue + timedelta(days=first_day if first_day else 7)
                evidence = (
                    f"{row.pest}: 15-day level {level}, expected severity {row.severity_unprotected:.2f} "
                    "on unprotected tissue; add it to this week's spray"
                )
            else:
                before_rain = first_day > 0
                latest = issue + timedelta(days=max(first_day, 1))
                evidence = (
                    f"{row.pest}: 15-day level {level}, expected severity {row.severity_unprotected:.2f} "
                    f"on unprotected susceptible tissue from {issue + timedelta(days=first_day)}"
                )
            out.append(
                Recommendation(
                    plot_id=row.plot_id,
                    issued_on=issue,
                    valid_from=issue,
                    valid_to=latest,
                    topic="spray",
                    severity=5 if code == "curative" else 2 if code == "tank_mix" else min(5, max(3, level)),
                    action_key=f"advice.action.spray_{'curative' if code == 'curative' else 'protective'}",
                    reason_key={"spray": "advice.reason.unprotected_risk", "tank_mix": "advice.reason.tank_mix",
                                "curative": "advice.reason.unprotected_event"}[code],
                    module="pests",
                    action_numbers={"pest": row.pest, "latest_date": str(latest),
                                    "window_from": str(issue), "window_to": str(latest),
                                    "before_rain": before_rain},
                    reason_numbers=numbers,
                    evidence=evidence,
                    source=source,
                    confidence=min(1.0, float(row.severity_unprotected)),
                )
            )
        elif code == "missed":
            scout_on = issue + timedelta(
                days=max(0, int(params["missed.scout_days"]) - int(row.days_since_event))
            )
            out.append(
                Recommendation(
                    plot_id=row.plot_id,
                    issued_on=issue,
                    valid_from=scout_on,
                    valid_to=scout_on + timedelta(days=7),
                    topic="scout",
                    severity=2,
                    action_key="advice.action.scout_symptoms",
                    reason_key="advice.reason.missed_event",
                    module="pests",
                    action_numbers={"pest": row.pest, "scout_on": str(scout_on)},
                    reason_numbers={
                        **numbers,
                        "event_date": str(issue - timedelta(days=int(row.days_since_event))),
                    },
                    evidence=f"{row.pest}: infection event {row.days_since_event:.0f} d ago on unprotected "
                    "tissue, "
                    f"past any curative window; scout for symptoms from {scout_on}",
                    source=source,
                    confidence=0.5,
                )
            )
        elif code in ("protected", "too_soon"):
            until = row.protected_until
            ends_at = float(getattr(row, "rain_end_mm", np.nan))
            left_mm = max(0.0, (ends_at if np.isfinite(ends_at) else end_mm) - float(row.rain_counted_mm))
            if code == "protected" and until is not None and not pd.isna(until):
                evidence = (
                    f"{row.pest}: protected by the {row.applied_on} {row.product_id} spray until ~{until} "
                    f"unless more than {left_mm:.0f} mm of rain"
                )
                key = "advice.action.protected"
            else:
                evidence = (
                    f"{row.pest}: 15-day level {level}, but the last spray was {row.days_since_spray:.0f} d "
                    "ago; check again next week"
                )
                key = "advice.action.too_soon"
            out.append(
                Recommendation(
                    plot_id=row.plot_id,
                    issued_on=issue,
                    valid_from=issue,
                    valid_to=_day(until)
                    if code == "protected" and until is not None and not pd.isna(until)
                    else issue + timedelta(days=7),
                    topic="skip_spray",
                    severity=1,
                    action_key=key,
                    reason_key="advice.reason.protected",
                    module="pests",
                    action_numbers={
                        "pest": row.pest,
                        "product_id": row.product_id,
                        "product_zh": getattr(row, "product_zh", row.product_id),
                        "product_en": getattr(row, "product_en", row.product_id),
                        "sprayed_on": str(row.applied_on),
                        "until": str(until),
                        "rain_mm_left": int(round(left_mm)),
                        "days_since_spray": None
                        if not np.isfinite(row.days_since_spray)
                        else int(row.days_since_spray),
                    },
                    reason_numbers=numbers,
                    evidence=evidence,
                    source=source,
                    confidence=None,
                )
            )
    return out


def skip_spray_rule(levels: pd.DataFrame, issue: date, params, source: str) -> list[Recommendation]:
    """Skip the calendar spray of a pest whose 15-day risk is low during its usual spray months.

    The months come from ``calendar.<pest>_first_month`` / ``_last_month`` (the local calendar programme).
    """
    out = []
    month = issue.month
    for row in levels.itertuples(index=False):
        key = f"calendar.{row.pest}"
        if f"{key}_first_month" not in params:
            continue
        if not params[f"{key}_first_month"] <= month <= params[f"{key}_last_month"]:
            continue
        if int(row.level_15d) <= int(params["spray.skip_max_level"]):
            out.append(
                Recommendation(
                    plot_id=row.plot_id,
                    issued_on=issue,
                    valid_from=issue,
                    valid_to=issue + timedelta(days=14),
                    topic="skip_spray",
                    severity=1,
                    action_key="advice.action.skip_calendar_spray",
                    reason_key="advice.reason.low_risk",
                    module="pests",
                    action_numbers={"pest": row.pest},
                    reason_numbers={
                        "pest": row.pest,
                        "level": int(row.level_15d),
                        "probability_15d": round(float(row.probability_15d), 2),
                    },
                    evidence=f"{row.pest}: 15-day risk level {int(row.level_15d)} "
                    f"(P = {row.probability_15d:.2f}); the calendar spray can be skipped this fortnight",
                    source=source,
                    confidence=1.0 - float(row.probability_15d),
                )
            )
    return out


def scout_rule(levels: pd.DataFrame, issue: date, params, source: str) -> list[Recommendation]:
    """Scout for mites when their risk is rising but no spray is advised yet (level at the scouting level)."""
    out = []
    for row in levels[levels["pest"] == "mites"].itertuples(index=False):
        if int(row.level_15d) == int(params["scout.mite_level"]):
            out.append(
                Recommendation(
                    plot_id=row.plot_id,
                    issued_on=issue,
                    valid_from=issue,
                    valid_to=issue + timedelta(days=7),
                    topic="scout",
                    severity=2,
                    action_key="advice.action.scout_mites",
                    reason_key="advice.reason.mites_near_threshold",
                    module="pests",
                    action_numbers={"leaves": int(params["scout.leaves_per_plot"])},
                    reason_numbers={
                        "level": int(row.level_15d),
                        "probability_15d": round(float(row.probability_15d), 2),
                    },
                    evidence=f"mites: 15-day level {int(row.level_15d)} (P = {row.probability_15d:.2f}); "
                    f"count mites on {int(params['scout.leaves_per_plot'])} leaves before deciding to spray",
                    source=source,
                    confidence=float(row.probability_15d),
                )
            )
    return out


def irrigate_rule(
    irrigation: pd.DataFrame, stages: pd.Series, issue: date, source: str
) -> list[Recommendation]:
    """Irrigate when depletion passes RAW (monitoring.soil.advice.irrigation_advice); most urgent while the
    fruit expands (stages I–II), when water deficits cut final size."""
    out = []
    for row in irrigation.itertuples(index=False):
        if not bool(row.irrigate):
            continue
        expanding = int(stages.get(row.plot_id, 0)) in FRUIT_EXPANSION_STAGES
        hours = None if row.hours is None or np.isnan(row.hours) else round(float(row.hours), 1)
        out.append(
            Recommendation(
                plot_id=row.plot_id,
                issued_on=issue,
                valid_from=issue,
                valid_to=issue + timedelta(days=3),
                topic="irrigate",
                severity=4 if expanding else 3,
                action_key="advice.action.irrigate",
                reason_key="advice.reason.depletion_past_raw",
                module="soil",
                action_numbers={
                    "net_mm": round(float(row.net_mm), 1),
                    "gross_mm": round(float(row.gross_mm), 1),
                    "hours": hours,
                },
                reason_numbers={
                    "depletion_mm": round(float(row.depletion_mm), 1),
                    "raw_mm": round(float(row.raw_mm), 1),
                    "ks": round(float(row.ks), 2),
                    "fruit_expansion": expanding,
                },
                evidence=str(row.reason) + ("; fruit expanding" if expanding else ""),
                source=source,
                confidence=0.8,
            )
        )
    return out


def nitrogen_rule(
    plots: pd.DataFrame,
    stages: pd.Series,
    issue: date,
    recent_n: pd.Series,
    params,
    rate_kg_ha: pd.Series,
    source: str,
) -> list[Recommendation]:
    """Nitrogen dose of the current phenology window (split by stage), unless N was applied recently.

    ``rate_kg_ha``: annual N per plot (monitoring.soil.advice.nitrogen_rate); ``recent_n``: True where an N
    fertiliser was applied in the last ``nitrogen.recent_days``.
    """
    window = _nitrogen_window(issue.month, int(stages.median()) if len(stages) else 0, params)
    if window is None:
        return []
    name, share = window
    out = []
    for plot_id in plots.index:
        if bool(recent_n.get(plot_id, False)):
            continue
        dose = float(rate_kg_ha.get(plot_id, np.nan)) * share
        if not np.isfinite(dose) or dose <= 0:
            continue
        area = float(plots.loc[plot_id, "area_ha"]) if "area_ha" in plots else np.nan
        out.append(
            Recommendation(
                plot_id=plot_id,
                issued_on=issue,
                valid_from=issue,
                valid_to=issue + timedelta(days=21),
                topic="fertilise",
                severity=2,
                action_key="advice.action.fertilise_nitrogen",
                reason_key="advice.reason.nitrogen_split",
                module="soil",
                action_numbers={
                    "kg_n_per_ha": round(dose, 1),
                    "kg_n_plot": None if not np.isfinite(area) else round(dose * area, 1),
                    "window": name,
                },
                reason_numbers={
                    "annual_kg_n_per_ha": round(float(rate_kg_ha.get(plot_id, np.nan)), 0),
                    "share": share,
                    "window": name,
                },
                evidence=f"{name}: {share:.0%} of the annual {rate_kg_ha.get(plot_id, np.nan):.0f} kg N/ha "
                f"= {dose:.0f} kg N/ha",
                source=source,
                confidence=0.7,
            )
        )
    return out


def _nitrogen_window(month: int, stage: int, params):
    windows = (
        ("pre_spring_flush", (2, 3)),
        ("fruit_set", (5, 5)),
        ("fruit_enlargement", (7, 8)),
        ("post_harvest", (11, 12)),
    )
    shares = np.asarray(params["nitrogen.split"], dtype=float)
    shares = shares / shares.sum()
    for (name, (first, last)), share in zip(windows, shares, strict=True):
        if first <= month <= last:
            return name, float(share)
    return None


def harvest_rule(
    expected: pd.DataFrame, stages: pd.Series, issue: date, params, source: str
) -> list[Recommendation]:
    """Harvest window from the expected maturity (growth.outlook.expected_dates), with the slope's delay.

    ``expected``: plot_id, maturity_p10, maturity_p50, maturity_p90 (dates), maturity_delay_days. Severity 3
    when the window opens within ``harvest.soon_days``, else 1 (for planning).
    """
    out = []
    for row in expected.itertuples(index=False):
        mature_now = int(stages.get(row.plot_id, 0)) == 6
        if pd.isna(row.maturity_p50) and not mature_now:
            continue
        start = (
            issue
            if mature_now
            else _day(row.maturity_p10 if not pd.isna(row.maturity_p10) else row.maturity_p50)
        )
        end = _day(row.maturity_p90) if not pd.isna(row.maturity_p90) else start + timedelta(days=30)
        end = max(end, start + timedelta(days=int(params["harvest.window_days"])))
        soon = mature_now or (start - issue).days <= int(params["harvest.soon_days"])
        delay = None if pd.isna(row.maturity_delay_days) else float(row.maturity_delay_days)
        out.append(
            Recommendation(
                plot_id=row.plot_id,
                issued_on=issue,
                valid_from=max(start, issue),
                valid_to=end,
                topic="harvest",
                severity=3 if soon else 1,
                action_key="advice.action.harvest_window",
                reason_key="advice.reason.maturity_expected",
                module="growth",
                action_numbers={
                    "from": str(max(start, issue)),
                    "to": str(end),
                    "expected": None if pd.isna(row.maturity_p50) else str(_day(row.maturity_p50)),
                },
                reason_numbers={"delay_days": delay, "mature_now": mature_now},
                evidence=(
                    "fruit already at harvest maturity"
                    if mature_now
                    else f"expected maturity {_day(row.maturity_p50)} (P10 {start}, P90 {end})"
                )
                + (
                    f"; the slope delays maturity by {delay:+.0f} days against flat ground"
                    if delay is not None
                    else ""
                ),
                source=source,
                confidence=0.6,
            )
        )
    return out


def inspect_rule(alerts: pd.DataFrame, issue: date, source: str) -> list[Recommendation]:
    """Inspect poor-growth zones raised by monitoring (monitoring.run alerts)."""
    out = []
    for row in alerts.itertuples(index=False):
        area_mu = getattr(row, "area_mu", None)
        out.append(
            Recommendation(
                plot_id=str(row.plot_id),
                issued_on=issue,
                valid_from=issue,
                valid_to=issue + timedelta(days=14),
                topic="inspect",
                severity=int(getattr(row, "severity", 3)),
                action_key="advice.action.inspect_zone",
                reason_key=str(getattr(row, "message_key", "advice.reason.poor_growth")),
                module="monitoring",
                action_numbers={
                    "area_mu": None if area_mu is None or pd.isna(area_mu) else round(float(area_mu), 1),
                    "signal": str(getattr(row, "signal", "")),
                },
                reason_numbers={
                    "since": str(getattr(row, "since", "")),
                    "signal": str(getattr(row, "signal", "")),
                },
                evidence=f"poor growth ({getattr(row, 'signal', '')}) since {getattr(row, 'since', '?')}",
                source=source,
                confidence=0.7,
            )
        )
    return out


def resolve_conflicts(
    recommendations: list[Recommendation],
    harvest_by_plot: dict,
    min_phi_days: dict,
    rain_forecast_mm: dict | None = None,
    params=None,
) -> list[Recommendation]:
    """Drop advice that contradicts other advice.

    - No spray whose shortest pre-harvest interval would reach past the plot's expected harvest start
      (``min_phi_days[pest]``: the shortest PHI among products for that pest).
    - No irrigation when the forecast rain over the next days reaches ``irrigation.rain_forecast_mm``.
    - No "skip the calendar spray" for a pest for which a spray is advised on the same plot, and no mite
      scouting where a mite spray is already advised.
    """
    rain_forecast_mm = rain_forecast_mm or {}
    sprayed = {(r.plot_id, r.action_numbers.get("pest")) for r in recommendations if r.topic == "spray"}
    # a pest already covered by a live spray needs no scouting for it either
    sprayed |= {
        (r.plot_id, r.action_numbers.get("pest"))
        for r in recommendations
        if r.action_key == "advice.action.protected"
    }
    kept = []
    for r in recommendations:
        if r.topic == "spray":
            harvest = harvest_by_plot.get(r.plot_id)
            phi = min_phi_days.get(r.action_numbers.get("pest"), 0)
            if harvest is not None and r.issued_on + timedelta(days=int(phi)) > harvest:
                continue
        if (
            r.topic == "irrigate"
            and params is not None
            and rain_forecast_mm.get(r.plot_id, 0.0) >= float(params["irrigation.rain_forecast_mm"])
        ):
            continue
        if (
            r.topic == "skip_spray"
            and r.action_key == "advice.action.skip_calendar_spray"
            and (r.plot_id, r.action_numbers.get("pest")) in sprayed
        ):
            continue
        if r.topic == "scout" and (r.plot_id, "mites") in sprayed:
            continue
        kept.append(r)
    return kept


def order(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Most urgent first: severity, then the earliest deadline, then plot."""
    return sorted(recommendations, key=lambda r: (-r.severity, r.valid_to, r.plot_id, r.topic))
