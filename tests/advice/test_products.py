"""Product recommendations: target, rotation (FRAC/IRAC groups), maximum uses, PHI, cost order."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advice.catalogue import CATALOGUE_DIR, load_catalogue
from advice.products import EXCLUSION_REASONS, recommend_products, rotation_parameters, season_window
from orchard.errors import InputError

ON = date(2025, 6, 1)
HARVEST = date(2025, 11, 25)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def catalogue_11a(tmp_path_factory):
    """The shipped catalogue plus one FRAC 11A fungicide (metyltetraprole) against black spot."""
    folder = tmp_path_factory.mktemp("cat11a")
    for name in ("moa_codes.csv", "products.csv", "active_ingredients.csv"):
        shutil.copy(CATALOGUE_DIR / name, folder / name)
    with open(folder / "products.csv", "a", encoding="utf-8") as f:
        f.write(
            "metyltetraprole_sc,甲基四唑吡嘧菌酯,metyltetraprole SC,SC,fungicide,L,black_spot,dilution,2000,"
            "2250,14,12,3,example,x,x,50,0.1,2025-03-01,test row,test price\n"
        )
    with open(folder / "active_ingredients.csv", "a", encoding="utf-8") as f:
        f.write("metyltetraprole_sc,metyltetraprole,,,200,g/L,FRAC,11A,,\n")
    return load_catalogue(folder)


def history(*rows):
    """History frame from (product_id, date, target) tuples."""
    return pd.DataFrame(rows, columns=["product_id", "applied_on", "target"])


def test_high_black_spot_outlook_after_frac_11(catalogue):
    """Last application against black spot used FRAC 11: recommend two FRAC groups, none of group 11."""
    hist = history(("azoxystrobin_250sc", date(2025, 5, 15), "black_spot"))
    rec = recommend_products(catalogue, "black_spot", 1.2, hist, on=ON, harvest_date=HARVEST)
    assert len(rec) == 3
    groups = [g for gs in rec["moa_groups"] for g in gs.split(";")]
    assert "FRAC 11" not in groups
    assert len(set(rec["moa_groups"])) >= 2
    assert all(g.startswith("FRAC") for g in groups)
    # without that history, the QoIs are candidates again
    free = recommend_products(catalogue, "black_spot", 1.2, None, on=ON, harvest_date=HARVEST, explain=True)
    assert not free.loc[free["product_id"] == "azoxystrobin_250sc", "excluded"].item()


def test_explain_gives_reason_keys(catalogue):
    hist = history(("pyraclostrobin_25ec", date(2025, 5, 15), "black_spot"))
    out = recommend_products(catalogue, "black_spot", 1.0, hist, on=ON, harvest_date=HARVEST, explain=True)
    assert set(out["product_id"]) == set(catalogue.for_target("black_spot").index)
    blocked = out.set_index("product_id")
    for pid in ("pyraclostrobin_25ec", "azoxystrobin_250sc", "pyraclostrobin_metiram_60wg"):
        assert blocked.at[pid, "reason"] == "consecutive_same_code"
        assert "used group FRAC 11" in blocked.at[pid, "reason_text"]
    assert blocked.at["mancozeb_80wp", "reason"] is None
    assert set(out["reason"].dropna()) <= set(EXCLUSION_REASONS)
    assert out["recommended"].sum() == 3


def test_cheapest_first_with_cost_for_the_area(catalogue):
    rec = recommend_products(catalogue, "black_spot", 1.2, None, on=ON, harvest_date=HARVEST, n=7)
    assert list(rec["cost_cny"]) == sorted(rec["cost_cny"])
    first = rec.iloc[0]
    # 77 % copper hydroxide WP, 800倍 at 2250 L/ha on 1.2 ha: 3.375 kg at 28 CNY/kg = 94.5 CNY,
    # 4 packs of 1 kg
    assert first["product_id"] == "cu_hydroxide_77wp"
    assert first["amount"] == pytest.approx(3.375)
    assert first["cost_cny"] == pytest.approx(94.5)
    assert first["packs"] == 4
    assert first["water_l"] == pytest.approx(2700 - 3.375)
    assert list(rec["rank"]) == list(range(1, 8))


def test_phi_blocks_late_sprays(catalogue):
    # 20 days before harvest: PHI 21 d and more are blocked, PHI 14 d allowed
    out = recommend_products(
        catalogue, "black_spot", 1.0, None, on=date(2025, 11, 5), harvest_date=HARVEST, explain=True
    ).set_index("product_id")
    assert out.at["mancozeb_80wp", "reason"] == "phi"
    assert "ends on 2025-11-26, after the harvest on 2025-11-25" in out.at["mancozeb_80wp", "reason_text"]
    assert out.at["cu_hydroxide_77wp", "reason"] == "phi"
    assert not out.at["pyraclostrobin_25ec", "excluded"]
    # exactly on the limit is allowed: on + PHI == harvest
    edge = recommend_products(
        catalogue,
        "black_spot",
        1.0,
        None,
        on=HARVEST - timedelta(days=21),
        harvest_date=HARVEST,
        explain=True,
    ).set_index("product_id")
    assert not edge.at["mancozeb_80wp", "excluded"]


def test_product_max_uses_also_binds_multisite(catalogue):
    # mancozeb (M03) is exempt from rotation: allowed right after itself, blocked after its 3 label uses
    one = history(("mancozeb_80wp", date(2025, 4, 1), "black_spot"))
    out = recommend_products(catalogue, "black_spot", 1.0, one, on=ON, explain=True).set_index("product_id")
    assert not out.at["mancozeb_80wp", "excluded"]
    three = history(*[("mancozeb_80wp", date(2025, 4, d), "black_spot") for d in (1, 11, 21)])
    out = recommend_products(catalogue, "black_spot", 1.0, three, on=ON, explain=True).set_index("product_id")
    assert out.at["mancozeb_80wp", "reason"] == "product_max_uses"
    assert out.at["mancozeb_80wp", "uses_this_season"] == 3


def test_max_uses_counts_all_targets(catalogue):
    # abamectin (max 2) used twice against leaf miner cannot be used against mites
    hist = history(
        ("abamectin_18ec", date(2025, 4, 1), "leaf_miner"), ("abamectin_18ec", date(2025, 5, 1), "leaf_miner")
    )
    out = recommend_products(catalogue, "mites", 1.0, hist, on=ON, explain=True).set_index("product_id")
    assert out.at["abamectin_18ec", "reason"] == "product_max_uses"


def test_rotation_is_per_target(catalogue):
    # IRAC 6 last used against leaf miner: for mites the last (mite) application was IRAC 23, so 6 is fine
    hist = history(
        ("spirodiclofen_240sc", date(2025, 4, 1), "mites"), ("abamectin_18ec", date(2025, 5, 1), "leaf_miner")
    )
    out = recommend_products(catalogue, "mites", 1.0, hist, on=ON, explain=True).set_index("product_id")
    assert not out.at["abamectin_18ec", "excluded"]
    assert out.at["spirodiclofen_240sc", "reason"] == "product_max_uses"  # label max 1
    # an application without a recorded target counts against every target of its product
    untargeted = history(("abamectin_18ec", date(2025, 5, 1), None))
    out = recommend_products(catalogue, "mites", 1.0, untargeted, on=ON, explain=True).set_index("product_id")
    assert out.at["abamectin_18ec", "reason"] == "consecutive_same_code"


def test_consecutive_limit_is_configurable(catalogue):
    hist = history(("azoxystrobin_250sc", date(2025, 5, 1), "black_spot"))
    out = recommend_products(
        catalogue, "black_spot", 1.0, hist, on=ON, max_consecutive_same_code=2, explain=True
    ).set_index("product_id")
    assert not out.at["pyraclostrobin_25ec", "excluded"]
    two = history(
        ("azoxystrobin_250sc", date(2025, 5, 1), "black_spot"),
        ("pyraclostrobin_25ec", date(2025, 5, 10), "black_spot"),
    )
    out = recommend_products(
        catalogue, "black_spot", 1.0, two, on=ON, max_consecutive_same_code=2, explain=True
    ).set_index("product_id")
    assert out.at["azoxystrobin_250sc", "reason"] == "consecutive_same_code"
    assert rotation_parameters()["rotation.max_consecutive_same_code"] == 1


def test_group_cap_per_season(catalogue):
    params = rotation_parameters().with_overrides({"rotation.max_applications_per_code_per_season": 1})
    hist = history(
        ("azoxystrobin_250sc", date(2025, 4, 1), "black_spot"),
        ("mancozeb_80wp", date(2025, 5, 1), "black_spot"),
    )
    out = recommend_products(
        catalogue, "black_spot", 1.0, hist, on=ON, params=params, explain=True
    ).set_index("product_id")
    assert out.at["pyraclostrobin_25ec", "reason"] == "code_max_uses"
    assert not out.at["mancozeb_80wp", "excluded"]


def test_frac_11_and_11a_rotate_separately(catalogue_11a):
    hist = history(("azoxystrobin_250sc", date(2025, 5, 1), "black_spot"))
    out = recommend_products(catalogue_11a, "black_spot", 1.0, hist, on=ON, explain=True).set_index(
        "product_id"
    )
    assert not out.at["metyltetraprole_sc", "excluded"]
    assert out.at["pyraclostrobin_25ec", "reason"] == "consecutive_same_code"


def test_qoi_cap_counts_11_and_11a_together(catalogue_11a):
    # three FRAC 11 sprays (cap 3) with other groups in between: 11A still allowed, as both 11 and 11A are
    # then in the programme (+1); a fourth FRAC 11 is not
    hist = history(
        ("azoxystrobin_250sc", date(2025, 3, 1), "black_spot"),
        ("mancozeb_80wp", date(2025, 3, 20), "black_spot"),
        ("pyraclostrobin_25ec", date(2025, 4, 10), "black_spot"),
        ("difenoconazole_10wg", date(2025, 4, 30), "black_spot"),
        ("azoxystrobin_250sc", date(2025, 5, 10), "black_spot"),
        ("cu_hydroxide_46wg", date(2025, 5, 20), "black_spot"),
    )
    params = rotation_parameters().with_overrides({"rotation.max_applications_per_code_per_season": 10})
    out = recommend_products(
        catalogue_11a, "black_spot", 1.0, hist, on=ON, params=params, explain=True
    ).set_index("product_id")
    assert out.at["pyraclostrobin_25ec", "reason"] == "qoi_cap"
    assert not out.at["metyltetraprole_sc", "excluded"]
    more = pd.concat(
        [
            hist,
            history(
                ("metyltetraprole_sc", date(2025, 5, 25), "black_spot"),
                ("mancozeb_80wp", date(2025, 5, 28), "black_spot"),
            ),
        ]
    )
    out = recommend_products(
        catalogue_11a, "black_spot", 1.0, more, on=ON, params=params, explain=True
    ).set_index("product_id")
    assert out.at["metyltetraprole_sc", "reason"] == "qoi_cap"
    assert "used 4 times this season, the limit is 4" in out.at["metyltetraprole_sc", "reason_text"]


def test_last_season_is_ignored(catalogue):
    hist = history(("azoxystrobin_250sc", date(2024, 12, 20), "black_spot"))
    out = recommend_products(catalogue, "black_spot", 1.0, hist, on=ON, explain=True).set_index("product_id")
    assert not out.at["azoxystrobin_250sc", "excluded"]
    assert season_window(ON) == (date(2025, 1, 1), date(2025, 12, 31))
    assert season_window(date(2025, 2, 1), start_month=3) == (date(2024, 3, 1), date(2025, 2, 28))


def test_keeps_a_rotation_partner(catalogue):
    # the two cheapest are both copper (FRAC M01): the second slot goes to another group
    rec = recommend_products(catalogue, "black_spot", 1.0, None, on=ON, n=2)
    assert rec["product_id"].tolist()[0] == "cu_hydroxide_77wp"
    assert rec["moa_groups"].nunique() == 2
    # for canker only copper exists: two coppers it is
    assert set(recommend_products(catalogue, "canker", 1.0, None, on=ON, n=2)["moa_groups"]) == {"FRAC M01"}


def test_fertiliser_targets(catalogue):
    rec = recommend_products(catalogue, "K", 2.0, None, on=ON)
    assert set(rec["product_id"]) == {"potassium_sulphate_50", "npk_15_15_15"}


def test_bad_arguments(catalogue):
    with pytest.raises(InputError, match="unknown target 'thrips'"):
        recommend_products(catalogue, "thrips", 1.0, None, on=ON)
    with pytest.raises(InputError, match="is not a date; use YYYY-MM-DD"):
        recommend_products(catalogue, "mites", 1.0, None, on="June 1st")
    with pytest.raises(InputError, match="several plots"):
        recommend_products(
            catalogue,
            "mites",
            1.0,
            pd.DataFrame({"plot_id": ["A", "B"], "product_id": ["x", "y"], "applied_on": [ON, ON]}),
            on=ON,
        )


# --- property: no recommended product ever breaks rotation, maximum uses or PHI --------------------------
_PRODUCTS = [
    "cu_hydroxide_46wg",
    "cu_hydroxide_77wp",
    "mancozeb_80wp",
    "pyraclostrobin_25ec",
    "azoxystrobin_250sc",
    "difenoconazole_10wg",
    "pyraclostrobin_metiram_60wg",
    "abamectin_18ec",
    "spirodiclofen_240sc",
    "etoxazole_110sc",
    "hexythiazox_5ec",
    "pyridaben_15ec",
    "mineral_oil_99ec",
    "imidacloprid_10wp",
    "chlorantraniliprole_200sc",
]
_TARGETS = ["black_spot", "canker", "mites", "leaf_miner"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(
        st.tuples(st.sampled_from(_PRODUCTS), st.integers(0, 150), st.sampled_from(_TARGETS)), max_size=12
    ),
    target=st.sampled_from(_TARGETS),
    days_to_harvest=st.integers(-5, 60),
    limit=st.integers(1, 3),
)
def test_recommendations_never_break_the_rules(catalogue, events, target, days_to_harvest, limit):
    start = date(2025, 1, 1)
    rows = []
    for pid, day, tgt in events:
        if tgt not in catalogue.product(pid)["targets"].split(";"):
            tgt = catalogue.product(pid)["targets"].split(";")[0]
        rows.append((pid, start + timedelta(days=day), tgt))
    hist = history(*rows)
    on = start + timedelta(days=151)
    harvest = on + timedelta(days=days_to_harvest)
    rec = recommend_products(
        catalogue, target, 1.0, hist, on=on, harvest_date=harvest, max_consecutive_same_code=limit, n=5
    )
    params = rotation_parameters()
    exempt = {"FRAC M01", "FRAC M02", "FRAC M03", "FRAC M05"}
    ordered = sorted(rows, key=lambda r: r[1])  # stable: same-day rows keep their order
    for _, r in rec.iterrows():
        pid = r["product_id"]
        product = catalogue.product(pid)
        assert target in product["targets"].split(";")
        assert on + timedelta(days=int(product["phi_days"])) <= harvest
        assert sum(p == pid for p, _, _ in rows) < product["max_applications_per_season"]
        for g in catalogue.groups(pid):
            if g in exempt:
                continue
            assert (
                sum(g in catalogue.groups(p) for p, _, _ in rows)
                < params["rotation.max_applications_per_code_per_season"]
            )
            run = 0
            for p, _, _t in reversed([x for x in ordered if x[2] == target]):
                if g not in catalogue.groups(p):
                    break
                run += 1
            assert run < limit
        if any(g in ("FRAC 11", "FRAC 11A") for g in catalogue.groups(pid)):
            qoi = sum(any(g in ("FRAC 11", "FRAC 11A") for g in catalogue.groups(p)) for p, _, _ in rows)
            assert qoi < params["rotation.qoi_max_applications_per_season"]  # no 11A in the shipped catalogue
