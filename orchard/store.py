"""The database: users and roles, plots, stations, weather and sensor readings, observations, parameter
versions.

SQLite file by default (``orchard.config.database_url()``: ``ORCHARD_DB_URL``, else
``ORCHARD_HOME/orchard.db``), any SQLAlchemy URL otherwise (PostgreSQL is supported by the upserts). The
schema is created and migrated with Alembic (:func:`init_db`); the migrations ship in ``orchard/migrations``.

Conventions
-----------
- **Time.** Every ``*_utc`` column is UTC. Python sees timezone-aware ``datetime`` objects in UTC both ways.
  On PostgreSQL the columns are ``TIMESTAMP WITH TIME ZONE``; SQLite has no time-zone type, so there the
  value is stored as *naive UTC* text (``YYYY-MM-DD HH:MM:SS.ffffff``) and re-labelled UTC when read. Naive
  datetimes are refused on the way in: a time without a zone is ambiguous (UTC or China Standard Time?).
- **Transactions.** :func:`session_scope` is one transaction: commit on success, rollback on any exception,
  so an import that fails half-way leaves the database as it was. On SQLite the pysqlite driver's own
  transaction handling is switched off and ``BEGIN`` is emitted explicitly (SQLAlchemy's documented recipe),
  so DDL and reads are transactional too. SQLite connections use WAL (readers do not block the writer, for
  the Streamlit app), ``synchronous=NORMAL`` (safe with WAL; a power cut may lose the last commit, never
  corrupt the file), enforced foreign keys and a 30 s busy timeout.
- **Upserts.** Readings are keyed (weather: station, resolution, variable, time; sensors: sensor, variable,
  time) and written with ``INSERT … ON CONFLICT DO UPDATE``: importing the same data twice changes nothing,
  a later batch overwrites values. Raw sensor values are kept next to the cleaned ones and flagged, never
  dropped.

Access (scoped here, in the data layer, not only in the UI)
----------------------------------------------------------
==========  ==============================  ========================================================
role        reads                           writes (plots, observations)
==========  ==============================  ========================================================
grower      own plots only                  own plots only
agronomist  all plots                       all plots
extension   all plots, ``owner_id`` None,   nothing (read-only; no personal data leaves the layer:
            pseudonymous labels as names    purchases, applications and scouting without grower ids,
                                            suppliers, notes or recorders)
admin       all plots                       nothing here: admins manage users and roles (ecosystem
                                            notes §5 rule 3, "no default data write")
==========  ==============================  ========================================================

Every id that arrives from a URL or form goes through :func:`get_plot` (or a function built on it), which
checks it against the caller. An unknown (or missing) caller is an :class:`~orchard.errors.AccessError`. A
grower asking for a plot (purchase, photo) that is missing or another grower's gets one and the same refusal
(:func:`not_yours`), so a refusal never reveals whether another grower's object exists.
Imports and listings by the operator (:func:`upsert_plots` …, :func:`all_plots`) are not caller-scoped, but an
import never re-assigns an existing plot to another owner.
Stations and their weather are shared, not personal, and are not scoped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from orchard import limits
from orchard.config import database_url
from orchard.errors import AccessError, InputError, StorageError

__all__ = [
    "ROLES", "Base", "User", "Plot", "Station", "WeatherReading", "Sensor", "SensorReading", "Observation",
    "ParameterVersion", "UTCDateTime",
    "create_engine_for", "init_db", "alembic_config", "session_scope", "schema_differences",
    "schema_matches_models",
    "upsert_users", "upsert_plots", "upsert_stations", "upsert_sensors", "upsert_weather",
    "upsert_sensor_readings",
    "list_plots", "all_plots", "get_plot", "update_plot", "plot_weather", "add_observation",
    "latest_weather", "read_weather", "hash_password", "set_password", "authenticate",
]

ROLES = ("grower", "agronomist", "extension", "admin")
IRRIGATION = ("none", "drip", "sprinkler")
STATION_KINDS = ("weather", "rain_gauge", "forecast")
RESOLUTIONS = ("daily", "hourly")
OBSERVATION_KINDS = ("phenology", "fruit_size", "brix", "acidity", "pest_count", "other")
#: Roles allowed to write plot data, and whether they are limited to their own plots.
_WRITERS = {"grower": True, "agronomist": False}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Rows per executemany call in the bulk upserts (bounds the memory of the parameter lists).
CHUNK_ROWS = 50_000


def _in_list(column: str, values: Sequence[str], nullable: bool = False) -> str:
    sql = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{column} IS NULL OR {sql}" if nullable else sql


# ----------------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------------
class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes in Python; TIMESTAMPTZ on PostgreSQL, naive-UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; give UTC or an explicit offset")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now_utc() -> datetime:
    return datetime.now(timezone.utc)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names follow :data:`NAMING_CONVENTION` so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in_list("role", ROLES), name="role"),)

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    # "scrypt$n$r$p$salt_hex$hash_hex" (see set_password); None = cannot sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))


class Plot(Base):
    __tablename__ = "plots"
    __table_args__ = (
        CheckConstraint(_in_list("irrigation", IRRIGATION, nullable=True), name="irrigation"),
        CheckConstraint("canopy_cover IS NULL OR (canopy_cover >= 0 AND canopy_cover <= 1)",
                        name="canopy_cover"),
    )

    plot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    geometry_geojson: Mapped[str | None] = mapped_column(Text)          # GeoJSON geometry, EPSG:4326
    area_ha: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)                     # centroid [degrees east]
    lat: Mapped[float | None] = mapped_column(Float)                     # centroid [degrees north]
    elevation_m: Mapped[float | None] = mapped_column(Float)
    slope_deg: Mapped[float | None] = mapped_column(Float)
    aspect_deg: Mapped[float | None] = mapped_column(Float)              # 0 = north, clockwise
    sky_view_factor: Mapped[float | None] = mapped_column(Float)
    horizon_deg: Mapped[list | None] = mapped_column(JSON)               # horizon elevation by azimuth
    cultivar: Mapped[str | None] = mapped_column(String(100))
    rootstock: Mapped[str | None] = mapped_column(String(100))
    planting_year: Mapped[int | None] = mapped_column(Integer)
    trees_per_ha: Mapped[float | None] = mapped_column(Float)
    canopy_cover: Mapped[float | None] = mapped_column(Float)            # fraction 0-1
    soil_texture: Mapped[str | None] = mapped_column(String(50))
    field_capacity: Mapped[float | None] = mapped_column(Float)          # m3/m3
    wilting_point: Mapped[float | None] = mapped_column(Float)           # m3/m3
    root_depth_m: Mapped[float | None] = mapped_column(Float)
    irrigation: Mapped[str | None] = mapped_column(String(16))
    irrigation_capacity_mm_d: Mapped[float | None] = mapped_column(Float)
    # Plain text, not a foreign key: plots may be imported before their station.
    station_id: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(100), index=True)   # county / township, for reports
    updated_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class Station(Base):
    __tablename__ = "stations"
    __table_args__ = (CheckConstraint(_in_list("kind", STATION_KINDS), name="kind"),)

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    elevation_m: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(200))


class WeatherReading(Base):
    __tablename__ = "weather_readings"
    __table_args__ = (CheckConstraint(_in_list("resolution", RESOLUTIONS), name="resolution"),
                      {"sqlite_with_rowid": False})  # stored once, in the key's B-tree (migration 0003)

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id", ondelete="CASCADE"),
                                            primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    variable: Mapped[str] = mapped_column(String(32), primary_key=True)
    time_utc: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    qc_flags: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str | None] = mapped_column(String(200))


class Sensor(Base):
    __tablename__ = "sensors"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    depth_m: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    install_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class SensorReading(Base):
    __tablename__ = "sensor_readings"
    __table_args__ = {"sqlite_with_rowid": False}  # stored once, in the key's B-tree (migration 0003)

    sensor_id: Mapped[str] = mapped_column(ForeignKey("sensors.sensor_id", ondelete="CASCADE"),
                                           primary_key=True)
    variable: Mapped[str] = mapped_column(String(32), primary_key=True)
    time_utc: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    raw_value: Mapped[float | None] = mapped_column(Float)
    # Comma-separated flag codes (ISMN style "D06,RNG"; "" = none), see the soil science notes §5.2.
    qc_flags: Mapped[str] = mapped_column(String(200), default="")
    ingest_batch: Mapped[str | None] = mapped_column(String(100))


class Observation(Base):
    __tablename__ = "observations"
    __table_args__ = (CheckConstraint(_in_list("kind", OBSERVATION_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), index=True)
    observed_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    variable: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    observer_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class ParameterVersion(Base):
    __tablename__ = "parameter_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    content: Mapped[dict] = mapped_column(JSON)
    changes: Mapped[list] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)


# ----------------------------------------------------------------------------------------------------------
# Engine, migrations, sessions
# ----------------------------------------------------------------------------------------------------------
def _safe_url(url) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used inside error messages
        return "<unparseable URL>"


def _sqlite_connect(dbapi_connection, connection_record):
    # Let SQLAlchemy, not the pysqlite driver, decide where transactions begin (see the "begin" hook).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")   # in-memory databases answer 'memory': harmless
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB page cache (default 2 MiB): bulk upserts into the composite-key reading tables stay in memory
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_begin(connection):
    connection.exec_driver_sql("BEGIN")


def create_engine_for(url: str | None = None) -> Engine:
    """An Engine for ``url`` (default :func:`orchard.config.database_url`), without touching the database.

    SQLite gets WAL, foreign keys, a busy timeout and explicit transactions (see the module notes); the
    parent folder of a SQLite file is created; an in-memory SQLite database is shared by all threads
    (``StaticPool``), so the Streamlit app and tests see one database.

    Raises
    ------
    orchard.errors.StorageError
        The URL is malformed or names a driver that is not installed.
    """
    url = url or database_url()
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise StorageError(f"database URL {url!r} is not a valid SQLAlchemy URL; fix ORCHARD_DB_URL "
                           "(e.g. sqlite:///path/orchard.db or postgresql+psycopg://user@host/db).") from None
    kwargs: dict[str, Any] = {}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder for the database {database}: {exc.strerror}; "
                                   "check ORCHARD_HOME or ORCHARD_DB_URL.") from None
    try:
        engine = create_engine(parsed, **kwargs)
    except (sa_exc.NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise StorageError(f"no driver for database URL {_safe_url(url)} ({exc}); install the driver or "
                           "fix ORCHARD_DB_URL.") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(connection=None):
    """An Alembic ``Config`` built in code (no alembic.ini) for the migrations shipped in the package.

    ``connection`` (a SQLAlchemy Connection) is passed to ``env.py`` through
    ``config.attributes["connection"]``, so migrations run on exactly that database (works for in-memory
    SQLite too).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(url: str | Engine | None = None) -> Engine:
    """Open the database and bring its schema to the latest migration (``alembic upgrade head``).

    Parameters
    ----------
    url : str or Engine, optional
        SQLAlchemy URL (default :func:`orchard.config.database_url`) or an existing Engine.

    Returns
    -------
    sqlalchemy.Engine

    Raises
    ------
    orchard.errors.StorageError
        The database cannot be opened or migrated (not a database, no permission, server unreachable).
    """
    from alembic import command
    from alembic.util import CommandError

    engine = url if isinstance(url, Engine) else create_engine_for(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    except (sa_exc.DBAPIError, sa_exc.SQLAlchemyError, CommandError, OSError) as exc:
        if not isinstance(url, Engine):
            engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(f"cannot open or migrate the database {_safe_url(engine.url)}: "
                           f"{str(reason).splitlines()[0]}; check ORCHARD_DB_URL / ORCHARD_HOME and that the "
                           "file is an orchard database.") from None
    return engine


def schema_differences(engine: Engine) -> list:
    """Differences between the database schema and the models (Alembic autogenerate; empty = identical)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def schema_matches_models(engine: Engine) -> bool:
    """True when the migrated schema equals the models' (see :func:`schema_differences`)."""
    return not schema_differences(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back on any exception.

    Database errors (constraint violated, database locked, …) are re-raised as
    :class:`~orchard.errors.StorageError` with one sentence; project errors pass through unchanged.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except sa_exc.StatementError as exc:  # DBAPIError and errors raised while binding values
        session.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc).splitlines()[0]
        raise StorageError(f"the database refused the change ({reason}); nothing was saved.") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ----------------------------------------------------------------------------------------------------------
# Upserts
# ----------------------------------------------------------------------------------------------------------
def _dialect_insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise StorageError(f"upserts are implemented for SQLite and PostgreSQL, not {name}; "
                           "use one of those databases.")
    return insert


def _sqlite_utc_text(times: pd.DatetimeIndex) -> list[str]:
    """Aware times -> SQLAlchemy's SQLite DATETIME text for the same instant in UTC (vectorised).

    SQLAlchemy stores SQLite DATETIME as ``YYYY-MM-DD HH:MM:SS.ffffff``; producing exactly that text lets the
    bulk path skip per-row type processing while staying byte-identical to rows written through the ORM
    (so ``ON CONFLICT`` matches them; tested).
    """
    naive = times.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[us]")
    # Readings repeat their time stamps across sensors and variables: format each distinct instant once.
    distinct, inverse = np.unique(naive, return_inverse=True)
    text = np.char.replace(np.datetime_as_string(distinct, unit="us"), "T", " ").astype(object)
    return text[inverse].tolist()


def _upsert(session: Session, table, columns: Sequence[str], data: Mapping[str, Any],
            keys: Sequence[str], no_update: Sequence[str] = (), times: Sequence[str] = ()) -> int:
    """Executemany of ``INSERT … ON CONFLICT (keys) DO UPDATE`` over column lists, in chunks.

    ``data`` maps each column to a list, except the columns named in ``times``, which are aware
    ``DatetimeIndex``es. On SQLite those become UTC text and the statement runs through
    ``exec_driver_sql`` (Core, no per-row type processing: ~3x faster on 300k rows); on other databases
    they become aware datetimes and the statement runs through ``Connection.execute`` with its types.
    """
    n = len(data[columns[0]]) if columns else 0
    if n == 0:
        return 0
    insert = _dialect_insert(session)
    stmt = insert(table)
    update = {c: stmt.excluded[c] for c in columns if c not in keys and c not in no_update}
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=update) if update \
        else stmt.on_conflict_do_nothing(index_elements=list(keys))
    connection = session.connection()
    fast = bool(times) and connection.dialect.name == "sqlite"
    data = dict(data)
    for c in times:
        data[c] = _sqlite_utc_text(data[c]) if fast else list(data[c].to_pydatetime())
    if fast:
        compiled = stmt.compile(dialect=connection.dialect, column_keys=list(columns))
        order = [columns.index(name) for name in compiled.positiontup]
        sql = str(compiled)
    if fast:
        # The driver's executemany takes the rows lazily: no list of a million tuples is built.
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.executemany(sql, zip(*(data[columns[i]] for i in order)))
        finally:
            cursor.close()
        return n
    for start in range(0, n, CHUNK_ROWS):
        cols = [data[c][start:start + CHUNK_ROWS] for c in columns]
        connection.execute(stmt, [dict(zip(columns, row)) for row in zip(*cols)])
    return n


