"""Skill of the pest forecasts against scouting: hit rate, false alarms and lead time per pest and season.

Each scouting observation (a plot, a date, a pest and a measure: mites per leaf, or the incidence of a disease
or of leaf-miner mines in %) is compared with the forecast issued before it: the 15-day risk level of the
latest run issued 0 to ``forecast.max_lead_days`` days before the observation, for that plot and pest. The
forecast says *outbreak* when that level is at least ``forecast.outbreak_level``; the observation shows an
outbreak when its measure reaches the pest's threshold (``observed.*``). Over the observations of a pest and
season, the 2 × 2 table gives (Wilks 2011, *Statistical Methods in the Atmospheric Sciences*, 3rd ed., §8.2):

- **hit rate** (probability of detection) ``hits / (hits + misses)``;
- **false alarm ratio** ``false alarms / (hits + false alarms)``: the share of forecast outbreaks that did not
  happen;
- **false alarm rate** (probability of false detection) ``false alarms / (false alarms + correct negatives)``;
- **mean lead time**: days from the issue of the forecast to the observation, over the hits.

An observation with no forecast issued in its window is counted as ``unmatched`` and scores nothing.

The functions take and return pandas DataFrames and read no file and no database; ``advice/skill_cli.py``
reads the CSV, the stored runs or a replay's ``weekly.csv`` and stores observations.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from orchard.errors import InputError

__all__ = ["MEASURE_OF", "OBSERVATION_COLUMNS", "PESTS", "SKILL_FILE", "check_observations",
           "forecasts_from_status", "forecasts_from_weekly", "match_forecasts", "outbreak_thresholds",
           "skill_parameters", "skill_table"]

SKILL_FILE = Path(__file__).resolve().parent / "parameters" / "skill.toml"
PESTS = ("black_spot", "canker", "mites", "leaf_miner")
#: The measure each pest is scouted with: mean mites per leaf [mites/leaf], else the incidence [%] (diseased
#: leaves or fruit; leaves with leaf-miner mines).
MEASURE_OF = {"mites": "mites_per_leaf", "black_spot": "incidence_pct", "canker": "incidence_pct",
              "leaf_miner": "incidence_pct"}
MEASURES = ("mites_per_leaf", "incidence_pct")
REQUIRED = ("plot_id", "date", "pest")
OPTIONAL = ("observer", "note")
OBSERVATION_COLUMNS = (*REQUIRED, *MEASURES, *OPTIONAL)
#: Columns of a checked observation table.
CHECKED = ("row", "plot_id", "observed_on", "pest", "measure", "value", "observer", "note")
SKILL_COLUMNS = ("pest", "season", "n_observations", "n_matched", "n_observed_outbreaks", "hits", "misses",
                 "false_alarms", "correct_negatives", "hit_rate", "false_alarm_ratio", "false_alarm_rate",
                 "mean_lead_days")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def skill_parameters(path: str | os.PathLike | None = None, session=None):
    """The outbreak definitions: the shipped ``skill.toml``, a file in its schema, or the latest version
    stored in the database under its name, as an :class:`orchard.params.ParameterSet`."""
    from orchard import params

    shipped = params.load_parameters(SKILL_FILE)
    if path is not None:
        return params.load_parameters(path, schema=shipped, name=shipped.name)
    if session is not None and params.list_versions(session, shipped.name):
        return shipped.with_overrides(params.load_version(session, shipped.name).values())
    return shipped


def outbreak_thresholds(parameters) -> dict[str, float]:
    """Observed measure at or above which each pest counts as an outbreak [mites/leaf or %]."""
    return {"mites": float(parameters["observed.mites_per_leaf"]),
            "leaf_miner": float(parameters["observed.leaf_miner_incidence"]),
            "canker": float(parameters["observed.canker_incidence"]),
            "black_spot": float(parameters["observed.black_spot_incidence"])}


# ----------------------------------------------------------------------------------------------------------
# Observations
# ----------------------------------------------------------------------------------------------------------
def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def check_observations(frame: pd.DataFrame, known_plots, where: str = "observations",
                       numbered: bool = True) -> pd.DataFrame:
    """Checked scouting observations, or one sentence naming the first bad row and column.

    Parameters
    ----------
    frame : pandas.DataFrame
        As read from the CSV with every cell as text (``dtype=str``): ``plot_id``, ``date`` (YYYY-MM-DD),
        ``pest`` (black_spot, canker, mites, leaf_miner), ``mites_per_leaf`` (mites rows: mean mites per leaf,
        >= 0) and/or ``incidence_pct`` (disease and leaf-miner rows: share of leaves or fruit affected, 0-100
        %), optional ``observer`` and ``note``. Row numbers in messages are the spreadsheet's (header = 1).
    known_plots : iterable of str
        Plot ids the caller may record on; any other plot is "not a known plot" (whether it exists or not).
    where : str
        What the rows are, for the messages (the file path, or "the form").
    numbered : bool
        Name the row in messages (False for a single observation from a form).

    Returns
    -------
    pandas.DataFrame
        ``row``, ``plot_id``, ``observed_on`` (Timestamp), ``pest``, ``measure`` (``mites_per_leaf`` or
        ``incidence_pct``), ``value`` (float), ``observer``, ``note`` (None when empty).

    Raises
    ------
    orchard.errors.InputError
        No rows, a missing or unknown column, an unknown plot or pest, a bad date, a measure that is missing,
        not a number, negative, above 100 % or given for the wrong pest.
    """
    columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    # Spreadsheets often save empty trailing columns (pandas names them "Unnamed: 7"): drop those.
    blank = [c for c in columns if c.startswith("Unnamed:") and not frame[c].map(_text).any()]
    frame = frame.drop(columns=blank)
    columns = [c for c in columns if c not in blank]
    for column in REQUIRED:
        if column not in columns:
            raise InputError(f"{where}: there is no column '{column}'; the columns are plot_id, date, pest, "
                             "mites_per_leaf or incidence_pct, and optionally observer and note.")
    if not any(m in columns for m in MEASURES):
        raise InputError(f"{where}: there is no measure column; add mites_per_leaf (mites) or incidence_pct "
                         "(black_spot, canker, leaf_miner).")
    unknown = [c for c in columns if c not in OBSERVATION_COLUMNS]
    if unknown:
        raise InputError(f"{where}: column '{unknown[0]}' is not known; the columns are "
                         f"{', '.join(OBSERVATION_COLUMNS)}.")
    if frame.empty:
        raise InputError(f"{where}: there are no observations below the header; add one row per plot, date "
                         "and pest.")
    known = {str(p) for p in known_plots}
    out = []
    for i, record in enumerate(frame.to_dict("records")):
        row = i + 2
        at = f"{where} row {row}" if numbered else where
        plot_id = _text(record.get("plot_id"))
        if plot_id not in known:
            raise InputError(f"{at}: plot_id '{plot_id}' is not a known plot; check the id (orchard plots)."
                             if plot_id else f"{at}: column plot_id is empty; give the plot's id.")
        pest = _text(record.get("pest")).lower()
        if pest not in PESTS:
            raise InputError(f"{at}: pest '{_text(record.get('pest'))}' is not one of {', '.join(PESTS)}; "
                             "correct the column pest.")
        day = _text(record.get("date"))
        try:
            if not _DATE.match(day):
                raise ValueError
            observed_on = pd.Timestamp(day)
        except ValueError:
            raise InputError(f"{at}: date '{day}' is not a date; write it as YYYY-MM-DD.") from None
        measure = MEASURE_OF[pest]
        other = "incidence_pct" if measure == "mites_per_leaf" else "mites_per_leaf"
        raw = _text(record.get(measure))
        if not raw:
            if _text(record.get(other)):
                raise InputError(f"{at}: a {pest} observation takes {measure}, not {other}; move the value "
                                 f"to column {measure}.")
            raise InputError(f"{at}: column {measure} is empty; a {pest} observation needs "
                             + ("the mean mites per leaf." if measure == "mites_per_leaf"
                                else "the share of leaves or fruit affected in %."))
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{at}: {measure} '{raw}' is not a number; write e.g. "
                             + ("1.5." if measure == "mites_per_leaf" else "12 (for 12 %)."))
        if value < 0:
            raise InputError(f"{at}: {measure} {raw} is negative; a count or a share cannot be below 0.")
        if measure == "incidence_pct" and value > 100:
            raise InputError(f"{at}: incidence_pct {raw} is above 100 %; give the share of leaves or fruit "
                             "affected in % (0-100).")
        out.append({"row": row, "plot_id": plot_id, "observed_on": observed_on, "pest": pest,
                    "measure": measure, "value": value, "observer": _text(record.get("observer")) or None,
                    "note": _text(record.get("note")) or None})
    return pd.DataFrame(out, columns=list(CHECKED))


# ----------------------------------------------------------------------------------------------------------
# Forecasts
# ----------------------------------------------------------------------------------------------------------
FORECAST_COLUMNS = ("plot_id", "issued_on", "pest", "level_15d")


def forecasts_from_status(status: pd.DataFrame) -> pd.DataFrame:
    """Forecasts from stored ``plot_status`` rows (``plot_id``, ``issued_on``, ``pests`` = {pest: {horizon:
    {"level", "probability"}}}): one row per plot, issue date and pest with ``level_15d``. When several runs
    share an issue date, the last row given wins (pass them oldest first)."""
    rows = []
    for record in status.to_dict("records"):
        pests = record.get("pests") or {}
        for pest, horizons in pests.items():
            level = ((horizons or {}).get("15d") or {}).get("level")
            if level is not None:
                rows.append({"plot_id": str(record["plot_id"]), "pest": pest, "level_15d": float(level),
                             "issued_on": pd.Timestamp(record["issued_on"])})
    return _forecasts(pd.DataFrame(rows, columns=list(FORECAST_COLUMNS)))


def forecasts_from_weekly(weekly: pd.DataFrame) -> pd.DataFrame:
    """Forecasts from a season replay's ``weekly.csv`` (``plot_id``, ``issued_on``, ``pest``,
    ``level_15d``)."""
    frame = weekly[list(FORECAST_COLUMNS)].copy()
    frame["plot_id"] = frame["plot_id"].astype(str)
    frame["issued_on"] = pd.to_datetime(frame["issued_on"])
    frame["level_15d"] = pd.to_numeric(frame["level_15d"], errors="coerce").astype(float)
    return _forecasts(frame.dropna(subset=["level_15d"]))


def _forecasts(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"plot_id": str, "pest": str, "level_15d": float})
    frame["issued_on"] = pd.to_datetime(frame["issued_on"]).astype("datetime64[ns]")
    frame = frame.drop_duplicates(subset=["plot_id", "pest", "issued_on"], keep="last")
    return frame.sort_values(["issued_on", "plot_id", "pest"]).reset_index(drop=True)


def match_forecasts(observations: pd.DataFrame, forecasts: pd.DataFrame,
                    max_lead_days: float) -> pd.DataFrame:
    """Each observation with the forecast issued before it.

    The latest forecast for the same plot and pest issued 0 to ``max_lead_days`` days before the observation
    (the same day counts, with lead 0).

    Returns
    -------
    pandas.DataFrame
        The observations (original order) with ``issued_on`` (NaT when none), ``level_15d`` (NaN when none)
        and ``lead_days`` [d].
    """
    obs = observations.copy()
    obs["_order"] = np.arange(len(obs))
    obs["observed_on"] = pd.to_datetime(obs["observed_on"]).astype("datetime64[ns]")
    obs["plot_id"] = obs["plot_id"].astype(str)
    fc = forecasts[list(FORECAST_COLUMNS)].copy()
    fc["issued_on"] = pd.to_datetime(fc["issued_on"]).astype("datetime64[ns]")
    fc["plot_id"] = fc["plot_id"].astype(str)
    merged = pd.merge_asof(obs.sort_values("observed_on"), fc.sort_values("issued_on"),
                           left_on="observed_on", right_on="issued_on", by=["plot_id", "pest"],
                           direction="backward", tolerance=pd.Timedelta(days=float(max_lead_days)))
    merged = merged.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    merged["lead_days"] = (merged["observed_on"] - merged["issued_on"]).dt.days.astype(float)
    return merged


# ----------------------------------------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------------------------------------
def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def skill_table(matched: pd.DataFrame, parameters=None) -> pd.DataFrame:
    """Hit rate, false alarm ratio and rate and mean lead time per pest and season (year of observation).

    Parameters
    ----------
    matched : pandas.DataFrame
        From :func:`match_forecasts` (``pest``, ``observed_on``, ``value``, ``level_15d``, ``lead_days``).
    parameters : ParameterSet or mapping, optional
        :func:`skill_parameters` (default the shipped ones): ``forecast.outbreak_level`` and ``observed.*``.

    Returns
    -------
    pandas.DataFrame
        One row per pest and season with observations (pests in :data:`PESTS` order): ``n_observations``,
        ``n_matched`` (with a forecast in the window), ``n_observed_outbreaks`` (among the matched), ``hits``,
        ``misses``, ``false_alarms``, ``correct_negatives``, ``hit_rate``, ``false_alarm_ratio``,
        ``false_alarm_rate`` (NaN when their denominator is 0) and ``mean_lead_days`` (over the hits; NaN
        without hits).
    """
    parameters = skill_parameters() if parameters is None else parameters
    level = float(parameters["forecast.outbreak_level"])
    thresholds = outbreak_thresholds(parameters)
    frame = matched.copy()
    frame["season"] = pd.to_datetime(frame["observed_on"]).dt.year
    frame["has_forecast"] = frame["level_15d"].notna()
    frame["forecast_outbreak"] = frame["level_15d"] >= level
    frame["observed_outbreak"] = frame["value"] >= frame["pest"].map(thresholds)
    rows = []
    for (pest, season), group in frame.groupby(["pest", "season"], sort=False):
        scored = group[group["has_forecast"]]
        f, o = scored["forecast_outbreak"], scored["observed_outbreak"]
        hits, misses = int((f & o).sum()), int((~f & o).sum())
        false_alarms, negatives = int((f & ~o).sum()), int((~f & ~o).sum())
        leads = scored.loc[f & o, "lead_days"]
        rows.append({"pest": pest, "season": int(season), "n_observations": len(group),
                     "n_matched": len(scored), "n_observed_outbreaks": int(o.sum()), "hits": hits,
                     "misses": misses, "false_alarms": false_alarms, "correct_negatives": negatives,
                     "hit_rate": _ratio(hits, hits + misses),
                     "false_alarm_ratio": _ratio(false_alarms, hits + false_alarms),
                     "false_alarm_rate": _ratio(false_alarms, false_alarms + negatives),
                     "mean_lead_days": float(leads.mean()) if len(leads) else math.nan})
    table = pd.DataFrame(rows, columns=list(SKILL_COLUMNS))
    order = {p: i for i, p in enumerate(PESTS)}
    return table.sort_values(["pest", "season"], key=lambda s: s.map(order) if s.name == "pest" else s) \
        .reset_index(drop=True)
