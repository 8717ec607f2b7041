"""Database layer: migrations, upserts, transactions, scoped access, weather reads."""

from __future__ import annotations

import os

import sqlite3
from contextlib import closing
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, insert, select, text

from orchard import store
from orchard.errors import AccessError, InputError, StorageError
from orchard.store import (
    Observation,
    Plot,
    SensorReading,
    Station,
    User,
    WeatherReading,
    add_observation,
    alembic_config,
    all_plots,
    create_engine_for,
    get_plot,
    init_db,
    latest_weather,
    list_plots,
    plot_weather,
    read_weather,
    schema_differences,
    schema_matches_models,
    session_scope,
    update_plot,
    upsert_plots,
    upsert_sensor_readings,
    upsert_sensors,
    upsert_stations,
    upsert_users,
    upsert_weather,
)

TABLES = {"users", "image_samples", "scenes", "purchases", "applications", "advice_runs", "recommendations", "plots", "stations", "weather_readings", "sensors", "sensor_readings", "observations",
          "parameter_versions", "plot_status", "scouting_observations",
          # issue #20 (migration 0009)
          "forecast_issues", "forecast_values", "cycle_runs", "ingested_files", "notification_channels",
          "outbox",
          # issue #18 (migration 0008)
          "sign_in_failures",
          # issue #19 (migration 0010)
          "advice_reviews", "district_review_settings", "user_admin_log"}
SQUARE = {"type": "Polygon", "coordinates": [[[108.0, 30.8], [108.001, 30.8], [108.001, 30.801],
                                              [108.0, 30.801], [108.0, 30.8]]]}

USERS = [
    {"user_id": "grower_li", "display_name": "Li Ming", "role": "grower"},
    {"user_id": "grower_wang", "display_name": "Wang Fang", "role": "grower"},
    {"user_id": "agro_zhang", "display_name": "Zhang Wei", "role": "agronomist"},
    {"user_id": "ext_chen", "display_name": "Chen Jie", "role": "extension"},
    {"user_id": "admin", "display_name": "Administrator", "role": "admin"},
]
PLOTS = [
    {"plot_id": "P01", "owner_id": "grower_li", "name": "East terrace", "geometry_geojson": SQUARE,
     "area_ha": 1.1, "lon": 108.0005, "lat": 30.8005, "elevation_m": 420.0, "slope_deg": 18.0,
     "aspect_deg": 170.0, "horizon_deg": [5.0, 12.0, 3.0], "cultivar": "Fengjie 72-1 navel",
     "planting_year": 2012, "canopy_cover": 0.6, "field_capacity": 0.32, "wilting_point": 0.15,
     "irrigation": "drip", "station_id": "S1"},
    {"plot_id": "P02", "owner_id": "grower_li", "name": "River plot", "irrigation": "none",
     "station_id": None},
    {"plot_id": "P07", "owner_id": "grower_wang", "name": "North slope", "station_id": "S1"},
]
STATIONS = [
    {"station_id": "S1", "name": "Fengjie", "lat": 31.02, "lon": 109.53, "elevation_m": 299.0,
     "kind": "weather", "source": "test"},
    {"station_id": "S2", "name": "Gauge 2", "kind": "rain_gauge"},
]


def weather_frame(n_days: int = 10, stations=("S1",), variables=("tmax_c", "precip_mm"), offset: float = 0.0):
    """Daily readings, times given in China Standard Time (the store converts them to UTC)."""
    times = pd.date_range("2024-05-01", periods=n_days, freq="D", tz="Asia/Shanghai")
    rows = []
    for s in stations:
        for j, v in enumerate(variables):
            for i, t in enumerate(times):
                rows.append({"station_id": s, "resolution": "daily", "variable": v, "time_utc": t,
                             "value": 20.0 + i + 10 * j + offset, "qc_flags": 0, "source": "station"})
    return pd.DataFrame(rows)


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


PG_URL = os.environ.get("ORCHARD_TEST_PG_URL")  # e.g. postgresql+psycopg://orchard:orchard@localhost/test