def _records(rows, what: str) -> list[dict]:
    if isinstance(rows, pd.DataFrame):
        frame = rows.astype(object).where(rows.notna(), None)
        return frame.to_dict(orient="records")
    if isinstance(rows, Mapping):
        rows = [rows]
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputError(f"{what} row {i + 1} is a {type(row).__name__}, not a mapping of column -> "
                             "value.")
        out.append(dict(row))
    return out


def _clean(value):
    """NaN / pandas NA -> None, numpy scalars -> Python scalars."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _check_columns(what: str, records: list[dict], allowed: Sequence[str],
                   required: Sequence[str]) -> list[str]:
    present: list[str] = []
    for i, row in enumerate(records):
        for col in row:
            if col not in allowed:
                raise InputError(f"{what} row {i + 1}: unknown column '{col}'; allowed columns are "
                                 f"{', '.join(allowed)}.")
            if col not in present:
                present.append(col)
        for col in required:
            if _clean(row.get(col)) is None:
                raise InputError(f"{what} row {i + 1}: '{col}' is missing; every row needs "
                                 f"{', '.join(required)}.")
    return present


def _columns_of(model) -> list[str]:
    return [c.key for c in model.__table__.columns]


def upsert_users(session: Session, rows) -> int:
    """Insert or update users (user_id, display_name, role); returns the number of rows given.

    ``created_utc`` is set on first insert and never changed. An unknown role is an InputError (the
    database's check constraint refuses it too).
    """
    records = _records(rows, "users")
    _check_columns("users", records, ["user_id", "display_name", "role", "created_utc"],
                   ["user_id", "display_name", "role"])
    for i, row in enumerate(records):
        row_of = f"users row {i + 1}: " if len(records) > 1 else ""
        row["user_id"] = limits.check_id(row["user_id"], f"{row_of}user id")
        if row["role"] not in ROLES:
            raise InputError(f"{row_of}user {row['user_id']}: role '{row['role']}' is not one of "
                             f"{', '.join(ROLES)}; fix the role.")
        name = row["display_name"]
        if not isinstance(name, str) or not name.strip() or len(name) > _DISPLAY_NAME_LENGTH \
                or any(not c.isprintable() for c in name):
            raise InputError(f"{row_of}user {row['user_id']}: the display name must be printable text of 1 "
                             f"to {_DISPLAY_NAME_LENGTH} characters; fix it.")
        row["display_name"] = name.strip()
    ids = [r["user_id"] for r in records]
    if len(set(ids)) != len(ids):
        twice = sorted({u for u in ids if ids.count(u) > 1})[0]
        raise InputError(f"users: user id {twice} appears more than once; give each account once.")
    _keep_an_admin(session, records)
    now = _now_utc()
    columns = ["user_id", "display_name", "role", "created_utc"]
    data = {c: [(_clean(r.get(c)) if c != "created_utc" else r.get(c) or now) for r in records]
            for c in columns}
    return _upsert(session, User.__table__, columns, data, keys=["user_id"], no_update=["created_utc"])


#: Longest display name (the users.display_name column is String(200)).
_DISPLAY_NAME_LENGTH = 200


def _keep_an_admin(session: Session, records: list[dict]) -> None:
    """Refuse a change of roles that would leave the database without an admin (who manages the accounts)."""
    new_role = {r["user_id"]: r["role"] for r in records}
    admins = set(session.scalars(select(User.user_id).where(User.role == "admin")))
    if not admins or not any(new_role.get(a, "admin") != "admin" for a in admins):
        return  # no admin yet (a new database), or no admin loses the role
    remaining = {a for a in admins if new_role.get(a, "admin") == "admin"} | \
        {u for u, role in new_role.items() if role == "admin"}
    if not remaining:
        demoted = sorted(a for a in admins if new_role.get(a) != "admin")[0]
        raise InputError(f"user {demoted} is the only admin; make another account admin first "
                         "(orchard users add ID --role admin), then change this one.")


# scrypt (RFC 7914) from the standard library: memory-hard, salted; parameters stored with each hash so they
# can be raised later. n=2**14, r=8, p=1 is the interactive-login setting of the RFC's authors (16 MiB).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` as ``scrypt$n$r$p$salt_hex$hash_hex``."""
    import hashlib
    import secrets

    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters; choose a longer one.")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def _password_matches(password: str, stored: str | None) -> bool:
    import hashlib
    import hmac

    try:
        scheme, n, r, p, salt_hex, hash_hex = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                                dklen=len(hash_hex) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)


def set_password(session: Session, user_id: str, password: str) -> None:
    """Store a new password hash for an existing user (the password itself is never stored)."""
    user = session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise InputError(f"unknown user '{user_id}'; create the user first.")
    user.password_hash = hash_password(password)


