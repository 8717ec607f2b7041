"""The sample district: users, plots with terrain, weather stations and readings, core parameters.

``orchard init --sample`` calls :func:`load_sample`; the app and the tests use the same function, so the
first README command shows exactly what the tests check. Loading twice changes nothing (upserts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from orchard import ingest, params, store, terrain
from orchard.config import SAMPLE_DEM, sample_data_dir
from orchard.errors import InputError
from orchard.plots import read_plots

#: Sample users: three growers (who own the sample plots), an agronomist, an extension officer, an admin.
SAMPLE_USERS = [
    {"user_id": "grower_li", "display_name": "李明", "role": "grower"},
    {"user_id": "grower_wang", "display_name": "王芳", "role": "grower"},
    {"user_id": "grower_chen", "display_name": "陈建国", "role": "grower"},
    {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"},
    {"user_id": "extension_county", "display_name": "县农技推广站", "role": "extension"},
    {"user_id": "admin", "display_name": "Administrator", "role": "admin"},
]

SAMPLE_DISTRICT = "长汀 Changting (Fujian)"

#: Password of every sample account (documented in the README). Demo only: change it, or remove the
#: sample users, before anyone else can reach the app (``orchard users passwd USER``).
SAMPLE_PASSWORD = "citrus-demo"


def sample_paths(root: Path | None = None) -> dict[str, Path]:
    """Paths of the sample files (see ``sample_data/SOURCES.md``)."""
    root = Path(root) if root else sample_data_dir()
    paths = {
        "plots": root / "plots.geojson",
        "dem": root / SAMPLE_DEM,
        "meteo": root / "weather" / "changting_58911_meteo_daily.csv",
        "rain": root / "weather" / "changting_hetian_81502750_pcp_daily.csv",
        "hourly": root / "weather" / "chengdu_hourly_2010_2015.csv",
    }
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise InputError(f"sample data not found ({missing[0]}); run from a source checkout or set "
                         "ORCHARD_SAMPLE_DATA to the sample_data folder.")
    return paths


def load_sample(engine: Engine, progress: Callable[[str], None] = lambda step: None) -> dict[str, int]:
    """Load the sample district into the database in one transaction; return counts of what it holds."""
    paths = sample_paths()
    progress("plots and terrain")
    plots = read_plots(paths["plots"])
    with store.session_scope(engine) as session:  # an agronomist's stored values win over the shipped ones
        core = params.current_core_parameters(session)
    plots = plots.with_terrain(terrain.plot_terrain(
        plots.frame.reset_index(), paths["dem"],
        search_distance_m=core["terrain.horizon_search_distance"],
        observer_height_m=core["terrain.observer_height"]))
    progress("daily weather (Changting)")
    daily, _ = ingest.read_and_check_weather(paths["meteo"], format="changting", rain_path=paths["rain"],
                                             parameters=core)
    progress("hourly weather (Chengdu)")
    hourly, _ = ingest.read_and_check_weather(paths["hourly"], format="uci", parameters=core)
    progress("database")
    with store.session_scope(engine) as session:  # one transaction: all of the sample or nothing
        store.upsert_users(session, SAMPLE_USERS)
        for user in SAMPLE_USERS:  # only accounts that have none yet: a changed password is kept
            if session.get(store.User, user["user_id"]).password_hash is None:
                store.set_password(session, user["user_id"], SAMPLE_PASSWORD)
        store.upsert_plots(session, plots.to_records(given_only=True))
        ingest.store_weather(session, daily)
        ingest.store_weather(session, hourly)
        if not params.list_versions(session, core.name):
            params.save_version(session, core, author="admin", comment="sample district defaults")
    return {"plots": len(plots), "daily_days": int(daily.sizes["time"]), "hourly_hours": int(hourly.sizes["time"])}
