"""Readers of sensor files: long CSV, wide CSV, Campbell Scientific TOA5 and RS485 "7-in-1" probe exports.

Each reader returns the same *canonical long frame*: ``sensor_id``, ``variable`` (canonical name, see
:mod:`monitoring.soil.variables`), ``time_utc`` (aware UTC), ``raw_value`` (float in the canonical unit, NaN
when the file held a missing-value marker), ``missing`` (bool) and ``row`` (line number in the file, for
messages), plus a dict describing what was read (format, unit conversions, skipped columns).

Time stamps must carry their offset (``2017-07-01T08:00+08:00``) or the caller must declare the zone
(``tz="Asia/Shanghai"``); a time stamp without either is refused, never guessed. Bad cells are refused with
the file, line and column; logger missing-value markers (``NAN``, -9999, 6999, 65535) become missing readings
that are kept and flagged ``M``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.soil.variables import canonical_variable, split_name_unit, unit_converter
from orchard.errors import InputError, check_input_file, read_text_file

__all__ = ["FORMATS", "MISSING_MARKERS", "read_sensor_file", "detect_format", "parse_times", "parse_values"]

FORMATS = ("long", "wide", "toa5", "7in1")
#: Text and numbers loggers write for "no reading" (Campbell NAN, -9999/6999/-7999, Modbus 0xFFFF).
MISSING_MARKERS = ("", "nan", "NAN", "NaN", "null", "NULL", "-", "--")
MISSING_NUMBERS = (-9999.0, 6999.0, -7999.0, 7999.0, 65535.0)
#: Engineering units of the common 7-in-1 register map when an export's headers carry none (science §5.1).
SEVEN_IN_ONE_UNITS = {
    "moisture_m3_m3": "%",
    "soil_temp_c": "degC",
    "ec_ds_m": "us/cm",
    "ph": "1",
    "n_index_mg_kg": "mg/kg",
    "p_index_mg_kg": "mg/kg",
    "k_index_mg_kg": "mg/kg",
}
TIME_COLUMNS = ("time", "timestamp", "datetime", "date_time", "time_local", "时间", "采集时间", "日期时间")
SENSOR_COLUMNS = ("sensor", "sensor_id", "device", "device_id", "设备", "设备编号", "设备id")
#: Wide-file columns that are not readings (logger bookkeeping) and are skipped without complaint.
META_COLUMNS = (
    "record",
    "address",
    "地址",
    "battv",
    "battv_min",
    "batt_volt",
    "ptemp_c",
    "signal",
    "信号",
    "rssi",
    "battery",
    "电池电压",
)
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def _tzinfo(tz: str, where: str):
    text = str(tz).strip()
    match = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", text, flags=re.I)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        import zoneinfo

        return zoneinfo.ZoneInfo(text)
    except Exception:  # noqa: BLE001 - any failure means the name is unknown
        raise InputError(
            f"{where}: time zone '{tz}' is not known; use e.g. Asia/Shanghai, UTC or +08:00."
        ) from None


def parse_times(values: pd.Series, tz: str | None, where: str, rows: np.ndarray) -> pd.DatetimeIndex:
    """Time stamps (text) -> aware UTC DatetimeIndex; offsets in the text win, else ``tz`` is applied."""
    text = values.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET)
    if has_offset.all():
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    elif not has_offset.any():
        if tz is None:
            raise InputError(
                f"{where}: time stamps such as '{text.iloc[0]}' have no time zone; write them with "
                "an offset (e.g. 2017-07-01T08:00+08:00) or declare the zone with --tz "
                "Asia/Shanghai."
            )
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(_tzinfo(tz, where), ambiguous="raise", nonexistent="raise")
        parsed = parsed.dt.tz_convert("UTC")
    else:
        first = int(np.flatnonzero(~has_offset.to_numpy())[0])
        raise InputError(
            f"{where} line {rows[first]}: time stamp '{text.iloc[first]}' has no offset while others "
            "do; write every time stamp with its offset."
        )
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where} line {rows[first]}: '{text.iloc[first]}' is not a time stamp; use ISO 8601, "
            "e.g. 2017-07-01 08:00:00+08:00."
        )
    return pd.DatetimeIndex(parsed)


def parse_values(
    values: pd.Series, where: str, column: str, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Text cells -> floats and a missing mask; markers are missing, any other text is refused."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float)
        missing = ~np.isfinite(numbers)
    else:
        text = values.astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        missing = ~np.isfinite(numbers)
        marker = text.isin(MISSING_MARKERS).to_numpy() | values.isna().to_numpy()
        bad = missing & ~marker
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where} line {rows[first]}, column '{column}': '{text.iloc[first]}' is not a number; "
                "fix the cell or write NAN for a missing reading."
            )
    missing = missing | np.isin(numbers, MISSING_NUMBERS)
    return np.where(missing, np.nan, numbers), missing


def _find(columns, names, where: str, what: str, required: bool = True) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    if required:
        raise InputError(
            f"{where}: no {what} column (looked for {', '.join(names[:4])}); name it 'time'"
            if what == "time"
            else f"{where}: no {what} column; add one or pass --sensor ID."
        )
    return None


def _read_csv(path: Path, skiprows: int = 0, header="infer") -> pd.DataFrame:
    text = read_text_file(path, "sensor file")  # UTF-8, else GB18030/GBK as Chinese gateway software writes
    try:
        return pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skiprows=skiprows,
            header=header,
            comment="#",
            skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        raise InputError(
            f"{path}: cannot be read as CSV ({str(exc).splitlines()[0]}); check the format."
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: holds no readings.") from None


def detect_format(path: Path) -> str:
    """Guess the format from the first line: TOA5, a ``variable`` column (long), 7-in-1 headers, else wide."""
    first = ""
    for line in read_text_file(path, "sensor file").splitlines():
        if line.strip() and not line.startswith("#"):
            first = line
            break
    if first.startswith('"TOA5"') or first.startswith("TOA5"):
        return "toa5"
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(first)))] if first else []
    if "variable" in header and "value" in header:
        return "long"
    names = [canonical_variable(split_name_unit(h)[0]) for h in header]
    if "n_index_mg_kg" in names and "k_index_mg_kg" in names:
        return "7in1"
    return "wide"


def _canonical_frame(sensor, variable, times, values, missing, rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sensor_id": sensor,
            "variable": variable,
            "time_utc": times,
            "raw_value": values,
            "missing": missing,
            "row": rows,
        }
    )


def read_long(
    path: Path,
    tz: str | None = None,
    sensor_id: str | None = None,
    sensor_kinds: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Long CSV: one reading per line, columns time, sensor, variable, value, unit."""
    where = str(path)
    df = _read_csv(path)
    if df.empty:
        raise InputError(f"{where}: holds no readings.")
    time_col = _find(df.columns, TIME_COLUMNS, where, "time")
    sensor_col = _find(df.columns, SENSOR_COLUMNS, where, "sensor", required=sensor_id is None)
    for needed in ("variable", "value"):
        if _find(df.columns, (needed,), where, needed, required=False) is None:
            raise InputError(
                f"{where}: no '{needed}' column; a long file needs time, sensor, variable, value, unit."
            )
    var_col = _find(df.columns, ("variable",), where, "variable")
    value_col = _find(df.columns, ("value",), where, "value")
    unit_col = _find(df.columns, ("unit", "units"), where, "unit", required=False)
    rows = np.arange(len(df)) + 2
    sensors = df[sensor_col].str.strip() if sensor_col else pd.Series(sensor_id, index=df.index)
    times = parse_times(df[time_col], tz, where, rows)
    values, missing = parse_values(df[value_col], where, value_col, rows)
    kinds = sensor_kinds or {}
    variables = np.empty(len(df), dtype=object)
    units = df[unit_col].str.strip() if unit_col else pd.Series("", index=df.index)
    conversions = {}
    keys = pd.DataFrame({"s": sensors, "v": df[var_col].str.strip(), "u": units})
    for (sensor, name, unit), index in keys.groupby(["s", "v", "u"], sort=False).indices.items():
        variable = canonical_variable(name, kinds.get(sensor, ""))
        if variable is None:
            raise InputError(
                f"{where} line {rows[index[0]]}: variable '{name}' is not known; use e.g. "
                "moisture_m3_m3, soil_temp_c, ec_ds_m, ph, t_c, rh_pct, precip_mm, wind_ms, ghi_w_m2."
            )
        convert = unit_converter(variable, unit or None, f"{where} line {rows[index[0]]}")
        values[index] = convert(values[index])
        variables[index] = variable
        conversions[variable] = unit or None
    frame = _canonical_frame(sensors.to_numpy(object), variables, times, values, missing, rows)
    return frame, {"format": "long", "units": conversions, "skipped_columns": []}