def authenticate(session: Session, user_id: str, password: str) -> dict[str, Any] | None:
    """The user ``{user_id, display_name, role}`` if ``password`` is theirs, else None (same for unknown ids).

    The comparison is constant-time; an unknown user costs the same scrypt work so response times do not
    reveal which ids exist.
    """
    user = session.get(User, user_id) if isinstance(user_id, str) and user_id else None
    stored = user.password_hash if user is not None else None
    if stored is None:
        _password_matches(password or "", f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${'00' * 16}${'00' * 32}")
        return None
    if not _password_matches(password or "", stored):
        return None
    return {"user_id": user.user_id, "display_name": user.display_name, "role": user.role}


_PLOT_RANGES = {
    "area_ha": (0.0, 1e4), "lon": (-180.0, 180.0), "lat": (-90.0, 90.0), "elevation_m": (-500.0, 9000.0),
    "slope_deg": (0.0, 90.0), "aspect_deg": (0.0, 360.0), "sky_view_factor": (0.0, 1.0),
    "planting_year": (1900, 2100), "trees_per_ha": (0.0, 1e4), "canopy_cover": (0.0, 1.0),
    "field_capacity": (0.0, 1.0), "wilting_point": (0.0, 1.0), "root_depth_m": (0.0, 10.0),
    "irrigation_capacity_mm_d": (0.0, 200.0),
}


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user as ``{user_id, display_name, role}``, ordered by id (for sign-in pickers and admin pages)."""
    return [{"user_id": u.user_id, "display_name": u.display_name, "role": u.role}
            for u in session.scalars(select(User).order_by(User.user_id))]


def list_stations(session: Session) -> list[dict[str, Any]]:
    """Every weather station as a dict of its columns, ordered by id."""
    columns = _columns_of(Station)
    return [{c: getattr(st, c) for c in columns}
            for st in session.scalars(select(Station).order_by(Station.station_id))]


def _geojson_text(where: str, geometry) -> str | None:
    if geometry is None:
        return None
    if hasattr(geometry, "__geo_interface__"):
        geometry = geometry.__geo_interface__
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except json.JSONDecodeError:
            raise InputError(f"{where}: geometry_geojson is not valid JSON; give a GeoJSON geometry.") \
                from None
    if not isinstance(geometry, Mapping) or "type" not in geometry:
        raise InputError(f"{where}: geometry is not a GeoJSON geometry (no 'type'); give a Polygon in "
                         "EPSG:4326.")
    return json.dumps(geometry, separators=(",", ":"))


def _check_plot(i: int, row: dict) -> dict:
    pid = limits.check_id(row["plot_id"], f"plots row {i + 1}: plot id")
    where = f"plots row {i + 1} (plot {pid})"
    out = {k: _clean(v) for k, v in row.items() if k != "geometry"}
    out["plot_id"] = pid
    if out.get("station_id") is not None:
        out["station_id"] = limits.check_id(str(out["station_id"]), f"{where}: station id")
    if "geometry" in row and "geometry_geojson" not in row:
        out["geometry_geojson"] = row["geometry"]
    if "geometry_geojson" in out:
        out["geometry_geojson"] = _geojson_text(where, out["geometry_geojson"])
    for col, (lo, hi) in _PLOT_RANGES.items():
        v = out.get(col)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{where}: {col} = {v!r} is not a number; fix the plot table.")
        if not lo <= v <= hi:
            raise InputError(f"{where}: {col} = {v} is outside {lo}–{hi}; fix the plot table.")
    if out.get("planting_year") is not None:
        if float(out["planting_year"]) != int(out["planting_year"]):
            raise InputError(f"{where}: planting_year = {out['planting_year']} is not a whole year.")
        out["planting_year"] = int(out["planting_year"])
    if out.get("irrigation") is not None and out["irrigation"] not in IRRIGATION:
        raise InputError(f"{where}: irrigation '{out['irrigation']}' is not one of {', '.join(IRRIGATION)}.")
    fc, wp = out.get("field_capacity"), out.get("wilting_point")
    if fc is not None and wp is not None and wp >= fc:
        raise InputError(f"{where}: wilting_point {wp} is not below field_capacity {fc} (m3/m3); "
                         "check the soil values.")
    horizon = out.get("horizon_deg")
    if horizon is not None:
        horizon = list(np.asarray(horizon, dtype=float).ravel())
        if not all(math.isfinite(h) and -90 <= h <= 90 for h in horizon):
            raise InputError(f"{where}: horizon_deg must be angles between -90 and 90 degrees.")
        out["horizon_deg"] = [float(h) for h in horizon]
    return out


#: Plot columns computed from a DEM for the plot's boundary (orchard.terrain.plot_terrain).
TERRAIN_COLUMNS = ("elevation_m", "slope_deg", "aspect_deg", "sky_view_factor", "horizon_deg")


def _same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def upsert_plots(session: Session, rows) -> int:
    """Insert or update plots keyed by ``plot_id`` (list of dicts or a DataFrame with the plot columns).

    A ``geometry`` column (shapely objects or GeoJSON dicts, as in a GeoDataFrame) is accepted in place of
    ``geometry_geojson``. Columns absent from a row are left as they are on its stored plot (so plots
    imported without a DEM keep their terrain). A row equal to its stored plot writes nothing, not even
    ``updated_utc``, which records the last change: importing the same file again leaves the table identical.
    Returns the number of rows given.

    Raises
    ------
    orchard.errors.InputError
        Unknown column, missing or malformed plot_id/owner_id (:func:`orchard.limits.check_id`), value out of
        range, owner not a user, or a stored plot whose boundary changes without terrain for the new boundary
        (its stored terrain would describe the old one).
    orchard.errors.AccessError
        A plot already stored for another owner: plots are never silently re-assigned.
    """
    records = _records(rows, "plots")
    allowed = [c for c in _columns_of(Plot) if c != "updated_utc"] + ["geometry"]
    _check_columns("plots", records, allowed, ["plot_id", "owner_id"])
    records = [_check_plot(i, r) for i, r in enumerate(records)]
    ids = [r["plot_id"] for r in records]
    duplicated = sorted({p for p in ids if ids.count(p) > 1}) if len(set(ids)) != len(ids) else []
    if duplicated:
        raise InputError(f"plots: plot_id {duplicated[0]} appears more than once; plot ids must be unique.")
    owners = {r["owner_id"] for r in records}
    known = set(session.scalars(select(User.user_id).where(User.user_id.in_(owners))))
    if owners - known:
        raise InputError(f"plots: owner '{sorted(owners - known)[0]}' is not a user; import the users first.")
    columns_of_plot = [c for c in _columns_of(Plot) if c != "updated_utc"]
    stored = {p.plot_id: {c: getattr(p, c) for c in columns_of_plot}
              for p in session.scalars(select(Plot).where(Plot.plot_id.in_(ids)))}
    changed = []
    for r in records:
        current = stored.get(r["plot_id"])
        if current is None:
            changed.append(r)
            continue
        if current["owner_id"] != r["owner_id"]:
            raise AccessError(f"plot {r['plot_id']} belongs to {current['owner_id']}, not {r['owner_id']}; "
                              "plots are never re-assigned by an import, so fix owner_id in the file.")
        if all(_same_value(current[c], v) for c, v in r.items()):
            continue  # nothing new: leave the row (and its updated_utc) alone
        reshaped = "geometry_geojson" in r and r["geometry_geojson"] != current["geometry_geojson"]
        if reshaped and not any(c in r for c in TERRAIN_COLUMNS) \
                and any(current[c] is not None for c in TERRAIN_COLUMNS):
            raise InputError(f"plot {r['plot_id']}: its boundary changed but no terrain was given, so its "
                             "stored elevation, slope, aspect and sky-view factor would describe the old "
                             "boundary; import the file with --dem DEM.")
        changed.append(r)
    now = _now_utc()
    groups: dict[tuple, list[dict]] = {}
    for r in changed:  # rows giving different columns are written apart: an absent column is kept
        groups.setdefault(tuple(c for c in _columns_of(Plot) if c in r), []).append(r)
    for given, group in groups.items():
        columns = [*given, "updated_utc"]
        data = {c: [now if c == "updated_utc" else r.get(c) for r in group] for c in columns}
        _upsert(session, Plot.__table__, columns, data, keys=["plot_id"])
    return len(records)


def upsert_stations(session: Session, rows) -> int:
    """Insert or update stations (station_id, name, lat, lon, elevation_m, kind, source)."""
    records = [{k: v for k, v in r.items()} for r in _records(rows, "stations")]
    _check_columns("stations", records, _columns_of(Station), ["station_id", "kind"])
    for i, r in enumerate(records):
        r["station_id"] = limits.check_id(_clean(r["station_id"]), f"stations row {i + 1}: station id")
        where = f"stations row {i + 1} ({r['station_id']})"
        if r["kind"] not in STATION_KINDS:
            raise InputError(f"{where}: kind '{r['kind']}' is not one of {', '.join(STATION_KINDS)}.")
        for column in ("lat", "lon", "elevation_m"):  # None is unknown; NaN or 999 is not a position
            value = r.get(column)
            if value is not None:
                value = value.item() if isinstance(value, np.generic) else value
                r[column] = limits.check_number(value, f"station.{column}", f"{where}: {column}")
        records[i] = {k: _clean(v) for k, v in r.items()}
    columns = [c for c in _columns_of(Station) if any(c in r for r in records)]
    data = {c: [r.get(c) for r in records] for c in columns}
    return _upsert(session, Station.__table__, columns, data, keys=["station_id"])


def upsert_sensors(session: Session, rows) -> int:
    """Insert or update sensors (sensor_id, plot_id, kind, depth_m, lon, lat, install_date, notes)."""
    records = [{k: _clean(v) for k, v in r.items()} for r in _records(rows, "sensors")]
    _check_columns("sensors", records, _columns_of(Sensor), ["sensor_id", "plot_id", "kind"])
    for i, r in enumerate(records):
        r["sensor_id"] = limits.check_id(r["sensor_id"], f"sensors row {i + 1}: sensor id")
    plots = {r["plot_id"] for r in records}
    known = set(session.scalars(select(Plot.plot_id).where(Plot.plot_id.in_(plots))))
    if plots - known:
        raise InputError(f"sensors: plot '{sorted(plots - known)[0]}' is not in the database; import the "
                         "plots first.")
    for r in records:
        if r.get("install_date") is not None:
            r["install_date"] = _parse_date("sensors", "install_date", r["install_date"], past=True)
    columns = [c for c in _columns_of(Sensor) if any(c in r for r in records)]
    data = {c: [r.get(c) for r in records] for c in columns}
    return _upsert(session, Sensor.__table__, columns, data, keys=["sensor_id"])


def _utc_times(what: str, series: pd.Series) -> pd.DatetimeIndex:
    """A column of timestamps -> aware UTC DatetimeIndex; naive or unparseable times are InputErrors."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        times = series
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        raise InputError(f"{what}: time_utc has no time zone; localise it (e.g. tz_localize('UTC') or "
                         "'Asia/Shanghai') before storing.")
    else:
        import warnings

        try:
            with warnings.catch_warnings():
                # pandas 2 warns and returns objects for mixed offsets; pandas 3 raises: both handled below.
                warnings.simplefilter("ignore", FutureWarning)
                times = pd.to_datetime(series, format="ISO8601")
            if times.dtype == object:
                times = _mixed_offsets_to_utc(series)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if "mixed time zones" in message.lower() or "utc=true" in message.lower():
                times = _mixed_offsets_to_utc(series)
            else:
                raise InputError(f"{what}: time_utc is not a timestamp column ({message.splitlines()[0]}); "
                                 "give ISO 8601 times with an offset.") from None
        if not isinstance(times.dtype, pd.DatetimeTZDtype):
            raise InputError(f"{what}: time_utc has no time zone; give times with an offset such as "
                             "2024-05-01T08:00+08:00 or Z.")
    if times.isna().any():
        first = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise InputError(f"{what}: time_utc is missing in row {first + 1}; every reading needs a time.")
    return pd.DatetimeIndex(times).tz_convert("UTC")


def _past_times(what: str, series: pd.Series) -> pd.DatetimeIndex:
    """:func:`_utc_times` of readings that were measured: none in the future or before the plausible years."""
    times = _utc_times(what, series)
    limits.check_past_times(times, what)
    return times


_UTC_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")


def _mixed_offsets_to_utc(series: pd.Series) -> pd.Series:
    """Times with different UTC offsets -> UTC, when every one has an offset (else returned unparsed)."""
    def has_offset(value) -> bool:
        return getattr(value, "tzinfo", None) is not None or (
            isinstance(value, str) and _UTC_OFFSET.search(value.strip()) is not None)

    if not all(has_offset(value) for value in series):
        return series.astype(object)  # the caller reports the missing time zone
    return pd.to_datetime(series, format="ISO8601", utc=True)


def _object_list(series: pd.Series) -> list:
    """Column -> list with None for missing values (vectorised)."""
    return series.astype(object).where(series.notna(), None).tolist()


def _float_list(what: str, column: str, series: pd.Series) -> list[float | None]:
    try:
        values = pd.to_numeric(series, errors="raise").astype(float).to_numpy()
    except (ValueError, TypeError):
        raise InputError(f"{what}: column '{column}' holds values that are not numbers; fix or remove "
                         "them.") from None
    if np.isinf(values).any():
        raise InputError(f"{what}: column '{column}' holds infinite values; store them as missing (NaN).")
    return [None if v != v else v for v in values.tolist()]


def _prepare_readings(what: str, df: pd.DataFrame, keys: Sequence[str], required: Sequence[str],
                      optional: Mapping[str, Any]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}.")
    allowed = list(required) + list(optional)
    unknown = [c for c in df.columns if c not in allowed]
    if unknown:
        raise InputError(f"{what}: unknown column '{unknown[0]}'; allowed columns are {', '.join(allowed)}.")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{what}: column '{missing[0]}' is missing; needed columns are "
                         f"{', '.join(required)}.")
    for key in keys:
        if key != "time_utc" and df[key].isna().any():
            first = int(np.flatnonzero(df[key].isna().to_numpy())[0])
            raise InputError(f"{what}: '{key}' is missing in row {first + 1}.")
    dup = df.duplicated(subset=list(keys), keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        key = ", ".join(f"{k}={row[k]}" for k in keys)
        raise InputError(f"{what}: the key ({key}) appears more than once; remove duplicated readings before "
                         "storing.")
    return df


def _require_known(session: Session, key_column, ids: pd.Series, what: str, remedy: str) -> None:
    """InputError naming the first id in ``ids`` that ``key_column`` does not hold."""
    wanted = set(ids.astype(str).unique())
    known = set(session.scalars(select(key_column).where(key_column.in_(wanted))))
    if wanted - known:
        raise InputError(f"{what} '{sorted(wanted - known)[0]}' is not in the database; {remedy}.")


def upsert_weather(session: Session, df: pd.DataFrame) -> int:
    """Insert or update weather readings (long format) and return the number of rows written.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``station_id``, ``resolution`` (daily/hourly), ``variable`` (e.g. ``tmax_c``), ``time_utc``
        (timezone-aware, any zone: converted to UTC), ``value`` (NaN = missing) and optionally ``qc_flags``
        (int bit mask, default 0) and ``source``. Keys must be unique within ``df``.

    Stations must exist (:func:`upsert_stations`). Uses Core executemany in chunks of :data:`CHUNK_ROWS`;
    run it inside :func:`session_scope` so a failure leaves the database unchanged.
    """
    what = "weather readings"
    keys = ["station_id", "resolution", "variable", "time_utc"]
    df = _prepare_readings(what, df, keys, keys + ["value"], {"qc_flags": 0, "source": None})
    if df.empty:
        return 0
    bad = ~df["resolution"].isin(RESOLUTIONS)
    if bad.any():
        raise InputError(f"{what}: resolution '{df.loc[bad, 'resolution'].iloc[0]}' is not daily or hourly.")
    _require_known(session, Station.station_id, df["station_id"], f"{what}: station", "import the stations first")
    n = len(df)
    qc = df["qc_flags"] if "qc_flags" in df.columns else pd.Series(0, index=df.index)
    qc = pd.to_numeric(qc.fillna(0), errors="coerce")
    if qc.isna().any() or (qc != qc.round()).any():
        raise InputError(f"{what}: qc_flags must be whole numbers (a bit mask).")
    data = {
        "station_id": df["station_id"].astype(str).tolist(),
        "resolution": df["resolution"].astype(str).tolist(),
        "variable": df["variable"].astype(str).tolist(),
        "time_utc": _past_times(what, df["time_utc"]),
        "value": _float_list(what, "value", df["value"]),
        "qc_flags": qc.astype("int64").tolist(),
        "source": _object_list(df["source"]) if "source" in df.columns else [None] * n,
    }
    return _upsert(session, WeatherReading.__table__, list(data), data, keys=keys, times=["time_utc"])


def upsert_sensor_readings(session: Session, df: pd.DataFrame) -> int:
    """Insert or update sensor readings and return the number of rows written.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``sensor_id``, ``variable``, ``time_utc`` (timezone-aware), ``value`` (cleaned, NaN when
        flagged out) and optionally ``raw_value`` (as read, never dropped), ``qc_flags`` (comma-separated
        codes, "" = none) and ``ingest_batch``. Keys must be unique within ``df``; sensors must exist.
    """
    what = "sensor readings"
    keys = ["sensor_id", "variable", "time_utc"]
    df = _prepare_readings(what, df, keys, keys + ["value"],
                           {"raw_value": None, "qc_flags": "", "ingest_batch": None})
    if df.empty:
        return 0
    _require_known(session, Sensor.sensor_id, df["sensor_id"], f"{what}: sensor", "register the sensor first")
    n = len(df)
    data = {
        "sensor_id": df["sensor_id"].astype(str).tolist(),
        "variable": df["variable"].astype(str).tolist(),
        "time_utc": _past_times(what, df["time_utc"]),
        "value": _float_list(what, "value", df["value"]),
        "raw_value": (_float_list(what, "raw_value", df["raw_value"]) if "raw_value" in df.columns
                      else [None] * n),
        "qc_flags": (df["qc_flags"].astype(object).where(df["qc_flags"].notna(), "").astype(str).tolist()
                     if "qc_flags" in df.columns else [""] * n),
        "ingest_batch": _object_list(df["ingest_batch"]) if "ingest_batch" in df.columns else [None] * n,
    }
    return _upsert(session, SensorReading.__table__, list(data), data, keys=keys, times=["time_utc"])


# ----------------------------------------------------------------------------------------------------------
# Scoped access
# ----------------------------------------------------------------------------------------------------------
def _caller(session: Session, caller: str) -> User:
    if caller is None:
        raise AccessError("no user given; pass the signed-in user's id (operator tools may use all_plots()).")
    user = session.get(User, caller) if isinstance(caller, str) else None
    if user is None:
        raise AccessError(f"unknown user '{caller}'; sign in with an existing account.")
    return user


def _plot_dict(plot: Plot, user: User) -> dict[str, Any]:
    out = {c: getattr(plot, c) for c in _columns_of(Plot)}
    if user.role == "extension":
        # Extension staff see plots, not who owns them; names such as 李家湾1号地 point to families, so they
        # get the plot's pseudonymous label instead (orchard.privacy: stable, keyed by the home's secret).
        from orchard.privacy import plot_label

        out["owner_id"] = None
        out["name"] = plot_label(plot.plot_id)
    return out


def not_yours(what: str, object_id) -> AccessError:
    """The one refusal a grower gets for an object that is missing *or* another grower's (same class, same
    sentence, no user id), so a refusal never reveals whether another grower's object exists."""
    return AccessError(f"{what} {object_id} is not one of yours; check the {what} id.")


def _readable_plot(session: Session, user: User, plot_id: str) -> Plot:
    if not isinstance(plot_id, str):
        raise InputError(f"plot id {plot_id!r} is not text; give one plot id.")
    plot = session.get(Plot, plot_id)
    if user.role == "grower" and (plot is None or plot.owner_id != user.user_id):
        raise not_yours("plot", plot_id)
    if plot is None:
        raise InputError(f"plot {plot_id} does not exist; check the plot id.")
    return plot


def _writable_plot(session: Session, user: User, plot_id: str) -> Plot:
    if user.role not in _WRITERS:
        raise AccessError(f"user '{user.user_id}' is {'an' if user.role[0] in 'aeiou' else 'a'} {user.role} "
                          "with read-only access to plot data; ask the grower or an agronomist.")
    return _readable_plot(session, user, plot_id)


def list_plots(session: Session, caller: str) -> list[dict[str, Any]]:
    """Plots the caller may see, as dicts of the plot columns, ordered by plot_id.

    Growers get their own plots; agronomists and admins all plots; extension users all plots with
    ``owner_id`` None.
    """
    user = _caller(session, caller)
    query = select(Plot).order_by(Plot.plot_id)
    if user.role == "grower":
        query = query.where(Plot.owner_id == user.user_id)
    return [_plot_dict(p, user) for p in session.scalars(query)]


def all_plots(session: Session) -> list[dict[str, Any]]:
    """Every plot with its owner, unscoped: for operator tools (CLI, batch jobs) only.

    Never call it with an id or a choice that came from a user of the app; use :func:`list_plots` there.
    """
    return [{c: getattr(p, c) for c in _columns_of(Plot)}
            for p in session.scalars(select(Plot).order_by(Plot.plot_id))]


def get_plot(session: Session, caller: str, plot_id: str) -> dict[str, Any]:
    """One plot as a dict, after checking the caller may see it.

    Raises
    ------
    orchard.errors.AccessError
        Unknown caller, or a grower asking for a plot that is not theirs, whether another grower's or none
        at all (one sentence for both, :func:`not_yours`).
    orchard.errors.InputError
        No such plot (callers who may see every plot), or an id that is not text.
    """
    user = _caller(session, caller)
    return _plot_dict(_readable_plot(session, user, plot_id), user)


def update_plot(session: Session, caller: str, plot_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change attributes of one plot (growers: own plots; agronomists: any) and return the updated plot.

    ``plot_id`` and ``owner_id`` cannot be changed here; values are range-checked as in :func:`upsert_plots`.
    """
    user = _caller(session, caller)
    plot = _writable_plot(session, user, plot_id)
    forbidden = [k for k in changes if k in ("plot_id", "owner_id", "updated_utc")]
    if forbidden:
        raise InputError(f"plot {plot_id}: '{forbidden[0]}' cannot be changed here; ask an administrator.")
    allowed = _columns_of(Plot) + ["geometry"]
    unknown = [k for k in changes if k not in allowed]
    if unknown:
        raise InputError(f"plot {plot_id}: unknown column '{unknown[0]}'.")
    current = {c: getattr(plot, c) for c in _columns_of(Plot) if c != "updated_utc"}
    checked = _check_plot(0, {**current, **dict(changes)})
    for key in checked:
        if key in changes or (key == "geometry_geojson" and "geometry" in changes):
            setattr(plot, key, checked[key])
    plot.updated_utc = _now_utc()
    session.flush()
    return _plot_dict(plot, user)


def _parse_date(what: str, field: str, value, past: bool = False) -> date:
    """A date within the plausible years (:func:`orchard.limits.parse_date`); ``past``: not in the future."""
    return limits.parse_date(value, f"{what}: {field}", past=past)


def add_observation(session: Session, caller: str, plot_id: str, *, observed_on: date | str, kind: str,
                    variable: str, value: float | None = None, unit: str | None = None,
                    note: str | None = None) -> int:
    """Record a field observation on a plot and return its id.

    Growers may write on their own plots, agronomists on any; extension users and admins may not write.
    ``kind`` is one of phenology, fruit_size, brix, acidity, pest_count, other.
    """
    user = _caller(session, caller)
    _writable_plot(session, user, plot_id)
    what = f"observation on plot {plot_id}"
    if kind not in OBSERVATION_KINDS:
        raise InputError(f"{what}: kind '{kind}' is not one of {', '.join(OBSERVATION_KINDS)}.")
    if not isinstance(variable, str) or not variable.strip():
        raise InputError(f"{what}: variable is empty; say what was observed (e.g. 'fruit_diameter_mm').")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{what}: value {value!r} is not a finite number.")
        value = float(value)
        ranged = {"brix": "observation.brix"}.get(kind, f"observation.{variable.strip()}")
        if ranged in limits.limits().entries:  # a fruit size or sugar reading a fruit can have
            value = limits.check_number(value, ranged, f"{what}: {variable.strip()}")
    obs = Observation(plot_id=plot_id, observed_on=_parse_date(what, "observed_on", observed_on, past=True),
                      kind=kind,
                      variable=variable.strip(), value=value, unit=unit, note=note, observer_id=user.user_id,
                      created_utc=_now_utc())
    session.add(obs)
    session.flush()
    return obs.id


# ----------------------------------------------------------------------------------------------------------
# Reading weather
# ----------------------------------------------------------------------------------------------------------
def _aware(what: str, value) -> datetime | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):  # DateParseError, OutOfBoundsDatetime are ValueErrors
        ts = pd.NaT
    if ts is pd.NaT:
        shown = value[:40] if isinstance(value, str) else value
        raise InputError(f"{what} {shown!r} is not a time; give e.g. '2024-05-01T00:00+08:00'.")
    if ts.tzinfo is None:
        raise InputError(f"{what} {value!r} has no time zone; give e.g. '2024-05-01T00:00+08:00'.")
    return ts.tz_convert("UTC").to_pydatetime()


def read_weather(session: Session, station_ids: str | Iterable[str], resolution: str = "daily",
                 start=None, end=None) -> pd.DataFrame:
    """Weather readings in long format, ordered by station, variable and time.

    Parameters
    ----------
    station_ids : str or iterable of str
    resolution : {"daily", "hourly"}
    start, end : datetime, pandas.Timestamp or ISO string with a time zone, optional
        Inclusive bounds on ``time_utc``.

    Returns
    -------
    pandas.DataFrame
        Columns station_id, resolution, variable, time_utc (datetime64, UTC), value (float, NaN =
        missing), qc_flags (int), source.
    """
    if resolution not in RESOLUTIONS:
        raise InputError(f"resolution '{resolution}' is not daily or hourly.")
    ids = [station_ids] if isinstance(station_ids, str) else list(station_ids)
    table = WeatherReading.__table__
    query = select(table).where(table.c.station_id.in_(ids), table.c.resolution == resolution)
    start_utc, end_utc = _aware("start", start), _aware("end", end)
    if start_utc is not None:
        query = query.where(table.c.time_utc >= start_utc)
    if end_utc is not None:
        query = query.where(table.c.time_utc <= end_utc)
    query = query.order_by(table.c.station_id, table.c.variable, table.c.time_utc)
    rows = session.execute(query).all()
    columns = [c.key for c in table.columns]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["time_utc"] = pd.to_datetime(frame["time_utc"], utc=True)
    frame["value"] = pd.to_numeric(frame["value"]).astype(float)
    frame["qc_flags"] = frame["qc_flags"].astype("int64")
    return frame


def latest_weather(session: Session, station_id: str, resolution: str = "daily", *,
                   before: datetime | None = None) -> dict[str, tuple[datetime, float]]:
    """The latest non-missing value of each variable at a station: ``{variable: (time_utc, value)}``.

    ``before`` (aware datetime, exclusive) keeps only values from before that instant: the weather of a past
    weekly run's issue day rather than the last day of the record (issue #19).
    """
    if resolution not in RESOLUTIONS:
        raise InputError(f"resolution '{resolution}' is not daily or hourly.")
    w = WeatherReading
    conditions = [w.station_id == station_id, w.resolution == resolution, w.value.is_not(None)]
    if before is not None:
        conditions.append(w.time_utc < before)
    latest = (
        select(w.variable, func.max(w.time_utc).label("time_utc"))
        .where(*conditions)
        .group_by(w.variable).subquery()
    )
    query = (
        select(w.variable, w.time_utc, w.value)
        .join(latest, (w.variable == latest.c.variable) & (w.time_utc == latest.c.time_utc))
        .where(w.station_id == station_id, w.resolution == resolution)
        .order_by(w.variable)
    )
    return {variable: (time_utc, value) for variable, time_utc, value in session.execute(query)}


def plot_weather(session: Session, caller: str, plot_id: str, resolution: str = "daily", start=None,
                 end=None) -> pd.DataFrame:
    """Weather of the plot's station (:func:`read_weather`), after checking the caller may see the plot."""
    plot = get_plot(session, caller, plot_id)
    if not plot["station_id"]:
        raise InputError(f"plot {plot_id} has no station_id; assign a weather station to the plot first.")
    return read_weather(session, [plot["station_id"]], resolution, start=start, end=end)


# ----------------------------------------------------------------------------------------------------------
# Imagery scenes (monitoring)
# ----------------------------------------------------------------------------------------------------------
class Scene(Base):
    """A registered satellite or drone scene: where its files are and what it is (orchard import-imagery)."""

    __tablename__ = "scenes"

    scene_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)                               # file or product folder
    platform: Mapped[str | None] = mapped_column(String(64))              # Sentinel-2A, Landsat 9, drone …
    sensor: Mapped[str | None] = mapped_column(String(64))                # MSI, OLI, RGB camera
    acquired_utc: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    processing_baseline: Mapped[float | None] = mapped_column(Float)      # Sentinel-2 PB, e.g. 5.09
    crs: Mapped[str | None] = mapped_column(String(200))
    bounds_wkt: Mapped[str | None] = mapped_column(Text)                  # footprint in the scene CRS
    cloud_fraction: Mapped[float | None] = mapped_column(Float)           # 0-1, from the SCL / QA band
    bands: Mapped[list | None] = mapped_column(JSON)                      # band names
    registered_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


def upsert_scenes(session: Session, records) -> int:
    """Insert or update scenes (keyed by scene_id); registering the same scene twice changes nothing."""
    rows = [{k: _clean(v) for k, v in r.items()} for r in _records(records, "scenes")]
    _check_columns("scenes", rows, _columns_of(Scene), ["scene_id", "path", "acquired_utc"])
    for i, r in enumerate(rows):
        where = f"scenes row {i + 1} ({r['scene_id']})"
        r["acquired_utc"] = _aware(f"scenes row {i + 1}", r["acquired_utc"])
        if r["acquired_utc"] is None:
            raise InputError(f"{where}: acquired_utc is missing.")
        limits.check_past_times([r["acquired_utc"]], f"{where}: acquired_utc")
        for column in ("cloud_fraction", "processing_baseline"):
            if r.get(column) is not None:
                r[column] = limits.check_number(r[column], f"scene.{column}", f"{where}: {column}")
        r.setdefault("registered_utc", _now_utc())
    columns = [c for c in _columns_of(Scene) if any(c in r for r in rows)]
    data = {c: [r.get(c) for r in rows] for c in columns}
    # Few rows: the typed path (not the SQLite text fast path) so the JSON band list is serialised.
    return _upsert(session, Scene.__table__, columns, data, keys=["scene_id"], no_update=["registered_utc"])


def list_scenes(session: Session, start=None, end=None, platform: str | None = None) -> list[dict[str, Any]]:
    """Registered scenes ordered by acquisition time, optionally within [start, end] and of one platform."""
    query = select(Scene)
    start_utc, end_utc = _aware("start", start), _aware("end", end)
    if start_utc is not None:
        query = query.where(Scene.acquired_utc >= start_utc)
    if end_utc is not None:
        query = query.where(Scene.acquired_utc <= end_utc)
    if platform:
        query = query.where(Scene.platform == platform)
    return [{c: getattr(s, c) for c in _columns_of(Scene)}
            for s in session.scalars(query.order_by(Scene.acquired_utc, Scene.scene_id))]


__all__ += ["Scene", "upsert_scenes", "list_scenes"]


# ----------------------------------------------------------------------------------------------------------
# Image library (pests.images): field photos of pests and diseases, their labels and verification
# ----------------------------------------------------------------------------------------------------------
IMAGE_LABEL_SOURCES = ("collector", "model", "agronomist")


class ImageSample(Base):
    """One field photo in the image library; the file is content-addressed by its sha256 under ORCHARD_HOME."""

    __tablename__ = "image_samples"
    __table_args__ = (CheckConstraint(_in_list("label_source", IMAGE_LABEL_SOURCES), name="label_source"),)

    sample_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Not unique (issue #18, migration 0008): a grower who adds a photo another grower already has gets a
    # sample of their own (same file), so the answer never reveals that the other one exists.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    stored_path: Mapped[str] = mapped_column(String(500))                # relative to ORCHARD_HOME
    original_name: Mapped[str | None] = mapped_column(String(300))
    image_format: Mapped[str] = mapped_column(String(8))                  # JPEG, PNG, WEBP
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    plot_id: Mapped[str | None] = mapped_column(ForeignKey("plots.plot_id", ondelete="SET NULL"), index=True)
    taken_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())    # EXIF DateTimeOriginal, else given
    collector: Mapped[str | None] = mapped_column(String(100))
    lon: Mapped[float | None] = mapped_column(Float)                       # EXIF GPS or given [degrees east]
    lat: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(32), index=True)             # pest/disease code or "unknown"
    label_source: Mapped[str] = mapped_column(String(16))
    predicted_label: Mapped[str | None] = mapped_column(String(32))
    predicted_probability: Mapped[float | None] = mapped_column(Float)
    verified_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    verified_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


