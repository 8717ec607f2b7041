"""Pesticide-reduction and carbon accounting per plot, grower and district and season.

What a season of records adds up to, against the local calendar-spray programme (the baseline):

- **kg a.i./ha**: product amount × active-ingredient content, summed over the season;
- **TFI / IFT** (treatment frequency index, France's Ecophyto *indice de fréquence de traitement*):
  ``(applied dose / reference dose) × (treated area / plot area)`` per product applied, summed;
- **field-use EIQ** (Kovach et al. 1992): ``EIQ × kg a.i./ha`` per active ingredient, summed;
- **number of sprays**: distinct days with at least one pesticide applied;
- **kg CO2e/ha**: manufacture of pesticides (Lal 2004) and fertiliser nutrients, direct (and optionally
  indirect) N2O from applied N (IPCC 2019, wet climate) and CO2 from urea.

Functions take pandas DataFrames so the catalogue, the store and the app can each build them their own way.
The columns they read:

``applications`` (one row per product applied; a tank mix is several rows on the same day and plot)
    ``plot_id`` (str), ``product_id`` (str), ``applied_on`` (date), ``amount`` (> 0, product applied on the
    treated area), ``unit`` (``kg``, ``g``, ``L`` or ``mL`` of product), ``area_ha`` (treated area [ha];
    missing means the whole plot). A dose given as a dilution (e.g. 1500 倍液) is turned into a product
    amount by the caller with :func:`dose_from_dilution`.
``products`` (one row per product × active ingredient; a fertiliser has one row)
    ``product_id``, ``ai_class`` (``insecticide``, ``acaricide``, ``fungicide``, ``bactericide``,
    ``herbicide`` or ``fertiliser``), ``unit`` (``kg`` or ``L``: what one unit of product is), and as needed
    ``ai_name``, ``ai_content_g_per_unit`` (g a.i. per kg or L of product; required for pesticides),
    ``reference_dose_per_ha`` (registered product dose [kg or L of product/ha], or else
    ``reference_dilution`` with ``spray_volume_l_per_ha``), ``eiq`` (Cornell EIQ of the a.i.),
    ``n_content_pct``, ``p2o5_pct``, ``k2o_pct``, ``urea_pct`` (mass % of the product), ``density_kg_per_l``
    (liquid fertilisers; 1 when missing).
``plots``
    ``plot_id``, ``area_ha``, and optionally ``owner_id`` (grower) and ``district``.

Sources: ecosystem science note §4.3–4.5 (see ``docs/advice.md``, "Pesticide-reduction and carbon
accounting").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from orchard.errors import InputError, ParameterError, check_input_file

__all__ = [
    "BASELINE_FILE",
    "CARBON_FILE",
    "MU_PER_HA",
    "PESTICIDE_CLASSES",
    "active_ingredient_kg",
    "baseline_applications",
    "carbon_footprint",
    "carbon_parameters",
    "dose_from_dilution",
    "eiq",
    "field_use_eiq",
    "load_baseline",
    "n2o_direct_co2e_kg",
    "products_from_catalogue",
    "projected_account",
    "season_account",
    "treatment_frequency_index",
]

PARAMETER_DIR = Path(__file__).resolve().parent / "parameters"
#: Shipped greenhouse-gas factors.
CARBON_FILE = PARAMETER_DIR / "carbon.toml"
#: Shipped example calendar-spray programme (an agronomist sets the local one).
BASELINE_FILE = PARAMETER_DIR / "baseline_calendar.csv"

#: 亩 per hectare (1 mu = 666.7 m²).
MU_PER_HA = 15.0
#: Molar mass ratio N2O / N2 (kg N2O per kg N2O-N).
N2O_PER_N2O_N = 44.0 / 28.0
#: Molar mass ratio CO2 / C.
CO2_PER_C = 44.0 / 12.0

PESTICIDE_CLASSES = ("insecticide", "acaricide", "fungicide", "bactericide", "herbicide")
CLASSES = (*PESTICIDE_CLASSES, "fertiliser")
#: Which manufacture factor each pesticide class uses (carbon.toml notes the two borrowed ones).
_MANUFACTURE_KEY = {"insecticide": "manufacture.insecticide", "acaricide": "manufacture.insecticide",
                    "fungicide": "manufacture.fungicide", "bactericide": "manufacture.fungicide",
                    "herbicide": "manufacture.herbicide"}
# Amount units -> (base unit, factor to the base unit).
_UNITS = {"kg": ("kg", 1.0), "g": ("kg", 1e-3), "l": ("L", 1.0), "ml": ("L", 1e-3)}

CARBON_COLUMNS = ("co2e_pesticide_kg", "co2e_fertiliser_manufacture_kg", "co2e_n2o_direct_kg",
                  "co2e_n2o_indirect_kg", "co2e_urea_kg")
METRICS = ("n_sprays", "ai_kg_per_ha", "tfi", "field_eiq_per_ha", "co2e_kg_per_ha")


# ----------------------------------------------------------------------------------------------------------
# Process functions
# ----------------------------------------------------------------------------------------------------------
def dose_from_dilution(spray_volume_l_per_ha, dilution_multiple):
    """Product dose per hectare from a dilution (倍液) and the spray volume [kg or L of product/ha].

    ``1500 倍液`` means one part of product in 1500 parts of water; with a water-like density the product
    per hectare is the spray volume divided by the multiple.

    Parameters
    ----------
    spray_volume_l_per_ha : numeric
        Spray liquid applied per hectare [L/ha] (hilly citrus with hand guns: about 1500–3000 L/ha).
    dilution_multiple : numeric
        Dilution multiple (倍数) [-], > 0.

    Returns
    -------
    numeric
        Product per hectare [kg/ha for solids, L/ha for liquids].

    References
    ----------
    Ecosystem science note §4.3 (conversion of dilution to kg a.i./ha).
    """
    dilution = np.asarray(dilution_multiple, dtype=float)
    if np.any(~(dilution > 0)):
        raise InputError(f"dilution multiple {dilution_multiple!r} is not a positive number; give e.g. 1500 "
                         "for 1500倍液.")
    return np.asarray(spray_volume_l_per_ha, dtype=float) / dilution


def eiq(c, dt, p, s, sy, l, f, r, d, z, b):  # noqa: E741 - Kovach's symbol
    """Environmental Impact Quotient of an active ingredient (Kovach et al. 1992) [-].

    ``EIQ = {C[(DT×5) + (DT×P)] + [(C×((S+P)/2)×SY) + L]
    + [(F×R) + (D×((S+P)/2)×3) + (Z×P×3) + (B×P×5)]} / 3``: the mean of the farm-worker, consumer and
    ecological components.

    Parameters
    ----------
    c, dt, p, s, sy, l, f, r, d, z, b : numeric
        Ratings 1 (least harmful), 3 or 5 (Cornell's tables): chronic toxicity, dermal LD50, plant-surface
        half-life, soil half-life, systemicity, leaching potential, fish toxicity, surface-runoff potential,
        bird toxicity, bee toxicity, beneficial-arthropod toxicity.

    Returns
    -------
    numeric
        EIQ [-]; all ratings 1 give 20/3 ≈ 6.67.

    References
    ----------
    Kovach, J., Petzoldt, C., Degni, J., Tette, J. (1992) A method to measure the environmental impact of
    pesticides. New York's Food and Life Sciences Bulletin 139, 1–8 (equation as given by the American
    Farmland Trust EIQ page and PMC8564203 Table 2).
    """
    ratings = (c, dt, p, s, sy, l, f, r, d, z, b)
    c, dt, p, s, sy, leach, f, r, d, z, b = (np.asarray(x, dtype=float) for x in ratings)
    farm_worker = c * (dt * 5.0 + dt * p)
    consumer = c * ((s + p) / 2.0) * sy + leach
    ecology = f * r + d * ((s + p) / 2.0) * 3.0 + z * p * 3.0 + b * p * 5.0
    return (farm_worker + consumer + ecology) / 3.0


def n2o_direct_co2e_kg(n_kg, ef1, gwp_n2o):
    """Direct N2O from synthetic N applied to soil, as CO2 equivalent [kg CO2e].

    ``n_kg × EF1 × 44/28 × GWP(N2O)``; with EF1 = 0.016 (wet climate) and GWP 273 (AR6) that is 6.86 kg CO2e
    per kg N.

    Parameters
    ----------
    n_kg : numeric
        Nitrogen applied [kg N].
    ef1 : float
        Emission factor [kg N2O-N / kg N].
    gwp_n2o : float
        100-year global warming potential of N2O [kg CO2e / kg N2O].

    References
    ----------
    IPCC 2019 Refinement, Vol. 4 Ch. 11, Eq. 11.1 and Table 11.1; IPCC AR6 WG1 Table 7.15.
    """
    return np.asarray(n_kg, dtype=float) * ef1 * N2O_PER_N2O_N * gwp_n2o


def products_from_catalogue(catalogue) -> pd.DataFrame:
    """The products table this module reads, from an :class:`advice.catalogue.Catalogue`.

    Product kind → ``ai_class``; a.i. content [g/kg or g/L] → ``ai_content_g_per_unit``; the label dose
    (per_ha, per_mu × 15, or spray volume ÷ dilution multiple) → ``reference_dose_per_ha``; fertiliser
    nutrients N, P2O5, K2O [g/kg] → mass %; a fertiliser whose id or English name says urea gets
    ``urea_pct`` = 100 (the catalogue has no urea column; other nutrients, Mg B Zn, carry no carbon factor).

    Parameters
    ----------
    catalogue : advice.catalogue.Catalogue
        Anything with ``products`` (indexed by product_id: ``kind``, ``product_unit``, ``dose_basis``,
        ``dose_value``, ``spray_volume_l_per_ha``) and ``active_ingredients`` (``product_id``, ``ai_name_en``,
        ``content``, ``eiq``) DataFrames.
    """
    prods = catalogue.products.reset_index(drop=True) if "product_id" in catalogue.products.columns \
        else catalogue.products.rename_axis("product_id").reset_index()
    ais = catalogue.active_ingredients
    value = pd.to_numeric(prods["dose_value"], errors="coerce").astype(float)
    volume = pd.to_numeric(prods["spray_volume_l_per_ha"], errors="coerce").astype(float)
    basis = prods["dose_basis"].astype(str)
    dose = np.where(basis == "per_ha", value, np.where(basis == "per_mu", value * MU_PER_HA, volume / value))
    per_product = pd.DataFrame({"product_id": prods["product_id"].astype(str), "ai_class": prods["kind"],
                                "unit": prods["product_unit"], "reference_dose_per_ha": dose})
    is_fert = per_product["ai_class"] == "fertiliser"
    per_product.loc[is_fert, "reference_dose_per_ha"] = np.nan
    names = (prods["product_id"].astype(str) + " " + prods.get("trade_name_en", "").astype(str)).str.lower()
    per_product["urea_pct"] = np.where(is_fert & names.str.contains("urea"), 100.0, np.nan)
    nutrients = ais[ais["product_id"].isin(per_product.loc[is_fert, "product_id"])]
    table = nutrients.pivot_table(index="product_id", columns="ai_name_en", values="content", aggfunc="sum")
    for nutrient, column in (("N", "n_content_pct"), ("P2O5", "p2o5_pct"), ("K2O", "k2o_pct")):
        grams = table[nutrient] if nutrient in table.columns else pd.Series(dtype=float)
        per_product[column] = per_product["product_id"].map(grams / 10.0)
    pest = ais[~ais["product_id"].isin(per_product.loc[is_fert, "product_id"])]
    pest = pd.DataFrame({"product_id": pest["product_id"].astype(str), "ai_name": pest["ai_name_en"],
                         "ai_content_g_per_unit": pd.to_numeric(pest["content"], errors="coerce"),
                         "eiq": pd.to_numeric(pest["eiq"], errors="coerce")})
    out = per_product.merge(pest, on="product_id", how="left")
    out.loc[out["ai_class"] == "fertiliser", "ai_name"] = out["product_id"]
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------------------
def _frame(obj, what: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    try:
        return pd.DataFrame.from_records(list(obj)) if not isinstance(obj, Mapping) else pd.DataFrame(obj)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a table (DataFrame or list of records), not "
                         f"{type(obj).__name__}.") from None


def _require(df: pd.DataFrame, what: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} has no column '{missing[0]}'; it needs {', '.join(columns)}.")


def _numbers(df: pd.DataFrame, what: str, column: str) -> pd.Series:
    values = pd.to_numeric(df[column], errors="coerce").astype(float)
    bad = values.isna() & df[column].notna()
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise InputError(f"{what} row {row}: {column} {df[column][row]!r} is not a number; correct it.")
    return values


def _check_products(products) -> pd.DataFrame:
    """Validated copy of the products table (one row per product × a.i.) with product-level unit."""
    what = "products"
    df = _frame(products, what).copy()
    _require(df, what, ("product_id", "ai_class", "unit"))
    if df.empty:
        raise InputError("products is empty; load the product catalogue first.")
    df["product_id"] = df["product_id"].astype(str)
    df["ai_class"] = df["ai_class"].astype(str).str.strip().str.lower().replace({"fertilizer": "fertiliser"})
    unknown = ~df["ai_class"].isin(CLASSES)
    if unknown.any():
        row = df.index[unknown.to_numpy()][0]
        raise InputError(f"products row {row} ({df['product_id'][row]}): class {df['ai_class'][row]!r} "
                         f"is not one of {', '.join(CLASSES)}; correct the catalogue.")
    unit = df["unit"].astype(str).str.strip().str.lower()
    bad = ~unit.isin(("kg", "l"))
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise InputError(f"products row {row} ({df['product_id'][row]}): unit {df['unit'][row]!r} is not "
                         "kg or L of product; correct the catalogue.")
    df["unit"] = unit.map({"kg": "kg", "l": "L"})
    if (df.groupby("product_id")["unit"].nunique() > 1).any():
        pid = df.groupby("product_id")["unit"].nunique().idxmax()
        raise InputError(f"products: product {pid} is listed both in kg and in L; give one unit per product.")
    for column in ("ai_content_g_per_unit", "reference_dose_per_ha", "reference_dilution",
                   "spray_volume_l_per_ha", "eiq", "n_content_pct", "p2o5_pct", "k2o_pct", "urea_pct",
                   "density_kg_per_l"):
        if column in df.columns:
            df[column] = _numbers(df, what, column)
            negative = df[column] < 0
            if negative.any():
                row = df.index[negative.to_numpy()][0]
                raise InputError(f"products row {row} ({df['product_id'][row]}): {column} is negative; "
                                 "correct the catalogue.")
        else:
            df[column] = np.nan
    for column in ("n_content_pct", "p2o5_pct", "k2o_pct", "urea_pct"):
        if (df[column] > 100).any():
            row = df.index[(df[column] > 100).to_numpy()][0]
            raise InputError(f"products row {row} ({df['product_id'][row]}): {column} is above 100 %; "
                             "give a mass percentage.")
    pesticide = df["ai_class"].isin(PESTICIDE_CLASSES)
    no_content = pesticide & df["ai_content_g_per_unit"].isna()
    if no_content.any():
        row = df.index[no_content.to_numpy()][0]
        raise InputError(f"products row {row} ({df['product_id'][row]}): the active-ingredient content "
                         "(ai_content_g_per_unit) is missing; add it from the label.")
    if "ai_name" not in df.columns:
        df["ai_name"] = df["product_id"]
    # A registered dose given as a dilution becomes product per hectare.
    from_dilution = df["reference_dose_per_ha"].isna() & (df["reference_dilution"] > 0)
    df.loc[from_dilution, "reference_dose_per_ha"] = (df.loc[from_dilution, "spray_volume_l_per_ha"]
                                                      / df.loc[from_dilution, "reference_dilution"])
    return df


def _plot_areas(plot_area_ha) -> pd.Series:
    if isinstance(plot_area_ha, pd.DataFrame):
        _require(plot_area_ha, "plots", ("plot_id", "area_ha"))
        series = pd.Series(plot_area_ha["area_ha"].to_numpy(), index=plot_area_ha["plot_id"].astype(str))
    elif isinstance(plot_area_ha, pd.Series):
        series = plot_area_ha.copy()
        series.index = series.index.astype(str)
    else:
        series = pd.Series(dict(plot_area_ha))
    series = pd.to_numeric(series, errors="coerce").astype(float)
    bad = ~(series > 0)
    if bad.any():
        raise InputError(f"plot {series.index[bad.to_numpy()][0]} has no positive area_ha; compute plot "
                         "areas (orchard plots) before the account.")
    if series.index.duplicated().any():
        raise InputError(f"plot {series.index[series.index.duplicated()][0]} is listed twice; plot ids "
                         "must be unique.")
    return series


def _check_applications(applications, products: pd.DataFrame, plot_area_ha=None) -> pd.DataFrame:
    """Validated applications with ``amount_base`` (kg or L of product), ``area_ha`` filled, ``row`` kept."""
    what = "applications"
    df = _frame(applications, what).copy()
    _require(df, what, ("plot_id", "product_id", "applied_on", "amount", "unit"))
    df["row"] = df.index
    df = df.reset_index(drop=True)
    df["plot_id"] = df["plot_id"].astype(str)
    df["product_id"] = df["product_id"].astype(str)
    if "area_ha" not in df.columns:
        df["area_ha"] = np.nan

    def where(i) -> str:
        return f"applications row {df['row'][i]} (plot {df['plot_id'][i]}, {df['product_id'][i]})"

    dates = pd.to_datetime(df["applied_on"].astype(str), format="ISO8601", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise InputError(f"{where(i)}: applied_on {df['applied_on'][i]!r} is not a date; use YYYY-MM-DD.")
    df["applied_on"] = dates.dt.normalize()
    amount = pd.to_numeric(df["amount"], errors="coerce").astype(float)
    bad = ~(amount > 0) | ~np.isfinite(amount)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where(i)}: amount {df['amount'][i]!r} is not a positive number; correct the "
                         "record.")
    area = pd.to_numeric(df["area_ha"], errors="coerce").astype(float)
    bad = area.notna() & ~(area > 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where(i)}: treated area {df['area_ha'][i]!r} ha is not positive; correct the "
                         "record.")
    known = set(products["product_id"])
    unknown = ~df["product_id"].isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"{where(i)}: product '{df['product_id'][i]}' is not in the product catalogue; add "
                         "it to the catalogue or correct the product id.")
    unit = df["unit"].astype(str).str.strip().str.lower()
    parsed = unit.map(_UNITS)
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"{where(i)}: unit {df['unit'][i]!r} is not kg, g, L or mL of product; convert it.")
    base = parsed.map(lambda t: t[0])
    product_unit = df["product_id"].map(products.groupby("product_id")["unit"].first())
    mismatch = base != product_unit
    if mismatch.any():
        i = int(np.flatnonzero(mismatch.to_numpy())[0])
        raise InputError(f"{where(i)}: the amount is in {df['unit'][i]} but the product is measured in "
                         f"{product_unit[i]}; convert the amount to {product_unit[i]}.")
    df["amount_base"] = amount * parsed.map(lambda t: t[1]).astype(float)
    if plot_area_ha is not None:
        plot_area = df["plot_id"].map(plot_area_ha)
        if plot_area.isna().any():
            i = int(np.flatnonzero(plot_area.isna().to_numpy())[0])
            raise InputError(f"{where(i)}: plot {df['plot_id'][i]} is not among the plots; import it or "
                             "correct the plot id.")
        # Rounding of the recorded area (e.g. mu to ha) may exceed the plot area slightly: allow 5 %.
        too_big = area > plot_area * 1.05
        if too_big.any():
            i = int(np.flatnonzero(too_big.to_numpy())[0])
            raise InputError(f"{where(i)}: treated area {area[i]:g} ha is larger than the plot "
                             f"({plot_area[i]:g} ha); correct the record.")
        df["plot_area_ha"] = plot_area
        df["area_ha"] = area.fillna(plot_area).clip(upper=plot_area)
    else:
        df["area_ha"] = area
    return df


# ----------------------------------------------------------------------------------------------------------
# Per-application quantities
# ----------------------------------------------------------------------------------------------------------
def active_ingredient_kg(applications, products) -> pd.DataFrame:
    """Active ingredient applied, one row per pesticide application × active ingredient [kg a.i.].

    ``ai_kg = amount [kg or L of product] × ai_content_g_per_unit [g/kg or g/L] / 1000``. Fertiliser rows
    are left out. Amounts in g or mL are converted first; a dilution-based dose must already be a product
    amount (see :func:`dose_from_dilution`).

    Parameters
    ----------
    applications, products : pandas.DataFrame
        See the module docstring for the columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (index of the application in ``applications``), ``plot_id``, ``product_id``,
        ``applied_on``, ``area_ha`` (treated [ha], NaN when not recorded), ``ai_name``, ``ai_class``,
        ``eiq``, ``ai_kg`` [kg a.i.].

    Raises
    ------
    orchard.errors.InputError
        Missing columns, a non-positive amount, an unknown product, a unit that does not fit the product.
    """
    prods = _check_products(products)
    apps = _check_applications(applications, prods)
    return _ai_rows(apps, prods)


def _ai_rows(apps: pd.DataFrame, prods: pd.DataFrame) -> pd.DataFrame:
    pest = prods.loc[prods["ai_class"].isin(PESTICIDE_CLASSES),
                     ["product_id", "ai_name", "ai_class", "ai_content_g_per_unit", "eiq"]]
    keep = [c for c in ("row", "plot_id", "product_id", "applied_on", "area_ha", "plot_area_ha",
                        "amount_base") if c in apps.columns]
    rows = apps[keep].merge(pest, on="product_id", how="inner")
    rows["ai_kg"] = rows["amount_base"] * rows["ai_content_g_per_unit"] / 1000.0
    columns = [c for c in ("row", "plot_id", "product_id", "applied_on", "area_ha", "plot_area_ha", "ai_name",
                           "ai_class", "eiq", "ai_kg") if c in rows.columns]
    return rows[columns].sort_values(["row", "ai_name"], kind="stable").reset_index(drop=True)


def treatment_frequency_index(applications, products, plot_area_ha) -> pd.DataFrame:
    """Treatment frequency index (TFI / IFT) of each pesticide application [-].

    ``TFI = (applied dose / reference dose) × (treated area / plot area)`` with the applied dose
    ``amount / treated area`` [kg or L of product/ha]; so ``TFI = amount / (reference dose × plot area)``.
    Each product of a tank mix is its own treatment (one row each); a product without a reference dose
    counts a dose ratio of 1 (times the treated fraction). Sum the rows per plot and season for the
    season TFI. Fertilisers are left out.

    Parameters
    ----------
    applications, products : pandas.DataFrame
        See the module docstring; ``reference_dose_per_ha`` is the registered dose for citrus [kg or L of
        product/ha] (in China the label dose for the crop and target).
    plot_area_ha : pandas.Series, dict or DataFrame
        Plot area by ``plot_id`` [ha] (a DataFrame needs ``plot_id`` and ``area_ha``).

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``plot_id``, ``product_id``, ``applied_on``, ``area_ha``, ``plot_area_ha``,
        ``dose_per_ha`` [kg or L/ha on the treated area], ``reference_dose_per_ha``, ``dose_ratio``,
        ``treated_fraction``, ``tfi``, ``has_reference`` (bool).

    References
    ----------
    Ministère de l'Agriculture (2018) Guide méthodologique IFT v3 (Ecophyto); ecosystem science note §4.3.
    """
    prods = _check_products(products)
    areas = _plot_areas(plot_area_ha)
    apps = _check_applications(applications, prods, areas)
    return _tfi_rows(apps, prods)


def _tfi_rows(apps: pd.DataFrame, prods: pd.DataFrame) -> pd.DataFrame:
    per_product = prods.groupby("product_id").agg(
        product_class=("ai_class", "first"), reference_dose_per_ha=("reference_dose_per_ha", "first"))
    pesticide_ids = prods.loc[prods["ai_class"].isin(PESTICIDE_CLASSES), "product_id"].unique()
    rows = apps[apps["product_id"].isin(pesticide_ids)].copy()
    rows["reference_dose_per_ha"] = rows["product_id"].map(per_product["reference_dose_per_ha"])
    rows["dose_per_ha"] = rows["amount_base"] / rows["area_ha"]
    rows["has_reference"] = rows["reference_dose_per_ha"] > 0
    rows["dose_ratio"] = np.where(rows["has_reference"], rows["dose_per_ha"] / rows["reference_dose_per_ha"],
                                  1.0)
    rows["treated_fraction"] = rows["area_ha"] / rows["plot_area_ha"]
    rows["tfi"] = rows["dose_ratio"] * rows["treated_fraction"]
    columns = ["row", "plot_id", "product_id", "applied_on", "area_ha", "plot_area_ha", "dose_per_ha",
               "reference_dose_per_ha", "dose_ratio", "treated_fraction", "tfi", "has_reference"]
    return rows[columns].reset_index(drop=True)


def field_use_eiq(applications, products, plot_area_ha=None) -> pd.DataFrame:
    """Field-use EIQ of each pesticide application × active ingredient [EIQ·kg a.i./ha].

    ``field-use EIQ = EIQ × %a.i. × rate``: with %a.i. as a fraction (g/kg ÷ 1000) and the rate in kg (or L)
    of product per hectare, this is ``EIQ × kg a.i./ha``, all in metric units (Cornell's tables use lb/acre:
    1 lb/acre = 1.121 kg/ha, so metric values are 1.121 times the lb/acre ones). The rate is per hectare of
    the treated area; multiply by the treated fraction (or divide the summed ``eiq_kg`` by the plot area) for
    the plot.

    Parameters
    ----------
    applications, products : pandas.DataFrame
        See the module docstring; ``eiq`` is the a.i.'s EIQ (Cornell table or :func:`eiq`). Rows without
        ``area_ha`` give NaN per hectare but still an ``eiq_kg``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`active_ingredient_kg` plus ``ai_kg_per_ha`` [kg a.i./ha treated],
        ``eiq_kg`` (EIQ × kg a.i.) and ``field_eiq`` (EIQ × kg a.i./ha treated); NaN where the a.i. has no
        EIQ.

    References
    ----------
    Kovach et al. (1992), NY Food and Life Sciences Bulletin 139; ecosystem science note §4.3.
    """
    prods = _check_products(products)
    areas = None if plot_area_ha is None else _plot_areas(plot_area_ha)
    return _eiq_columns(_ai_rows(_check_applications(applications, prods, areas), prods))


def _eiq_columns(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["ai_kg_per_ha"] = rows["ai_kg"] / rows["area_ha"]
    rows["eiq_kg"] = rows["eiq"] * rows["ai_kg"]
    rows["field_eiq"] = rows["eiq"] * rows["ai_kg_per_ha"]
    return rows


# ----------------------------------------------------------------------------------------------------------
# Carbon
# ----------------------------------------------------------------------------------------------------------
def carbon_parameters(path: str | os.PathLike | None = None, session=None):
    """The greenhouse-gas factors: the shipped ``carbon.toml``, a file in its schema, or the latest version
    stored in the database (``session``), as an :class:`orchard.params.ParameterSet`."""
    from orchard import params

    shipped = params.load_parameters(CARBON_FILE)
    if path is not None:
        return params.load_parameters(path, schema=shipped, name=shipped.name)
    if session is not None and params.list_versions(session, shipped.name):
        return shipped.with_overrides(params.load_version(session, shipped.name).values())
    return shipped


def _factor(factors, key: str) -> float:
    try:
        value = factors[key]
    except KeyError:
        raise ParameterError(f"carbon factors have no '{key}'; start from carbon_parameters() and override "
                             "values there.") from None
    return float(value)


def carbon_footprint(applications, products, factors=None) -> pd.DataFrame:
    """Greenhouse-gas emissions of each application, with a breakdown by source [kg CO2e].

    - pesticides: ``kg a.i. × manufacture factor of its class`` (herbicide 23.1, insecticide and acaricide
      18.7, fungicide and bactericide 14.3 kg CO2e/kg a.i.; Lal 2004);
    - fertiliser manufacture: ``kg N × f_N + kg P2O5 × f_P + kg K2O × f_K`` (Lal 2004 mid values);
    - direct N2O: ``kg N × EF1 × 44/28 × GWP`` (IPCC 2019 wet climate EF1 0.016, AR6 GWP 273 → 6.86 kg CO2e
      per kg N), see :func:`n2o_direct_co2e_kg`;
    - indirect N2O (when ``options.include_indirect_n2o`` = 1): ``kg N × (FracGASF × EF4 + FracLEACH × EF5)
      × 44/28 × GWP``;
    - urea CO2 (when ``options.include_urea_co2`` = 1): ``kg urea × 0.20 × 44/12``.

    Parameters
    ----------
    applications, products : pandas.DataFrame
        See the module docstring. Nutrient contents are mass % of the product; a liquid fertiliser's litres
        are turned into kg with ``density_kg_per_l`` (1 when missing).
    factors : orchard.params.ParameterSet or mapping, optional
        Dotted keys as in ``advice/parameters/carbon.toml``; default :func:`carbon_parameters`.

    Returns
    -------
    pandas.DataFrame
        One row per application: ``row``, ``plot_id``, ``product_id``, ``applied_on``, ``n_kg``,
        ``p2o5_kg``, ``k2o_kg``, ``urea_kg``, the breakdown columns ``co2e_pesticide_kg``,
        ``co2e_fertiliser_manufacture_kg``, ``co2e_n2o_direct_kg``, ``co2e_n2o_indirect_kg``,
        ``co2e_urea_kg``, and their sum ``co2e_kg``.

    References
    ----------
    Lal, R. (2004) Carbon emission from farm operations. Environ. Int. 30:981–990. IPCC (2019) Refinement to
    the 2006 Guidelines, Vol. 4 Ch. 11, Tables 11.1 and 11.3. IPCC AR6 WG1 (2021) Table 7.15. Ecosystem
    science note §4.4.
    """
    prods = _check_products(products)
    apps = _check_applications(applications, prods)
    return _carbon_rows(apps, prods, carbon_parameters() if factors is None else factors)


def _carbon_rows(apps: pd.DataFrame, prods: pd.DataFrame, factors) -> pd.DataFrame:
    out = apps[["row", "plot_id", "product_id", "applied_on"]].copy()
    # Pesticides: sum over the product's active ingredients of kg a.i. × class factor.
    ai = _ai_rows(apps, prods)
    class_factor = ai["ai_class"].map({k: _factor(factors, v) for k, v in _MANUFACTURE_KEY.items()})
    pesticide = (ai["ai_kg"] * class_factor).groupby(ai["row"]).sum()
    out["co2e_pesticide_kg"] = out["row"].map(pesticide).fillna(0.0).to_numpy()
    # Fertilisers: nutrient masses from the product mass.
    fert = prods[prods["ai_class"] == "fertiliser"].groupby("product_id").first()
    density = fert["density_kg_per_l"].fillna(1.0)
    is_litre = fert["unit"] == "L"
    kg_per_unit = pd.Series(np.where(is_litre, density, 1.0), index=fert.index)
    product_kg = apps["amount_base"] * apps["product_id"].map(kg_per_unit)  # NaN for pesticides
    for column, pct in (("n_kg", "n_content_pct"), ("p2o5_kg", "p2o5_pct"), ("k2o_kg", "k2o_pct"),
                        ("urea_kg", "urea_pct")):
        out[column] = (product_kg * apps["product_id"].map(fert[pct]) / 100.0).fillna(0.0).to_numpy()
    out["co2e_fertiliser_manufacture_kg"] = (out["n_kg"] * _factor(factors, "manufacture.nitrogen")
                                             + out["p2o5_kg"] * _factor(factors, "manufacture.phosphate")
                                             + out["k2o_kg"] * _factor(factors, "manufacture.potash"))
    gwp = _factor(factors, "n2o.gwp")
    out["co2e_n2o_direct_kg"] = n2o_direct_co2e_kg(out["n_kg"], _factor(factors, "n2o.ef1_direct"), gwp)
    if _factor(factors, "options.include_indirect_n2o") >= 0.5:
        volatilised = _factor(factors, "n2o.frac_gasf") * _factor(factors, "n2o.ef4_volatilisation")
        leached = _factor(factors, "n2o.frac_leach") * _factor(factors, "n2o.ef5_leaching")
        indirect_n2o_n = out["n_kg"] * (volatilised + leached)
        out["co2e_n2o_indirect_kg"] = indirect_n2o_n * N2O_PER_N2O_N * gwp
    else:
        out["co2e_n2o_indirect_kg"] = 0.0
    if _factor(factors, "options.include_urea_co2") >= 0.5:
        out["co2e_urea_kg"] = out["urea_kg"] * _factor(factors, "urea.carbon_fraction") * CO2_PER_C
    else:
        out["co2e_urea_kg"] = 0.0
    out["co2e_kg"] = out[list(CARBON_COLUMNS)].sum(axis=1)
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------
# Baseline programme
# ----------------------------------------------------------------------------------------------------------
BASELINE_COLUMNS = ("spray_no", "month_day", "product_id", "dose", "dose_basis", "unit")


def load_baseline(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read a calendar-spray programme CSV (default the shipped example, ``baseline_calendar.csv``).

    Columns: ``spray_no`` (one number per spray day; products sharing it are a tank mix), ``month_day``
    (``MM-DD``), ``product_id``, ``dose`` and ``dose_basis`` (``per_ha``, ``per_mu`` or ``dilution``),
    ``unit`` (``kg`` or ``L`` of product), ``spray_volume_l_per_ha`` (needed for ``dilution``), and free
    ``target`` / ``note``. Lines starting with ``#`` are comments.

    Returns
    -------
    pandas.DataFrame
        The rows with ``dose_per_ha`` [kg or L of product/ha] added.
    """
    path = Path(path) if path is not None else BASELINE_FILE
    check_input_file(path, what="baseline programme file")
    try:
        df = pd.read_csv(path, comment="#", dtype={"month_day": str, "product_id": str},
                         skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: is not a readable CSV ({exc}); save it as UTF-8 CSV.") from None
    return _baseline_doses(df, str(path))


def _baseline_doses(df: pd.DataFrame, where: str) -> pd.DataFrame:
    df = df.copy()
    _require(df, where, BASELINE_COLUMNS)
    if df.empty:
        raise InputError(f"{where}: the programme has no sprays; add at least one row.")
    if "spray_volume_l_per_ha" not in df.columns:
        df["spray_volume_l_per_ha"] = np.nan
    dose = _numbers(df, where, "dose")
    volume = _numbers(df, where, "spray_volume_l_per_ha")
    basis = df["dose_basis"].astype(str).str.strip().str.lower()
    per_ha = pd.Series(np.nan, index=df.index)
    per_ha[basis == "per_ha"] = dose
    per_ha[basis == "per_mu"] = dose * MU_PER_HA
    dil = basis == "dilution"
    per_ha[dil] = volume[dil] / dose[dil]
    bad = ~(per_ha > 0)
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise InputError(f"{where} row {row} ({df['product_id'][row]}): dose {df['dose'][row]!r} with basis "
                         f"{df['dose_basis'][row]!r} does not give a positive dose per hectare; use per_ha, "
                         "per_mu or dilution (with spray_volume_l_per_ha).")
    dates = pd.to_datetime("2000-" + df["month_day"].astype(str), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        row = df.index[dates.isna().to_numpy()][0]
        raise InputError(f"{where} row {row}: month_day {df['month_day'][row]!r} is not MM-DD; write e.g. "
                         "03-15.")
    df["dose_per_ha"] = per_ha
    return df


def baseline_applications(baseline: pd.DataFrame, plots, season: int) -> pd.DataFrame:
    """The baseline programme as applications on every plot in ``season`` (whole-plot treatments).

    Parameters
    ----------
    baseline : pandas.DataFrame
        From :func:`load_baseline` (or with ``dose_per_ha`` already).
    plots : pandas.DataFrame
        ``plot_id`` and ``area_ha`` [ha].
    season : int
        Year.

    Returns
    -------
    pandas.DataFrame
        Applications (``plot_id``, ``product_id``, ``applied_on``, ``amount`` = dose/ha × plot area,
        ``unit``, ``area_ha``).
    """
    if "dose_per_ha" not in baseline.columns:
        baseline = _baseline_doses(baseline, "baseline")
    areas = _plot_areas(plots)
    prog = baseline.assign(applied_on=pd.to_datetime(f"{int(season)}-" + baseline["month_day"].astype(str)))
    frame = prog[["product_id", "applied_on", "dose_per_ha", "unit"]].merge(
        pd.DataFrame({"plot_id": areas.index, "area_ha": areas.to_numpy()}), how="cross")
    frame["amount"] = frame["dose_per_ha"] * frame["area_ha"]
    return frame[["plot_id", "product_id", "applied_on", "amount", "unit", "area_ha"]]


# ----------------------------------------------------------------------------------------------------------
# The account
# ----------------------------------------------------------------------------------------------------------
def _plot_totals(apps: pd.DataFrame, prods: pd.DataFrame, factors, plot_index: pd.Index) -> pd.DataFrame:
    """Season sums per plot: n_applications, n_sprays, ai_kg, tfi, eiq_kg, n_ai_without_eiq and CO2e."""
    totals = pd.DataFrame(index=plot_index)
    pesticide_ids = prods.loc[prods["ai_class"].isin(PESTICIDE_CLASSES), "product_id"].unique()
    is_pest = apps["product_id"].isin(pesticide_ids)
    totals["n_applications"] = apps.groupby("plot_id").size()
    totals["n_sprays"] = apps[is_pest].groupby("plot_id")["applied_on"].nunique()
    ai = _eiq_columns(_ai_rows(apps, prods))
    totals["ai_kg"] = ai.groupby("plot_id")["ai_kg"].sum()
    totals["eiq_kg"] = ai.groupby("plot_id")["eiq_kg"].sum()  # skips a.i. without EIQ, counted next
    totals["n_ai_without_eiq"] = ai["eiq"].isna().groupby(ai["plot_id"]).sum()
    totals["tfi"] = _tfi_rows(apps, prods).groupby("plot_id")["tfi"].sum()
    carbon = _carbon_rows(apps, prods, factors)
    for column in (*CARBON_COLUMNS, "co2e_kg", "n_kg"):
        totals[column] = carbon.groupby("plot_id")[column].sum()
    return totals.fillna(0.0)


def _pseudonyms(owner_ids: pd.Series) -> pd.Series:
    """'grower 1', 'grower 2', … in the sorted order of the owner ids (stable for the same set of growers)."""
    ids = sorted(owner_ids.dropna().astype(str).unique())
    names = {owner: f"grower {i}" for i, owner in enumerate(ids, start=1)}
    return owner_ids.map(lambda o: names.get(str(o), "grower ?") if pd.notna(o) else "grower ?")


def season_account(applications, products, plots, season: int, baseline=None, factors=None, by: str = "plot",
                   anonymise: bool = False, *, complete_records: bool = False) -> pd.DataFrame:
    """Season account per plot, grower or district, against the calendar-spray baseline.

    **Nothing recorded is not a reduction.** A plot with no application recorded in the season (records not
    kept, or not entered) gets no reduction figure (``reduction_*`` NaN, null in JSON), not a 100 % cut;
    a grower's or district's metrics, baseline and reductions are taken over its plots *with* records
    (``n_plots_recorded``, ``area_recorded_ha`` say how many), and a group with none gets no reduction
    either. ``complete_records=True`` says every plot's applications are known (a replay's programme, where
    a plot without a spray truly used nothing), so every plot counts.

    Per plot, with A the plot area [ha] and sums over the season's applications: ``ai_kg_per_ha = Σ kg
    a.i. / A``; ``tfi = Σ TFI``; ``field_eiq_per_ha = Σ EIQ × kg a.i. / A``; ``n_sprays`` = days with a
    pesticide applied; ``co2e_kg_per_ha = Σ kg CO2e / A``. Growers and districts: per-hectare values are
    area-weighted (sums ÷ total area), ``tfi`` and ``n_sprays`` area-weighted means of the plots'.

    The baseline is the calendar programme applied to every plot (whole-plot treatments). A spray-only
    programme (no fertiliser rows) keeps the grower's own fertiliser in the baseline's carbon, so the
    carbon reduction measures the sprays; a programme that lists fertilisers replaces the grower's.

    Parameters
    ----------
    applications, products, plots : pandas.DataFrame
        See the module docstring; ``plots`` needs ``plot_id`` and ``area_ha``; ``owner_id`` and ``district``
        are optional (missing → one grower "–" / one district "all").
    season : int
        Year; applications with ``applied_on`` in that calendar year count.
    baseline : pandas.DataFrame or path, optional
        A programme as read by :func:`load_baseline`; None uses the shipped example programme; ``False``
        leaves the baseline columns out.
    factors : ParameterSet or mapping, optional
        Carbon factors (default :func:`carbon_parameters`).
    by : {"plot", "grower", "district"}
    anonymise : bool
        Replace grower ids with stable pseudonyms ("grower 1", …), for extension users.
    complete_records : bool
        Every plot's applications are known (default False: a plot without records has no reduction).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``season``, the group columns (``plot_id``, ``grower``, ``district`` as they
        apply), ``area_ha``, ``n_plots``, ``n_plots_recorded``, ``area_recorded_ha``, ``n_applications``,
        the metrics ``n_sprays``, ``ai_kg_per_ha``, ``tfi``, ``field_eiq_per_ha``, ``co2e_kg_per_ha``,
        ``co2e_kg`` and its breakdown (``co2e_pesticide_kg`` …), ``n_kg_per_ha``, ``n_ai_without_eiq``; and
        for each metric M ``baseline_M``, ``reduction_M`` (baseline − actual) and ``reduction_M_pct`` (100 ×
        reduction / baseline; NaN when the baseline is 0 or nothing was recorded).

    Raises
    ------
    orchard.errors.InputError
        Bad tables (see the other functions), an unknown ``by``, a baseline product missing from the
        catalogue.
    """
    if by not in ("plot", "grower", "district"):
        raise InputError(f"by={by!r} is not one of plot, grower, district; choose one.")
    try:
        season = int(season)
    except (TypeError, ValueError):
        raise InputError(f"season {season!r} is not a year; give e.g. 2016.") from None
    prods = _check_products(products)
    plot_frame = _frame(plots, "plots").copy()
    areas = _plot_areas(plot_frame)
    plot_frame["plot_id"] = plot_frame["plot_id"].astype(str)
    plot_frame = plot_frame.set_index("plot_id")
    factors = carbon_parameters() if factors is None else factors

    apps = _check_applications(applications, prods, areas)
    apps = apps[apps["applied_on"].dt.year == season]
    totals = _plot_totals(apps, prods, factors, areas.index)
    totals["area_ha"] = areas
    totals["recorded"] = True if complete_records else totals["n_applications"] > 0
    totals["n_plots"] = 1
    totals["grower"] = plot_frame["owner_id"].reindex(areas.index) if "owner_id" in plot_frame else "–"
    if anonymise:
        totals["grower"] = _pseudonyms(totals["grower"])
    totals["district"] = (plot_frame["district"].reindex(areas.index).fillna("all")
                          if "district" in plot_frame else "all")

    base = None
    if baseline is not False:
        programme = baseline if isinstance(baseline, pd.DataFrame) else load_baseline(baseline)
        base_apps_raw = baseline_applications(programme, pd.DataFrame({"plot_id": areas.index,
                                                                       "area_ha": areas.to_numpy()}), season)
        try:
            base_apps = _check_applications(base_apps_raw, prods, areas)
        except InputError as exc:
            raise InputError(f"baseline programme: {exc}") from None
        base = _plot_totals(base_apps, prods, factors, areas.index)
        base_has_fertiliser = base_apps["product_id"].isin(
            prods.loc[prods["ai_class"] == "fertiliser", "product_id"]).any()
        if not base_has_fertiliser:
            for column in ("co2e_fertiliser_manufacture_kg", "co2e_n2o_direct_kg", "co2e_n2o_indirect_kg",
                           "co2e_urea_kg"):
                base[column] = totals[column]
            base["co2e_kg"] = base[list(CARBON_COLUMNS)].sum(axis=1)

    group_columns = {"plot": ["plot_id", "grower", "district"], "grower": ["grower", "district"],
                     "district": ["district"]}[by]
    result = _aggregate(totals.rename_axis("plot_id").reset_index(), group_columns)
    if base is not None:
        base = base.assign(area_ha=areas, n_plots=1, grower=totals["grower"], district=totals["district"],
                           recorded=totals["recorded"])
        base_result = _aggregate(base.rename_axis("plot_id").reset_index(), group_columns)
        measured = (result["n_plots_recorded"] > 0).to_numpy()
        for metric in METRICS:
            b = base_result[metric].to_numpy()
            result[f"baseline_{metric}"] = b
            result[f"reduction_{metric}"] = np.where(measured, b - result[metric].to_numpy(), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                result[f"reduction_{metric}_pct"] = np.where(measured & (b > 0),
                                                             100.0 * (b - result[metric]) / b, np.nan)
    result.insert(0, "season", season)
    return result


def _aggregate(totals: pd.DataFrame, group_columns: list[str]) -> pd.DataFrame:
    """Group sums and area-weighted means; the metrics count the group's recorded plots (all its plots when
    none is recorded, whose actual values are then zero)."""
    frame = totals.copy()
    recorded = frame["recorded"].astype(bool)
    any_recorded = recorded.groupby([frame[c] for c in group_columns], dropna=False).transform("any")
    counted = (recorded | ~any_recorded).astype(float)
    frame["n_plots_recorded"] = recorded.astype(int)
    frame["area_recorded_ha"] = frame["area_ha"] * recorded
    frame["area_counted"] = frame["area_ha"] * counted
    # Area-weighted means of per-plot TFI and spray counts need the area-weighted sums first.
    frame["tfi_area"] = frame["tfi"] * frame["area_counted"]
    frame["n_sprays_area"] = frame["n_sprays"] * frame["area_counted"]
    weighted = [c for c in ("ai_kg", "eiq_kg", "n_ai_without_eiq", "n_kg", "co2e_kg", *CARBON_COLUMNS)
                if c in frame.columns]
    frame[weighted] = frame[weighted].mul(counted, axis=0)
    sums = [c for c in ("area_ha", "n_plots", "n_plots_recorded", "area_recorded_ha", "area_counted",
                        "n_applications", *weighted, "tfi_area", "n_sprays_area") if c in frame.columns]
    grouped = frame.groupby(group_columns, sort=True, dropna=False)[sums].sum().reset_index()
    area = grouped["area_counted"]
    out = grouped[group_columns + ["area_ha", "n_plots", "n_plots_recorded", "area_recorded_ha",
                                   "n_applications"]].copy()
    out["n_plots_recorded"] = out["n_plots_recorded"].astype(int)
    out["n_sprays"] = grouped["n_sprays_area"] / area
    out["ai_kg_per_ha"] = grouped["ai_kg"] / area
    out["tfi"] = grouped["tfi_area"] / area
    out["field_eiq_per_ha"] = grouped["eiq_kg"] / area
    out["co2e_kg_per_ha"] = grouped["co2e_kg"] / area
    out["co2e_kg"] = grouped["co2e_kg"]
    for column in CARBON_COLUMNS:
        out[column] = grouped[column]
    out["n_kg_per_ha"] = grouped["n_kg"] / area
    out["n_ai_without_eiq"] = grouped["n_ai_without_eiq"].astype(int)
    out["n_plots"] = out["n_plots"].astype(int)
    out["n_applications"] = out["n_applications"].astype(int)
    return out


# ----------------------------------------------------------------------------------------------------------
# The projected account of a season replay
# ----------------------------------------------------------------------------------------------------------
#: Replay measures beside the account's (replay name → account metric, where one exists).
REPLAY_MEASURES = {"sprays": "n_sprays", "tfi": "tfi", "kg_ai_ha": "ai_kg_per_ha", "kg_cu_ha": None,
                   "field_eiq": "field_eiq_per_ha", "kg_co2e_ha": "co2e_kg_per_ha", "cost_cny_per_mu": None,
                   "unprotected_events": None, "unprotected_infections": None, "label_breaches": None}


def _plain_number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def projected_account(summary: Mapping, plots: pd.DataFrame | None = None, plot_ids=None) -> dict:
    """The projected season account of the advised programme from a replay's summary (and per-plot table).

    A replay (``orchard replay``) follows the advice and the calendar programme on the same weather; this is
    what following the advice *would* have used, beside what was recorded. Nothing is computed anew: the
    median and 10th-90th percentiles over the plots come from ``summary.json``.

    Parameters
    ----------
    summary : mapping
        The replay's ``summary.json`` (see :mod:`advice.replay_store`).
    plots : pandas.DataFrame, optional
        The replay's ``plots.csv`` (``programme``, ``plot_id``, measures); with ``plot_ids`` the rows of
        those plots are returned too.
    plot_ids : iterable of str, optional
        Plots the caller may see (per-plot rows are limited to them; None gives no per-plot rows).

    Returns
    -------
    dict
        ``replay`` ("2016-advice"), ``season``, ``follow``, ``district``, ``created``, ``plots`` (count),
        ``measures``: one record per measure with ``measure``, ``account_metric`` (the account column it
        matches, or None), ``advice_median``, ``advice_p10``, ``advice_p90``, ``calendar_median``,
        ``ratio_to_calendar``; and ``per_plot`` (records of plots.csv for ``plot_ids``, or []).
    """
    programmes = summary.get("programmes") or {}
    ratios = summary.get("ratio_to_calendar") or {}
    names = list(REPLAY_MEASURES) + [m for name in programmes for m in (programmes[name] or {})
                                     if m not in REPLAY_MEASURES]
    rows = []
    for measure in dict.fromkeys(names):
        advice = (programmes.get("advice") or {}).get(measure) or {}
        calendar = (programmes.get("calendar") or {}).get(measure) or {}
        if not advice and not calendar:
            continue
        ratio = _plain_number(ratios.get(measure))
        a, c = _plain_number(advice.get("median")), _plain_number(calendar.get("median"))
        if ratio is None and a is not None and c:
            ratio = a / c
        rows.append({"measure": measure, "account_metric": REPLAY_MEASURES.get(measure),
                     "advice_median": a, "advice_p10": _plain_number(advice.get("p10")),
                     "advice_p90": _plain_number(advice.get("p90")), "calendar_median": c,
                     "ratio_to_calendar": ratio})
    per_plot = []
    if plots is not None and plot_ids is not None and not plots.empty:
        wanted = {str(p) for p in plot_ids}
        shown = plots[plots["plot_id"].astype(str).isin(wanted)]
        per_plot = [{k: (_plain_number(v) if k not in ("programme", "plot_id") else v) for k, v in r.items()}
                    for r in shown.to_dict("records")]
    return {"replay": f"{summary.get('season')}-{summary.get('follow')}", "season": summary.get("season"),
            "follow": summary.get("follow"), "district": summary.get("district"),
            "created": summary.get("created"), "plots": summary.get("plots"), "measures": rows,
            "per_plot": per_plot}