def _wide_to_long(
    df: pd.DataFrame,
    where: str,
    rows: np.ndarray,
    tz,
    sensor_id,
    sensor_kinds,
    header_units,
    default_units: dict | None,
    strict: bool,
    fmt: str,
) -> tuple[pd.DataFrame, dict]:
    time_col = _find(df.columns, TIME_COLUMNS, where, "time")
    sensor_col = _find(df.columns, SENSOR_COLUMNS, where, "sensor", required=sensor_id is None)
    if sensor_col is not None:
        sensors = df[sensor_col].str.strip().to_numpy(object)
    else:
        sensors = np.full(len(df), sensor_id, dtype=object)
    kinds = sensor_kinds or {}
    kind = kinds.get(str(sensors[0]), "") if len(sensors) else ""
    times = parse_times(df[time_col], tz, where, rows)
    parts, conversions, skipped = [], {}, []
    for column in df.columns:
        if column in (time_col, sensor_col):
            continue
        name, unit = split_name_unit(str(column))
        unit = header_units.get(column, unit) if header_units else unit
        variable = canonical_variable(name, kind)
        if variable is None:
            if strict and name.strip().lower() not in META_COLUMNS:
                raise InputError(
                    f"{where}: column '{column}' is not a known variable; rename it (e.g. "
                    "'moisture (%)', 'ec (us/cm)', 't_c') or remove it."
                )
            skipped.append(str(column))
            continue
        if not unit:
            if default_units and variable in default_units:
                unit = default_units[variable]
            elif name.strip().lower() != variable and variable != "ph":
                raise InputError(
                    f"{where}: column '{column}' has no unit; write it as '{name} (unit)' or use the "
                    f"canonical name {variable}."
                )
        values, missing = parse_values(df[column], where, str(column), rows)
        values = unit_converter(variable, unit or None, f"{where}, column '{column}'")(values)
        conversions[variable] = unit or None
        parts.append(_canonical_frame(sensors, variable, times, values, missing, rows))
    if not parts:
        raise InputError(
            f"{where}: no reading columns were recognised; name columns like 'moisture (%)' or 't_c'."
        )
    return pd.concat(parts, ignore_index=True), {
        "format": fmt,
        "units": conversions,
        "skipped_columns": skipped,
    }