def fresh_database_url(backend: str, tmp_path) -> str:
    """An empty database: a SQLite file, or the PostgreSQL test database with its schema dropped."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'orchard.db'}"
    if not PG_URL:
        pytest.skip("set ORCHARD_TEST_PG_URL to run the store tests on PostgreSQL too")
    reset = create_engine(PG_URL)
    with reset.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    reset.dispose()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    engine = init_db(fresh_database_url(request.param, tmp_path))
    with session_scope(engine) as s:
        upsert_users(s, USERS)
        upsert_stations(s, STATIONS)
        upsert_plots(s, PLOTS)
    yield engine
    engine.dispose()


# -- migrations ---------------------------------------------------------------------------------------------
def test_init_db_creates_schema_at_head(tmp_path):
    engine = init_db(f"sqlite:///{tmp_path / 'sub' / 'new.db'}")  # missing folder is created
    assert (tmp_path / "sub" / "new.db").exists()
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head == "0010"
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_migrations_equal_models():
    engine = init_db("sqlite://")
    assert schema_differences(engine) == []
    assert schema_matches_models(engine)


def test_schema_check_detects_drift():
    engine = init_db("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE plots ADD COLUMN colour TEXT")
    diffs = schema_differences(engine)
    assert any(d[0] == "remove_column" and d[2] == "plots" and d[3].name == "colour" for d in diffs)
    assert not schema_matches_models(engine)


def test_init_db_is_idempotent(engine):
    init_db(engine)
    assert count(engine, User) == len(USERS)


def test_in_memory_database_shared_across_sessions():
    engine = init_db("sqlite://")
    with session_scope(engine) as s:
        upsert_users(s, USERS[:1])
    assert count(engine, User) == 1


def test_unopenable_database(tmp_path):
    bad = tmp_path / "not_a_db.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"cannot open or migrate the database sqlite:///.*not_a_db.db: "
                                           r"file is not a database"):
        init_db(f"sqlite:///{bad}")
    with pytest.raises(StorageError, match="is not a valid SQLAlchemy URL"):
        create_engine_for("not a url")
    with pytest.raises(StorageError, match="no driver for database URL"):
        create_engine_for("nosuchdb://user:secret@host/db")


def test_orchard_db_url_respected(tmp_path, monkeypatch):
    target = tmp_path / "from_env.db"
    monkeypatch.setenv("ORCHARD_DB_URL", f"sqlite:///{target}")
    engine = init_db()
    assert engine.url.database == str(target) and target.exists()
    engine.dispose()
    monkeypatch.delenv("ORCHARD_DB_URL")
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path / "home"))
    engine = init_db()
    assert (tmp_path / "home" / "orchard.db").exists()
    engine.dispose()


# -- transactions -------------------------------------------------------------------------------------------
def test_exception_rolls_back_everything(engine):
    before = (count(engine, WeatherReading), count(engine, Station))
    with pytest.raises(RuntimeError, match="half-way"):
        with session_scope(engine) as s:
            upsert_stations(s, [{"station_id": "S9", "kind": "weather"}])
            upsert_weather(s, weather_frame(stations=("S9",)))
            assert s.scalar(select(func.count()).select_from(WeatherReading)) == 20  # written, not committed
            raise RuntimeError("import failed half-way")
    assert (count(engine, WeatherReading), count(engine, Station)) == before


def test_database_error_rolls_back_and_is_storage_error(engine):
    # The database's own words sit in the brackets (SQLite: "CHECK constraint failed: ck_users_role").
    with pytest.raises(StorageError, match=r"(?i)the database refused the change \(.*check constraint.*"
                                           r"ck_users_role.*\); nothing was saved"):
        with session_scope(engine) as s:
            upsert_weather(s, weather_frame())
            s.add(User(user_id="x", display_name="X", role="superuser"))  # bypasses validation
            s.flush()
    assert count(engine, WeatherReading) == 0
    assert count(engine, User) == len(USERS)


def test_foreign_keys_enforced(engine):
    with pytest.raises(StorageError, match="(?i)foreign key constraint"):
        with session_scope(engine) as s:
            s.execute(insert(SensorReading).values(sensor_id="nope", variable="theta", time_utc=datetime.now(
                timezone.utc), value=0.2, qc_flags=""))


# -- users, plots, stations ---------------------------------------------------------------------------------
def test_unknown_role_rejected(engine):
    with session_scope(engine) as s:
        with pytest.raises(InputError,
                           match="role 'farmer' is not one of grower, agronomist, extension, admin"):
            upsert_users(s, [{"user_id": "u", "display_name": "U", "role": "farmer"}])


def test_reference_upserts_idempotent(engine):
    with session_scope(engine) as s:
        first = [get_plot(s, "agro_zhang", p["plot_id"]) for p in PLOTS]
        created = s.get(User, "grower_li").created_utc
    with session_scope(engine) as s:
        upsert_users(s, USERS)
        upsert_stations(s, STATIONS)
        upsert_plots(s, PLOTS)
    assert (count(engine, User), count(engine, Plot), count(engine, Station)) == (5, 3, 2)
    with session_scope(engine) as s:
        again = [get_plot(s, "agro_zhang", p["plot_id"]) for p in PLOTS]
        assert s.get(User, "grower_li").created_utc == created
    for a, b in zip(first, again):
        assert {k: v for k, v in a.items() if k != "updated_utc"} == \
            {k: v for k, v in b.items() if k != "updated_utc"}
    p1 = again[0]
    assert p1["horizon_deg"] == [5.0, 12.0, 3.0] and '"Polygon"' in p1["geometry_geojson"]
    assert p1["updated_utc"].tzinfo == timezone.utc


def test_plot_update_by_import_keeps_unlisted_columns(engine):
    with session_scope(engine) as s:
        upsert_plots(s, [{"plot_id": "P01", "owner_id": "grower_li", "canopy_cover": 0.7}])
        plot = get_plot(s, "grower_li", "P01")
    assert plot["canopy_cover"] == 0.7 and plot["cultivar"] == "Fengjie 72-1 navel"


def test_plot_never_reassigned(engine):
    with session_scope(engine) as s:
        with pytest.raises(AccessError, match="plot P07 belongs to grower_wang, not grower_li"):
            upsert_plots(s, [{"plot_id": "P07", "owner_id": "grower_li", "name": "mine now"}])
    with session_scope(engine) as s:
        assert get_plot(s, "agro_zhang", "P07")["owner_id"] == "grower_wang"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"plot_id": "P09", "owner_id": "ghost"}, "owner 'ghost' is not a user"),
        ({"plot_id": "P09", "owner_id": "grower_li", "slope_deg": 95.0}, r"plot P09\): slope_deg = 95.0 is "
                                                                         r"outside 0.0–90.0"),
        ({"plot_id": "P09", "owner_id": "grower_li", "canopy_cover": 60}, "canopy_cover = 60 is outside"),
        ({"plot_id": "P09", "owner_id": "grower_li", "irrigation": "flood"},
         "irrigation 'flood' is not one of"),
        ({"plot_id": "P09", "owner_id": "grower_li", "field_capacity": 0.1, "wilting_point": 0.2},
         "wilting_point 0.2 is not below field_capacity 0.1"),
        ({"plot_id": "P09", "owner_id": "grower_li", "colour": "red"}, "unknown column 'colour'"),
        ({"owner_id": "grower_li"}, "'plot_id' is missing"),
    ],
)
def test_plot_validation(engine, row, message):
    with session_scope(engine) as s:
        with pytest.raises(InputError, match=message):
            upsert_plots(s, [row])


def test_plots_from_dataframe_with_geometry(engine):
    shapely = pytest.importorskip("shapely.geometry")
    frame = pd.DataFrame([{"plot_id": "P10", "owner_id": "grower_wang", "geometry": shapely.shape(SQUARE),
                           "area_ha": np.float64(1.0), "planting_year": 2015.0, "elevation_m": np.nan}])
    with session_scope(engine) as s:
        upsert_plots(s, frame)
        plot = get_plot(s, "grower_wang", "P10")
    assert plot["geometry_geojson"].startswith('{"type":"Polygon"')
    assert plot["planting_year"] == 2015 and plot["elevation_m"] is None


# -- weather ------------------------------------------------------------------------------------------------
def test_weather_upsert_idempotent_and_overwrites(engine):
    df = weather_frame()
    with session_scope(engine) as s:
        assert upsert_weather(s, df) == 20
        first = read_weather(s, ["S1"], "daily")
    with session_scope(engine) as s:
        upsert_weather(s, df)
        again = read_weather(s, ["S1"], "daily")
    assert count(engine, WeatherReading) == 20
    pd.testing.assert_frame_equal(first, again)
    # a later batch overwrites values (and keeps the count)
    changed = df.copy()
    changed.loc[3, "value"] = -5.0
    changed.loc[4, "value"] = np.nan
    changed.loc[3, "qc_flags"] = 4
    with session_scope(engine) as s:
        upsert_weather(s, changed)
        out = read_weather(s, "S1", "daily")
    assert count(engine, WeatherReading) == 20
    tmax = out[out.variable == "tmax_c"].reset_index(drop=True)
    assert tmax.loc[3, "value"] == -5.0 and tmax.loc[3, "qc_flags"] == 4
    assert np.isnan(tmax.loc[4, "value"])
    assert tmax.loc[5, "value"] == 25.0


def test_weather_times_stored_in_utc(engine):
    with session_scope(engine) as s:
        upsert_weather(s, weather_frame(n_days=1, variables=("tmax_c",)))
        out = read_weather(s, ["S1"], "daily")
        stored = s.scalar(select(WeatherReading.time_utc))
        raw = s.connection().exec_driver_sql("SELECT time_utc FROM weather_readings").scalar()
    # 2024-05-01 00:00 in China (UTC+8) is 2024-04-30 16:00 UTC
    assert out["time_utc"].iloc[0] == pd.Timestamp("2024-04-30T16:00:00Z")
    assert str(out["time_utc"].dtype).endswith("UTC]")
    assert stored == datetime(2024, 4, 30, 16, tzinfo=timezone.utc)
    if engine.dialect.name == "sqlite":
        assert raw == "2024-04-30 16:00:00.000000"  # naive UTC text on SQLite, as documented
    else:  # TIMESTAMPTZ on PostgreSQL
        assert raw == datetime(2024, 4, 30, 16, tzinfo=timezone.utc)


def test_bulk_path_matches_orm_storage(engine):
    """Rows written through the ORM and by the bulk upsert must conflict (same key text)."""
    t = datetime(2024, 5, 1, 3, 30, 15, 250000, tzinfo=timezone(timedelta(hours=8)))
    with session_scope(engine) as s:
        s.add(WeatherReading(station_id="S1", resolution="hourly", variable="t_c", time_utc=t, value=1.0))
    df = pd.DataFrame({"station_id": ["S1"], "resolution": ["hourly"], "variable": ["t_c"],
                       "time_utc": [pd.Timestamp(t)], "value": [2.0]})
    with session_scope(engine) as s:
        upsert_weather(s, df)
        rows = s.execute(select(WeatherReading.time_utc, WeatherReading.value)).all()
    assert rows == [(t.astimezone(timezone.utc), 2.0)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(time_utc=d.time_utc.dt.tz_localize(None)), "time_utc has no time zone"),
        (lambda d: d.assign(time_utc=d.time_utc.astype(str).str[:19]), "time_utc has no time zone"),
        (lambda d: d.assign(station_id="S404"), "station 'S404' is not in the database; import the stations"),
        (lambda d: d.assign(resolution="weekly"), "resolution 'weekly' is not daily or hourly"),
        (lambda d: pd.concat([d, d.iloc[[0]]]),
         r"the key \(station_id=S1, resolution=daily, variable=tmax_c, time_utc=.*\) appears more than once"),
        (lambda d: d.drop(columns="value"), "column 'value' is missing"),
        (lambda d: d.assign(value="warm"), "column 'value' holds values that are not numbers"),
        (lambda d: d.assign(value=np.inf), "infinite values"),
        (lambda d: d.assign(extra=1), "unknown column 'extra'"),
    ],
)
def test_weather_bad_input(engine, change, message):
    with session_scope(engine) as s:
        with pytest.raises(InputError, match=message):
            upsert_weather(s, change(weather_frame()))
    assert count(engine, WeatherReading) == 0


def test_weather_iso_strings_with_offsets(engine):
    df = weather_frame(n_days=2, variables=("tmax_c",))
    df["time_utc"] = ["2024-05-01T00:00:00+08:00", "2024-05-01T16:00:00Z"]
    with session_scope(engine) as s:
        upsert_weather(s, df)
        out = read_weather(s, ["S1"], "daily")
    assert out["time_utc"].tolist() == [pd.Timestamp("2024-04-30T16:00Z"), pd.Timestamp("2024-05-01T16:00Z")]


def test_read_weather_filters(engine):
    with session_scope(engine) as s:
        upsert_weather(s, weather_frame(stations=("S1", "S2")))
        hourly = weather_frame(n_days=3).assign(resolution="hourly")
        upsert_weather(s, hourly)
        window = read_weather(s, ["S2"], "daily", start="2024-05-03T00:00+08:00",
                              end="2024-05-05T00:00+08:00")
        assert list(window.columns) == ["station_id", "resolution", "variable", "time_utc", "value",
                                        "qc_flags", "source"]
        assert set(window.station_id) == {"S2"} and set(window.resolution) == {"daily"}
        assert len(window) == 2 * 3  # two variables, three days, bounds inclusive
        assert len(read_weather(s, ["S1", "S2"], "daily")) == 40
        assert len(read_weather(s, "S1", "hourly")) == 6
        assert read_weather(s, ["S404"], "daily").empty
        with pytest.raises(InputError, match="start '2024-05-03' has no time zone"):
            read_weather(s, ["S1"], "daily", start="2024-05-03")


def test_latest_weather(engine):
    df = weather_frame(n_days=5)
    df.loc[(df.variable == "precip_mm") & (df.time_utc == df.time_utc.max()), "value"] = np.nan
    with session_scope(engine) as s:
        upsert_weather(s, df)
        latest = latest_weather(s, "S1")
        assert latest_weather(s, "S1", "hourly") == {}
    assert latest == {
        "precip_mm": (datetime(2024, 5, 3, 16, tzinfo=timezone.utc), 33.0),  # last non-missing value
        "tmax_c": (datetime(2024, 5, 4, 16, tzinfo=timezone.utc), 24.0),
    }


def test_latest_weather_before_a_day_is_that_days_weather_not_the_records_end(engine):
    """A past run's page shows the weather of its issue day (issue #19: 2017-12-31 beside 2016 advice)."""
    with session_scope(engine) as s:
        upsert_weather(s, weather_frame(n_days=5))  # 1-5 May 2024, China Standard Time
        before_4_may = datetime(2024, 5, 3, 16, tzinfo=timezone.utc)  # 4 May 00:00 in China
        latest = latest_weather(s, "S1", before=before_4_may)
        assert latest_weather(s, "S1", before=datetime(2024, 4, 1, tzinfo=timezone.utc)) == {}
    assert latest == {"precip_mm": (datetime(2024, 5, 2, 16, tzinfo=timezone.utc), 32.0),
                      "tmax_c": (datetime(2024, 5, 2, 16, tzinfo=timezone.utc), 22.0)}


