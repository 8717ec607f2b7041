"""Purchases and applications: catalogue checks, access rules, history for rotation, and the CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest

from advice.catalogue import load_catalogue
from advice.market import history_for, record_application, record_purchase
from advice.products import recommend_products
from orchard import store
from orchard.errors import AccessError, InputError


@pytest.fixture
def engine(sample_home_copy):
    from orchard import config

    return store.init_db(config.database_url())


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


# --- API ---------------------------------------------------------------------------------------------------
def test_purchase_of_unknown_product(engine, catalogue):
    with store.session_scope(engine) as session:
        with pytest.raises(InputError, match=r"^unknown product 'roundup'; see `orchard products list`\.$"):
            record_purchase(
                session,
                "grower_li",
                catalogue,
                product_id="roundup",
                quantity=1,
                unit="kg",
                purchased_on="2025-04-01",
            )
        assert store.list_purchases(session, "grower_li") == []


def test_purchase_normalises_units(engine, catalogue):
    with store.session_scope(engine) as session:
        pid = record_purchase(
            session,
            "grower_li",
            catalogue,
            product_id="azoxystrobin_250sc",
            quantity=500,
            unit="mL",
            purchased_on="2025-04-01",
            price_cny=80.0,
        )
        packs = record_purchase(
            session,
            "grower_li",
            catalogue,
            product_id="urea_46n",
            quantity=2,
            unit="pack",
            purchased_on="2025-04-01",
        )
        with pytest.raises(InputError, match="measured in L, not kg"):
            record_purchase(
                session,
                "grower_li",
                catalogue,
                product_id="azoxystrobin_250sc",
                quantity=1,
                unit="kg",
                purchased_on="2025-04-01",
            )
    with store.session_scope(engine) as session:
        rows = {r["id"]: r for r in store.list_purchases(session, "grower_li")}
    assert rows[pid]["quantity"] == pytest.approx(0.5) and rows[pid]["unit"] == "L"
    assert rows[packs]["unit"] == "pack"


def test_grower_cannot_record_on_another_growers_plot(engine, catalogue):
    with store.session_scope(engine) as session:
        with pytest.raises(
            AccessError,
            match=r"^plot CT02 is not one of yours; check the plot id\.$",
        ):
            record_application(
                session,
                "grower_li",
                catalogue,
                "CT02",
                product_id="mancozeb_80wp",
                applied_on="2025-05-01",
                amount=3,
                unit="kg",
                target="black_spot",
            )
    with store.session_scope(engine) as session:
        assert store.list_applications(session, None, plot_ids=["CT02"]) == []


def test_application_checks_target_and_purchase(engine, catalogue):
    with store.session_scope(engine) as session:
        with pytest.raises(
            InputError,
            match="target 'mites' is not on the product's label in the catalogue; its targets are black_spot",
        ):
            record_application(
                session,
                "grower_li",
                catalogue,
                "CT01",
                product_id="mancozeb_80wp",
                applied_on="2025-05-01",
                amount=3,
                unit="kg",
                target="mites",
            )
        wang = record_purchase(
            session,
            "grower_wang",
            catalogue,
            product_id="mancozeb_80wp",
            quantity=5,
            unit="kg",
            purchased_on="2025-04-01",
        )
        with pytest.raises(AccessError, match=f"^purchase {wang} is not one of yours; check the purchase id"):
            record_application(
                session,
                "grower_li",
                catalogue,
                "CT01",
                product_id="mancozeb_80wp",
                applied_on="2025-05-01",
                amount=3,
                unit="kg",
                purchase_id=wang,
            )
        with pytest.raises(InputError, match=f"purchase {wang} was of 'mancozeb_80wp', not 'urea_46n'"):
            record_application(
                session,
                "agronomist_zhao",
                catalogue,
                "CT02",
                product_id="urea_46n",
                applied_on="2025-05-01",
                amount=100,
                unit="kg",
                purchase_id=wang,
            )


def test_history_feeds_rotation(engine, catalogue):
    with store.session_scope(engine) as session:
        record_application(
            session,
            "grower_li",
            catalogue,
            "CT01",
            product_id="pyraclostrobin_metiram_60wg",
            applied_on="2025-05-10",
            amount=2250,
            unit="g",
            target="black_spot",
        )
        record_application(
            session,
            "grower_li",
            catalogue,
            "CT01",
            product_id="urea_46n",
            applied_on="2025-03-01",
            amount=150,
            unit="kg",
            target="N",
        )
        record_application(
            session,
            "grower_li",
            catalogue,
            "CT04",
            product_id="azoxystrobin_250sc",
            applied_on="2025-05-20",
            amount=1.5,
            unit="L",
            target="black_spot",
        )
        record_application(
            session,
            "grower_li",
            catalogue,
            "CT01",
            product_id="azoxystrobin_250sc",
            applied_on="2024-08-01",
            amount=1.5,
            unit="L",
            target="black_spot",
        )
    with store.session_scope(engine) as session:
        hist = history_for(session, "CT01", 2025, catalogue)
    assert hist["product_id"].tolist() == ["urea_46n", "pyraclostrobin_metiram_60wg"]  # by date, 2025 only
    assert hist["moa_groups"].tolist() == ["", "FRAC 11;FRAC M03"]
    assert hist.loc[1, "amount"] == pytest.approx(2.25) and hist.loc[1, "unit"] == "kg"
    assert hist["in_catalogue"].all()
    rec = recommend_products(catalogue, "black_spot", 1.0, hist, on=date(2025, 6, 1), explain=True)
    blocked = rec.set_index("product_id")
    assert blocked.at["azoxystrobin_250sc", "reason"] == "consecutive_same_code"
    assert not blocked.at["mancozeb_80wp", "excluded"]  # M03 is exempt from rotation


# --- CLI ---------------------------------------------------------------------------------------------------
def test_cli_products_list(run_cli, catalogue):
    code, out, err = run_cli(["products", "list", "--target", "mites", "--json"])
    assert code == 0
    records = json.loads(out)
    assert {r["product_id"] for r in records} == set(catalogue.for_target("mites").index)
    assert all("mites" in r["targets"].split(";") for r in records)
    assert "EXAMPLE catalogue" in err
    code, out, _ = run_cli(["products", "list"])
    assert code == 0 and "Input catalogue" in out and "mancozeb_80wp" in out
    code, _, err = run_cli(["products", "list", "--target", "aphids"])
    assert code == 1 and "unknown target 'aphids'" in err


def test_cli_purchases(run_cli, sample_home_copy):
    code, out, _ = run_cli(
        [
            "purchases",
            "add",
            "--user",
            "grower_wang",
            "--product",
            "abamectin_18ec",
            "--quantity",
            "0.5",
            "--unit",
            "L",
            "--date",
            "2025-04-02",
            "--price",
            "15",
            "--supplier",
            "镇农资店",
        ]
    )
    assert code == 0 and "recorded: 0.5 L of abamectin_18ec" in out
    code, out, _ = run_cli(["purchases", "list", "--user", "grower_wang", "--json"])
    rows = json.loads(out)
    assert [(r["product_id"], r["quantity"], r["price_cny"], r["supplier"]) for r in rows] == [
        ("abamectin_18ec", 0.5, 15.0, "镇农资店")
    ]
    code, out, _ = run_cli(["purchases", "list", "--user", "grower_li", "--json"])
    assert json.loads(out) == []


def test_cli_purchase_unknown_product(run_cli, sample_home_copy):
    code, out, err = run_cli(
        [
            "purchases",
            "add",
            "--user",
            "grower_li",
            "--product",
            "roundup",
            "--quantity",
            "1",
            "--unit",
            "kg",
            "--date",
            "2025-04-02",
        ]
    )
    assert code == 1
    assert err.strip() == "orchard: error: unknown product 'roundup'; see `orchard products list`."


def test_cli_applications(run_cli, sample_home_copy):
    code, out, _ = run_cli(
        [
            "applications",
            "add",
            "--user",
            "grower_li",
            "--plot",
            "CT01",
            "--product",
            "abamectin_18ec",
            "--amount",
            "0.75",
            "--unit",
            "L",
            "--date",
            "2025-05-02",
            "--target",
            "mites",
        ]
    )
    assert code == 0 and "on plot CT01" in out
    code, _, err = run_cli(
        [
            "applications",
            "add",
            "--user",
            "grower_li",
            "--plot",
            "CT02",
            "--product",
            "abamectin_18ec",
            "--amount",
            "0.75",
            "--unit",
            "L",
            "--date",
            "2025-05-02",
        ]
    )
    assert code == 1 and "plot CT02 is not one of yours" in err
    code, _, err = run_cli(
        [
            "applications",
            "add",
            "--user",
            "grower_li",
            "--plot",
            "CT01",
            "--product",
            "abamectin_18ec",
            "--amount",
            "0.75",
            "--unit",
            "L",
            "--date",
            "2 May",
        ]
    )
    assert code == 1 and "is not a date; write it as YYYY-MM-DD" in err
    code, out, _ = run_cli(["applications", "list", "--user", "grower_li", "--plot", "CT01", "--json"])
    rows = json.loads(out)
    assert [(r["plot_id"], r["product_id"], r["amount"], r["target"]) for r in rows] == [
        ("CT01", "abamectin_18ec", 0.75, "mites")
    ]
    code, out, _ = run_cli(["applications", "list", "--user", "grower_wang", "--json"])
    assert json.loads(out) == []
    code, _, err = run_cli(["applications", "list", "--user", "grower_wang", "--plot", "CT01"])
    assert code == 1 and "plot CT01 is not one of yours" in err