def read_wide(
    path: Path,
    tz: str | None = None,
    sensor_id: str | None = None,
    sensor_kinds: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Wide CSV: a time column, an optional sensor column, one column per variable ``name (unit)``."""
    df = _read_csv(path)
    if df.empty:
        raise InputError(f"{path}: holds no readings.")
    return _wide_to_long(
        df, str(path), np.arange(len(df)) + 2, tz, sensor_id, sensor_kinds, None, None, True, "wide"
    )


def read_7in1(
    path: Path,
    tz: str | None = None,
    sensor_id: str | None = None,
    sensor_kinds: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """RS485 7-in-1 probe export (gateway/DTU CSV): time, device, moisture, temperature, EC, pH, N, P, K.

    Headers may be Chinese (``时间, 设备编号, 水分(%), 温度(℃), 电导率(us/cm), PH, 氮(mg/kg), …``); columns
    without a unit take the common register map's engineering units (moisture %, EC µS/cm, N/P/K mg/kg).
    65535 (0xFFFF, the probe's error value) is a missing reading.
    """
    df = _read_csv(path)
    if df.empty:
        raise InputError(f"{path}: holds no readings.")
    kinds = {**(sensor_kinds or {})}
    return _wide_to_long(
        df,
        str(path),
        np.arange(len(df)) + 2,
        tz,
        sensor_id,
        {k: (v or "soil_probe_7in1") for k, v in kinds.items()} or None,
        None,
        SEVEN_IN_ONE_UNITS,
        False,
        "7in1",
    )


def read_toa5(
    path: Path,
    tz: str | None = None,
    sensor_id: str | None = None,
    sensor_kinds: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Campbell Scientific TOA5: environment line (station name = sensor id unless given), names, units,
    processing, then data. The logger clock has no zone: ``tz`` must be declared.
    """
    where = str(path)
    lines = read_text_file(path, "sensor file").splitlines(keepends=True)
    head = (lines + [""] * 4)[:4]
    environment = next(csv.reader(io.StringIO(head[0])))
    if not environment or environment[0].strip() != "TOA5" or not head[3].strip():
        raise InputError(
            f'{where}: is not a TOA5 file (the first line must start with "TOA5" and four header '
            "lines must follow); choose another --format."
        )
    station = environment[1].strip() if len(environment) > 1 else ""
    names = next(csv.reader(io.StringIO(head[1])))
    units = next(csv.reader(io.StringIO(head[2])))
    if len(units) != len(names):
        raise InputError(
            f"{where} line 3: {len(units)} units for {len(names)} columns; the TOA5 header is damaged."
        )
    df = _read_csv(path, skiprows=4, header=None)
    if df.empty:
        raise InputError(f"{where}: holds no readings.")
    if df.shape[1] != len(names):
        raise InputError(
            f"{where} line 5: {df.shape[1]} fields for {len(names)} columns; the file is damaged."
        )
    df.columns = names
    if tz is None:
        raise InputError(
            f"{where}: TOA5 time stamps have no time zone (the logger clock's zone is not in the "
            "file); declare it with --tz, e.g. --tz Asia/Shanghai."
        )
    sensor = sensor_id or station
    header_units = dict(zip(names, units, strict=False))
    return _wide_to_long(
        df, where, np.arange(len(df)) + 5, tz, sensor, sensor_kinds, header_units, None, False, "toa5"
    )


READERS = {"long": read_long, "wide": read_wide, "toa5": read_toa5, "7in1": read_7in1}


def read_sensor_file(
    path,
    format: str | None = None,
    *,
    tz: str | None = None,
    sensor_id: str | None = None,
    sensor_kinds: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Read one sensor file into the canonical long frame (see the module notes).

    Parameters
    ----------
    path : path-like
    format : {"long", "wide", "toa5", "7in1"}, optional
        Default: detected from the first line (:func:`detect_format`).
    tz : str, optional
        Zone of time stamps without an offset (e.g. ``Asia/Shanghai``, ``+08:00``, ``UTC``).
    sensor_id : str, optional
        Sensor of every reading, for files without a sensor column.
    sensor_kinds : dict, optional
        sensor_id -> kind, to tell air from soil temperature in columns named just "temperature".
    """
    path = check_input_file(path, what="sensor file")
    fmt = format or detect_format(path)
    if fmt not in READERS:
        raise InputError(f"unknown sensor file format '{fmt}'; use one of {', '.join(FORMATS)}.")
    frame, info = READERS[fmt](path, tz=tz, sensor_id=sensor_id, sensor_kinds=sensor_kinds)
    if frame["sensor_id"].isna().any() or (frame["sensor_id"].astype(str).str.len() == 0).any():
        first = int(
            np.flatnonzero((frame["sensor_id"].isna() | (frame["sensor_id"].astype(str) == "")).to_numpy())[0]
        )
        raise InputError(f"{path} line {frame['row'].iloc[first]}: the sensor id is empty; fill it in.")
    info["file"] = str(path)
    return frame, info