__all__ += ["ImageSample", "IMAGE_LABEL_SOURCES"]


# ----------------------------------------------------------------------------------------------------------
# Advice: purchases and applications of inputs, weekly runs and their recommendations
# ----------------------------------------------------------------------------------------------------------
class Purchase(Base):
    """An input bought by a grower (product from the advice catalogue; the receipt is the evidence)."""

    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grower_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))                          # kg, L, bag …
    price_cny: Mapped[float | None] = mapped_column(Float)                 # total paid
    supplier: Mapped[str | None] = mapped_column(String(200))
    purchased_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class Application(Base):
    """An input applied on a plot (spray or fertiliser); feeds rotation checks and the accounting."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    applied_on: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[float] = mapped_column(Float)                           # product applied on the area
    unit: Mapped[str] = mapped_column(String(16))                          # kg or L of product
    area_ha: Mapped[float | None] = mapped_column(Float)                   # treated area (default the plot's)
    target: Mapped[str | None] = mapped_column(String(64))                 # pest or nutrient aimed at
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id", ondelete="SET NULL"))
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class AdviceRun(Base):
    """One run of the weekly pipeline: when, for which date, with which parameter sets and data sources."""

    __tablename__ = "advice_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    parameter_sets: Mapped[dict | None] = mapped_column(JSON)              # module -> "name vN hash"
    sources: Mapped[dict | None] = mapped_column(JSON)                     # module -> data source text
    n_plots: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[list | None] = mapped_column(JSON)
    results_path: Mapped[str | None] = mapped_column(String(500))         # ORCHARD_HOME/results/<run_id>
    bundle: Mapped[dict | None] = mapped_column(JSON)                      # set name -> {version, hash}
    steps: Mapped[list | None] = mapped_column(JSON)                       # the chain's steps, in order


class RecommendationRecord(Base):
    """A recommendation of a run (advice.Recommendation): the app translates action and reason keys."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("advice_runs.run_id", ondelete="CASCADE"), index=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer)
    action_key: Mapped[str] = mapped_column(String(100))
    action_numbers: Mapped[dict | None] = mapped_column(JSON)
    reason_key: Mapped[str] = mapped_column(String(100))
    reason_numbers: Mapped[dict | None] = mapped_column(JSON)
    evidence: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    products: Mapped[list | None] = mapped_column(JSON)