# -- sensors ------------------------------------------------------------------------------------------------
def test_sensor_readings_upsert(engine):
    with session_scope(engine) as s:
        upsert_sensors(s, [{"sensor_id": "SM1", "plot_id": "P01", "kind": "soil_moisture", "depth_m": 0.2,
                            "install_date": "2024-03-01"}])
    times = pd.date_range("2024-05-01", periods=24, freq="h", tz="UTC")
    df = pd.DataFrame({"sensor_id": "SM1", "variable": "theta_m3_m3", "time_utc": times,
                       "value": np.linspace(0.2, 0.3, 24), "raw_value": np.linspace(20, 30, 24),
                       "qc_flags": "", "ingest_batch": "b1"})
    df.loc[5, ["value", "qc_flags"]] = [np.nan, "D06"]  # a spike: cleaned value dropped, raw value kept
    with session_scope(engine) as s:
        assert upsert_sensor_readings(s, df) == 24
    with session_scope(engine) as s:
        upsert_sensor_readings(s, df)
    assert count(engine, SensorReading) == 24
    later = df.assign(ingest_batch="b2")
    later.loc[0, "value"] = 0.25
    with session_scope(engine) as s:
        upsert_sensor_readings(s, later)
        rows = s.execute(select(SensorReading).order_by(SensorReading.time_utc)).scalars().all()
    assert len(rows) == 24
    assert rows[0].value == 0.25 and rows[0].ingest_batch == "b2"
    assert rows[5].value is None and rows[5].qc_flags == "D06"
    assert rows[5].raw_value == pytest.approx(20 + 50 / 23)
    assert rows[1].qc_flags == "" and rows[1].time_utc == datetime(2024, 5, 1, 1, tzinfo=timezone.utc)
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="sensor 'SM9' is not in the database"):
            upsert_sensor_readings(s, df.assign(sensor_id="SM9"))
        with pytest.raises(InputError, match="plot 'P99' is not in the database"):
            upsert_sensors(s, [{"sensor_id": "X", "plot_id": "P99", "kind": "soil_moisture"}])


