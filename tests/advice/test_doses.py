"""Doses in growers' units (advice.doses): per 亩, 倍液 with water, per knapsack; g and mL when small."""

import pytest

from advice.doses import dose_in_grower_units


def test_a_dilution_per_mu_and_per_knapsack():
    # 77 % copper hydroxide WP at 800 倍 with 2250 L/ha of spray liquid on a 2.8 ha (42 亩) plot
    d = dose_in_grower_units(dose_per_ha=2250 / 800, unit="kg", spray_volume_l_per_ha=2250, area_ha=2.8)
    assert (d["per_mu"], d["per_mu_unit"]) == (187.5, "g")
    assert d["dilution"] == 800 and d["water_l_per_mu"] == 150.0
    assert (d["per_knapsack"], d["per_knapsack_unit"]) == (18.8, "g")  # 15 L / 800
    assert (d["per_plot"], d["per_plot_unit"]) == (7.9, "kg") and d["knapsacks"] == 420


def test_liquids_in_millilitres_and_dry_products_without_water():
    d = dose_in_grower_units(dose_per_ha=0.75, unit="L", spray_volume_l_per_ha=2250, area_ha=0.5)
    assert (d["per_mu"], d["per_mu_unit"]) == (50.0, "mL") and (
        d["per_knapsack"],
        d["per_knapsack_unit"],
    ) == (5.0, "mL")
    dry = dose_in_grower_units(dose_per_ha=150, unit="kg", spray_volume_l_per_ha=None, area_ha=1.0)
    assert dry == {"per_mu": 10.0, "per_mu_unit": "kg", "per_plot": 150.0, "per_plot_unit": "kg"}


def test_the_app_shows_how_to_mix_a_spray():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app"))
    from i18n import product_items

    dose = dose_in_grower_units(dose_per_ha=2250 / 800, unit="kg", spray_volume_l_per_ha=2250, area_ha=2.8)
    record = {
        "products": [
            {
                "name_zh": "77%氢氧化铜可湿性粉剂",
                "name_en": "copper hydroxide 77% WP",
                "amount": 7.88,
                "unit": "kg",
                "cost_cny": 221.0,
                "phi_days": 30,
                "dose": dose,
            }
        ]
    }
    zh = product_items(record, "zh-CN")
    assert "每亩 187.5g，800 倍液，每亩兑水 150 升；每 15 升喷雾器加 18.8g" in zh
    assert "187.5 g per mu at 800x dilution" in product_items(record, "en")
    assert "倍液" not in product_items({"products": [{**record["products"][0], "dose": {}}]}, "zh-CN")


@pytest.mark.parametrize("area", [0.2, 2.8])
def test_per_mu_does_not_depend_on_the_area(area):
    d = dose_in_grower_units(dose_per_ha=3.0, unit="kg", spray_volume_l_per_ha=2250, area_ha=area)
    assert d["per_mu"] == 200.0
