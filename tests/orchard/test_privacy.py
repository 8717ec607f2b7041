"""Privacy, tenancy and accounts in the data layer (issue #18, findings 4, 5, 6 and 11).

Each test failed before the fix: an application could be linked to another grower's purchase, extension
users got grower ids, suppliers, notes and plot names, a refusal told a missing plot from another grower's,
and failed sign-ins lived in memory and could lock a grower out.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from orchard import privacy, store
from orchard.errors import AccessError, InputError

USERS = [
    {"user_id": "grower_li", "display_name": "Li Ming", "role": "grower"},
    {"user_id": "grower_wang", "display_name": "Wang Fang", "role": "grower"},
    {"user_id": "agro_zhang", "display_name": "Zhang Wei", "role": "agronomist"},
    {"user_id": "ext_chen", "display_name": "Chen Jie", "role": "extension"},
]
PLOTS = [
    {"plot_id": "P01", "owner_id": "grower_li", "name": "李家湾1号地", "area_ha": 1.0},
    {"plot_id": "P07", "owner_id": "grower_wang", "name": "王家坡1号地", "area_ha": 2.0},
]


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path / "home"))  # the secret of the plot labels lives here
    engine = store.init_db(f"sqlite:///{tmp_path / 'orchard.db'}")
    with store.session_scope(engine) as s:
        store.upsert_users(s, USERS)
        store.upsert_plots(s, PLOTS)
    yield engine
    engine.dispose()


def _purchase(s, grower: str, supplier: str = "Village shop") -> int:
    return store.add_purchase(s, grower, product_id="mancozeb_80wp", quantity=5, unit="kg",
                              purchased_on="2025-04-01", price_cny=60.0, supplier=supplier)


def _apply(s, caller: str, plot_id: str, purchase_id=None, note=None) -> int:
    return store.add_application(s, caller, plot_id, product_id="mancozeb_80wp", applied_on="2025-05-01",
                                 amount=3.0, unit="kg", purchase_id=purchase_id, note=note)


# ----------------------------------------------------------------------------------------------------------
# Finding 4: an application links only to a purchase of the plot's grower, checked in the store
# ----------------------------------------------------------------------------------------------------------
def test_an_application_cannot_link_another_growers_purchase(engine):
    with store.session_scope(engine) as s:
        wang = _purchase(s, "grower_wang")
        li = _purchase(s, "grower_li")
    refusals = []
    for purchase_id in (wang, 99_999):  # another grower's and a missing one: the same sentence
        with pytest.raises(AccessError) as refused:
            with store.session_scope(engine) as s:
                _apply(s, "grower_li", "P01", purchase_id=purchase_id)
        refusals.append(str(refused.value).replace(str(purchase_id), "N"))
    assert refusals[0] == refusals[1] == "purchase N is not one of yours; check the purchase id."
    with pytest.raises(InputError, match="is not a purchase of the grower of plot P07"):
        with store.session_scope(engine) as s:  # an agronomist, too, links only the plot grower's purchases
            _apply(s, "agro_zhang", "P07", purchase_id=li)
    with store.session_scope(engine) as s:
        assert store.list_applications(s) == []  # nothing stored on refusal
        _apply(s, "grower_li", "P01", purchase_id=li)
        _apply(s, "agro_zhang", "P07", purchase_id=wang)
        assert [a["purchase_id"] for a in store.list_applications(s)] == [li, wang]


# ----------------------------------------------------------------------------------------------------------
# Finding 5: extension users get no personal data and pseudonymous plot labels
# ----------------------------------------------------------------------------------------------------------
def test_extension_lists_carry_no_personal_data(engine):
    with store.session_scope(engine) as s:
        pid = _purchase(s, "grower_li", supplier="Li's cousin, Hetian market")
        _apply(s, "grower_li", "P01", purchase_id=pid, note="sprayed with neighbour Wang's pump")
        store.add_scouting_observations(s, "agro_zhang", [{"plot_id": "P01", "observed_on": "2025-05-02",
                                                          "pest": "mites", "measure": "mites_per_leaf",
                                                          "value": 2.0, "observer": "Li Ming", "note": "x"}])
    with store.session_scope(engine) as s:
        (purchase,) = store.list_purchases(s, "ext_chen")
        (application,) = store.list_applications(s, "ext_chen")
        (scouting,) = store.list_scouting_observations(s, "ext_chen")
        assert (purchase["grower_id"], purchase["supplier"], purchase["recorded_by"]) == (None, None, None)
        assert purchase["product_id"] == "mancozeb_80wp" and purchase["quantity"] == 5.0  # the aggregate part
        assert (application["recorded_by"], application["note"]) == (None, None)
        assert application["amount"] == 3.0 and application["plot_id"] == "P01"
        assert (scouting["observer"], scouting["note"], scouting["recorded_by"]) == (None, None, None)
        # staff who manage growers still see everything, and the stored rows are untouched
        assert store.list_purchases(s, "agro_zhang")[0]["supplier"] == "Li's cousin, Hetian market"
        assert store.list_applications(s, "grower_li")[0]["note"] == "sprayed with neighbour Wang's pump"


def test_extension_users_see_stable_pseudonymous_plot_labels_not_names(engine, tmp_path):
    with store.session_scope(engine) as s:
        labels = {p["plot_id"]: p["name"] for p in store.list_plots(s, "ext_chen")}
        assert store.get_plot(s, "ext_chen", "P07")["name"] == labels["P07"]
        assert store.get_plot(s, "agro_zhang", "P07")["name"] == "王家坡1号地"  # staff still see the name
    assert all(re.fullmatch(r"P-[A-Z2-7]{8}", label) for label in labels.values())
    assert len(set(labels.values())) == 2 and not {"李家湾1号地", "王家坡1号地"} & set(labels.values())
    assert labels == {pid: privacy.plot_label(pid) for pid in labels}  # stable: the same every time
    secret = tmp_path / "home" / privacy.SECRET_FILE
    assert secret.is_file() and secret.stat().st_mode & 0o077 == 0  # a secret of this home, not of the code
    other_home = tmp_path / "other"
    assert privacy.plot_label("P01", privacy.derived_key("plot-label", other_home)) != labels["P01"]


# ----------------------------------------------------------------------------------------------------------
# Finding 6: one refusal for a missing plot and another grower's, naming no user id
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda s, pid: store.get_plot(s, "grower_li", pid),
    lambda s, pid: store.update_plot(s, "grower_li", pid, {"irrigation": "drip"}),
    lambda s, pid: store.add_observation(s, "grower_li", pid, observed_on="2025-05-01", kind="other",
                                         variable="x"),
    lambda s, pid: store.list_recommendations(s, "grower_li", plot_id=pid, run_id="none"),
    lambda s, pid: _apply(s, "grower_li", pid),
])
def test_a_refusal_does_not_reveal_whether_another_growers_plot_exists(engine, call):
    answers = []
    for plot_id in ("P07", "P99"):  # grower_wang's plot, and no plot at all
        with pytest.raises(Exception) as refused:
            with store.session_scope(engine) as s:
                call(s, plot_id)
        answers.append((type(refused.value), str(refused.value).replace(plot_id, "X")))
    assert answers[0] == answers[1] == (AccessError, "plot X is not one of yours; check the plot id.")
    assert "grower_" not in answers[0][1]


# ----------------------------------------------------------------------------------------------------------
# Finding 11: failed sign-ins are stored and slow an id down without locking its owner out
# ----------------------------------------------------------------------------------------------------------
def test_the_wait_doubles_after_the_free_failures_and_is_capped():
    waits = [store.sign_in_delay_s(n, free=3, first_s=5.0, max_s=900.0) for n in range(1, 12)]
    assert waits == [0, 0, 5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert store.sign_in_delay_s(10_000, free=3, first_s=5.0, max_s=900.0) == 900


def test_typing_wrong_passwords_for_an_id_slows_the_typist_not_its_owner(engine):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    attacker = {"account": "grower_li", "client": "ip:203.0.113.9", "pair": "grower_li\nip:203.0.113.9"}
    owner = {"account": "grower_li", "client": "ip:198.51.100.7", "pair": "grower_li\nip:198.51.100.7"}
    now = t0
    for _ in range(200):  # as fast as the throttle lets the attacker try
        with store.session_scope(engine) as s:
            now += timedelta(seconds=store.sign_in_wait_s(s, attacker, now=now))
            store.record_sign_in_failure(s, attacker, now=now)
    hours = (now - t0).total_seconds() / 3600
    assert hours > 24  # 200 guesses cost the typist more than a day
    engine.dispose()  # as after a restart: the counts are in the database, not in a process
    with store.session_scope(engine) as s:
        assert store.sign_in_wait_s(s, attacker, now=now) > 60
        owner_wait = store.sign_in_wait_s(s, owner, now=now)
    assert owner_wait <= store.SIGN_IN_THROTTLE["account"]["max_s"]  # a minute at most for the owner
    with store.session_scope(engine) as s:
        assert store.sign_in_wait_s(s, owner, now=now + timedelta(seconds=owner_wait)) == 0
        store.clear_sign_in_failures(s, {k: owner[k] for k in ("account", "pair")})  # the owner got in
        assert store.sign_in_wait_s(s, owner, now=now) == 0
        assert store.sign_in_wait_s(s, attacker, now=now) > 60  # the typist still waits
        # a day after the last failure everything is forgotten
        assert store.sign_in_wait_s(s, attacker, now=now + timedelta(seconds=store.SIGN_IN_FORGET_S)) == 0
        rows = s.query(store.SignInFailures).all()
    assert all("grower_li" not in r.key_sha256 and len(r.key_sha256) == 64 for r in rows)  # keys hashed
    later = now + timedelta(seconds=store.SIGN_IN_FORGET_S + 1)
    with store.session_scope(engine) as s:  # the next failure, a day later, clears the forgotten rows
        store.record_sign_in_failure(s, {"client": "ip:192.0.2.1"}, now=later)
        assert s.query(store.SignInFailures).count() == 1