# -- scoped access ------------------------------------------------------------------------------------------
def test_grower_sees_only_own_plots(engine):
    with session_scope(engine) as s:
        assert [p["plot_id"] for p in list_plots(s, "grower_li")] == ["P01", "P02"]
        assert [p["plot_id"] for p in list_plots(s, "grower_wang")] == ["P07"]
        assert get_plot(s, "grower_li", "P01")["owner_id"] == "grower_li"
        with pytest.raises(AccessError, match="plot P07 is not one of yours"):
            get_plot(s, "grower_li", "P07")
        with pytest.raises(AccessError, match="plot P99 is not one of yours"):
            get_plot(s, "grower_li", "P99")  # missing or another's: the same refusal (issue #18)
        with pytest.raises(InputError, match="plot P99 does not exist"):
            get_plot(s, "agro_zhang", "P99")
        with pytest.raises(AccessError, match="unknown user 'mallory'"):
            list_plots(s, "mallory")
        with pytest.raises(AccessError, match="unknown user 'mallory'"):
            get_plot(s, "mallory", "P01")
        with pytest.raises(AccessError, match="no user given"):
            list_plots(s, None)
        # the operator's unscoped listing, for the CLI and batch jobs
        assert [(p["plot_id"], p["owner_id"]) for p in all_plots(s)] == [
            ("P01", "grower_li"), ("P02", "grower_li"), ("P07", "grower_wang")]


