"""The sample district: users, plots with terrain, weather stations and readings, core parameters.

``orchard init --sample`` calls :func:`load_sample`; the app and the tests use the same function, so the
first README command shows exactly what the tests check. Loading twice changes nothing (upserts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from orchard import params, store, terrain, weather
from orchard.config import sample_data_dir
from orchard.errors import InputError
from orchard.plots import read_plots
from orchard.sources import station_csv

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


def sample_paths(root: Path | None = None) -> dict[str, Path]:
    """Paths of the sample files (see ``sample_data/SOURCES.md``)."""
    root = Path(root) if root else sample_data_dir()
    paths = {
        "plots": root / "plots.geojson",
        "dem": root / "dem" / "changting_youwuzhen_dem30m.tif",
        "meteo": root / "weather" / "changting_58911_meteo_daily.csv",
        "rain": root / "weather" / "changting_hetian_81502750_pcp_daily.csv",
        "hourly": root / "weather" / "chengdu_hourly_2010_2015.csv",
    }
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise InputError(f"sample data not found ({missing[0]}); run from a source checkout or set "
                         "ORCHARD_SAMPLE_DATA to the sample_data folder.")
    return paths


def weather_records(ds, resolution: str) -> tuple[list[dict], pd.DataFrame]:
    """Station rows and long-format readings of a weather dataset, ready for :mod:`orchard.store`."""
    stations = [
        {"station_id": str(sid), "name": str(ds.attrs.get("station_name", sid)),
         "lat": float(ds["lat"].sel(station=sid)), "lon": float(ds["lon"].sel(station=sid)),
         "elevation_m": float(ds["elevation_m"].sel(station=sid)),
         "kind": "weather", "source": str(ds.attrs.get("source", ""))}
        for sid in ds["station"].values
    ]
    readings = weather.weather_to_long(ds)
    readings["resolution"] = resolution
    readings["source"] = str(ds.attrs.get("source", ""))
    return stations, readings


def load_sample(engine: Engine, progress: Callable[[str], None] = lambda step: None) -> dict[str, int]:
    """Load the sample district into the database in one transaction; return counts of what it holds."""
    paths = sample_paths()
    progress("plots and terrain")
    plots = read_plots(paths["plots"])
    core = params.core_parameters()
    plots = plots.with_terrain(terrain.plot_terrain(
        plots.frame.reset_index(), paths["dem"],
        search_distance_m=core["terrain.horizon_search_distance"],
        observer_height_m=core["terrain.observer_height"]))
    progress("daily weather (Changting)")
    daily, _ = weather.qc(station_csv.read_changting_daily(paths["meteo"], paths["rain"]))
    progress("hourly weather (Chengdu)")
    hourly, _ = weather.qc(station_csv.read_uci_hourly(paths["hourly"]))
    progress("database")
    with store.session_scope(engine) as session:
        store.upsert_users(session, SAMPLE_USERS)
        store.upsert_plots(session, plots.to_records())
        for ds, resolution in ((daily, "daily"), (hourly, "hourly")):
            stations, readings = weather_records(ds, resolution)
            store.upsert_stations(session, stations)
            store.upsert_weather(session, readings)
        params.save_version(session, core, author="admin", comment="sample district defaults")
    return {"plots": len(plots), "daily_days": int(daily.sizes["time"]), "hourly_hours": int(hourly.sizes["time"])}
