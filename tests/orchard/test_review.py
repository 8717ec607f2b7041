"""Advice review (issue #19): an agronomist's hold hides a plot's advice from its grower, a district may
require approval first, and the record keeps who decided what and when (orchard.store)."""

from __future__ import annotations

from datetime import date

import pytest

from orchard import store
from orchard.errors import AccessError, InputError

USERS = [{"user_id": "grower_li", "display_name": "Li", "role": "grower"},
         {"user_id": "grower_wang", "display_name": "Wang", "role": "grower"},
         {"user_id": "agro_zhang", "display_name": "Zhang", "role": "agronomist"},
         {"user_id": "ext_chen", "display_name": "Chen", "role": "extension"}]
PLOTS = [{"plot_id": "P01", "owner_id": "grower_li", "district": "Zigui"},
         {"plot_id": "P02", "owner_id": "grower_li", "district": "Zigui"},
         {"plot_id": "P07", "owner_id": "grower_wang", "district": "Fengjie"}]
ISSUED = date(2016, 7, 15)


def _advice(plot_id: str, severity: int = 4) -> dict:
    return {"plot_id": plot_id, "issued_on": ISSUED, "valid_from": ISSUED, "valid_to": date(2016, 7, 18),
            "topic": "spray", "severity": severity, "action_key": "advice.action.spray_protective",
            "reason_key": "advice.reason.unprotected_risk", "module": "pests",
            "action_numbers": {"pest": "canker"}}


@pytest.fixture
def engine(tmp_path):
    engine = store.init_db(f"sqlite:///{tmp_path / 'orchard.db'}")
    with store.session_scope(engine) as s:
        store.upsert_users(s, USERS)
        store.upsert_plots(s, PLOTS)
        store.store_advice_run(s, {"run_id": "w29", "issued_on": ISSUED}, [_advice(p["plot_id"]) for p in PLOTS])
    yield engine
    engine.dispose()


def _grower_plots(engine, grower="grower_li") -> set[str]:
    with store.session_scope(engine) as s:
        return {r["plot_id"] for r in store.approved_recommendations(s, grower, run_id="w29")}


def test_a_hold_hides_the_plots_advice_from_its_grower_and_the_record_keeps_it(engine):
    assert _grower_plots(engine) == {"P01", "P02"}  # no review required: everything not held
    with store.session_scope(engine) as s:
        store.review_advice(s, "agro_zhang", "w29", decision="held", plot_id="P01", note="wait for the rain")
    assert _grower_plots(engine) == {"P02"}
    with store.session_scope(engine) as s:
        assert not store.advice_visible_to_grower(s, "w29", "P01")
        assert store.list_recommendations(s, "grower_li", plot_id="P01", run_id="w29")  # still stored
        staff = store.approved_recommendations(s, "agro_zhang", run_id="w29")
        assert len(staff) == 3 and {r["review"]["decision"] for r in staff if r["plot_id"] == "P01"} == {"held"}
        (record,) = store.list_reviews(s, "agro_zhang", run_id="w29")
    assert (record["reviewer_id"], record["decision"], record["plot_id"]) == ("agro_zhang", "held", "P01")
    assert record["note"] == "wait for the rain" and record["reviewed_utc"] is not None


def test_a_district_that_requires_review_shows_only_approved_advice(engine):
    with store.session_scope(engine) as s:
        store.set_review_required(s, "agro_zhang", "Zigui", True)
    assert _grower_plots(engine) == set()
    assert _grower_plots(engine, "grower_wang") == {"P07"}  # another district: not affected
    with store.session_scope(engine) as s:
        store.review_advice(s, "agro_zhang", "w29", decision="approved", district="Zigui", note="按时喷药")
    assert _grower_plots(engine) == {"P01", "P02"}
    with store.session_scope(engine) as s:
        store.review_advice(s, "agro_zhang", "w29", decision="held", plot_id="P02")  # the plot's own counts
        assert store.review_state(s, "w29", "P02")["decision"] == "held"
        records = store.approved_recommendations(s, "grower_li", run_id="w29")
        assert {r["plot_id"] for r in records} == {"P01"} and records[0]["review_note"] == "按时喷药"
        assert [r["decision"] for r in store.list_reviews(s, "agro_zhang")] == ["held", "approved"]


def test_only_agronomists_review_and_every_target_is_checked(engine):
    with store.session_scope(engine) as s:
        for caller in ("grower_li", "ext_chen"):
            with pytest.raises(AccessError, match="may not review advice"):
                store.review_advice(s, caller, "w29", decision="approved", plot_id="P01")
            with pytest.raises(AccessError, match="may not review advice"):
                store.set_review_required(s, caller, "Zigui", True)
        with pytest.raises(InputError, match="not one of approved, held"):
            store.review_advice(s, "agro_zhang", "w29", decision="maybe", plot_id="P01")
        with pytest.raises(InputError, match="exactly one"):
            store.review_advice(s, "agro_zhang", "w29", decision="held", plot_id="P01", district="Zigui")
        with pytest.raises(InputError, match="does not exist"):
            store.review_advice(s, "agro_zhang", "nope", decision="held", plot_id="P01")
        with pytest.raises(InputError, match="has no plots"):
            store.set_review_required(s, "agro_zhang", "Atlantis", True)
        with pytest.raises(AccessError):
            store.list_reviews(s, "grower_li")