def test_agronomist_admin_extension_read(engine):
    with session_scope(engine) as s:
        assert [p["plot_id"] for p in list_plots(s, "agro_zhang")] == ["P01", "P02", "P07"]
        assert [p["plot_id"] for p in list_plots(s, "admin")] == ["P01", "P02", "P07"]
        ext = list_plots(s, "ext_chen")
        assert [p["plot_id"] for p in ext] == ["P01", "P02", "P07"]
        assert all(p["owner_id"] is None for p in ext)
        assert get_plot(s, "ext_chen", "P07")["owner_id"] is None
        assert get_plot(s, "agro_zhang", "P07")["owner_id"] == "grower_wang"
    # hiding the owner from extension users must not touch the stored row
    with session_scope(engine) as s:
        assert s.get(Plot, "P07").owner_id == "grower_wang"


def test_observation_write_rights(engine):
    with session_scope(engine) as s:
        obs_id = add_observation(s, "grower_li", "P01", observed_on="2024-09-15", kind="fruit_size",
                                 variable="fruit_diameter_mm", value=58.5, unit="mm")
        add_observation(s, "agro_zhang", "P07", observed_on=date(2024, 9, 16), kind="brix",
                        variable="tss_brix", value=10.2, unit="degBrix")
        with pytest.raises(AccessError, match="plot P07 is not one of yours"):
            add_observation(s, "grower_li", "P07", observed_on="2024-09-15", kind="other", variable="x")
        with pytest.raises(AccessError, match="user 'ext_chen' is an extension with read-only access"):
            add_observation(s, "ext_chen", "P01", observed_on="2024-09-15", kind="other", variable="x")
        with pytest.raises(AccessError, match="user 'admin' is an admin with read-only access"):
            add_observation(s, "admin", "P01", observed_on="2024-09-15", kind="other", variable="x")
        with pytest.raises(InputError, match="kind 'colour' is not one of"):
            add_observation(s, "grower_li", "P01", observed_on="2024-09-15", kind="colour", variable="x")
        with pytest.raises(InputError, match="observed_on '15/09/2024' is not a date"):
            add_observation(s, "grower_li", "P01", observed_on="15/09/2024", kind="other", variable="x")
    with session_scope(engine) as s:
        obs = s.get(Observation, obs_id)
        assert (obs.plot_id, obs.observer_id, obs.observed_on, obs.value) == ("P01", "grower_li",
                                                                             date(2024, 9, 15), 58.5)
    assert count(engine, Observation) == 2


