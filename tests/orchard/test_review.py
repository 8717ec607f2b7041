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
        store.store_advice_run(s, {"run_id": "w29", "issued_on": ISSUED},
                               [_advice(p["plot_id"]) for p in PLOTS])
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
        assert len(staff) == 3
        assert {r["review"]["decision"] for r in staff if r["plot_id"] == "P01"} == {"held"}
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


# -- user management by admins (issue #19, the same migration) ---------------------------------------------
def test_admins_add_change_reset_and_disable_accounts_and_every_change_is_logged(engine):
    with store.session_scope(engine) as s:
        store.upsert_users(s, [{"user_id": "root", "display_name": "Admin", "role": "admin"}])
        store.add_user(s, "root", user_id="grower_xu", display_name="Xu", role="grower",
                       password="long-enough")
    with store.session_scope(engine) as s:
        assert store.authenticate(s, "grower_xu", "long-enough")["role"] == "grower"
        store.set_user_role(s, "root", "grower_xu", "agronomist")
        store.disable_user(s, "root", "grower_xu")
    with store.session_scope(engine) as s:
        assert store.authenticate(s, "grower_xu", "long-enough") is None  # disabled: no password sign-in
        (xu,) = [a for a in store.list_accounts(s, "root") if a["user_id"] == "grower_xu"]
        assert (xu["role"], xu["enabled"]) == ("agronomist", False)
        store.reset_user_password(s, "root", "grower_xu", "another-one")
        assert store.authenticate(s, "grower_xu", "another-one")["role"] == "agronomist"
        log = store.list_user_changes(s, "root")
    assert [(c["action"], c["detail"]) for c in log] == [
        ("enable", None), ("disable", None), ("role", "grower -> agronomist"), ("add", "grower")]
    assert {c["admin_id"] for c in log} == {"root"} and all(c["changed_utc"] for c in log)
    assert not any("long-enough" in str(c) or "another-one" in str(c) for c in log)  # never a password


def test_only_admins_manage_accounts_and_never_lock_themselves_out(engine):
    with store.session_scope(engine) as s:
        store.upsert_users(s, [{"user_id": "root", "display_name": "Admin", "role": "admin"}])
        for caller in ("agro_zhang", "grower_li"):
            with pytest.raises(AccessError, match="may not manage accounts"):
                store.add_user(s, caller, user_id="x1", display_name="X", role="grower",
                               password="long-enough")
            with pytest.raises(AccessError, match="may not manage accounts"):
                store.list_user_changes(s, caller)
        with pytest.raises(InputError, match="their own role"):
            store.set_user_role(s, "root", "root", "grower")
        with pytest.raises(InputError, match="their own account"):
            store.disable_user(s, "root", "root")
        with pytest.raises(InputError, match="owns plots"):
            store.set_user_role(s, "root", "grower_li", "extension")
        with pytest.raises(InputError, match="already exists"):
            store.add_user(s, "root", user_id="grower_li", display_name="L", role="grower",
                           password="long-enough")
        with pytest.raises(InputError, match="at least 8 characters"):
            store.add_user(s, "root", user_id="new_one", display_name="N", role="grower",
                           password="short")
        with pytest.raises(InputError, match="not one of"):
            store.add_user(s, "root", user_id="new_two", display_name="N", role="boss",
                           password="long-enough")
        with pytest.raises(InputError, match="must be 1-64 letters"):
            store.add_user(s, "root", user_id="bad id!", display_name="N", role="grower",
                           password="long-enough")
