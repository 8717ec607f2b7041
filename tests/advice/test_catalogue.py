"""The input catalogue: shipped example, strict loading, doses and kg of active ingredient."""

from __future__ import annotations

import shutil

import pytest

from advice.catalogue import (
    CATALOGUE_DIR,
    NUTRIENTS,
    PEST_TARGETS,
    dose_for_area,
    kg_active_ingredient,
    load_catalogue,
)
from orchard.errors import InputError


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_pest_targets_are_the_pests_package_ids():
    from pests.paramsets import PESTS

    assert PEST_TARGETS == PESTS


def test_shipped_catalogue_is_a_marked_example(catalogue):
    assert 15 <= len(catalogue.products) <= 25
    assert catalogue.is_example
    assert (catalogue.products["registration_no"] == "example").all()
    assert "EXAMPLE" in (CATALOGUE_DIR / "products.csv").read_text(encoding="utf-8").splitlines()[0]
    # every label figure and price has a source, every EIQ value too
    assert (catalogue.products["label_source"].str.len() > 0).all()
    assert (catalogue.products["price_source"].str.len() > 0).all()
    pesticides = catalogue.active_ingredients[catalogue.active_ingredients["moa_scheme"] != "nutrient"]
    assert pesticides["eiq"].notna().all()
    assert (pesticides["eiq_source"].str.len() > 0).all()


@pytest.mark.parametrize(
    ("product_id", "groups", "target"),
    [
        ("cu_hydroxide_46wg", ("FRAC M01",), "canker"),
        ("mancozeb_80wp", ("FRAC M03",), "black_spot"),
        ("pyraclostrobin_25ec", ("FRAC 11",), "black_spot"),
        ("azoxystrobin_250sc", ("FRAC 11",), "black_spot"),
        ("difenoconazole_10wg", ("FRAC 3",), "black_spot"),
        ("pyraclostrobin_metiram_60wg", ("FRAC 11", "FRAC M03"), "black_spot"),
        ("abamectin_18ec", ("IRAC 6",), "mites"),
        ("abamectin_18ec", ("IRAC 6",), "leaf_miner"),
        ("spirodiclofen_240sc", ("IRAC 23",), "mites"),
        ("etoxazole_110sc", ("IRAC 10B",), "mites"),
        ("hexythiazox_5ec", ("IRAC 10A",), "mites"),
        ("pyridaben_15ec", ("IRAC 21A",), "mites"),
        ("imidacloprid_10wp", ("IRAC 4A",), "leaf_miner"),
        ("chlorantraniliprole_200sc", ("IRAC 28",), "leaf_miner"),
        ("urea_46n", (), "N"),
        ("borax_11b", (), "B"),
    ],
)
def test_product_codes_and_targets(catalogue, product_id, groups, target):
    assert catalogue.groups(product_id) == groups
    assert product_id in catalogue.for_target(target).index


def test_every_target_has_a_product(catalogue):
    for target in PEST_TARGETS + NUTRIENTS:
        assert len(catalogue.for_target(target)) >= 1, target


def test_multisite_groups_are_rotation_exempt(catalogue):
    exempt = catalogue.exempt_groups()
    assert {"FRAC M01", "FRAC M03"} <= exempt
    assert not exempt & {"FRAC 11", "FRAC 11A", "IRAC 6", "IRAC UN"}


def test_dose_from_dilution(catalogue):
    # 1500倍液 at 2250 L/ha: 2250 / 1500 = 1.5 kg/ha of product (water-like spray liquid)
    dose = dose_for_area(catalogue.product("cu_hydroxide_46wg"), 2.0)
    assert dose["dose_per_ha"] == pytest.approx(1.5)
    assert dose["amount"] == pytest.approx(3.0)
    assert dose["unit"] == "kg"
    assert dose["spray_liquid_l"] == pytest.approx(4500.0)
    assert dose["water_l"] == pytest.approx(4497.0)


def test_dose_per_mu_and_per_ha(catalogue):
    per_mu = dose_for_area(catalogue.product("npk_15_15_15"), 0.5)  # 20 kg/亩 = 300 kg/ha
    assert per_mu["dose_per_ha"] == pytest.approx(300.0)
    assert per_mu["amount"] == pytest.approx(150.0)
    assert per_mu["water_l"] is None
    assert dose_for_area(catalogue.product("urea_46n"), 2.0)["amount"] == pytest.approx(300.0)


def test_dose_rejects_bad_area(catalogue):
    with pytest.raises(InputError, match="is not a positive number"):
        dose_for_area(catalogue.product("urea_46n"), -1.0)


