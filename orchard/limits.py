"""Plausible values of what users type and files bring: ids, dates and quantities, checked before storing.

The ranges live in ``orchard/parameters/limits.toml`` (value = [low, high] with unit and source, like every
parameter file); the readers and the store call the checks here, so a value refused on one face is refused
on all of them (CLI, app, imports, sample loader). Every refusal is an :class:`~orchard.errors.InputError`
with one sentence naming what was given, where, and what would be accepted.

- :func:`check_id`: a user, plot, station or sensor id: text of 1–64 characters, no blanks at either end, no
  control characters (a newline in an id breaks every table and CSV it appears in).
- :func:`parse_date`: a calendar date as ``YYYY-MM-DD`` (or a date / datetime object) within
  ``dates.years``; with ``past=True`` (records of things that happened) no later than ``dates.future_days``
  after today in China standard time.
- :func:`check_number`: a finite number inside the range ``key`` of the limits file.
- :func:`number_text`: a number for a message, short however large (``1e+300``, never 300 digits).
"""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError
from orchard.params import ParameterSet, load_parameters

__all__ = ["LIMITS_FILE", "bounds", "check_id", "check_number", "check_past_times", "datebounds", "limits",
           "number_text", "parse_date", "today_china"]

#: The shipped ranges.
LIMITS_FILE = Path(__file__).resolve().parent / "parameters" / "limits.toml"


@cache
def limits() -> ParameterSet:
    """The plausible ranges (``orchard/parameters/limits.toml``), read once per process."""
    return load_parameters(LIMITS_FILE)


def number_text(value) -> str:
    """A number as short text for a message (``12.5``, ``1e+308``, ``nan``); anything else as its repr."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"{value:.6g}"


def bounds(key: str) -> tuple[float, float, str]:
    """(low, high, unit) of the range ``key`` of the limits file."""
    entry = limits().entry(key)
    low, high = entry.value
    return float(low), float(high), entry.unit


def check_number(value, key: str, what: str, *, low_exclusive: bool = False,
                 unit: str | None = None) -> float:
    """``value`` as a float after checking it is a finite number inside the range ``key`` of the limits file.

    Parameters
    ----------
    value : number
    key : str
        Entry of ``limits.toml``, e.g. ``"application.rate"``.
    what : str
        How to call the value in the message, e.g. ``"application of mancozeb on plot CT01: amount"``.
    low_exclusive : bool
        The low end itself is refused (a quantity that must be positive).
    unit : str, optional
        Unit to show instead of the entry's (when the value is not in the entry's unit, e.g. L not kg).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} {number_text(value)} is not a number; give a number.")
    value = float(value)
    low, high, entry_unit = bounds(key)
    shown_unit = entry_unit if unit is None else unit
    shown_unit = "" if shown_unit == "1" else f" {shown_unit}"
    if not math.isfinite(value):
        raise InputError(f"{what} is {number_text(value)}; give a finite number between {low:g} and "
                         f"{high:g}{shown_unit}.")
    if value < low or value > high or (low_exclusive and value == low):
        bound = f"above {low:g} and at most {high:g}" if low_exclusive else f"between {low:g} and {high:g}"
        raise InputError(f"{what} {number_text(value)}{shown_unit} is not plausible; it must be {bound}"
                         f"{shown_unit}.")
    return value


def today_china() -> date:
    """Today's date in China standard time (UTC+8)."""
    return datetime.now(timezone(timedelta(hours=CHINA_UTC_OFFSET_H))).date()


def datebounds(past: bool = False) -> tuple[date, date]:
    """The first and last date :func:`parse_date` accepts (``past``: records of things that happened)."""
    first_year, last_year, _ = bounds("dates.years")
    first, last = date(int(first_year), 1, 1), date(int(last_year), 12, 31)
    if past:
        last = min(last, today_china() + timedelta(days=int(bounds("dates.future_days")[1])))
    return first, last


def parse_date(value, what: str, *, past: bool = False) -> date:
    """A date from ``YYYY-MM-DD`` text (or a date / datetime), refused when it is not a calendar day or out
    of range.

    Parameters
    ----------
    value : str, date or datetime
    what : str
        How to call the date in the message, e.g. ``"--date"`` or ``"purchase of urea: purchased_on"``.
    past : bool
        The date records something that happened (an application, a reading): it may not lie more than
        ``dates.future_days`` after today.
    """
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = str(value).strip() if value is not None else ""
        try:
            day = date.fromisoformat(text)
        except ValueError:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise InputError(f"{what} '{shown}' is not a date; write it as YYYY-MM-DD, e.g. 2016-07-15.") \
                from None
    first, last = datebounds(past)
    if not first <= day <= last:
        if past and day > last:
            raise InputError(f"{what} {day.isoformat()} lies in the future; record only what has happened "
                             f"(dates up to {last.isoformat()}).")
        raise InputError(f"{what} {day.isoformat()} is not plausible; give a date between "
                         f"{first.isoformat()} and {last.isoformat()}.")
    return day


def check_past_times(times, what: str) -> None:
    """Refuse time stamps (aware, any zone; pandas or datetimes) outside ``dates.years`` or in the future.

    For readings that were measured: the latest may lie at most ``dates.future_days`` after today.
    """
    import pandas as pd

    index = pd.DatetimeIndex(times)
    if len(index) == 0:
        return
    if index.tz is None:
        index = index.tz_localize("UTC")
    first, last = datebounds(past=True)
    china = index.tz_convert(timezone(timedelta(hours=CHINA_UTC_OFFSET_H))).tz_localize(None)
    days = china.normalize()
    late = days > pd.Timestamp(last)
    if late.any():
        stamp = china[late.argmax()]
        raise InputError(f"{what}: a time stamp ({stamp.strftime('%Y-%m-%d %H:%M')} China time) lies in the "
                         f"future; readings must have been measured (up to {last.isoformat()}).")
    early = days < pd.Timestamp(first)
    if early.any():
        stamp = china[early.argmax()]
        raise InputError(f"{what}: a time stamp ({stamp.strftime('%Y-%m-%d')}) lies before "
                         f"{first.isoformat()}; check the dates.")


_MAX_SHOWN_ID = 40


def _shown(text: str) -> str:
    shown = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return shown if len(shown) <= _MAX_SHOWN_ID else shown[:_MAX_SHOWN_ID - 3] + "..."


def check_id(value, what: str) -> str:
    """``value`` as an id after checking it: text of ``ids.length`` characters (1–64), no blanks at either
    end, no control or other invisible characters.

    Parameters
    ----------
    value : str
    what : str
        Kind of id for the message: ``"user id"``, ``"plot id"``, ``"station id"`` …
    """
    if not isinstance(value, str):
        raise InputError(f"{what} {number_text(value)} is not text; give an id such as grower_li or CT01.")
    low, high, _ = bounds("ids.length")
    if not value.strip():
        raise InputError(f"{what} is empty or blank; give an id such as grower_li or CT01.")
    if len(value) > high:
        raise InputError(f"{what} '{_shown(value)}' has {len(value)} characters, more than {high:.0f}; "
                         "give a shorter id.")
    if value != value.strip():
        raise InputError(f"{what} '{_shown(value)}' starts or ends with a blank; remove it.")
    hidden = [c for c in value if unicodedata.category(c)[0] in "CZ" and c != " "]
    if hidden:
        raise InputError(f"{what} '{_shown(value)}' holds a control or invisible character "
                         f"({_shown(hidden[0])}); use letters, digits, '_', '-' or '.'.")
    if len(value) < low:
        raise InputError(f"{what} is shorter than {low:.0f} characters.")
    return value