def test_update_plot_rights(engine):
    with session_scope(engine) as s:
        assert update_plot(s, "grower_li", "P01", {"irrigation": "sprinkler"})["irrigation"] == "sprinkler"
        assert update_plot(s, "agro_zhang", "P07", {"root_depth_m": 0.8})["root_depth_m"] == 0.8
        with pytest.raises(AccessError, match="plot P07 is not one of yours"):
            update_plot(s, "grower_li", "P07", {"irrigation": "drip"})
        with pytest.raises(AccessError, match="read-only access"):
            update_plot(s, "ext_chen", "P01", {"irrigation": "drip"})
        with pytest.raises(InputError, match="'owner_id' cannot be changed here"):
            update_plot(s, "grower_li", "P01", {"owner_id": "grower_wang"})
        with pytest.raises(InputError, match="slope_deg = -3 is outside"):
            update_plot(s, "grower_li", "P01", {"slope_deg": -3})
    with session_scope(engine) as s:
        assert s.get(Plot, "P01").irrigation == "sprinkler" and s.get(Plot, "P07").irrigation is None


def test_plot_weather_scoped(engine):
    with session_scope(engine) as s:
        upsert_weather(s, weather_frame())
        assert len(plot_weather(s, "grower_li", "P01")) == 20
        assert len(plot_weather(s, "ext_chen", "P07", start="2024-05-05T00:00+08:00")) == 12
        with pytest.raises(AccessError, match="plot P07 is not one of yours"):
            plot_weather(s, "grower_li", "P07")
        with pytest.raises(InputError, match="plot P02 has no station_id"):
            plot_weather(s, "grower_li", "P02")


