"""Ingest of sensor readings: parse -> units -> QC flags -> upsert, one transaction per file.

The one write path for station and soil-probe readings, used by the CLI (``orchard ingest-sensors``), the
app, scripts and a live push (MQTT/HTTP handlers call :func:`ingest_readings` with the JSON records)::

    from monitoring.soil.ingest import ingest_readings
    ingest_readings(engine, [{"sensor_id": "SP01", "variable": "moisture", "unit": "%",
                              "time": "2017-07-01T08:00:00+08:00", "value": 31.2}])

Idempotent: rows are keyed by (sensor_id, variable, time_utc) and upserted, and QC is recomputed over the new
readings plus the stored readings of the same series within :data:`CONTEXT` either side, so importing a file
twice, or one file in overlapping parts, leaves the same values and flags (``ingest_batch`` records the last
batch that wrote a row: ``<file name>:<sha256 prefix>``). A file that fails anywhere leaves the database
unchanged (one transaction). Bad input is refused with one sentence; suspicious but plausible values are
flagged instead (:mod:`monitoring.soil.qc`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitoring.soil import qc
from monitoring.soil.readers import parse_times, parse_values, read_sensor_file
from monitoring.soil.variables import VARIABLES, canonical_variable, unit_converter
from orchard import store
from orchard.errors import InputError, check_input_file
from orchard.params import ParameterSet

__all__ = [
    "CONTEXT",
    "REGISTRY_COLUMNS",
    "IngestReport",
    "read_registry",
    "register_sensors",
    "normalise_records",
    "ingest_readings",
    "ingest_file",
    "ingest_files",
    "read_readings",
]

#: Stored readings this far either side of new ones are re-checked with them; twice this is read as context.
CONTEXT = pd.Timedelta(days=4)
REGISTRY_COLUMNS = ("sensor_id", "plot_id", "kind", "depth_m", "lon", "lat")
SENSOR_KINDS = ("soil_probe_7in1", "soil_moisture", "weather_station", "rain_gauge")


@dataclass
class IngestReport:
    """What one ingest did: rows read and written, unit conversions, duplicates, flag counts."""

    source: str
    format: str
    batch: str
    rows_read: int = 0
    rows_written: int = 0
    duplicates: int = 0
    units: dict = field(default_factory=dict)
    flag_counts: dict = field(default_factory=dict)
    sensors: list = field(default_factory=list)
    skipped_columns: list = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.source}: {self.rows_read} readings of {len(self.sensors)} sensors ({self.format}), "
            f"{self.rows_written} rows written, batch {self.batch}"
        ]
        converted = {
            v: u
            for v, u in self.units.items()
            if u and not np.allclose(unit_converter(v, u, self.source)(np.array([0.0, 1.0])), [0.0, 1.0])
        }
        if converted:
            lines.append(
                "  units converted: "
                + ", ".join(f"{v} from {u} to {VARIABLES[v].unit}" for v, u in converted.items())
            )
        if self.duplicates:
            lines.append(
                f"  {self.duplicates} duplicated readings (same sensor, variable and time): first kept, "
                "flagged DUP"
            )
        if self.flag_counts:
            lines.append("  flags: " + ", ".join(f"{c} {n}" for c, n in self.flag_counts.items()))
        if self.skipped_columns:
            lines.append("  columns skipped: " + ", ".join(self.skipped_columns))
        return lines


def read_registry(path) -> pd.DataFrame:
    """Read a sensor registry CSV (sensor_id, plot_id, kind, depth_m, lon, lat) and check it."""
    path = check_input_file(path, what="sensor registry")
    try:
        df = pd.read_csv(
            path, dtype={"sensor_id": str, "plot_id": str, "kind": str}, comment="#", encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot be read as a sensor registry CSV ({str(exc).splitlines()[0]})."
        ) from None
    missing = [c for c in REGISTRY_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: column '{missing[0]}' is missing; a registry needs {', '.join(REGISTRY_COLUMNS)}."
        )
    for i, row in df.iterrows():
        where = f"{path} line {i + 2}"
        if row["kind"] not in SENSOR_KINDS:
            raise InputError(f"{where}: kind '{row['kind']}' is not one of {', '.join(SENSOR_KINDS)}.")
        for name, lo, hi in (("lon", -180, 180), ("lat", -90, 90), ("depth_m", 0, 5)):
            value = pd.to_numeric(row[name], errors="coerce")
            if pd.notna(row[name]) and (pd.isna(value) or not lo <= value <= hi):
                raise InputError(f"{where}: {name} {row[name]!r} is not a number between {lo} and {hi}.")
    if df["sensor_id"].duplicated().any():
        raise InputError(
            f"{path}: sensor '{df.loc[df['sensor_id'].duplicated(), 'sensor_id'].iloc[0]}' is listed "
            "twice; keep one line per sensor."
        )
    return df[list(REGISTRY_COLUMNS) + [c for c in ("install_date", "notes") if c in df.columns]]


def register_sensors(session: Session, registry: pd.DataFrame) -> int:
    """Upsert the registry's sensors (their plots must exist)."""
    return store.upsert_sensors(session, registry)


