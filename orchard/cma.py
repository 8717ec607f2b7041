"""The CMA national surface stations of the Three Gorges citrus belt: ids, names, positions, elevations and
their relocations, so an operator adds a county station by its id (``orchard stations add --cma 57348``).

Data: ``sample_data/cma_stations/`` (see its ``SOURCE.txt`` and ``sample_data/SOURCES.md``), the CMA station
list of the R package tidymet (GPL-3): one row per station in 105.5–111.5 E, 28.5–32.5 N, and one row per
location period of each station 1951–2020. The relocation file gives positions as DDDMM / DDMM integers and
elevations in units of 10 m; the station list's ``lon``/``lat``/``alt`` are those of its longest period, not
always the current one. The station's position used here is its **latest** location period (where the
instrument stands now), and the history is kept with it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from orchard.config import sample_data_dir
from orchard.errors import InputError

__all__ = ["CMA_FOLDER", "STATION_FILE", "RELOCATION_FILE", "cma_station", "station_record",
           "degrees_from_dm"]

CMA_FOLDER = Path("cma_stations")
STATION_FILE = "cma_stations_region_105.5-111.5E_28.5-32.5N.csv"
RELOCATION_FILE = "cma_station_relocations_region.csv"

#: English names of the belt's county stations (pinyin, from the list's SOURCE.txt); others keep only the
#: Chinese name.
ENGLISH_NAMES = {
    "57338": "Kaizhou", "57339": "Yunyang", "57345": "Wuxi", "57348": "Fengjie", "57349": "Wushan",
    "57431": "Tiancheng", "57432": "Wanzhou", "57437": "Zhongxian", "57426": "Liangping",
    "57520": "Changshou", "57517": "Jiangjin", "57516": "Shapingba", "57333": "Chengkou", "57355": "Badong",
    "57447": "Enshi", "57461": "Yichang",
}
_TYPES_EN = {"基准站": "reference station", "基本站": "basic station", "一般站": "ordinary station"}


def degrees_from_dm(value) -> float:
    """Decimal degrees from the CMA DDDMM / DDMM integer form (10929 -> 109° 29' = 109.4833°)."""
    value = int(value)
    return value // 100 + (value % 100) / 60.0


@cache
def _tables(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = Path(folder)
    paths = (root / STATION_FILE, root / RELOCATION_FILE)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"the CMA station list is not found ({missing[0]}); run from a source checkout or "
                         "set ORCHARD_SAMPLE_DATA to the sample_data folder.")
    stations = pd.read_csv(paths[0], dtype={"site": str})
    moves = pd.read_csv(paths[1], dtype={"site": str})
    return stations, moves


def cma_station(station_id, folder: Path | None = None) -> dict:
    """One CMA station with its current position and its relocation history.

    Parameters
    ----------
    station_id : str or int
        The five-digit WMO/CMA id, e.g. ``57348`` (Fengjie).
    folder : path, optional
        Folder of the two CSV files (default ``sample_data/cma_stations``).

    Returns
    -------
    dict
        ``station_id``, ``name`` ("奉节 Fengjie"), ``province``, ``station_type`` (English),
        ``lat``, ``lon`` [deg] and ``elevation_m`` [m] of the latest location period, ``record_start``,
        ``record_end``, and ``relocations``: a list of periods (``start``, ``end``, ``lat``, ``lon``,
        ``elevation_m``), oldest first.

    Raises
    ------
    InputError
        The id is not a station of the list.
    """
    sid = str(station_id).strip()
    stations, moves = _tables(str(folder or sample_data_dir() / CMA_FOLDER))
    row = stations[stations["site"] == sid]
    if row.empty:
        raise InputError(f"station {sid} is not in the CMA list of the Three Gorges belt ({len(stations)} "
                         f"stations in 105.5–111.5 E, 28.5–32.5 N); check the id (Fengjie is 57348).")
    row = row.iloc[0]
    history = moves[moves["site"] == sid].sort_values("period_date_begin")
    periods = [{"start": str(m.period_date_begin), "end": str(m.period_date_end),
                "lat": round(degrees_from_dm(m.lat), 4), "lon": round(degrees_from_dm(m.lon), 4),
                "elevation_m": round(float(m.alt) * 10.0, 1)} for m in history.itertuples()]
    current = periods[-1] if periods else {"lat": float(row["lat"]), "lon": float(row["lon"]),
                                           "elevation_m": float(row["alt"])}
    english = ENGLISH_NAMES.get(sid)
    return {
        "station_id": sid,
        "name": f"{row['name']} {english}" if english else str(row["name"]),
        "province": str(row["prov"]),
        "station_type": _TYPES_EN.get(str(row["type"]), str(row["type"])),
        "lat": current["lat"], "lon": current["lon"], "elevation_m": current["elevation_m"],
        "record_start": str(row["date_begin"]), "record_end": str(row["date_end"]),
        "relocations": periods,
    }


def station_record(station: dict) -> dict:
    """The ``stations`` table row of a :func:`cma_station` result (kind ``weather``; the source says where
    the position comes from and how often the station moved)."""
    n = len(station["relocations"])
    since = station["relocations"][-1]["start"] if n else station["record_start"]
    return {"station_id": station["station_id"], "name": station["name"], "lat": station["lat"],
            "lon": station["lon"], "elevation_m": station["elevation_m"], "kind": "weather",
            "source": f"CMA station list (tidymet, GPL-3): location since {since}, {n} location periods"}
