"""A run's rows go into SQLite through the driver's executemany (orchard.results._insert_rows): what is read
back must be exactly what SQLAlchemy's typed Core insert stores (dates, JSON, booleans, NULLs)."""

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from orchard import results, store


def _engine(tmp_path, name):
    engine = store.init_db(f"sqlite:///{tmp_path / name}")
    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": "g", "role": "grower", "display_name": "G"}])
        store.upsert_plots(session, [{"plot_id": "P1", "name": "p", "owner_id": "g", "cultivar": "valencia",
                                      "lat": 30.9, "lon": 108.7, "area_ha": 1.0,
                                      "geometry": {"type": "Point", "coordinates": [108.7, 30.9]}}])
        store.store_advice_run(session, {"run_id": "r1", "issued_on": date(2016, 7, 15)}, [])
    return engine


ROWS = {
    store.PlotStatus.__table__: [
        {"run_id": "r1", "plot_id": "P1", "issued_on": date(2016, 7, 15), "results_chunk": 0, "stage": 4,
         "bloom_date": date(2016, 4, 2), "fruit_diameter_mm": 41.5, "brix": None, "maturity_p50": None,
         "pests": {"mites": {"15d": {"level": 3, "probability": 0.4}}}, "irrigate": True, "alerts": None,
         "actions": [{"topic": "spray", "severity": 4}], "ks": np.float64(0.8), "members_mature": np.int64(5)},
    ],
    store.RecommendationRecord.__table__: [
        {"run_id": "r1", "plot_id": "P1", "issued_on": date(2016, 7, 15), "valid_from": date(2016, 7, 15),
         "valid_to": date(2016, 7, 29), "topic": "spray", "severity": 4, "action_key": "spray_now",
         "action_numbers": {"deadline": "2016-07-18", "dose": 1.5}, "reason_key": "r",
         "reason_numbers": None, "evidence": "中文 evidence", "source": None, "module": "pests",
         "confidence": 0.75, "products": ["cu_hydroxide_77wp"]},
    ],
}


def _read(engine):
    with store.session_scope(engine) as session:
        status = [{c.name: getattr(r, c.name) for c in store.PlotStatus.__table__.columns}
                  for r in session.scalars(select(store.PlotStatus))]
        recs = [{c.name: getattr(r, c.name) for c in store.RecommendationRecord.__table__.columns}
                for r in session.scalars(select(store.RecommendationRecord))]
    return status, recs


def test_fast_sqlite_insert_stores_what_the_typed_insert_stores(tmp_path):
    fast, typed = _engine(tmp_path, "fast.db"), _engine(tmp_path, "typed.db")
    for table, rows in ROWS.items():
        with store.session_scope(fast) as session:
            results._insert_rows(session.connection(), table, [dict(r) for r in rows])
        with store.session_scope(typed) as session:
            plain = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]
            session.connection().execute(table.insert(), plain)
    got, expected = _read(fast), _read(typed)
    assert got == expected
    status, recs = got
    assert status[0]["bloom_date"] == date(2016, 4, 2) and status[0]["irrigate"] is True
    assert status[0]["pests"]["mites"]["15d"]["level"] == 3 and status[0]["brix"] is None
    assert recs[0]["action_numbers"] == {"deadline": "2016-07-18", "dose": 1.5}
    assert recs[0]["evidence"] == "中文 evidence"


def test_fast_insert_rolls_back_with_its_transaction(tmp_path):
    engine = _engine(tmp_path, "r.db")
    with pytest.raises(RuntimeError):
        with store.session_scope(engine) as session:
            results._insert_rows(session.connection(), store.PlotStatus.__table__,
                                 [dict(ROWS[store.PlotStatus.__table__][0])])
            raise RuntimeError("the run fails after its rows went in")
    assert _read(engine) == ([], [])
