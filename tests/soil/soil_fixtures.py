"""Fixtures of the soil tests (imported by the test modules; not a conftest.py, so the top-level
``conftest`` module that other tests import by name is not shadowed)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SENSORS = ROOT / "sample_data" / "sensors"


@pytest.fixture(scope="session")
def sensor_dir() -> Path:
    return SENSORS


@pytest.fixture
def soil_db():
    """In-memory database holding the sample users, plots (no terrain) and sensors."""
    from monitoring.soil import ingest
    from orchard import store
    from orchard.plots import read_plots
    from orchard.sample import SAMPLE_USERS

    engine = store.init_db("sqlite://")
    with store.session_scope(engine) as session:
        store.upsert_users(session, SAMPLE_USERS)
        store.upsert_plots(session, read_plots(ROOT / "sample_data" / "plots.geojson").to_records())
        ingest.register_sensors(session, ingest.read_registry(SENSORS / "sensors.csv"))
    yield engine
    engine.dispose()


def readings(engine):
    from monitoring.soil.ingest import read_readings
    from orchard import store

    with store.session_scope(engine) as session:
        df = read_readings(session)
    return (
        df.drop(columns="ingest_batch")
        .sort_values(["sensor_id", "variable", "time_utc"])
        .reset_index(drop=True)
    )
