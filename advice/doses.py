"""A label dose in the units a grower mixes by: per 亩, as a dilution (倍液) with its water, per knapsack and
per drone tank, in grams or millilitres when small (issue #19; ecosystem notes §4.3).

One 亩 is 666.7 m² (15 亩 = 1 ha). A dilution of ``m`` 倍 means one part of product in ``m`` parts of water,
so per 亩 the water is the spray volume per 亩 and the product is that water ÷ ``m`` (a water-like liquid,
1 kg/L).

A plant-protection drone sprays the same product per 亩 in far less water (``drone_water_l_per_mu``, a few
litres): its tank holds the dose of ``drone_tank_l / drone_water_l_per_mu`` 亩. The sizes are parameters of
``advice/parameters/rules.toml`` (``application.*``), passed in by the weekly chain.
"""

from __future__ import annotations

import math

__all__ = ["MU_PER_HA", "dose_in_grower_units"]

MU_PER_HA = 15.0


def _small(amount: float, unit: str) -> tuple[float, str]:
    """kg → g and L → mL below 1 (growers weigh small doses in grams and measure liquids in millilitres)."""
    if amount < 1.0:
        return amount * 1000.0, {"kg": "g", "L": "mL"}.get(unit, unit)
    return amount, unit


def dose_in_grower_units(
    *,
    dose_per_ha: float,
    unit: str,
    spray_volume_l_per_ha: float | None,
    area_ha: float,
    knapsack_l: float = 15.0,
    drone_tank_l: float | None = None,
    drone_water_l_per_mu: float | None = None,
) -> dict:
    """The dose per 亩, for the plot, as 倍液 with water and per knapsack.

    Parameters
    ----------
    dose_per_ha : float
        Product per hectare [kg/ha or L/ha].
    unit : {"kg", "L"}
        Unit of the product.
    spray_volume_l_per_ha : float or None
        Spray liquid per hectare [L/ha]; None (or NaN) for products applied dry (fertilisers).
    area_ha : float
        Plot area [ha].
    knapsack_l : float
        Volume of a knapsack sprayer [L] (a drone sprays far less water per 亩, so its tank needs its own
        label rate, not this dilution).
    drone_tank_l, drone_water_l_per_mu : float or None
        Tank of a plant-protection drone [L] and the water it sprays per 亩 [L/亩]; with both, the result
        also says the product per drone tank and the 亩 one tank covers.

    Returns
    -------
    dict
        ``per_mu`` and ``per_mu_unit`` (g, mL, kg or L per 亩), ``per_plot`` and ``per_plot_unit``; for sprays
        also ``dilution`` (the 倍 multiple, rounded), ``water_l_per_mu``, ``water_l_plot``, ``per_knapsack`` /
        ``per_knapsack_unit`` (product for one ``knapsack_l`` tank), ``knapsacks`` (tanks for the plot,
        rounded up); with a drone: ``drone_tank_l``, ``drone_water_l_per_mu``, ``per_drone_tank`` /
        ``per_drone_tank_unit`` and ``mu_per_drone_tank``.

    Examples: 77 % copper hydroxide WP at 800 倍 and 2250 L/ha: 187.5 g and 150 L of water per 亩, 18.8 g per
    15 L knapsack.
    """
    per_mu = dose_per_ha / MU_PER_HA
    out = {}
    out["per_mu"], out["per_mu_unit"] = _small(per_mu, unit)
    out["per_plot"], out["per_plot_unit"] = _small(dose_per_ha * area_ha, unit)
    if (
        spray_volume_l_per_ha is None
        or not math.isfinite(spray_volume_l_per_ha)
        or spray_volume_l_per_ha <= 0
    ):
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}
    water_per_mu = spray_volume_l_per_ha / MU_PER_HA
    out["dilution"] = round(spray_volume_l_per_ha / dose_per_ha)
    out["water_l_per_mu"] = water_per_mu
    out["water_l_plot"] = spray_volume_l_per_ha * area_ha
    out["per_knapsack"], out["per_knapsack_unit"] = _small(
        dose_per_ha / spray_volume_l_per_ha * knapsack_l, unit
    )
    out["knapsack_l"] = knapsack_l
    out["knapsacks"] = math.ceil(spray_volume_l_per_ha * area_ha / knapsack_l)
    if drone_tank_l and drone_water_l_per_mu and drone_tank_l > 0 and drone_water_l_per_mu > 0:
        mu_per_tank = drone_tank_l / drone_water_l_per_mu
        out["drone_tank_l"] = float(drone_tank_l)
        out["drone_water_l_per_mu"] = float(drone_water_l_per_mu)
        out["mu_per_drone_tank"] = mu_per_tank
        out["per_drone_tank"], out["per_drone_tank_unit"] = _small(per_mu * mu_per_tank, unit)
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}