def normalise_records(records, where: str = "readings") -> pd.DataFrame:
    """API records -> the canonical long frame.

    ``records``: a DataFrame or an iterable of mappings with ``sensor_id``, ``variable`` (canonical name or an
    alias such as ``moisture``), ``time`` (ISO text with offset, or an aware datetime), ``value`` and
    optionally ``unit`` (default: the variable's canonical unit).
    """
    if isinstance(records, pd.DataFrame):
        df = records.copy()
    else:
        rows = (
            list(records) if isinstance(records, Iterable) and not isinstance(records, Mapping) else [records]
        )
        if rows and not all(isinstance(r, Mapping) for r in rows):
            raise InputError(
                f"{where}: every record must be a mapping with sensor_id, variable, time and value."
            )
        df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["sensor_id", "variable", "time_utc", "raw_value", "missing", "row"])
    if "time_utc" in df.columns and "time" not in df.columns:
        df = df.rename(columns={"time_utc": "time"})
    for needed in ("sensor_id", "variable", "time", "value"):
        if needed not in df.columns:
            raise InputError(
                f"{where}: field '{needed}' is missing; each record needs sensor_id, variable, time, "
                "value (and unit when not the canonical one)."
            )
    rows = np.arange(len(df)) + 1
    if isinstance(df["time"].dtype, pd.DatetimeTZDtype):
        times = pd.DatetimeIndex(df["time"]).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(df["time"]):
        raise InputError(
            f"{where}: record 1 has a time without a time zone; send aware times or ISO text with an "
            "offset, e.g. 2017-07-01T08:00:00+08:00."
        )
    else:
        times = parse_times(
            df["time"].map(lambda t: t.isoformat() if hasattr(t, "isoformat") else t), None, where, rows
        )
    values, missing = parse_values(df["value"], where, "value", rows)
    units = df["unit"].fillna("").astype(str) if "unit" in df.columns else pd.Series("", index=df.index)
    variables = np.empty(len(df), dtype=object)
    keys = pd.DataFrame({"v": df["variable"].astype(str), "u": units})
    for (name, unit), index in keys.groupby(["v", "u"], sort=False).indices.items():
        variable = canonical_variable(name)
        if variable is None:
            raise InputError(
                f"{where} record {rows[index[0]]}: variable '{name}' is not known; use e.g. "
                "moisture_m3_m3, soil_temp_c, ec_ds_m, ph, t_c, rh_pct, precip_mm."
            )
        values[index] = unit_converter(variable, unit or None, f"{where} record {rows[index[0]]}")(
            values[index]
        )
        variables[index] = variable
    return pd.DataFrame(
        {
            "sensor_id": df["sensor_id"].astype(str).str.strip().to_numpy(object),
            "variable": variables,
            "time_utc": times,
            "raw_value": values,
            "missing": missing,
            "row": rows,
        }
    )


def _sensor_table(session: Session, ids) -> pd.DataFrame:
    s, p = store.Sensor, store.Plot
    query = (
        select(s.sensor_id, s.kind, s.depth_m, s.lon, s.lat, p.field_capacity)
        .join(p, s.plot_id == p.plot_id)
        .where(s.sensor_id.in_(list(ids)))
    )
    return pd.DataFrame(
        session.execute(query).all(), columns=["sensor_id", "kind", "depth_m", "lon", "lat", "field_capacity"]
    )