#: Units an applied amount may be in, with the unit of the per-hectare rate and the factor to it.
_AMOUNT_TO_BASE = {"kg": ("kg", 1.0), "g": ("kg", 1e-3), "L": ("L", 1.0), "mL": ("L", 1e-3)}


def number_text(value) -> str:
    return limits.number_text(value)


def _treated_area(what: str, area_ha, plot_area_ha: float | None) -> float:
    """A treated area [ha]: positive, and no larger than the plot (plus ``application.area_margin``)."""
    area = _positive(what, "area_ha", area_ha)
    if plot_area_ha is not None and plot_area_ha > 0:
        margin = float(limits.limits()["application.area_margin"][1])
        if area > plot_area_ha * (1.0 + margin):
            raise InputError(f"{what}: the treated area {number_text(area)} ha is larger than the plot "
                             f"({plot_area_ha:.4g} ha); give the area actually sprayed or spread.")
    return area


def _positive(what: str, field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{what}: {field} {value!r} is not a positive number.")
    return float(value)


def add_purchase(session: Session, caller: str, *, product_id: str, quantity: float, unit: str,
                 purchased_on, grower_id: str | None = None, price_cny: float | None = None,
                 supplier: str | None = None) -> int:
    """Record a purchase and return its id. Growers record their own; agronomists and admins for a grower.

    The caller checks ``product_id`` against the advice catalogue (the store does not know the catalogue).
    """
    user = _caller(session, caller)
    grower = grower_id or user.user_id
    what = f"purchase of {product_id}"
    if user.role == "grower" and grower != user.user_id:
        raise AccessError(f"{user.user_id} may record purchases only for themselves, not for {grower}.")
    if user.role == "extension":
        raise AccessError(f"user '{user.user_id}' is an extension user with read-only access; ask the grower.")
    if session.get(User, grower) is None:
        raise InputError(f"{what}: unknown grower '{grower}'.")
    if price_cny is not None:
        price_cny = limits.check_number(price_cny, "purchase.price_cny", f"{what}: price")
    quantity = limits.check_number(_positive(what, "quantity", quantity), "purchase.quantity",
                                   f"{what}: quantity", low_exclusive=True, unit=str(unit))
    row = Purchase(grower_id=grower, product_id=str(product_id), quantity=quantity,
                   unit=str(unit), price_cny=price_cny,
                   supplier=supplier, purchased_on=_parse_date(what, "purchased_on", purchased_on, past=True),
                   recorded_by=user.user_id, created_utc=_now_utc())
    session.add(row)
    session.flush()
    return row.id


def add_application(session: Session, caller: str, plot_id: str, *, product_id: str, applied_on, amount: float,
                    unit: str, area_ha: float | None = None, target: str | None = None,
                    purchase_id: int | None = None, note: str | None = None) -> int:
    """Record an application of a product on a plot and return its id (growers: own plots only)."""
    user = _caller(session, caller)
    plot = _writable_plot(session, user, plot_id)
    what = f"application of {product_id} on plot {plot_id}"
    if purchase_id is not None:
        linkable_purchase(session, user.user_id, purchase_id, plot_id=plot_id)
    area = plot.area_ha if area_ha is None else _treated_area(what, area_ha, plot.area_ha)
    amount = _positive(what, "amount", amount)
    if area is not None and str(unit) in _AMOUNT_TO_BASE:  # product per hectare: catches g typed as kg
        base, factor = _AMOUNT_TO_BASE[str(unit)]
        rate, (_, highest, _) = amount * factor / area, limits.bounds("application.rate")
        if rate > highest:
            raise InputError(f"{what}: {number_text(amount)} {unit} on {area:.4g} ha is {number_text(rate)} "
                             f"{base}/ha, more than the plausible {highest:g} {base}/ha; check the amount "
                             "and its unit (g or kg, mL or L).")
    row = Application(plot_id=plot_id, product_id=str(product_id),
                      applied_on=_parse_date(what, "applied_on", applied_on, past=True),
                      amount=amount, unit=str(unit), area_ha=area, target=target,
                      purchase_id=purchase_id, recorded_by=user.user_id, note=note, created_utc=_now_utc())
    session.add(row)
    session.flush()
    return row.id


def linkable_purchase(session: Session, caller: str, purchase_id, *, plot_id: str) -> Purchase:
    """The purchase an application on ``plot_id`` may be linked to: one of the plot owner's purchases.

    A grower links only their own purchases; an agronomist only purchases of the plot's grower. A purchase
    that is missing and one of another grower get the same refusal (:func:`not_yours`).
    """
    user = _caller(session, caller)
    plot = _readable_plot(session, user, plot_id)
    purchase = session.get(Purchase, purchase_id) if isinstance(purchase_id, int) and \
        not isinstance(purchase_id, bool) else None
    if purchase is None or purchase.grower_id != plot.owner_id:
        if user.role == "grower":
            raise not_yours("purchase", purchase_id)
        raise InputError(f"purchase {purchase_id!r} is not a purchase of the grower of plot {plot_id}; link "
                         "the application to one of their purchases.")
    return purchase


#: Columns extension users never get (personal data: who bought or recorded what, from whom, free text).
_EXTENSION_HIDDEN = {"purchases": ("grower_id", "supplier", "recorded_by"),
                     "applications": ("recorded_by", "note"),
                     "scouting_observations": ("observer", "note", "recorded_by")}


def _for_role(user: User | None, table: str, row: dict[str, Any]) -> dict[str, Any]:
    if user is not None and user.role == "extension":
        for column in _EXTENSION_HIDDEN[table]:
            row[column] = None
    return row


def list_applications(session: Session, caller: str | None = None, plot_ids: Sequence[str] | None = None,
                      start=None, end=None) -> list[dict[str, Any]]:
    """Applications ordered by date; a grower caller sees only their plots' (``caller=None``: operator);
    extension users get them without ``recorded_by`` and ``note``."""
    query = select(Application)
    user = None
    if caller is not None:
        user = _caller(session, caller)
        if user.role == "grower":
            owned = select(Plot.plot_id).where(Plot.owner_id == user.user_id)
            query = query.where(Application.plot_id.in_(owned))
    if plot_ids is not None:
        query = query.where(Application.plot_id.in_(list(plot_ids)))
    if start is not None:
        query = query.where(Application.applied_on >= _parse_date("applications", "start", start))
    if end is not None:
        query = query.where(Application.applied_on <= _parse_date("applications", "end", end))
    return [_for_role(user, "applications", {c: getattr(a, c) for c in _columns_of(Application)})
            for a in session.scalars(query.order_by(Application.applied_on, Application.id))]


def list_purchases(session: Session, caller: str) -> list[dict[str, Any]]:
    """Purchases: a grower's own, or all for agronomists, extension and admins (extension users without
    ``grower_id``, ``supplier`` and ``recorded_by``)."""
    user = _caller(session, caller)
    query = select(Purchase)
    if user.role == "grower":
        query = query.where(Purchase.grower_id == user.user_id)
    return [_for_role(user, "purchases", {c: getattr(p, c) for c in _columns_of(Purchase)})
            for p in session.scalars(query.order_by(Purchase.purchased_on, Purchase.id))]


def store_advice_run(session: Session, run: Mapping[str, Any], recommendations: Sequence[Mapping[str, Any]]) -> str:
    """Store a pipeline run and its recommendations in one go (a re-run of the same run_id replaces it)."""
    run = {k: _clean(v) if not isinstance(v, (dict, list)) else v for k, v in run.items()}
    _check_columns("advice run", [run], _columns_of(AdviceRun), ["run_id", "issued_on"])
    run_id = str(run["run_id"])
    existing = session.get(AdviceRun, run_id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    row = dict(run)
    row["issued_on"] = _parse_date("advice run", "issued_on", row["issued_on"])
    session.add(AdviceRun(**row, created_utc=_now_utc()))
    session.flush()
    allowed = [c for c in _columns_of(RecommendationRecord) if c not in ("id", "run_id")]
    records = [dict(r) for r in recommendations]
    _check_columns("recommendations", records, allowed + ["run_id"], ["plot_id", "topic", "severity",
                                                                      "action_key", "reason_key", "module"])
    for r in records:
        r["run_id"] = run_id
        for field in ("issued_on", "valid_from", "valid_to"):
            r[field] = _parse_date("recommendation", field, r.get(field) or row["issued_on"])
    if records:
        session.execute(sa_insert(RecommendationRecord), records)
    return run_id


def list_recommendations(session: Session, caller: str, plot_id: str | None = None,
                         run_id: str | None = None) -> list[dict[str, Any]]:
    """Recommendations of the latest run (or ``run_id``) on the caller's plots, most severe first."""
    user = _caller(session, caller)
    if run_id is None:
        run_id = session.scalar(select(AdviceRun.run_id).order_by(AdviceRun.issued_on.desc(),
                                                                   AdviceRun.created_utc.desc()).limit(1))
        if run_id is None:
            return []
    query = select(RecommendationRecord).where(RecommendationRecord.run_id == run_id)
    if plot_id is not None:
        _readable_plot(session, user, plot_id)
        query = query.where(RecommendationRecord.plot_id == plot_id)
    elif user.role == "grower":
        owned = select(Plot.plot_id).where(Plot.owner_id == user.user_id)
        query = query.where(RecommendationRecord.plot_id.in_(owned))
    rows = session.scalars(query.order_by(RecommendationRecord.severity.desc(), RecommendationRecord.valid_from,
                                          RecommendationRecord.id))
    return [{c: getattr(r, c) for c in _columns_of(RecommendationRecord)} for r in rows]


__all__ += ["Purchase", "Application", "AdviceRun", "RecommendationRecord", "add_purchase", "add_application",
            "linkable_purchase", "not_yours", "list_applications", "list_purchases", "store_advice_run",
            "list_recommendations"]


# ----------------------------------------------------------------------------------------------------------
# Stored weekly runs: one plot_status row per plot and run (orchard.results writes and reads them)
# ----------------------------------------------------------------------------------------------------------
class PlotStatus(Base):
    """What one run of the weekly chain found on one plot: the numbers every face shows.

    The module outputs behind them (daily series, outlooks) are files under
    ``ORCHARD_HOME/results/<run_id>/``; ``results_chunk`` names the chunk file that holds this plot.
    """

    __tablename__ = "plot_status"

    run_id: Mapped[str] = mapped_column(ForeignKey("advice_runs.run_id", ondelete="CASCADE"), primary_key=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    results_chunk: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[int | None] = mapped_column(Integer)                      # growth.phenology.STAGES code
    bloom_date: Mapped[date | None] = mapped_column(Date)
    fruit_diameter_mm: Mapped[float | None] = mapped_column(Float)
    brix: Mapped[float | None] = mapped_column(Float)
    colour_break_p50: Mapped[date | None] = mapped_column(Date)
    maturity_p10: Mapped[date | None] = mapped_column(Date)
    maturity_p50: Mapped[date | None] = mapped_column(Date)
    maturity_p90: Mapped[date | None] = mapped_column(Date)
    maturity_delay_days: Mapped[float | None] = mapped_column(Float)       # slope delay against flat ground
    members_mature: Mapped[int | None] = mapped_column(Integer)
    n_members: Mapped[int | None] = mapped_column(Integer)
    pests: Mapped[dict | None] = mapped_column(JSON)      # pest -> horizon -> {"level", "probability"}
    max_pest_level_15d: Mapped[int | None] = mapped_column(Integer)
    ks: Mapped[float | None] = mapped_column(Float)
    depletion_mm: Mapped[float | None] = mapped_column(Float)
    raw_mm: Mapped[float | None] = mapped_column(Float)
    taw_mm: Mapped[float | None] = mapped_column(Float)
    irrigate: Mapped[bool | None] = mapped_column(Boolean)
    ndvi: Mapped[float | None] = mapped_column(Float)
    ndvi_date: Mapped[date | None] = mapped_column(Date)
    alerts: Mapped[list | None] = mapped_column(JSON)     # monitoring alert signals
    actions: Mapped[list | None] = mapped_column(JSON)    # the week's recommendations: topic, severity, ...
    top_severity: Mapped[int | None] = mapped_column(Integer)


__all__ += ["PlotStatus"]


# ----------------------------------------------------------------------------------------------------------
# Scouting observations (pest counts and disease incidence), scored against the forecasts by `orchard skill`
# ----------------------------------------------------------------------------------------------------------
SCOUTING_PESTS = ("black_spot", "canker", "mites", "leaf_miner")
#: mites_per_leaf: mean mites per leaf [mites/leaf]; incidence_pct: share of leaves or fruit affected [%].
SCOUTING_MEASURES = ("mites_per_leaf", "incidence_pct")


class ScoutingObservation(Base):
    """One scouting count on a plot: a pest, a measure and its value (advice.skill checks them first)."""

    __tablename__ = "scouting_observations"
    __table_args__ = (CheckConstraint(_in_list("pest", SCOUTING_PESTS), name="pest"),
                      CheckConstraint(_in_list("measure", SCOUTING_MEASURES), name="measure"),
                      CheckConstraint("value >= 0 AND (measure != 'incidence_pct' OR value <= 100)",
                                      name="value"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plot_id: Mapped[str] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"), index=True)
    observed_on: Mapped[date] = mapped_column(Date, index=True)
    pest: Mapped[str] = mapped_column(String(16))
    measure: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    observer: Mapped[str | None] = mapped_column(String(100))              # who scouted (free text)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


def add_scouting_observations(session: Session, caller: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store checked scouting observations (``advice.skill.check_observations``) in the caller's session and
    return how many; growers only on their own plots, agronomists on any. The caller's transaction makes a
    batch all or nothing."""
    user = _caller(session, caller)
    objects = []
    for row in rows:
        _writable_plot(session, user, str(row["plot_id"]))
        what = f"scouting observation on plot {row['plot_id']}"
        if row["pest"] not in SCOUTING_PESTS or row["measure"] not in SCOUTING_MEASURES:
            raise InputError(f"{what}: pest '{row['pest']}' or measure '{row['measure']}' is not known.")
        value = float(row["value"])
        if not math.isfinite(value) or value < 0 or (row["measure"] == "incidence_pct" and value > 100):
            raise InputError(f"{what}: {row['measure']} {value:g} is impossible.")
        objects.append(ScoutingObservation(
            plot_id=str(row["plot_id"]),
            observed_on=_parse_date(what, "observed_on", row["observed_on"], past=True),
            pest=row["pest"], measure=row["measure"], value=value, observer=row.get("observer") or None,
            note=row.get("note") or None, recorded_by=user.user_id, created_utc=_now_utc()))
    session.add_all(objects)
    session.flush()
    return len(objects)


def list_scouting_observations(session: Session, caller: str | None = None, start=None,
                               end=None) -> list[dict[str, Any]]:
    """Scouting observations by date; a grower caller sees only their plots' (``caller=None``: operator)."""
    query = select(ScoutingObservation)
    user = None
    if caller is not None:
        user = _caller(session, caller)
        if user.role == "grower":
            owned = select(Plot.plot_id).where(Plot.owner_id == user.user_id)
            query = query.where(ScoutingObservation.plot_id.in_(owned))
    if start is not None:
        query = query.where(ScoutingObservation.observed_on >= _parse_date("scouting", "start", start))
    if end is not None:
        query = query.where(ScoutingObservation.observed_on <= _parse_date("scouting", "end", end))
    order = (ScoutingObservation.observed_on, ScoutingObservation.id)
    columns = _columns_of(ScoutingObservation)
    return [_for_role(user, "scouting_observations", {c: getattr(o, c) for c in columns})
            for o in session.scalars(query.order_by(*order))]


__all__ += ["ScoutingObservation", "SCOUTING_PESTS", "SCOUTING_MEASURES", "add_scouting_observations",
            "list_scouting_observations"]


# ----------------------------------------------------------------------------------------------------------
# Issue #20 (run live): fetched forecasts with their issue date and source, the daily cycle's record, the
# sensor files it has ingested, growers' notification channels and the outbox of messages (migration 0009).
# The functions that read and write them live in orchard/forecast_store.py and advice/outbox.py.
# ----------------------------------------------------------------------------------------------------------
FORECAST_KINDS = ("forecast", "ensemble", "seasonal")
CHANNELS = ("email", "webhook")
LANGUAGES = ("zh", "en")
OUTBOX_STATES = ("queued", "sending", "sent", "failed")
CYCLE_STATES = ("running", "done", "failed")


class ForecastIssue(Base):
    """One fetched forecast of one station: which API (kind), the local date it was issued for (the day
    before its first forecast day), when it was fetched and from where."""

    __tablename__ = "forecast_issues"
    __table_args__ = (CheckConstraint(_in_list("kind", FORECAST_KINDS), name="kind"),
                      UniqueConstraint("station_id", "kind", "issued_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    fetched_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    source: Mapped[str] = mapped_column(String(500))                       # request URL or recorded file
    n_members: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class ForecastValue(Base):
    """A daily value of one member of a stored forecast (member 0 = control or the deterministic run)."""

    __tablename__ = "forecast_values"

    issue_id: Mapped[int] = mapped_column(ForeignKey("forecast_issues.id", ondelete="CASCADE"),
                                          primary_key=True)
    member: Mapped[int] = mapped_column(Integer, primary_key=True)
    variable: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class CycleRun(Base):
    """One daily cycle (``orchard cycle``): its date, state, the chain run it made and its log lines."""

    __tablename__ = "cycle_runs"
    __table_args__ = (CheckConstraint(_in_list("state", CYCLE_STATES), name="state"),)

    cycle_date: Mapped[date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    started_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    finished_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(64))
    log: Mapped[list | None] = mapped_column(JSON)


class IngestedFile(Base):
    """A sensor file the cycle has ingested from its watched folder, by content (a renamed copy is no new
    file)."""

    __tablename__ = "ingested_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000))
    readings: Mapped[int] = mapped_column(Integer, default=0)
    ingested_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class NotificationChannel(Base):
    """A grower's opt-in to one channel: where to send, in which language, and their quiet hours (local
    clock hours; start > end spans midnight, e.g. 21 to 7)."""

    __tablename__ = "notification_channels"
    __table_args__ = (CheckConstraint(_in_list("channel", CHANNELS), name="channel"),
                      CheckConstraint(_in_list("language", LANGUAGES), name="language"),
                      CheckConstraint("(quiet_start_h IS NULL OR (quiet_start_h >= 0 AND quiet_start_h < 24))"
                                      " AND (quiet_end_h IS NULL OR (quiet_end_h >= 0 AND quiet_end_h < 24))",
                                      name="quiet_hours"))

    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(500))                      # e-mail address or https URL
    language: Mapped[str] = mapped_column(String(8), default="zh")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start_h: Mapped[int | None] = mapped_column(Integer)
    quiet_end_h: Mapped[int | None] = mapped_column(Integer)


class OutboxMessage(Base):
    """One message to one grower on one channel for one cycle date (unique: a cycle run twice queues it once);
    ``state`` queued -> sending -> sent (or failed after the last attempt)."""

    __tablename__ = "outbox"
    __table_args__ = (CheckConstraint(_in_list("state", OUTBOX_STATES), name="state"),
                      CheckConstraint(_in_list("channel", CHANNELS), name="channel"),
                      UniqueConstraint("cycle_date", "user_id", "channel"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_date: Mapped[date] = mapped_column(Date, index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)
    delivered_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())


__all__ += ["ForecastIssue", "ForecastValue", "CycleRun", "IngestedFile", "NotificationChannel",
            "OutboxMessage", "FORECAST_KINDS", "CHANNELS", "LANGUAGES", "OUTBOX_STATES"]


# ----------------------------------------------------------------------------------------------------------
# Issue #18 (privacy, tenancy, accounts): failed sign-ins, stored so that a restart forgets nothing
# ----------------------------------------------------------------------------------------------------------
class SignInFailures(Base):
    """Failed sign-ins of one key: an account, a client (browser or address) or the pair of both.

    The key is stored as the SHA-256 of its text: people type passwords into the user-name field, and
    those must not end up in the database in clear.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (CheckConstraint(_in_list("kind", ("account", "client", "pair")), name="kind"),)

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    wait_until_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: How failed sign-ins slow a key down: after ``free`` failures each further one doubles the wait, from
#: ``first_s`` up to ``max_s`` [s]. One client guessing one account's password is slowed hardest (pair: a
#: quarter of an hour at most); one client trying many accounts too (client: an hour); an account tried from
#: everywhere only so much that its owner, signing in from their own phone, waits a minute at most (account):
#: nobody can lock a grower out by typing wrong passwords for their id. Guidance: NIST SP 800-63B §5.2.2
#: (rate limiting, at most 100 consecutive failures per account without a successful one, no permanent lock).
SIGN_IN_THROTTLE = {
    "pair": {"free": 3, "first_s": 5.0, "max_s": 900.0},
    "client": {"free": 10, "first_s": 5.0, "max_s": 3600.0},
    "account": {"free": 10, "first_s": 5.0, "max_s": 60.0},
}
#: Failures are forgotten this long after the last one [s].
SIGN_IN_FORGET_S = 24 * 3600.0


def sign_in_delay_s(failures: int, *, free: int, first_s: float, max_s: float) -> float:
    """The wait after the ``failures``-th failure in a row [s]: none for the first ``free``, then doubling."""
    if failures < free:
        return 0.0
    return float(min(max_s, first_s * 2.0 ** min(failures - free, 60)))


def _throttle_rows(session: Session, keys: Mapping[str, str]) -> dict[str, tuple[str, SignInFailures | None]]:
    import hashlib

    out = {}
    for kind, text in keys.items():
        if kind not in SIGN_IN_THROTTLE:
            raise ValueError(f"unknown sign-in throttle kind {kind!r}")
        digest = hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()
        out[kind] = (digest, session.get(SignInFailures, digest))
    return out


def _recent(row: SignInFailures | None, now: datetime) -> bool:
    return row is not None and (now - row.last_failure_utc).total_seconds() < SIGN_IN_FORGET_S


def sign_in_wait_s(session: Session, keys: Mapping[str, str], now: datetime | None = None) -> float:
    """Seconds before a sign-in with these keys (``{"account": id, "client": …, "pair": …}``) is checked."""
    now = now or _now_utc()
    waits = [(row.wait_until_utc - now).total_seconds()
             for _, row in _throttle_rows(session, keys).values()
             if _recent(row, now) and row.wait_until_utc is not None]
    return max([0.0, *waits])


def record_sign_in_failure(session: Session, keys: Mapping[str, str], now: datetime | None = None) -> float:
    """Count a failed sign-in against each key and return the wait it now imposes [s]."""
    now = now or _now_utc()
    wait = 0.0
    rows = _throttle_rows(session, keys)
    missing = [{"key_sha256": digest, "kind": kind, "failures": 0, "last_failure_utc": now}
               for kind, (digest, row) in rows.items() if row is None]
    if missing:  # two servers failing the same key at once: one inserts, the other counts on that row
        insert = _dialect_insert(session)
        session.execute(insert(SignInFailures).on_conflict_do_nothing(index_elements=["key_sha256"]), missing)
        rows = _throttle_rows(session, keys)
    for kind, (digest, row) in rows.items():
        if not _recent(row, now):
            row.failures = 0
        row.failures += 1
        row.last_failure_utc = now
        delay = sign_in_delay_s(row.failures, **SIGN_IN_THROTTLE[kind])
        row.wait_until_utc = now + pd.Timedelta(seconds=delay).to_pytimedelta() if delay else None
        wait = max(wait, delay)
    # forgotten failures leave the table, so addresses that tried once long ago do not pile up
    forget = now - pd.Timedelta(seconds=SIGN_IN_FORGET_S).to_pytimedelta()
    session.execute(sa_delete(SignInFailures).where(SignInFailures.last_failure_utc < forget))
    session.flush()
    return wait


def clear_sign_in_failures(session: Session, keys: Mapping[str, str]) -> None:
    """Forget the failures of these keys (after a successful sign-in: the account and the pair)."""
    for _, row in _throttle_rows(session, keys).values():
        if row is not None:
            session.delete(row)
    session.flush()


__all__ += ["SignInFailures", "SIGN_IN_THROTTLE", "SIGN_IN_FORGET_S", "sign_in_delay_s", "sign_in_wait_s",
            "record_sign_in_failure", "clear_sign_in_failures"]


# ----------------------------------------------------------------------------------------------------------
# Issue #19: advice review. An agronomist approves or holds (with a note) the advice a run gives one plot or
# a whole district; a district may require review before growers see anything. The review record is kept
# whole (who decided what and when); the latest decision counts, a plot's own before its district's.
# ----------------------------------------------------------------------------------------------------------
REVIEW_DECISIONS = ("approved", "held")
REVIEW_SCOPES = ("plot", "district")
#: Roles that may review advice and change a district's review setting.
REVIEWERS = ("agronomist", "admin")


class AdviceReview(Base):
    """One review decision on a run's advice for a plot or a district (append-only: the record of who
    approved or held what, and when)."""

    __tablename__ = "advice_reviews"
    __table_args__ = (
        CheckConstraint(_in_list("decision", REVIEW_DECISIONS), name="decision"),
        CheckConstraint(_in_list("scope", REVIEW_SCOPES), name="scope"),
        CheckConstraint("(scope = 'plot' AND plot_id IS NOT NULL) OR "
                        "(scope = 'district' AND district IS NOT NULL)", name="target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("advice_runs.run_id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    plot_id: Mapped[str | None] = mapped_column(ForeignKey("plots.plot_id", ondelete="CASCADE"))
    district: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)                      # shown to the grower with the advice
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    reviewed_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


class DistrictReviewSetting(Base):
    """Whether a district's growers see only reviewed (approved) advice, who set it and when."""

    __tablename__ = "district_review_settings"

    district: Mapped[str] = mapped_column(String(100), primary_key=True)
    review_required: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    changed_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


def _reviewer(session: Session, caller: str) -> User:
    user = _caller(session, caller)
    if user.role not in REVIEWERS:
        raise AccessError(f"user '{user.user_id}' may not review advice; ask an agronomist.")
    return user


def set_review_required(session: Session, caller: str, district: str, required: bool) -> None:
    """Make a district's growers see only approved advice (``required``), or all advice not held."""
    user = _reviewer(session, caller)
    if not district or session.scalar(select(Plot.plot_id).where(Plot.district == district).limit(1)) is None:
        raise InputError(f"district '{district}' has no plots; check the district name.")
    setting = session.get(DistrictReviewSetting, district) or DistrictReviewSetting(district=district)
    setting.review_required, setting.changed_by = bool(required), user.user_id
    setting.changed_utc = _now_utc()
    session.add(setting)
    session.flush()


def review_required(session: Session, district: str | None) -> bool:
    """Whether the district requires review before its growers see advice (False when never set)."""
    setting = session.get(DistrictReviewSetting, district) if district else None
    return bool(setting and setting.review_required)


def review_advice(session: Session, caller: str, run_id: str, *, decision: str, plot_id: str | None = None,
                  district: str | None = None, note: str | None = None) -> int:
    """Record an agronomist's decision on a run's advice for one plot (``plot_id``) or one district: approve
    (with an optional note for the grower, an edit) or hold. Returns the record's id."""
    user = _reviewer(session, caller)
    if decision not in REVIEW_DECISIONS:
        raise InputError(f"review decision '{decision}' is not one of {', '.join(REVIEW_DECISIONS)}.")
    if session.get(AdviceRun, run_id) is None:
        raise InputError(f"weekly run '{run_id}' does not exist; pick a stored run.")
    if (plot_id is None) == (district is None):
        raise InputError("review either one plot or one district; give exactly one of them.")
    if plot_id is not None:
        _readable_plot(session, user, plot_id)
    elif session.scalar(select(Plot.plot_id).where(Plot.district == district).limit(1)) is None:
        raise InputError(f"district '{district}' has no plots; check the district name.")
    row = AdviceReview(run_id=run_id, scope="plot" if plot_id is not None else "district", plot_id=plot_id,
                       district=district, decision=decision, note=(note or "").strip() or None,
                       reviewer_id=user.user_id, reviewed_utc=_now_utc())
    session.add(row)
    session.flush()
    return int(row.id)


def list_reviews(session: Session, caller: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """The review record (staff only), newest first: every decision with who made it and when."""
    _reviewer(session, caller)
    query = select(AdviceReview)
    if run_id is not None:
        query = query.where(AdviceReview.run_id == run_id)
    rows = session.scalars(query.order_by(AdviceReview.reviewed_utc.desc(), AdviceReview.id.desc()))
    return [{c: getattr(r, c) for c in _columns_of(AdviceReview)} for r in rows]


def review_states(session: Session, run_id: str, plot_ids) -> dict[str, dict[str, Any]]:
    """:func:`review_state` of many plots of one run, in three queries whatever their number (a cycle's
    notifications, a page of records)."""
    ids = sorted({str(p) for p in plot_ids})
    query = select(Plot.plot_id, Plot.district)
    if len(ids) <= 500:  # a longer list would pass SQLite's variable limit: read every plot's district
        query = query.where(Plot.plot_id.in_(ids))
    district_of = dict(session.execute(query).all())
    required = dict(session.execute(select(DistrictReviewSetting.district,
                                           DistrictReviewSetting.review_required)).all())
    latest: dict[tuple[str, str], AdviceReview] = {}
    for row in session.scalars(select(AdviceReview).where(AdviceReview.run_id == run_id)
                               .order_by(AdviceReview.reviewed_utc, AdviceReview.id)):
        latest[(row.scope, row.plot_id if row.scope == "plot" else row.district)] = row  # the last one counts
    states = {}
    for plot_id in ids:
        district = district_of.get(plot_id)
        deciding = latest.get(("plot", plot_id))
        if deciding is None and district is not None:
            deciding = latest.get(("district", district))
        needs_review = bool(required.get(district)) if district is not None else False
        decision = deciding.decision if deciding is not None else None
        states[plot_id] = {"visible": decision == "approved" or (decision is None and not needs_review),
                           "decision": decision, "note": deciding.note if deciding is not None else None,
                           "scope": deciding.scope if deciding is not None else None,
                           "review_required": needs_review}
    return states


def review_state(session: Session, run_id: str, plot_id: str) -> dict[str, Any]:
    """A plot's advice in a run as its growers would get it: ``visible`` (bool), ``decision`` (the deciding
    review's decision or None), ``note``, ``scope``, ``review_required`` (its district's setting).

    A hold always hides the advice; where the district requires review, only approved advice is visible. A
    plot's own latest decision counts before its district's latest."""
    return review_states(session, run_id, [plot_id])[str(plot_id)]


def advice_visible_to_grower(session: Session, run_id: str, plot_id: str) -> bool:
    """Whether a run's advice for a plot may reach its grower (the app, notifications): not held, and
    approved where the plot's district requires review."""
    return review_state(session, run_id, plot_id)["visible"]


def approved_recommendations(session: Session, caller: str, plot_id: str | None = None,
                             run_id: str | None = None) -> list[dict[str, Any]]:
    """:func:`list_recommendations` as a grower may get them: for a grower caller (and for a notification
    sender, which passes the grower's id) only the plots whose advice is visible
    (:func:`advice_visible_to_grower`), each record with the reviewer's ``review_note``; staff callers get
    every record, each with its ``review`` state."""
    user = _caller(session, caller)
    records = list_recommendations(session, caller, plot_id=plot_id, run_id=run_id)
    states = {run: review_states(session, run, [r["plot_id"] for r in records if r["run_id"] == run])
              for run in {r["run_id"] for r in records}}
    out = []
    for r in records:
        state = states[r["run_id"]][r["plot_id"]]
        if user.role == "grower" and not state["visible"]:
            continue
        out.append({**r, "review_note": state["note"] if state["decision"] == "approved" else None,
                    **({"review": state} if user.role != "grower" else {})})
    return out


def review_stamp(session: Session) -> str:
    """Changes whenever a review is recorded or a district's setting changes: a cache of what growers may
    see keys on it, so a hold takes effect on the next page view."""
    from sqlalchemy import func

    last_review = session.scalar(select(func.max(AdviceReview.id)))
    last_setting = session.scalar(select(func.max(DistrictReviewSetting.changed_utc)))
    return f"{last_review or 0}/{last_setting or ''}"


__all__ += ["AdviceReview", "DistrictReviewSetting", "REVIEW_DECISIONS", "set_review_required",
            "review_stamp",
            "review_required", "review_advice", "list_reviews", "review_state", "review_states",
            "advice_visible_to_grower", "approved_recommendations"]


# Issue #19 (continued): user management by admins in the app, every change logged. Signing in stays in
# app/auth.py and authenticate(): a disabled account is one without a password hash (it cannot sign in with a
# password, see User.password_hash); enabling it again means setting a new password.
USER_ACTIONS = ("add", "role", "reset_password", "disable", "enable")


class UserAdminLog(Base):
    """One change an admin made to a user account: who, to whom, what, when (never a password)."""

    __tablename__ = "user_admin_log"
    __table_args__ = (CheckConstraint(_in_list("action", USER_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(200))
    changed_utc: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now_utc)


def _admin(session: Session, caller: str) -> User:
    user = _caller(session, caller)
    if user.role != "admin":
        raise AccessError(f"user '{user.user_id}' may not manage accounts; ask an administrator.")
    return user


def _account(session: Session, user_id: str) -> User:
    account = session.get(User, user_id) if isinstance(user_id, str) else None
    if account is None:
        raise InputError(f"unknown user '{user_id}'; check the user id.")
    return account


def _log_user_change(session: Session, admin: User, user_id: str, action: str, detail: str | None = None):
    session.add(UserAdminLog(admin_id=admin.user_id, user_id=user_id, action=action, detail=detail,
                             changed_utc=_now_utc()))
    session.flush()


def add_user(session: Session, caller: str, *, user_id: str, display_name: str, role: str,
             password: str) -> None:
    """An admin adds an account with its first password (checked like every password)."""
    admin = _admin(session, caller)
    user_id, display_name = (user_id or "").strip(), (display_name or "").strip()
    if not user_id or not all(c.isalnum() or c in "_-." for c in user_id) or len(user_id) > 64:
        raise InputError(f"user id '{user_id}' must be 1-64 letters, digits, '_', '-' or '.'; "
                         "choose another.")
    if not display_name:
        raise InputError(f"user '{user_id}' needs a name to show; fill it in.")
    if role not in ROLES:
        raise InputError(f"role '{role}' is not one of {', '.join(ROLES)}; pick one of them.")
    if session.get(User, user_id) is not None:
        raise InputError(f"user '{user_id}' already exists; choose another id.")
    session.add(User(user_id=user_id, display_name=display_name, role=role, created_utc=_now_utc(),
                     password_hash=hash_password(password)))
    session.flush()
    _log_user_change(session, admin, user_id, "add", role)


def set_user_role(session: Session, caller: str, user_id: str, role: str) -> None:
    """An admin changes an account's role (not their own: an admin cannot lock every admin out)."""
    admin = _admin(session, caller)
    account = _account(session, user_id)
    if role not in ROLES:
        raise InputError(f"role '{role}' is not one of {', '.join(ROLES)}; pick one of them.")
    if account.user_id == admin.user_id:
        raise InputError("admins cannot change their own role; ask another admin.")
    if account.role == "grower" and role != "grower" and session.scalar(
            select(Plot.plot_id).where(Plot.owner_id == account.user_id).limit(1)) is not None:
        raise InputError(f"user '{user_id}' owns plots; a grower with plots stays a grower.")
    before, account.role = account.role, role
    _log_user_change(session, admin, account.user_id, "role", f"{before} -> {role}")


def reset_user_password(session: Session, caller: str, user_id: str, password: str) -> None:
    """An admin sets a new password for an account (which also enables a disabled one)."""
    admin = _admin(session, caller)
    account = _account(session, user_id)
    was_disabled = account.password_hash is None
    account.password_hash = hash_password(password)
    _log_user_change(session, admin, account.user_id, "enable" if was_disabled else "reset_password")


def disable_user(session: Session, caller: str, user_id: str) -> None:
    """An admin disables an account: it can no longer sign in with a password (not their own)."""
    admin = _admin(session, caller)
    account = _account(session, user_id)
    if account.user_id == admin.user_id:
        raise InputError("admins cannot disable their own account; ask another admin.")
    account.password_hash = None
    _log_user_change(session, admin, account.user_id, "disable")


def list_accounts(session: Session, caller: str) -> list[dict[str, Any]]:
    """Every account for an admin: id, name, role, created, and whether it can sign in with a password."""
    _admin(session, caller)
    return [{"user_id": u.user_id, "display_name": u.display_name, "role": u.role,
             "created_utc": u.created_utc, "enabled": u.password_hash is not None}
            for u in session.scalars(select(User).order_by(User.user_id))]


def list_user_changes(session: Session, caller: str, limit: int = 200) -> list[dict[str, Any]]:
    """The admin log, newest first (admins only)."""
    _admin(session, caller)
    order = (UserAdminLog.changed_utc.desc(), UserAdminLog.id.desc())
    rows = session.scalars(select(UserAdminLog).order_by(*order).limit(limit))
    return [{c: getattr(r, c) for c in _columns_of(UserAdminLog)} for r in rows]


__all__ += ["UserAdminLog", "USER_ACTIONS", "add_user", "set_user_role", "reset_user_password",
            "disable_user", "list_accounts", "list_user_changes"]
