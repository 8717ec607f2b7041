"""Station weather from CSV files: a generic column-mapped reader and presets for the sample files.

:func:`read_station_csv` maps file columns to the variables of :mod:`orchard.weather`, converts units,
checks the time axis and returns a weather dataset (dims time × station, one station). Presets:
:func:`read_changting_daily` (CMA station 58911 plus the HeTian rain gauge, SEIMS demo files) and
:func:`read_uci_hourly` (UCI "PM2.5 Data of Five Chinese Cities", Chengdu).

Every reader raises :class:`orchard.errors.InputError` with the file, the row (= line number in the file,
counting comment and header lines, 1-based) and the column when the input is wrong.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from orchard import limits
from orchard import weather as w
from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError, check_input_file, read_text_file

#: Strings read as missing values (after stripping blanks); CMA uses 32766 for "missing".
DEFAULT_NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "-", "--", "-999", "-999.0",
                     "-9999", "-9999.0", "32766")

_TEMPERATURE = ("tmin_c", "tmax_c", "tmean_c", "t_c", "dewpoint_c")
_HUMIDITY = ("rh_mean_pct", "rh_min_pct", "rh_max_pct", "rh_pct")

# unit name (normalised: lower case, no blanks) -> (kind, function to canonical units)
_UNITS = {
    "temperature": {"degc": lambda x: x, "c": lambda x: x, "°c": lambda x: x, "celsius": lambda x: x,
                    "degf": lambda x: (x - 32.0) * 5.0 / 9.0, "f": lambda x: (x - 32.0) * 5.0 / 9.0,
                    "°f": lambda x: (x - 32.0) * 5.0 / 9.0, "fahrenheit": lambda x: (x - 32.0) * 5.0 / 9.0,
                    "k": lambda x: x - 273.15, "kelvin": lambda x: x - 273.15},
    "humidity": {"pct": lambda x: x, "%": lambda x: x, "percent": lambda x: x,
                 "fraction": lambda x: x * 100.0, "frac": lambda x: x * 100.0, "1": lambda x: x * 100.0},
    "wind": {"m/s": lambda x: x, "ms": lambda x: x, "ms-1": lambda x: x, "km/h": lambda x: x / 3.6,
             "kmh": lambda x: x / 3.6, "kph": lambda x: x / 3.6, "mph": lambda x: x * 0.44704,
             "kn": lambda x: x * 0.514444, "kt": lambda x: x * 0.514444, "knots": lambda x: x * 0.514444},
    "precip": {"mm": lambda x: x, "cm": lambda x: x * 10.0, "m": lambda x: x * 1000.0,
               "in": lambda x: x * 25.4, "inch": lambda x: x * 25.4, "kg/m2": lambda x: x},
    "rs": {"mj/m2": lambda x: x, "mjm-2": lambda x: x, "mj/m²": lambda x: x, "kj/m2": lambda x: x / 1000.0,
           "j/m2": lambda x: x / 1e6, "w/m2": lambda x: x * 0.0864, "wm-2": lambda x: x * 0.0864,
           "cal/cm2": lambda x: x * 0.041868, "langley": lambda x: x * 0.041868},
    "ghi": {"w/m2": lambda x: x, "wm-2": lambda x: x, "w/m²": lambda x: x,
            "mj/m2": lambda x: x * 1e6 / 3600.0, "kj/m2": lambda x: x * 1e3 / 3600.0,
            "j/m2": lambda x: x / 3600.0},
    "sunshine": {"h": lambda x: x, "hours": lambda x: x, "min": lambda x: x / 60.0,
                 "s": lambda x: x / 3600.0},
    "wet": {"1": lambda x: x, "bool": lambda x: x},
}
_KIND = {**{n: "temperature" for n in _TEMPERATURE}, **{n: "humidity" for n in _HUMIDITY},
         "wind_ms": "wind", "precip_mm": "precip", "rs_mj_m2": "rs", "ghi_w_m2": "ghi",
         "sunshine_h": "sunshine", "leaf_wet": "wet"}


@dataclass
class _Table:
    path: Path
    frame: pd.DataFrame  # every cell a stripped str
    lines: np.ndarray  # file line number (1-based) of each row
    directives: dict = field(default_factory=dict)


def _decode(path: Path) -> str:
    return read_text_file(path, "weather file")


def _parse_directive(line: str, directives: dict) -> None:
    """SEIMS-style header lines: ``#LOCALTIME 8`` (local time, UTC+8) and ``#UTCTIME`` (UTC)."""
    tokens = re.split(r"[\s,;]+", line.lstrip("#").strip())
    if not tokens or not tokens[0]:
        return
    key = tokens[0].upper()
    if key == "LOCALTIME":
        directives["time_basis"] = "local"
        if len(tokens) > 1 and tokens[1]:
            try:
                offset = float(tokens[1])
            except ValueError:
                offset = float("nan")
            if not (math.isfinite(offset) and -12 <= offset <= 14):  # UTC-12 to UTC+14: every zone in use
                shown = tokens[1] if len(tokens[1]) <= 20 else tokens[1][:17] + "..."
                directives["bad_directive"] = (f"the header line '#LOCALTIME {shown}' gives no UTC offset in "
                                               "hours; write e.g. '#LOCALTIME 8' for Beijing time")
            else:
                directives["utc_offset_h"] = offset
    elif key == "UTCTIME":
        directives["time_basis"] = "utc"


