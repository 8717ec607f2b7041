"""The belt's CMA stations (orchard/cma.py, `orchard stations add --cma`): positions from the relocation
history, one sentence for an unknown id, nothing stored on refusal."""

from __future__ import annotations

import pandas as pd
import pytest

from orchard import cma, config, store
from orchard.errors import InputError


def test_degrees_from_the_cma_dddmm_form():
    assert cma.degrees_from_dm(10929) == pytest.approx(109 + 29 / 60)
    assert cma.degrees_from_dm(3104) == pytest.approx(31 + 4 / 60)
    assert cma.degrees_from_dm(10900) == 109.0


def test_the_station_list_position_is_one_of_its_relocation_periods(sample_dir):
    """The list's lon/lat/alt are those of its period ``tag``: converting the relocation file's DDDMM and
    10-m units must give them back (a check of both conversions on the real data). The two upstream files
    are different versions (st_met2481 and V2018): 4 of 106 stations differ by one to six arc-minutes or
    20 m in that period, none by more."""
    folder = sample_dir / cma.CMA_FOLDER
    stations = pd.read_csv(folder / cma.STATION_FILE, dtype={"site": str})
    exact, worst_deg, worst_m = 0, 0.0, 0.0
    for row in stations.itertuples():
        period = cma.cma_station(row.site)["relocations"][int(row.tag) - 1]
        d_deg = max(abs(period["lat"] - row.lat), abs(period["lon"] - row.lon))
        d_m = abs(period["elevation_m"] - row.alt)
        exact += d_deg < 0.01 and d_m < 0.5  # within the rounding of the list's decimal degrees
        worst_deg, worst_m = max(worst_deg, d_deg), max(worst_m, d_m)
    assert len(stations) == 106 and exact == 102
    assert worst_deg <= 0.11 and worst_m <= 20.0


def test_fengjie_is_where_it_stands_now_with_its_history():
    station = cma.cma_station("57348")
    assert station["name"] == "奉节 Fengjie" and station["province"] == "重庆"
    moves = station["relocations"]
    assert len(moves) == 6 and moves[-1]["start"] == "2018-01-01"
    # the latest period (109°29' E, 31°02' N, 299.8 m), not the list's 1978-2002 site at 607.3 m
    assert (station["lat"], station["lon"], station["elevation_m"]) == (moves[-1]["lat"], moves[-1]["lon"],
                                                                        moves[-1]["elevation_m"])
    assert station["elevation_m"] == pytest.approx(299.8)
    assert station["lon"] == pytest.approx(109.4833, abs=1e-4)
    assert [m["start"] for m in moves] == sorted(m["start"] for m in moves)


def test_an_unknown_id_is_one_sentence():
    with pytest.raises(InputError, match=r"station 12345 is not in the CMA list .*check the id"):
        cma.cma_station(12345)


def test_stations_add_stores_the_station_and_refuses_an_unknown_id(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    code, out, _ = run_cli(["stations", "add", "--cma", "57348"])
    assert code in (0, None) and "奉节 Fengjie" in out and "5 relocations" in out
    code, _, err = run_cli(["stations", "add", "--cma", "58911"])  # Changting, Fujian: outside the belt box
    assert code == 1 and err.count("\n") == 1 and "58911 is not in the CMA list" in err
    with store.session_scope(store.init_db(config.database_url())) as session:
        rows = store.list_stations(session)
    assert [r["station_id"] for r in rows] == ["57348"]
    assert rows[0]["elevation_m"] == pytest.approx(299.8) and "6 location periods" in rows[0]["source"]
