"""Spray timing signals from an outlook: per plot and pest, whether a protective or curative action is
warranted in the next days, the latest sensible date, and what would make it unnecessary.

The advice module turns these into recommendations and product choices; messages here are keys plus numbers
(``unnecessary_if`` + ``unnecessary_args``) that the app translates.

Rules (parameters in each pest's TOML, ``spray.*``):

- black spot: an infection event on observed weather within ``spray.curative_window_days`` → *curative*
  until the window closes; else P(event in 15 d) ≥ ``spray.protect_probability`` → *protective* by the day
  before the first lead day at which that probability is reached; unnecessary if the forecast stays dry
  (no wet period as long as Wmin);
- canker: copper is protective only → *protective* as above; unnecessary without rain ≥ the event rain;
- mites: modelled or scouted density ≥ the action threshold → *curative* (miticide) within 3 days; else
  P(threshold in 15 d) ≥ the probability → *protective* (scout, prepare) by the day before; unnecessary if a
  count stays below the threshold or heavy rain (10-day rain above the crash level) comes first;
- leaf miner: *protective* for the flush as above; unnecessary if no new flush appears.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError

from .paramsets import load_all

__all__ = ["spray_signals", "ACTIONS"]

ACTIONS = ("none", "protective", "curative")
_MITE_CURATIVE_DAYS = 3


def _latest(cum_prob, threshold, issue):
    """Day before the first lead day whose cumulative probability reaches ``threshold`` (not before issue)."""
    reached = cum_prob >= threshold
    if not reached.any():
        return None
    first_lead = int(np.argmax(reached)) + 1
    return issue + pd.Timedelta(days=max(first_lead - 1, 0))


def spray_signals(outlook: xr.Dataset, params=None) -> pd.DataFrame:
    """Spray timing signals for every plot and pest of an outlook (:func:`pests.outlook.outlook`).

    Returns
    -------
    pandas.DataFrame with columns plot, pest, action (none/protective/curative), latest_date (date or None),
    probability_15d, unnecessary_if (message key), unnecessary_args (JSON numbers), reason (English).
    """
    for name in ("probability", "cumulative_probability", "days_since_event"):
        if name not in outlook:
            raise InputError(
                f"spray_signals needs an outlook dataset with '{name}'; run pests.outlook.outlook."
            )
    pests = [str(p) for p in outlook["pest"].values]
    params = load_all(params, pests)
    issue = pd.Timestamp(outlook.attrs["issue_date"])
    rows = []
    p15 = outlook["probability"].sel(horizon="15d").transpose("plot", "pest").values
    cum = outlook["cumulative_probability"].transpose("plot", "pest", "lead_day").values
    since = outlook["days_since_event"].transpose("plot", "pest").values
    density = outlook["mite_density_now"].values if "mite_density_now" in outlook else None
    for i, plot in enumerate(outlook["plot"].values):
        for j, pest in enumerate(pests):
            p = params[pest]
            thr = p["spray.protect_probability"]
            action, latest, key, args, reason = "none", None, "", {}, ""
            if pest == "black_spot":
                key, args = "pests.unnecessary.dry_forecast", {"wet_hours": p["infection.wmin"]}
                window = p["spray.curative_window_days"]
                if not np.isnan(since[i, j]) and since[i, j] <= window:
                    action = "curative"
                    latest = issue + pd.Timedelta(days=float(window - since[i, j]))
                    key, args = (
                        "pests.unnecessary.protected_before_event",
                        {"days_since_event": float(since[i, j])},
                    )
                    reason = f"infection event {since[i, j]:.0f} d ago on susceptible fruit"
                elif p15[i, j] >= thr:
                    action, latest = "protective", _latest(cum[i, j], thr, issue)
                    reason = f"P(infection in 15 d) = {p15[i, j]:.2f}"
            elif pest == "canker":
                key, args = (
                    "pests.unnecessary.no_rain",
                    {"rain_mm_day": p["event.rain_min_daily"], "rain_mm_h": p["event.rain_min_hourly"]},
                )
                if p15[i, j] >= thr:
                    action, latest = "protective", _latest(cum[i, j], thr, issue)
                    reason = f"P(infection on flush in 15 d) = {p15[i, j]:.2f}"
            elif pest == "mites":
                limit = p["action.threshold"]
                key, args = (
                    "pests.unnecessary.count_below_threshold_or_heavy_rain",
                    {"threshold_per_leaf": limit, "rain_10d_mm": p["suppression.rain_10d"]},
                )
                now = float(density[i]) if density is not None else np.nan
                if now >= limit:
                    action, latest = "curative", issue + pd.Timedelta(days=_MITE_CURATIVE_DAYS)
                    reason = f"modelled density {now:.1f} mites/leaf ≥ {limit:g}: confirm by counting"
                elif p15[i, j] >= thr:
                    action, latest = "protective", _latest(cum[i, j], thr, issue)
                    reason = f"P(≥ {limit:g} mites/leaf in 15 d) = {p15[i, j]:.2f}: scout"
            elif pest == "leaf_miner":
                key, args = "pests.unnecessary.no_new_flush", {"flush_fraction": p["host.flush_threshold"]}
                if p15[i, j] >= thr:
                    action, latest = "protective", _latest(cum[i, j], thr, issue)
                    reason = f"P(new generation on flush in 15 d) = {p15[i, j]:.2f}"
            if action == "none":
                reason = reason or f"P(event in 15 d) = {p15[i, j]:.2f}, below {thr:g}"
            rows.append(
                {
                    "plot": plot,
                    "pest": pest,
                    "action": action,
                    "latest_date": None if latest is None else latest.date(),
                    "probability_15d": float(p15[i, j]),
                    "unnecessary_if": key,
                    "unnecessary_args": json.dumps(args),
                    "reason": reason,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "plot",
            "pest",
            "action",
            "latest_date",
            "probability_15d",
            "unnecessary_if",
            "unnecessary_args",
            "reason",
        ],
    )
