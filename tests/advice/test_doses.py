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


def test_a_drone_tank_holds_the_dose_of_the_mu_it_covers():
    # 800 倍 copper: 187.5 g per 亩; a 30 L drone tank at 3 L per 亩 covers 10 亩, so it takes 1.875 kg
    d = dose_in_grower_units(dose_per_ha=2250 / 800, unit="kg", spray_volume_l_per_ha=2250, area_ha=2.8,
                             drone_tank_l=30.0, drone_water_l_per_mu=3.0)
    assert d["mu_per_drone_tank"] == 10.0 and (d["per_drone_tank"], d["per_drone_tank_unit"]) == (1.9, "kg")
    small = dose_in_grower_units(dose_per_ha=0.75, unit="L", spray_volume_l_per_ha=2250, area_ha=1.0,
                                 drone_tank_l=20.0, drone_water_l_per_mu=4.0)
    assert (small["per_drone_tank"], small["per_drone_tank_unit"]) == (250.0, "mL")  # 50 mL/亩 x 5 亩
    assert "per_drone_tank" not in dose_in_grower_units(dose_per_ha=3.0, unit="kg", spray_volume_l_per_ha=2250,
                                                        area_ha=1.0)


def test_advised_sprays_carry_phi_rei_and_the_drone_tank_fertilisers_no_phi():
    from datetime import date

    import pandas as pd

    from advice.products import attach_products, rotation_parameters
    from advice.recommendation import Recommendation
    from advice.rules import rules_parameters

    day = date(2016, 7, 15)

    def rec(topic, numbers):
        return Recommendation(plot_id="A", issued_on=day, valid_from=day, valid_to=day, topic=topic, severity=3,
                              action_key=f"advice.action.{topic}", reason_key="r", module="m",
                              action_numbers=numbers)

    spray, nitrogen = rec("spray", {"pest": "black_spot"}), rec("fertilise", {"kg_n_plot": 20.0})
    application = {**rules_parameters().values(), "application.drone_tank_l": 20.0}
    attach_products([spray, nitrogen], pd.Series({"A": 1.0}), day, {}, None, rotation_parameters(),
                    application=application)
    assert spray.products and nitrogen.products
    for p in spray.products:
        assert p["phi_days"] >= 0 and p["rei_hours"] is not None
        assert p["dose"]["drone_tank_l"] == 20.0  # the caller's tank, not a default
    assert all("phi_days" not in p and "dose" not in p for p in nitrogen.products)