def read_readings(session: Session, sensor_ids=None, variables=None, start=None, end=None) -> pd.DataFrame:
    """Stored sensor readings (long frame with time_utc aware UTC), optionally filtered."""
    table = store.SensorReading.__table__
    query = select(table)
    if sensor_ids is not None:
        query = query.where(table.c.sensor_id.in_(list(sensor_ids)))
    if variables is not None:
        query = query.where(table.c.variable.in_(list(variables)))
    if start is not None:
        query = query.where(table.c.time_utc >= pd.Timestamp(start).to_pydatetime())
    if end is not None:
        query = query.where(table.c.time_utc <= pd.Timestamp(end).to_pydatetime())
    rows = session.execute(query.order_by(table.c.sensor_id, table.c.variable, table.c.time_utc)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[c.key for c in table.columns])
    frame["time_utc"] = pd.to_datetime(frame["time_utc"], utc=True)
    for name in ("value", "raw_value"):
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    return frame


def _check(frame: pd.DataFrame, sensors: pd.DataFrame, where: str) -> None:
    known = set(sensors["sensor_id"])
    unknown = ~frame["sensor_id"].isin(known)
    if unknown.any():
        first = frame[unknown].iloc[0]
        raise InputError(
            f"{where} line {first['row']}: sensor '{first['sensor_id']}' is not registered; add it to "
            "the sensor registry (orchard ingest-sensors --registry sensors.csv) first."
        )
    rain = frame["variable"].eq("precip_mm") & (frame["raw_value"] < 0)
    if rain.any():
        first = frame[rain].iloc[0]
        raise InputError(
            f"{where} line {first['row']}: rainfall {first['raw_value']:g} mm is negative; fix the "
            "logger export (rain is never below 0)."
        )


def _store(session: Session, frame: pd.DataFrame, report: IngestReport, params: ParameterSet) -> IngestReport:
    where = report.source
    report.rows_read = len(frame)
    if frame.empty:
        return report
    sensors = _sensor_table(session, frame["sensor_id"].unique())
    _check(frame, sensors, where)
    keys = ["sensor_id", "variable", "time_utc"]
    dup_any = frame.duplicated(keys, keep=False).to_numpy()
    first = ~frame.duplicated(keys, keep="first").to_numpy()
    report.duplicates = int((~first).sum())
    new = frame.loc[first].assign(dup=dup_any[first]).reset_index(drop=True)

    start, end = new["time_utc"].min(), new["time_utc"].max()
    stored = read_readings(
        session, new["sensor_id"].unique(), new["variable"].unique(), start - 2 * CONTEXT, end + 2 * CONTEXT
    )
    if not stored.empty:
        stored = stored.merge(new[keys].assign(_new=True), on=keys, how="left")
        overwritten = stored["_new"].eq(True).to_numpy()
        old_flags = qc.text_to_flags(stored["qc_flags"])
        sticky = pd.Series((old_flags & qc.FLAGS["DUP"]) != 0)
        # DUP is a property of a delivered file and stays once seen (order of imports must not matter).
        dup_old = pd.DataFrame({k: stored[k] for k in keys}).assign(_dup=sticky.to_numpy())
        new = new.merge(dup_old, on=keys, how="left")
        new["dup"] = new["dup"] | new["_dup"].eq(True)
        new = new.drop(columns="_dup")
        context = stored.loc[~overwritten].reset_index(drop=True)
        context = pd.DataFrame(
            {
                "sensor_id": context["sensor_id"],
                "variable": context["variable"],
                "time_utc": context["time_utc"],
                "raw_value": context["raw_value"],
                "missing": ~np.isfinite(context["raw_value"].to_numpy(float)),
                "dup": (qc.text_to_flags(context["qc_flags"]) & qc.FLAGS["DUP"]) != 0,
                "old_flags": context["qc_flags"],
                "old_batch": context["ingest_batch"],
                "row": 0,
            }
        )
    else:
        context = pd.DataFrame(
            columns=[
                "sensor_id",
                "variable",
                "time_utc",
                "raw_value",
                "missing",
                "dup",
                "old_flags",
                "old_batch",
                "row",
            ]
        )
    combined = (
        pd.concat([new.assign(old_flags=None, old_batch=report.batch), context], ignore_index=True)
        if len(context)
        else new.assign(old_flags=None, old_batch=report.batch)
    )
    combined["time_utc"] = pd.to_datetime(combined["time_utc"], utc=True)
    meta = sensors.assign(
        saturation_m3_m3=sensors["field_capacity"].astype(float) + float(params["ismn.saturation_margin"])
    )
    mask = qc.flag_readings(combined, meta, params, duplicated=combined["dup"].to_numpy(bool))
    text = qc.flags_to_text(mask)
    is_new = np.r_[np.ones(len(new), bool), np.zeros(len(combined) - len(new), bool)]
    in_reach = (
        (combined["time_utc"] >= start - CONTEXT) & (combined["time_utc"] <= end + CONTEXT)
    ).to_numpy()
    changed = combined["old_flags"].fillna("").astype(str).to_numpy() != text
    write = is_new | (in_reach & changed)
    out = pd.DataFrame(
        {
            "sensor_id": combined["sensor_id"].to_numpy(object)[write],
            "variable": combined["variable"].to_numpy(object)[write],
            "time_utc": combined["time_utc"][write].reset_index(drop=True),
            "value": qc.clean_values(combined["raw_value"].to_numpy(float), mask)[write],
            "raw_value": combined["raw_value"].to_numpy(float)[write],
            "qc_flags": text[write],
            "ingest_batch": combined["old_batch"].to_numpy(object)[write],
        }
    )
    report.rows_written = store.upsert_sensor_readings(session, out)
    counts = {code: int(((mask[is_new] & bit) != 0).sum()) for code, bit in qc.FLAGS.items()}
    report.flag_counts = {c: n for c, n in counts.items() if n}
    report.sensors = sorted(new["sensor_id"].unique().tolist())
    return report