def _read_table(path, *, delimiter: str = ",", comment: str = "#", what: str = "weather file") -> _Table:
    """Read a delimited text file as strings, keeping each row's line number (shared by the readers)."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        shown = repr(delimiter)[:20]
        raise InputError(f"the delimiter {shown} is not one character; give the single character between the "
                         "fields, e.g. ';' or '\\t' for a tab (CLI: --delimiter ';').")
    path = check_input_file(path, what=what)
    text = _decode(path)
    lines = text.splitlines()
    directives: dict = {}
    i = 0
    while i < len(lines) and (not lines[i].strip() or (comment and lines[i].lstrip().startswith(comment))):
        if lines[i].strip():
            _parse_directive(lines[i], directives)
        i += 1
    if "bad_directive" in directives:
        raise InputError(f"{path}: {directives['bad_directive']}.")
    if i >= len(lines):
        raise InputError(f"{path}: has no header line and no data; is it the right file?")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' parser warnings are replaced by the sentences below
            frame = pd.read_csv(io.StringIO("\n".join(lines[i:])), sep=delimiter, dtype=str,
                                keep_default_na=False, na_filter=False, skip_blank_lines=False,
                                skipinitialspace=True, engine="c")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: has no header line; the first line must name the columns.") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = (int(g) for g in found.groups())
            raise InputError(f"{path}: row {line + i} has {saw} fields but the header names {expected} "
                             "columns; fix that row (a stray delimiter or a missing quote).") from None
        msg = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + i}", str(exc).strip().splitlines()[0])
        raise InputError(f"{path}: cannot be read as CSV ({msg}); check the delimiter and quoting there.") \
            from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.duplicated().any():
        twice = frame.columns[frame.columns.duplicated()][0]
        raise InputError(f"{path}: the header names column '{twice}' twice; give every column its own name.")
    _check_row_lengths(path, lines, i, delimiter, len(frame.columns))
    if len(frame.columns) == 1:
        other = next((d for d in (";", "\t", "|", ",") if d != delimiter and d in frame.columns[0]), None)
        if other is not None:
            shown = "\\t" if other == "\t" else other
            raise InputError(f"{path}: the header has a single column ({frame.columns[0]!r}); is the delimiter "
                             f"'{shown}'? Pass delimiter='{shown}' (CLI: --delimiter '{shown}').")
    row_lines = np.arange(len(frame)) + i + 2
    frame = frame.apply(lambda col: col.astype(str).str.strip())
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.ones(len(frame), bool)
    frame = frame.loc[~blank].reset_index(drop=True)
    row_lines = row_lines[~blank]
    if len(frame) == 0:
        raise InputError(f"{path}: has a header but no data rows.")
    return _Table(path, frame, row_lines, directives)


def station_position(lat, lon, elevation_m) -> tuple[float, float, float]:
    """A station's latitude, longitude and elevation as floats (NaN where not given, None), each checked
    against ``station.*`` of ``orchard/parameters/limits.toml``: a value given is a finite number in range."""
    out = []
    for name, value in (("lat", lat), ("lon", lon), ("elevation_m", elevation_m)):
        if value is None:
            out.append(float("nan"))
            continue
        value = value.item() if isinstance(value, np.generic) else value
        out.append(limits.check_number(value, f"station.{name}", f"station {name}"))
    return out[0], out[1], out[2]


def _fields(line: str, delimiter: str) -> int:
    if '"' not in line:
        return line.count(delimiter) + 1
    return len(next(csv.reader([line], delimiter=delimiter), []))


def _check_row_lengths(path: Path, lines: list[str], header: int, delimiter: str, n_columns: int) -> None:
    """Refuse a row with fewer fields than the header (pandas would fill it with empty cells, i.e. missing
    readings, without a word); longer rows are refused by the parser itself."""
    for number, line in enumerate(lines[header + 1:], start=header + 2):
        if line.strip() and _fields(line, delimiter) < n_columns:
            n = _fields(line, delimiter)
            fields = f"{n} field{'s' if n != 1 else ''}"
            raise InputError(f"{path}: row {number} has {fields} but the header names {n_columns} columns; "
                             "complete the row or delete it.")


def _column(table: _Table, name: str, purpose: str) -> str:
    """The file column called ``name`` (exact, else case-insensitive); else an InputError listing columns."""
    cols = list(table.frame.columns)
    if name in cols:
        return name
    folded = [c for c in cols if c.lower() == str(name).lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError(f"{table.path}: column '{name}' ({purpose}) is missing; the file has columns "
                     f"{', '.join(cols)}; map the right one (CLI: --column VARIABLE=COLUMN or --time-column).")


def _numeric(table: _Table, col: str, na_values: Sequence[str]) -> np.ndarray:
    s = table.frame[col]
    na = s.isin(list(na_values)).to_numpy()
    num = pd.to_numeric(s.where(~na, None), errors="coerce").to_numpy(dtype=float)
    bad = ~na & np.isnan(num)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"{table.path}: row {table.lines[k]}, column '{col}': '{s.iloc[k]}' is not a "
                         "number; fix it or list it in na_values.")
    return num


_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")


def utc_offset_from_tz(tz: str) -> float:
    """Standard-time UTC offset [h] of ``"UTC+08:00"``, ``"+08:00"``, ``"UTC+8"`` or an IANA name."""
    text = str(tz).strip()
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", text, flags=re.IGNORECASE)
    if m:
        hours = int(m.group(2)) + int(m.group(3) or 0) / 60.0
        return hours if m.group(1) == "+" else -hours
    if text.upper() in ("UTC", "GMT", "Z"):
        return 0.0
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(text)
    except Exception:
        raise InputError(f"time zone '{tz}' is not known; give an offset like 'UTC+08:00' or a name like "
                         "'Asia/Shanghai'.") from None
    jan = datetime(2021, 1, 15, tzinfo=zone)
    return (jan.utcoffset() - jan.dst()).total_seconds() / 3600.0


def _parse_times(table: _Table, time_column, time_parts, time_format, na_values):
    """Time stamps (naive) plus the UTC offset carried by the stamps themselves (None if naive)."""
    path = table.path
    if time_parts:
        parts = {}
        for key, col in time_parts.items():
            if key not in ("year", "month", "day", "hour", "minute"):
                raise InputError(f"time_parts key '{key}' is not one of year, month, day, hour, minute.")
            parts[key] = _numeric(table, _column(table, col, f"time part {key}"), na_values)
        for key in ("year", "month", "day"):
            if key not in parts:
                raise InputError(f"time_parts needs year, month and day columns; '{key}' is missing.")
        frame = pd.DataFrame(parts)
        missing = frame.isna().any(axis=1).to_numpy()
        if missing.any():
            k = int(np.flatnonzero(missing)[0])
            raise InputError(f"{path}: row {table.lines[k]} has an empty date or hour; fill it in or delete "
                             "the row.")
        times = pd.to_datetime(frame.astype(np.int64), errors="coerce")
        bad = times.isna().to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            shown = "-".join(str(int(frame.iloc[k][c])) for c in frame.columns)
            raise InputError(f"{path}: row {table.lines[k]}: {shown} is not a valid date/time; fix the row.")
        return pd.DatetimeIndex(times).as_unit("ns"), None
    col = _column(table, time_column or "time", "time stamps")
    s = table.frame[col]
    empty = (s == "").to_numpy()
    if empty.any():
        k = int(np.flatnonzero(empty)[0])
        raise InputError(f"{path}: row {table.lines[k]} has no time stamp in column '{col}'; fill it in or "
                         "delete the row.")
    has_tz = s.str.contains(_TZ_SUFFIX).to_numpy() & s.str.contains(r"\d[T ]\d|\d{2}:\d{2}").to_numpy()
    if has_tz.any() and not has_tz.all():
        k = int(np.flatnonzero(~has_tz)[0]) if has_tz[0] else int(np.flatnonzero(has_tz)[0])
        raise InputError(f"{path}: column '{col}' mixes time stamps with and without a time zone (row "
                         f"{table.lines[k]}: '{s.iloc[k]}'); use one form throughout.")
    aware = bool(has_tz.all())
    kwargs = {"utc": True} if aware else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' format-inference warnings: a bad cell is reported below
        if time_format:
            parsed = _to_datetime(s, time_format, kwargs)
        else:
            parsed = _to_datetime(s, "ISO8601", kwargs)
            if parsed.isna().any():
                mixed = _to_datetime(s, "mixed", kwargs)
                # a garbled cell may parse as a time with a zone among naive ones: keep the strict result then
                if isinstance(mixed.dtype, pd.DatetimeTZDtype) == aware and \
                        pd.api.types.is_datetime64_any_dtype(mixed.dtype):
                    parsed = mixed
    bad = parsed.isna().to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"{path}: row {table.lines[k]}, column '{col}': '{s.iloc[k]}' is not a date/time; "
                         "write YYYY-MM-DD or YYYY-MM-DD HH:MM, or pass time_format.")
    index = pd.DatetimeIndex(parsed)
    stamp_offset = None
    if aware:
        stamp_offset = pd.Timestamp(s.iloc[0]).utcoffset().total_seconds() / 3600.0
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("ns"), stamp_offset


def _to_datetime(text: pd.Series, fmt: str, kwargs: dict) -> pd.Series:
    """``pd.to_datetime`` with unparseable cells as NaT, whatever pandas raises for them (a cell with a time
    zone among naive ones, a year beyond 2262, …)."""
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        dtype = "datetime64[ns, UTC]" if kwargs else "datetime64[ns]"
        return pd.Series(pd.NaT, index=text.index, dtype=dtype)


#: Air temperatures a file may hold in each unit, to tell an undeclared °F or kelvin column from a bad value:
#: about -60 to +60 °C (the surface records are -89 and +57 °C), i.e. -76 to 140 °F and 213 to 333 K.
_PLAUSIBLE_AIR = {"degC": (-60.0, 60.0), "degF": (-76.0, 140.0), "K": (213.0, 333.0)}


def _check_units(table: _Table, var: str, col: str, values: np.ndarray, declared: str | None) -> np.ndarray:
    """Convert ``values`` of ``var`` to canonical units; refuse undeclared °F/kelvin or fractions."""
    path = table.path
    kind = _KIND.get(var)
    if kind is None:
        raise InputError(f"variable '{var}' is not a weather variable; use one of "
                         f"{', '.join(sorted(_KIND))}.")
    valid = ~np.isnan(values)
    if declared is not None:
        key = str(declared).strip().lower().replace(" ", "").replace("**", "").replace("^", "")
        convert = _UNITS[kind].get(key)
        if convert is None:
            raise InputError(f"unit '{declared}' for {var} is not known; use one of "
                             f"{', '.join(sorted(_UNITS[kind]))}.")
        if kind == "humidity" and convert(1.0) == 100.0 and valid.any() and np.nanmax(values) > 1.5:
            k = int(np.flatnonzero(valid & (values > 1.5))[0])
            raise InputError(f"{path}: {var} is declared as a fraction but column '{col}' has "
                             f"{values[k]:g} at row {table.lines[k]}; declare percent or fix the values.")
        return convert(values)
    if kind == "temperature" and valid.any():
        hot = valid & (values > 60.0)
        if hot.any():
            k = int(np.flatnonzero(hot)[0])
            finite = values[valid]
            low, high = float(finite.min()), float(finite.max())
            kelvin, fahrenheit = _PLAUSIBLE_AIR["K"], _PLAUSIBLE_AIR["degF"]
            if kelvin[0] <= low and high <= kelvin[1]:
                raise InputError(f"{path}: column '{col}' ({var}) has values like {values[k]:g} (row "
                                 f"{table.lines[k]}), which looks like kelvin; pass units={{'{var}': 'K'}}.")
            if fahrenheit[0] <= low and high <= fahrenheit[1]:
                raise InputError(f"{path}: column '{col}' ({var}) has {int(hot.sum())} values above 60 "
                                 f"(first {values[k]:g} at row {table.lines[k]}), which looks like °F; pass "
                                 f"units {{'{var}': 'degF'}}.")
            worst = int(np.flatnonzero(valid)[np.argmax(np.abs(finite))])
            raise InputError(f"{path}: row {table.lines[worst]}, column '{col}' ({var}): {values[worst]:.6g} "
                             "is not an air temperature in °C, °F or kelvin; fix the value or mark it "
                             "missing.")
    if kind == "humidity" and valid.sum() >= 1 and np.nanmax(values) <= 1.5:
        raise InputError(f"{path}: column '{col}' ({var}) has no value above 1.5, so humidity looks like a "
                         f"fraction; declare units={{'{var}': 'fraction'}} (or give percent).")
    return values


def read_station_csv(
    path,
    *,
    columns: Mapping[str, str] | None = None,
    station_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    elevation_m: float | None = None,
    resolution: str | None = None,
    time_column: str | None = None,
    time_parts: Mapping[str, str] | None = None,
    time_format: str | None = None,
    tz: str | None = None,
    utc_offset_h: float | None = None,
    units: Mapping[str, str] | None = None,
    wind_height_m: float = 10.0,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
    delimiter: str = ",",
    comment: str = "#",
    station_column: str | None = None,
    source: str = "station",
    angstrom: tuple[float, float] = (0.25, 0.50),
) -> xr.Dataset:
    """Read one station's weather from a CSV file.

    Parameters
    ----------
    path : str or Path
    columns : mapping our variable -> file column, optional
        E.g. ``{"tmax_c": "TMAX", "rh_mean_pct": "RM"}``. Default: every file column named like one of our
        variables (a file written with our names needs no mapping).
    station_id : str, optional
        Station id; default the single value of ``station_column``.
    lat, lon : float, optional
        Station position [deg N, deg E] (needed for radiation from sunshine and for plots); None = unknown.
        A value given must be a finite number in range (``station.lat``/``station.lon`` of
        ``orchard/parameters/limits.toml``).
    elevation_m : float, optional (default unknown) [m]
    resolution : {"daily", "hourly"}, optional
        Default: inferred from the time step (a day or more -> daily).
    time_column : str, optional
        Column with the time stamps (default ``"time"``), ISO 8601 unless ``time_format`` is given.
    time_parts : mapping, optional
        Instead of ``time_column``: columns for ``year``, ``month``, ``day`` and optionally ``hour``,
        ``minute``.
    tz, utc_offset_h : optional
        Time zone of naive time stamps (and of the output): an IANA name or "UTC+08:00", or an offset [h].
        Hourly data need one unless the file carries it (``#LOCALTIME 8`` header or stamps with an offset);
        daily data are local dates and default to UTC+8 (China). Stamps with an offset, or a file marked
        ``#UTCTIME``, are converted to local standard time (daily dates are taken as they are).
    units : mapping our variable -> unit, optional
        Units of the file columns when they are not ours, e.g. ``{"tmax_c": "degF", "rh_mean_pct":
        "fraction", "wind_ms": "km/h"}``. Undeclared temperatures above 60 (°F or K) and humidity never above
        1.5 (a fraction) are refused rather than guessed.
    wind_height_m : float, default 10.0
        Anemometer height [m]; wind is converted to 2 m with FAO-56 Eq. 47 and the height recorded.
    na_values : sequence of str
        Cell texts meaning "missing".
    delimiter, comment : str
        Field separator; leading lines starting with ``comment`` are skipped (and read for the time zone).
    station_column : str, optional
        Column with station ids; the file must hold a single station.
    source : str, default "station"
        Kind of data, stored with the file name in the ``source`` attr.
    angstrom : (a_s, b_s)
        Angström coefficients for radiation from sunshine (FAO-56 Eq. 35).

    Returns
    -------
    xarray.Dataset
        Dims (time, station); rows missing from the file are added as NaN and flagged missing (8);
        ``rs_mj_m2`` from ``sunshine_h`` (daily) and ``dewpoint_c``/``rh_pct`` from each other (hourly) are
        added when absent and flagged derived (16). Values are not range-checked here: run
        :func:`orchard.weather.qc`.

    Raises
    ------
    InputError
        Missing column (named, with the columns found), °F or fraction not declared, duplicated or
        out-of-order time stamps, hourly stamps without a time zone, a non-numeric value (row and column),
        an empty file or a header without rows.
    """
    table = _read_table(path, delimiter=delimiter, comment=comment)
    return _dataset_from_table(
        table, columns=columns, station_id=station_id, lat=lat, lon=lon, elevation_m=elevation_m,
        resolution=resolution, time_column=time_column, time_parts=time_parts, time_format=time_format, tz=tz,
        utc_offset_h=utc_offset_h, units=units, wind_height_m=wind_height_m, na_values=na_values,
        station_column=station_column, source=source, angstrom=angstrom)


def _dataset_from_table(table: _Table, *, columns, station_id, lat, lon, elevation_m, resolution, time_column,
                        time_parts, time_format, tz, utc_offset_h, units, wind_height_m, na_values,
                        station_column, source, angstrom, extra=None) -> xr.Dataset:
    path = table.path
    lat, lon, elevation_m = station_position(lat, lon, elevation_m)
    units = dict(units or {})
    if columns is None:
        known = set(w.DAILY_VARIABLES) | set(w.HOURLY_VARIABLES)
        columns = {c: c for c in table.frame.columns if c in known}
        if not columns and not extra:
            raise InputError(f"{path}: no column is named like a weather variable (tmin_c, tmax_c, t_c, "
                             f"precip_mm, ...); the file has columns {', '.join(table.frame.columns)}; pass "
                             "`columns` mapping our names to yours.")
    if resolution not in (None, "daily", "hourly"):
        raise InputError(f"resolution '{resolution}' is not supported; use 'daily' or 'hourly'.")
    bad_units = sorted(set(units) - set(_KIND))
    if bad_units:
        raise InputError(f"units given for unknown variable '{bad_units[0]}'; use our variable names.")

    # resolve every column first, so a missing one is reported before any value is parsed
    file_cols = {var: _column(table, col, f"for {var}") for var, col in columns.items()}
    if station_column is not None:
        scol = _column(table, station_column, "station ids")
        ids = pd.unique(table.frame[scol])
        if len(ids) > 1:
            shown = ", ".join(map(str, ids[:5]))
            raise InputError(f"{path}: column '{scol}' holds several stations ({shown}); give one file per "
                             "station.")
        station_id = station_id if station_id is not None else str(ids[0])
    if station_id is None or str(station_id).strip() == "":
        raise InputError(f"{path}: no station_id given; pass station_id (or station_column).")

    times, stamp_offset = _parse_times(table, time_column, time_parts, time_format, na_values)
    if resolution is None:
        steps = np.diff(np.unique(times.asi8))
        resolution = "daily" if (steps.min() if steps.size else 86400e9) >= 20 * 3600e9 else "hourly"

    # time zone
    caller = None if utc_offset_h is None else float(utc_offset_h)
    if tz is not None:
        from_tz = utc_offset_from_tz(tz)
        if caller is not None and abs(from_tz - caller) > 1e-9:
            raise InputError(f"tz '{tz}' (UTC{from_tz:+g}) and utc_offset_h={caller:g} disagree; give one.")
        caller = from_tz
    basis = table.directives.get("time_basis")
    shift_h = 0.0
    tz_note = None
    if stamp_offset is not None:
        offset = caller if caller is not None else stamp_offset
        shift_h = offset  # stamps were converted to UTC above
        tz_note = "time stamps carried their UTC offset"
    elif basis == "local":
        offset = table.directives.get("utc_offset_h", caller if caller is not None else CHINA_UTC_OFFSET_H)
        if caller is not None and abs(offset - caller) > 1e-9:
            raise InputError(f"{path}: the file says local time UTC{offset:+g} (#LOCALTIME) but "
                             f"utc_offset_h={caller:g} was given; drop the argument or fix the header.")
        tz_note = f"file header #LOCALTIME {offset:g}"
    elif basis == "utc":
        offset = caller if caller is not None else 0.0
        shift_h = offset if resolution == "hourly" else 0.0
        tz_note = ("file header #UTCTIME; converted to local standard time" if resolution == "hourly"
                   else "file header #UTCTIME; one row per day, dates taken as they are")
    elif caller is not None:
        offset = caller
    elif resolution == "daily":
        offset = float(CHINA_UTC_OFFSET_H)
        tz_note = "daily dates assumed local (UTC+8, China) as no time zone was given"
    else:
        raise InputError(f"{path}: hourly time stamps have no time zone; pass utc_offset_h (8 for Beijing "
                         "time) or tz, or add a '#LOCALTIME 8' first line.")
    if shift_h:
        times = times + pd.Timedelta(hours=shift_h)
    if resolution == "daily":
        times = times.normalize()
    w.check_time_axis(times, str(path), rows=table.lines)

    data: dict[str, np.ndarray] = {}
    flags: dict[str, np.ndarray] = {}
    var_attrs: dict[str, dict] = {}
    for var, col in file_cols.items():
        if var not in _KIND:
            raise InputError(f"'{var}' in `columns` is not a weather variable; use one of "
                             f"{', '.join(sorted(_KIND))}.")
        if resolution == "daily" and var not in w.DAILY_VARIABLES or \
                resolution == "hourly" and var not in w.HOURLY_VARIABLES:
            allowed = w.DAILY_VARIABLES if resolution == "daily" else w.HOURLY_VARIABLES
            raise InputError(f"{var} is not a {resolution} variable; use one of {', '.join(allowed)}.")
        values = _numeric(table, col, na_values)
        if var == "leaf_wet":
            data[var] = np.nan_to_num(values) > 0.5
            var_attrs[var] = {"file_column": col}
            continue
        values = _check_units(table, var, col, values, units.get(var))
        attrs = {"file_column": col}
        if var in units:
            attrs["file_units"] = str(units[var])
        if var == "wind_ms":
            attrs["measurement_height_m"] = float(wind_height_m)
            if abs(wind_height_m - 2.0) > 1e-9:
                values = w.wind_speed_2m(values, wind_height_m)
                attrs["height_conversion"] = (f"from {wind_height_m:g} m to 2 m, FAO-56 Eq. 47 (factor "
                                              f"{float(w.wind_speed_2m(1.0, wind_height_m)):.3f})")
        data[var] = values
        var_attrs[var] = attrs
    for var, (values, attrs, flag) in (extra or {}).items():
        data[var] = values
        var_attrs[var] = attrs
        flags[var] = flag
    for var, values in data.items():
        if values.dtype != bool:
            flags[var] = np.asarray(flags.get(var, np.zeros(values.shape, np.uint8)), np.uint8) | \
                np.where(np.isnan(values), w.QC_MISSING, 0).astype(np.uint8)

    _derive(data, flags, var_attrs, times, resolution, lat, angstrom)
    attrs = {"station_id": str(station_id), "file": path.name}
    if tz_note:
        attrs["time_zone_note"] = tz_note
    ds = w.weather_dataset(data, times.values, str(station_id), lat=lat, lon=lon, elevation_m=elevation_m,
                           resolution=resolution, source=f"{source}: {path.name}", utc_offset_h=offset,
                           flags=flags, var_attrs=var_attrs, attrs=attrs)
    return w.regular_time_axis(ds, where=str(path))


def _derive(data, flags, var_attrs, times, resolution, lat, angstrom) -> None:
    """Add radiation from sunshine (daily) and dew point / RH from each other (hourly), flagged derived."""
    if resolution == "daily" and "sunshine_h" in data and "rs_mj_m2" not in data and not np.isnan(lat):
        doy = times.day_of_year.values
        a_s, b_s = angstrom
        rs = w.radiation_from_sunshine(data["sunshine_h"], lat, doy, a_s=a_s, b_s=b_s)
        data["rs_mj_m2"] = rs
        flags["rs_mj_m2"] = np.where(np.isnan(rs), w.QC_MISSING, w.QC_DERIVED).astype(np.uint8)
        var_attrs["rs_mj_m2"] = {"derivation": f"from sunshine_h by Angström–Prescott, FAO-56 Eq. 35 "
                                               f"(as={a_s:g}, bs={b_s:g})"}
    if resolution == "hourly" and "t_c" in data:
        if "rh_pct" in data and "dewpoint_c" not in data:
            td = w.dewpoint_from_rh(data["t_c"], np.minimum(data["rh_pct"], 100.0))
            data["dewpoint_c"] = td
            flags["dewpoint_c"] = np.where(np.isnan(td), w.QC_MISSING, w.QC_DERIVED).astype(np.uint8)
            var_attrs["dewpoint_c"] = {"derivation": "from t_c and rh_pct (FAO-56 Eq. 11)"}
        elif "dewpoint_c" in data and "rh_pct" not in data:
            rh = np.minimum(w.rh_from_dewpoint(data["t_c"], data["dewpoint_c"]), 100.0)
            data["rh_pct"] = rh
            flags["rh_pct"] = np.where(np.isnan(rh), w.QC_MISSING, w.QC_DERIVED).astype(np.uint8)
            var_attrs["rh_pct"] = {"derivation": "from t_c and dewpoint_c (FAO-56 Eqs. 11, 14), clipped to "
                                                 "100"}


# ----------------------------------------------------------------------------------------------------------
# Presets
# ----------------------------------------------------------------------------------------------------------

#: CMA national station 58911 Changting (长汀), western Fujian (SEIMS Sites_M.csv).
CHANGTING_STATION = {"station_id": "58911", "lat": 25.75, "lon": 116.333, "elevation_m": 265.0}
#: Hydrological rain gauge 81502750 HeTian (河田站) (SEIMS Sites_P.csv).
HETIAN_GAUGE = {"station_id": "81502750", "lat": 25.683, "lon": 116.4, "elevation_m": 298.0}


def read_changting_daily(
    meteo_path,
    rain_path=None,
    *,
    station_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    elevation_m: float | None = None,
    angstrom: tuple[float, float] = (0.25, 0.50),
) -> xr.Dataset:
    """Daily weather of CMA station 58911 Changting from the SEIMS demo files (plus the HeTian rain gauge).

    ``meteo_daily.csv``: first line ``#LOCALTIME 8`` (Beijing time), columns StationID, DATETIME, TMEAN, TMAX,
    TMIN [°C], RM (daily mean RH [%]), WS (daily mean wind at 10 m [m/s], converted to 2 m with FAO-56
    Eq. 47), SSD (sunshine [h]). DATETIME ``YYYY-MM-DD 20:00:00`` closes the CMA 20:00–20:00 observing day,
    so the date is the local date of the data. ``rs_mj_m2`` comes from SSD by Angström–Prescott (FAO-56
    Eq. 35, as 0.25, bs 0.50) and is flagged derived (16).

    ``pcp_daily.csv`` (optional): first line ``#UTCTIME,``, columns DATETIME, 81502750 (daily rain [mm]) at
    the HeTian gauge (116.4°E 25.683°N, 298 m); stamps are 00:00:00 in 2012–2015 and 20:00:00 in 2016–2017
    with one row per day, so each row is taken as the rain of the stamp's date. It becomes ``precip_mm``;
    days before the gauge record (2010–2011) are NaN and flagged missing (8).

    Parameters
    ----------
    meteo_path, rain_path : str or Path
    station_id, lat, lon, elevation_m : optional overrides of the station metadata (58911, 25.75, 116.333,
        265 m).
    angstrom : (a_s, b_s)
        Angström coefficients for radiation from sunshine hours (FAO-56 Eq. 35).

    Sources: SEIMS (https://github.com/lreis2415/SEIMS, GPL-3.0), data from the China Meteorological
    Administration; see sample_data/SOURCES.md.
    """
    meta = dict(CHANGTING_STATION)
    for key, value in (("station_id", station_id), ("lat", lat), ("lon", lon), ("elevation_m", elevation_m)):
        if value is not None:
            meta[key] = value
    ds = read_station_csv(
        meteo_path,
        columns={"tmean_c": "TMEAN", "tmax_c": "TMAX", "tmin_c": "TMIN", "rh_mean_pct": "RM", "wind_ms": "WS",
                 "sunshine_h": "SSD"},
        time_column="DATETIME", station_column="StationID", station_id=str(meta["station_id"]),
        lat=float(meta["lat"]), lon=float(meta["lon"]), elevation_m=float(meta["elevation_m"]),
        resolution="daily", wind_height_m=10.0, source="station", angstrom=angstrom)
    ds.attrs["station_name"] = "Changting 长汀 (CMA 58911)"
    ds.attrs["observing_day"] = "CMA 20:00-20:00 Beijing time, dated by the day it ends"
    if rain_path is None:
        return ds
    gauge = HETIAN_GAUGE
    rain = read_station_csv(rain_path, columns={"precip_mm": gauge["station_id"]}, time_column="DATETIME",
                            station_id=gauge["station_id"], lat=gauge["lat"], lon=gauge["lon"],
                            elevation_m=gauge["elevation_m"], resolution="daily", source="rain gauge")
    precip = rain["precip_mm"].isel(station=0, drop=True).reindex(time=ds["time"])
    pflag = rain["precip_mm_qc"].isel(station=0, drop=True).reindex(time=ds["time"])
    pflag = pflag.fillna(0).astype(np.uint8)
    pflag = xr.where(precip.isnull(), pflag | w.QC_MISSING, pflag).astype(np.uint8)
    distance = float(w.great_circle_km(float(ds["lat"][0]), float(ds["lon"][0]), HETIAN_GAUGE["lat"],
                                       HETIAN_GAUGE["lon"]))
    attrs = w.variable_attrs("precip_mm", "daily")
    attrs.update(
        gauge=f"81502750 HeTian 河田站, 116.4E 25.683N, 298 m, {distance:.0f} km from the station",
        file=Path(rain_path).name,
        time_stamps="file header #UTCTIME; 00:00:00 in 2012-2015, 20:00:00 in 2016-2017; one row per day, "
                    "taken as the rain of the stamp's date",
        record=(f"{pd.Timestamp(rain['time'].values[0]):%Y-%m-%d} to "
                f"{pd.Timestamp(rain['time'].values[-1]):%Y-%m-%d}"),
    )
    ds["precip_mm"] = (("time", "station"), precip.values[:, None], attrs)
    ds["precip_mm_qc"] = (("time", "station"), pflag.values[:, None].astype(np.uint8),
                          w.flag_attrs("precip_mm"))
    ds.attrs["source"] = f"{ds.attrs['source']} + rain gauge: {Path(rain_path).name}"
    return ds


#: Chengdu, Sichuan basin (UCI "PM2.5 Data of Five Chinese Cities"; position of the city centre).
CHENGDU_STATION = {"station_id": "chengdu", "lat": 30.66, "lon": 104.07, "elevation_m": 506.0}


def wind_from_cumulated(iws, direction, consecutive=None) -> np.ndarray:
    """Hourly wind speed [m/s] from the UCI cumulated wind speed ``Iws`` and combined direction ``cbwd``.

    ``Iws`` adds up the hourly speed over consecutive hours with the same combined direction (NE, NW, SE, SW,
    cv = calm/variable) and restarts when the direction changes. So, hour by hour:

    - direction differs from the previous hour -> a new run: speed = Iws;
    - same direction and Iws ≥ previous Iws -> speed = Iws − previous Iws;
    - same direction but Iws smaller -> treated as a restart: speed = Iws;
    - the hour itself, or the hour before it, missing (Iws or cbwd) -> NaN (the run cannot be followed);
      the first row is NaN for the same reason.

    Parameters
    ----------
    iws : array-like of float
    direction : array-like of str (NaN/None/"" for missing)
    consecutive : array-like of bool, optional
        False where a row does not follow the previous one by exactly one time step (a gap in the file);
        such rows count as "previous hour missing".
    """
    iws = np.asarray(iws, dtype=float)
    dirs = pd.Series(direction, dtype=object).where(lambda s: s.notna(), None).to_numpy(dtype=object)
    present = np.array([d is not None and str(d).strip() not in ("", "NA", "nan") for d in dirs])
    valid = ~np.isnan(iws) & present
    prev_valid = np.concatenate([[False], valid[:-1]])
    if consecutive is not None:
        prev_valid &= np.asarray(consecutive, dtype=bool)
    prev_dir = np.concatenate([[None], dirs[:-1]])
    prev_iws = np.concatenate([[np.nan], iws[:-1]])
    same = np.array([a == b for a, b in zip(dirs, prev_dir)]) & prev_valid
    with np.errstate(invalid="ignore"):
        increment = iws - prev_iws
        speed = np.where(same & (increment >= 0), increment, iws)
    return np.where(valid & prev_valid, speed, np.nan)


def read_uci_hourly(
    path,
    station_id: str = "chengdu",
    lat: float = 30.66,
    lon: float = 104.07,
    elevation_m: float = 506.0,
) -> xr.Dataset:
    """Hourly weather from a UCI "PM2.5 Data of Five Chinese Cities" file (e.g. Chengdu 2010–2015).

    Columns No, year, month, day, hour, season, PM_* , DEWP [°C], HUMI [%], PRES [hPa], TEMP [°C], cbwd
    (combined wind direction), Iws (cumulated wind speed [m/s]), precipitation [mm/h], Iprec; Beijing time
    (UTC+8); "NA" is missing. TEMP -> ``t_c``, DEWP -> ``dewpoint_c``, HUMI -> ``rh_pct``, precipitation ->
    ``precip_mm`` (taken as the hour ending at the stamp); hourly wind is recovered from Iws and cbwd by
    :func:`wind_from_cumulated`, taken as measured at 10 m and converted to 2 m (FAO-56 Eq. 47), flagged
    derived (16). Pressure and PM2.5 are not read.

    Source: Liang, X. et al. (2016) J. Geophys. Res. Atmos. 121:10220; UCI Machine Learning Repository
    dataset 394 (CC BY 4.0).
    """
    table = _read_table(path)
    iws_col, dir_col = _column(table, "Iws", "wind"), _column(table, "cbwd", "wind")
    na = DEFAULT_NA_VALUES
    parts = {"year": "year", "month": "month", "day": "day", "hour": "hour"}
    iws = _numeric(table, iws_col, na)
    cbwd = table.frame[dir_col].where(~table.frame[dir_col].isin(list(na)), None)
    times, _ = _parse_times(table, None, parts, None, na)
    consecutive = np.concatenate([[False], np.diff(times.asi8) == 3600 * 10**9])
    speed10 = wind_from_cumulated(iws, cbwd.to_numpy(dtype=object), consecutive)
    wind = w.wind_speed_2m(speed10, 10.0)
    flag = np.where(np.isnan(wind), w.QC_MISSING, w.QC_DERIVED).astype(np.uint8)
    attrs = {"file_column": "Iws, cbwd", "measurement_height_m": 10.0,
             "derivation": "hourly speed recovered from cumulated Iws within runs of equal cbwd "
                           "(orchard.sources.station_csv.wind_from_cumulated)",
             "height_conversion": "from 10 m to 2 m, FAO-56 Eq. 47 (factor 0.748)"}
    ds = _dataset_from_table(
        table, columns={"t_c": "TEMP", "dewpoint_c": "DEWP", "rh_pct": "HUMI", "precip_mm": "precipitation"},
        station_id=station_id, lat=lat, lon=lon, elevation_m=elevation_m, resolution="hourly",
        time_column=None, time_parts=parts, time_format=None, tz=None, utc_offset_h=CHINA_UTC_OFFSET_H,
        units=None, wind_height_m=10.0, na_values=na, station_column=None, source="station",
        angstrom=(0.25, 0.50), extra={"wind_ms": (wind, attrs, flag)})
    ds.attrs["station_name"] = "Chengdu 成都 (UCI PM2.5 data set)"
    return ds
