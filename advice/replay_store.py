"""Reading stored season replays: ``ORCHARD_HOME/replays/<season>-<follow>/``.

``orchard replay --season YEAR --follow advice|calendar`` (:mod:`advice.replay`) writes one folder per season
and programme followed, which the accounting page, ``orchard account`` and ``orchard skill --replay`` read
here; nothing in this module runs a model.

The folder layout (shared with the writer):

``summary.json``
    ``season`` (int), ``follow`` (``advice`` or ``calendar``), ``district`` (name or null), ``created`` (ISO
    time), ``plots`` (int), ``programmes``: ``{"advice": {measure: {"median", "p10", "p90"}}, "calendar":
    {...}}`` over the plots for the measures :data:`MEASURES`; ``ratio_to_calendar``: ``{measure: advised
    median / calendar median}``; ``bundle`` (parameter versions) and ``seconds`` (run time).
``plots.csv``
    One row per programme and plot: ``programme``, ``plot_id`` and the :data:`MEASURES`.
``weekly.csv``
    One row per plot, issue date and pest: ``plot_id``, ``issued_on``, ``pest``, ``level_15d``, ``level_1m``,
    ``level_3m``, ``probability_15d``, ``decision``, ``protected_until``, ``product_id``.
``season.png``
    The season chart (risk, sprays and protection per pest); optional for the readers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from orchard import config
from orchard.errors import InputError

__all__ = ["FOLLOWS", "MEASURES", "PLOT_COLUMNS", "WEEKLY_COLUMNS", "Replay", "latest_replay", "list_replays",
           "read_replay", "read_replay_dir", "replay_dir", "replays_root"]

FOLLOWS = ("advice", "calendar")
#: Season measures of a programme, per plot (plots.csv) and as median/p10/p90 (summary.json).
MEASURES = ("sprays", "tfi", "kg_ai_ha", "kg_cu_ha", "field_eiq", "kg_co2e_ha", "cost_cny_per_mu",
            "unprotected_events")
PLOT_COLUMNS = ("programme", "plot_id", *MEASURES)
WEEKLY_COLUMNS = ("plot_id", "issued_on", "pest", "level_15d", "level_1m", "level_3m", "probability_15d",
                  "decision", "protected_until", "product_id")
_NAME = re.compile(r"^(\d{4})-(advice|calendar)$")


@dataclass
class Replay:
    """One stored replay: its summary, per-plot measures and weekly decisions."""

    path: Path
    summary: dict
    plots: pd.DataFrame
    weekly: pd.DataFrame

    def __iter__(self):
        """``summary, plots, weekly = read_replay(...)``."""
        return iter((self.summary, self.plots, self.weekly))

    @property
    def season(self) -> int:
        return int(self.summary["season"])

    @property
    def follow(self) -> str:
        return str(self.summary["follow"])

    @property
    def chart(self) -> Path | None:
        png = self.path / "season.png"
        return png if png.is_file() else None

    def programme(self, name: str) -> dict:
        """``{measure: {"median", "p10", "p90"}}`` of the ``advice`` or ``calendar`` programme ({} if
        absent)."""
        return dict(self.summary.get("programmes", {}).get(name) or {})


def replays_root(home: str | os.PathLike | None = None) -> Path:
    """The folder holding every stored replay (``ORCHARD_HOME/replays``)."""
    return (Path(home) if home is not None else config.orchard_home()) / "replays"


def replay_dir(home, season: int, follow: str = "advice") -> Path:
    """The folder of one replay, ``replays/<season>-<follow>`` (it may not exist)."""
    if follow not in FOLLOWS:
        raise InputError(f"follow '{follow}' is not one of {', '.join(FOLLOWS)}; choose one.")
    return replays_root(home) / f"{int(season)}-{follow}"


def list_replays(home: str | os.PathLike | None = None) -> list[dict]:
    """Stored replays, newest season first: ``{"season", "follow", "path"}`` for every folder named
    ``<season>-<follow>`` that holds a ``summary.json`` (folders being written, or others, are skipped)."""
    root = replays_root(home)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _NAME.match(child.name)
        if match and child.is_dir() and (child / "summary.json").is_file():
            found.append({"season": int(match.group(1)), "follow": match.group(2), "path": child})
    return sorted(found, key=lambda r: (-r["season"], FOLLOWS.index(r["follow"])))


def _csv(path: Path, columns, what: str, dates=()) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: the replay has no {what}; run the replay again (orchard replay --season "
                         "YEAR --follow advice).")
    try:
        frame = pd.read_csv(path, dtype={"plot_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: the replay's {what} cannot be read ({str(exc).splitlines()[0]}); run the "
                         "replay again.") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the replay's {what} has no column '{missing[0]}'; run the replay again "
                         "with this version of the toolkit.")
    for column in dates:
        parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise InputError(f"{path} row {row}: {column} {frame[column].iloc[row - 2]!r} is not a date; run "
                             "the replay again.")
        frame[column] = parsed
    return frame


def read_replay(home, season: int, follow: str = "advice") -> Replay:
    """The replay of a season stored under ``home`` (``ORCHARD_HOME``; None for the configured one).

    Raises
    ------
    orchard.errors.InputError
        No such replay (with the command that makes one), or a malformed summary.json, plots.csv or
        weekly.csv (naming the file and what is wrong).
    """
    folder = replay_dir(home, season, follow)
    return read_replay_dir(folder, expect=(int(season), follow))


def read_replay_dir(folder: str | os.PathLike, expect: tuple[int, str] | None = None) -> Replay:
    """A replay from its folder (e.g. ``orchard skill --replay DIR``); see :func:`read_replay`."""
    folder = Path(folder)
    if not folder.is_dir():
        what = f"of {expect[0]} following the {expect[1]}" if expect else "here"
        season, follow = expect if expect else ("YEAR", "advice")
        raise InputError(f"{folder}: there is no replay {what}; make one with `orchard replay --season "
                         f"{season} --follow {follow}`.")
    path = folder / "summary.json"
    if not path.is_file():
        raise InputError(f"{path}: the replay has no summary.json (unfinished or not a replay folder); run "
                         "the replay again.")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: summary.json is not valid JSON ({exc}); run the replay again.") from None
    if not isinstance(summary, dict):
        raise InputError(f"{path}: summary.json is not a JSON object; run the replay again.")
    for key in ("season", "follow", "programmes"):
        if key not in summary:
            raise InputError(f"{path}: summary.json has no '{key}'; run the replay again.")
    try:
        summary["season"] = int(summary["season"])
    except (TypeError, ValueError):
        raise InputError(f"{path}: season {summary['season']!r} is not a year; run the replay "
                         "again.") from None
    if summary["follow"] not in FOLLOWS:
        raise InputError(f"{path}: follow {summary['follow']!r} is not one of {', '.join(FOLLOWS)}.")
    if expect is not None and (summary["season"], summary["follow"]) != expect:
        raise InputError(f"{path}: the summary is of {summary['season']} following the {summary['follow']}, "
                         f"not {expect[0]} following the {expect[1]}; run the replay again.")
    programmes = summary["programmes"]
    if not isinstance(programmes, dict) or not programmes:
        raise InputError(f"{path}: 'programmes' holds no programme; run the replay again.")
    for name, measures in programmes.items():
        if not isinstance(measures, dict):
            raise InputError(f"{path}: programme '{name}' is not a table of measures; run the replay again.")
        for measure, stats in measures.items():
            if not isinstance(stats, dict) or "median" not in stats:
                raise InputError(f"{path}: programme '{name}', measure '{measure}' has no median; run the "
                                 "replay again.")
    summary.setdefault("ratio_to_calendar", {})
    plots = _csv(folder / "plots.csv", PLOT_COLUMNS, "plots.csv")
    weekly = _csv(folder / "weekly.csv", WEEKLY_COLUMNS, "weekly.csv", dates=("issued_on",))
    return Replay(path=folder, summary=summary, plots=plots, weekly=weekly)


def latest_replay(home, season: int) -> Replay | None:
    """The replay of ``season`` following the advice, else the calendar one; None when neither exists."""
    for follow in FOLLOWS:
        if replay_dir(home, season, follow).is_dir():
            return read_replay(home, season, follow)
    return None