def test_kg_active_ingredient(catalogue):
    # 2.25 kg of a 5 % + 55 % WG holds 0.1125 kg pyraclostrobin and 1.2375 kg metiram
    kg = kg_active_ingredient("pyraclostrobin_metiram_60wg", 2.25, "kg", catalogue)
    assert kg["pyraclostrobin"] == pytest.approx(0.1125)
    assert kg["metiram"] == pytest.approx(1.2375)
    # 500 mL of 250 g/L SC: 0.125 kg azoxystrobin
    assert kg_active_ingredient("azoxystrobin_250sc", 500, "mL", catalogue)["azoxystrobin"] == pytest.approx(
        0.125
    )
    assert kg_active_ingredient("urea_46n", 50, "kg")["N"] == pytest.approx(23.0)


def test_kg_active_ingredient_bad_input(catalogue):
    with pytest.raises(InputError, match="measured in L, not kg; give the amount in L"):
        kg_active_ingredient("azoxystrobin_250sc", 1, "kg", catalogue)
    with pytest.raises(InputError, match=r"unknown product 'nope'; see `orchard products list`\."):
        kg_active_ingredient("nope", 1, "kg", catalogue)


# --- strict loading: each bad row names file, row and column --------------------------------------------
def _copy(tmp_path):
    folder = tmp_path / "cat"
    shutil.copytree(CATALOGUE_DIR, folder)
    return folder


def _edit_row(path, product_id, column, value, occurrence=0):
    """Set ``column`` of the row of ``product_id`` in a commented CSV file to ``value``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = lines[header_at].split(",")
    k = header.index(column)
    hits = [i for i, line in enumerate(lines) if line.split(",")[0] == product_id]
    cells = lines[hits[occurrence]].split(",")
    cells[k] = value
    lines[hits[occurrence]] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_missing_phi(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "products.csv", "mancozeb_80wp", "phi_days", "")
    with pytest.raises(
        InputError,
        match=r"products\.csv, row 3 \(product 'mancozeb_80wp'\), column 'phi_days' "
        r"is empty; every product needs its pre-harvest interval",
    ):
        load_catalogue(folder)


def test_unknown_frac_code(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "active_ingredients.csv", "azoxystrobin_250sc", "moa_code", "99")
    with pytest.raises(
        InputError,
        match=r"active_ingredients\.csv, row 5 \(product 'azoxystrobin_250sc'\), "
        r"column 'moa_code': unknown FRAC code '99'",
    ):
        load_catalogue(folder)


def test_unknown_irac_code(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "active_ingredients.csv", "etoxazole_110sc", "moa_code", "10C")
    with pytest.raises(InputError, match=r"column 'moa_code': unknown IRAC code '10C'"):
        load_catalogue(folder)


def test_negative_dose(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "products.csv", "urea_46n", "dose_value", "-150")
    with pytest.raises(
        InputError,
        match=r"products\.csv, row 16 \(product 'urea_46n'\), column 'dose_value': "
        r"-150 is negative",
    ):
        load_catalogue(folder / "products.csv")


def test_duplicate_product_id(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "products.csv", "cu_hydroxide_77wp", "product_id", "cu_hydroxide_46wg")
    with pytest.raises(
        InputError,
        match=r"row 2 \(product 'cu_hydroxide_46wg'\), column 'product_id': duplicate "
        r"product id 'cu_hydroxide_46wg' \(first on row 1\)",
    ):
        load_catalogue(folder)


def test_unknown_target(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "products.csv", "pyridaben_15ec", "targets", "mites;aphids")
    with pytest.raises(
        InputError,
        match=r"row 12 \(product 'pyridaben_15ec'\), column 'targets': unknown target "
        r"'aphids'",
    ):
        load_catalogue(folder)


def test_dilution_needs_spray_volume(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "products.csv", "borax_11b", "spray_volume_l_per_ha", "")
    with pytest.raises(InputError, match=r"column 'spray_volume_l_per_ha' is empty; a dilution"):
        load_catalogue(folder)


def test_content_unit_must_fit_product_unit(tmp_path):
    folder = _copy(tmp_path)
    _edit_row(folder / "active_ingredients.csv", "abamectin_18ec", "content_unit", "g/kg")
    with pytest.raises(
        InputError, match=r"column 'content_unit': 'g/kg' does not fit a product measured in L"
    ):
        load_catalogue(folder)


def test_missing_file_and_column(tmp_path):
    folder = _copy(tmp_path)
    (folder / "active_ingredients.csv").unlink()
    with pytest.raises(InputError, match="no such active-ingredient table"):
        load_catalogue(folder)
    folder = _copy(tmp_path / "b")
    text = (folder / "products.csv").read_text(encoding="utf-8").replace(",phi_days,", ",phi,")
    (folder / "products.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="has no column 'phi_days'"):
        load_catalogue(folder)