def ingest_readings(
    engine_or_session,
    records,
    *,
    batch: str | None = None,
    params: ParameterSet | None = None,
    source: str = "readings",
) -> IngestReport:
    """Store readings from the app, a script or a live push (MQTT/HTTP JSON) in one transaction.

    Parameters
    ----------
    engine_or_session : sqlalchemy.Engine or Session
        With an Engine the call is its own transaction; with a Session it joins the caller's.
    records : DataFrame or iterable of mappings
        ``sensor_id``, ``variable``, ``time`` (aware), ``value``, optional ``unit``
        (see :func:`normalise_records`).
    batch : str, optional
        Recorded in ``ingest_batch`` (default: a hash of the records, so a repeated push is recognised).

    Returns
    -------
    IngestReport
    """
    params = params or qc.default_parameters()
    frame = normalise_records(records, source)
    if batch is None:
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(frame[["sensor_id", "variable", "raw_value"]], index=False)
            .to_numpy()
            .tobytes()
        ).hexdigest()
        batch = f"{source}:{digest[:12]}"
    report = IngestReport(
        source=source, format="records", batch=batch, units={v: None for v in frame["variable"].unique()}
    )
    return _in_transaction(engine_or_session, lambda session: _store(session, frame, report, params))


def _in_transaction(engine_or_session, work):
    if isinstance(engine_or_session, Session):
        return work(engine_or_session)
    with store.session_scope(engine_or_session) as session:
        return work(session)


def ingest_file(
    engine_or_session,
    path,
    format: str | None = None,
    *,
    tz: str | None = None,
    sensor_id: str | None = None,
    params: ParameterSet | None = None,
) -> IngestReport:
    """Read, convert, QC and store one sensor file in one transaction (see the module notes)."""
    params = params or qc.default_parameters()
    path = Path(path)

    def work(session: Session) -> IngestReport:
        kinds = dict(session.execute(select(store.Sensor.sensor_id, store.Sensor.kind)).all())
        frame, info = read_sensor_file(path, format, tz=tz, sensor_id=sensor_id, sensor_kinds=kinds)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        report = IngestReport(
            source=str(path),
            format=info["format"],
            batch=f"{path.name}:{digest}",
            units=info["units"],
            skipped_columns=info["skipped_columns"],
        )
        return _store(session, frame, report, params)

    return _in_transaction(engine_or_session, work)


def ingest_files(
    engine,
    paths,
    format: str | None = None,
    *,
    tz: str | None = None,
    sensor_id: str | None = None,
    registry=None,
    params: ParameterSet | None = None,
) -> list[IngestReport]:
    """Ingest several files, each in its own transaction (a registry, if given, is stored first)."""
    if registry is not None:
        table = read_registry(registry)
        with store.session_scope(engine) as session:
            register_sensors(session, table)
    return [ingest_file(engine, path, format, tz=tz, sensor_id=sensor_id, params=params) for path in paths]


def report_json(reports: list[IngestReport]) -> str:
    """Reports as JSON (for ``--json``)."""
    return json.dumps([r.__dict__ for r in reports], ensure_ascii=False, indent=1)