def test_raw_sqlite_sees_committed_data_only(engine, tmp_path):
    """WAL readers outside SQLAlchemy see committed rows and never a half-finished import."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite WAL behaviour")
    path = engine.url.database
    with session_scope(engine) as s:
        upsert_weather(s, weather_frame())
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("SELECT count(*) FROM weather_readings").fetchone()[0] == 0
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM weather_readings").fetchone()[0] == 20
    with session_scope(engine) as s:
        assert s.execute(text("SELECT count(*) FROM plots")).scalar() == 3


def test_reading_tables_lose_the_rowid_in_migration_0003_and_keep_their_rows(tmp_path):
    """Upgrading a 0002 database with readings keeps them; downgrading restores the rowid tables."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
        conn.exec_driver_sql("INSERT INTO stations (station_id, name, kind) VALUES ('s1', 'one', 'weather')")
        conn.exec_driver_sql("INSERT INTO weather_readings (station_id, resolution, variable, time_utc, value, "
                             "qc_flags) VALUES ('s1', 'daily', 'tmax_c', '2016-01-01 00:00:00', 12.5, 0)")

    def ddl(conn, table):
        return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name=?", (table,)).scalar()

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
        assert ddl(conn, "weather_readings").endswith("WITHOUT ROWID")
        assert ddl(conn, "sensor_readings").endswith("WITHOUT ROWID")
        assert conn.exec_driver_sql("SELECT value FROM weather_readings").scalar() == 12.5
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
        assert not ddl(conn, "weather_readings").endswith("WITHOUT ROWID")
        assert conn.exec_driver_sql("SELECT value FROM weather_readings").scalar() == 12.5


def test_passwords_are_hashed_and_checked(tmp_path):
    engine = store.init_db(f"sqlite:///{tmp_path / 'p.db'}")
    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": "li", "display_name": "Li", "role": "grower"}])
        store.set_password(session, "li", "correct horse")
    with store.session_scope(engine) as session:
        stored = session.get(store.User, "li").password_hash
        assert "correct horse" not in stored and stored.startswith("scrypt$16384$8$1$")
        assert store.authenticate(session, "li", "correct horse")["role"] == "grower"
        assert store.authenticate(session, "li", "correct hors") is None
        assert store.authenticate(session, "nobody", "correct horse") is None
        with pytest.raises(InputError, match="at least 8 characters"):
            store.set_password(session, "li", "short")
        with pytest.raises(InputError, match="unknown user 'zhang'"):
            store.set_password(session, "zhang", "long enough")
    # Two hashes of one password differ (salted).
    assert store.hash_password("same password") != store.hash_password("same password")
