"""The input catalogue: plant-protection products and fertilisers with their labels, prices and sources.

Three CSV files in one folder (the shipped one is ``advice/catalogue/``, an EXAMPLE to be replaced by a list
of products registered for citrus in China, ICAMA):

``products.csv``
    One row per product: ids and names, formulation, ``product_unit`` (kg or L), ``targets`` (pest ids of the
    ``pests`` package or nutrients N P K Mg B Zn, ``;``-separated), dose (``dose_basis`` per_ha, per_mu or
    dilution = 倍液 multiple, with ``spray_volume_l_per_ha``), ``phi_days`` (安全间隔期), ``rei_hours``,
    ``max_applications_per_season`` (每季最多使用次数), registration number, supplier, price per pack and
    pack size, and the source of the label figures and of the price.
``active_ingredients.csv``
    One row per product and active ingredient (or nutrient): content [g/kg or g/L of product], FRAC/IRAC
    scheme and mode-of-action code, EIQ per a.i. (Kovach et al. 1992) and its source.
``moa_codes.csv``
    The valid FRAC/IRAC codes with their sources; ``rotation_exempt`` marks FRAC multi-site (M) groups.

Loading is strict (ecosystem notes §4.1): a missing PHI, an unknown code, a negative dose, a duplicate
product id or an unknown target is an :class:`~orchard.errors.InputError` naming the file, row and column.
Rows are numbered from 1 for the first data row; lines starting with ``#`` are comments.
"""

from __future__ import annotations

import functools
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from orchard.errors import InputError, check_input_file

__all__ = [
    "CATALOGUE_DIR",
    "Catalogue",
    "DOSE_BASES",
    "M2_PER_MU",
    "NUTRIENTS",
    "PEST_TARGETS",
    "TARGETS",
    "default_catalogue",
    "dose_for_area",
    "kg_active_ingredient",
    "load_catalogue",
]

#: The shipped (EXAMPLE) catalogue folder.
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
#: Pest ids, as in ``pests.paramsets.PESTS`` (advice is the orchestrator; the catalogue stays data-only).
PEST_TARGETS = ("black_spot", "canker", "mites", "leaf_miner")
#: Nutrients a fertiliser may target.
NUTRIENTS = ("N", "P", "K", "Mg", "B", "Zn")
TARGETS = PEST_TARGETS + NUTRIENTS
DOSE_BASES = ("per_ha", "per_mu", "dilution")
#: One 亩 (mu) is 666.67 m², so 15 mu make one hectare.
M2_PER_MU = 10000.0 / 15.0
PRODUCT_UNITS = ("kg", "L")
#: Content unit that goes with each product unit.
CONTENT_UNITS = {"kg": "g/kg", "L": "g/L"}
#: Accepted amount units and their factor to the product unit.
AMOUNT_UNITS = {
    "kg": ("kg", 1.0),
    "g": ("kg", 1e-3),
    "L": ("L", 1.0),
    "l": ("L", 1.0),
    "mL": ("L", 1e-3),
    "ml": ("L", 1e-3),
}
SCHEMES = ("FRAC", "IRAC", "nutrient")

PRODUCT_COLUMNS = (
    "product_id",
    "trade_name_zh",
    "trade_name_en",
    "formulation",
    "kind",
    "product_unit",
    "targets",
    "dose_basis",
    "dose_value",
    "spray_volume_l_per_ha",
    "phi_days",
    "rei_hours",
    "max_applications_per_season",
    "registration_no",
    "registrant",
    "supplier",
    "price_cny",
    "pack_size",
    "price_date",
    "label_source",
    "price_source",
)
AI_COLUMNS = (
    "product_id",
    "ai_name_en",
    "ai_name_zh",
    "cas",
    "content",
    "content_unit",
    "moa_scheme",
    "moa_code",
    "eiq",
    "eiq_source",
)
MOA_COLUMNS = ("scheme", "code", "group_name", "examples", "rotation_exempt", "source")
KINDS = ("fungicide", "bactericide", "insecticide", "acaricide", "fertiliser")
#: Columns that may be empty (everything else is required).
_OPTIONAL = {
    "trade_name_en",
    "registrant",
    "supplier",
    "price_date",
    "spray_volume_l_per_ha",
    "cas",
    "moa_code",
    "eiq",
    "eiq_source",
    "examples",
    "ai_name_zh",
}


def _read_table(path: Path, columns, what: str) -> tuple[pd.DataFrame, list[int]]:
    """Read a commented CSV as text; return the frame and the file line number of each data row."""
    path = check_input_file(path, what=what)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text; save the {what} as UTF-8 CSV.") from None
    kept, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#") or not line.strip():
            continue
        kept.append(line)
        lines.append(number)
    if len(kept) < 2:
        raise InputError(f"{path}: the {what} has no data rows; add at least one row under the header.")
    try:
        frame = pd.read_csv(io.StringIO("\n".join(kept)), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(
            f"{path}: the {what} is not valid CSV ({str(exc).splitlines()[0]}); fix the file."
        ) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: the {what} has no column '{missing[0]}'; the header must name {', '.join(columns)}."
        )
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise InputError(
            f"{path}: the {what} has an unknown column '{unknown[0]}'; remove it or fix its name."
        )
    frame = frame.apply(lambda s: s.str.strip())
    return frame, lines[1:]


class _Where:
    """Builds the 'file, row N (product 'x'), column 'c'' prefix of error messages."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, row: int, column: str, product_id: str | None = None) -> str:
        pid = f" (product '{product_id}')" if product_id else ""
        return f"{self.path}, row {row}{pid}, column '{column}'"


def _number(
    where: str, text: str, *, positive: bool = False, integer: bool = False, optional: bool = False
) -> float | None:
    if text == "":
        if optional:
            return None
        raise InputError(f"{where} is empty; fill in the value.")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number; write a plain number.") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {text!r} is not a finite number; write a plain number.")
    if value < 0 or (positive and value == 0):
        raise InputError(
            f"{where}: {text} is {'negative' if value < 0 else 'zero'}; it must be "
            f"{'positive' if positive else 'zero or positive'}."
        )
    if integer and value != int(value):
        raise InputError(f"{where}: {text} is not a whole number; write a whole number.")
    return value


def _read_moa(path: Path) -> pd.DataFrame:
    frame, lines = _read_table(path, MOA_COLUMNS, "mode-of-action code table")
    where = _Where(path)
    seen = set()
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        if row.scheme not in ("FRAC", "IRAC"):
            raise InputError(f"{where(i, 'scheme')}: {row.scheme!r} is not FRAC or IRAC; fix the scheme.")
        if row.code == "":
            raise InputError(f"{where(i, 'code')} is empty; fill in the group code.")
        if (row.scheme, row.code) in seen:
            raise InputError(f"{where(i, 'code')}: {row.scheme} {row.code} is listed twice; keep one row.")
        seen.add((row.scheme, row.code))
        if row.rotation_exempt not in ("true", "false"):
            raise InputError(f"{where(i, 'rotation_exempt')}: {row.rotation_exempt!r} is not true or false.")
        if row.source == "":
            raise InputError(f"{where(i, 'source')} is empty; cite the code list the group comes from.")
    frame["rotation_exempt"] = frame["rotation_exempt"] == "true"
    frame["group"] = frame["scheme"] + " " + frame["code"]
    return frame


def _check_products(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    where = _Where(path)
    seen: dict[str, int] = {}
    records = []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        pid = row["product_id"]
        if pid == "":
            raise InputError(f"{where(i, 'product_id')} is empty; give every product an id.")
        if pid in seen:
            raise InputError(
                f"{where(i, 'product_id', pid)}: duplicate product id '{pid}' (first on row "
                f"{seen[pid]}); give each product its own id."
            )
        seen[pid] = i
        for column in PRODUCT_COLUMNS:
            if column not in _OPTIONAL and row[column] == "":
                hint = {
                    "phi_days": "every product needs its pre-harvest interval (安全间隔期) in days, 0 for "
                    "fertilisers",
                    "max_applications_per_season": "every product needs its maximum uses per season "
                    "(每季最多使用次数) from the label",
                }.get(column, "fill it in")
                raise InputError(f"{where(i, column, pid)} is empty; {hint}.")
        if row["kind"] not in KINDS:
            raise InputError(
                f"{where(i, 'kind', pid)}: unknown kind {row['kind']!r}; use one of {', '.join(KINDS)}."
            )
        if row["product_unit"] not in PRODUCT_UNITS:
            raise InputError(
                f"{where(i, 'product_unit', pid)}: {row['product_unit']!r} is not kg or L; give "
                "the unit the product is measured in."
            )
        targets = [t.strip() for t in row["targets"].split(";") if t.strip()]
        for t in targets:
            if t not in TARGETS:
                raise InputError(
                    f"{where(i, 'targets', pid)}: unknown target '{t}'; use pest ids "
                    f"{', '.join(PEST_TARGETS)} or nutrients {', '.join(NUTRIENTS)}."
                )
        if not targets:
            raise InputError(f"{where(i, 'targets', pid)} is empty; name at least one target.")
        if row["dose_basis"] not in DOSE_BASES:
            raise InputError(
                f"{where(i, 'dose_basis', pid)}: {row['dose_basis']!r} is not one of {', '.join(DOSE_BASES)}."
            )
        rec = dict(row)
        rec["targets"] = ";".join(targets)
        rec["dose_value"] = _number(where(i, "dose_value", pid), row["dose_value"], positive=True)
        rec["spray_volume_l_per_ha"] = _number(
            where(i, "spray_volume_l_per_ha", pid), row["spray_volume_l_per_ha"], positive=True, optional=True
        )
        if row["dose_basis"] == "dilution" and rec["spray_volume_l_per_ha"] is None:
            raise InputError(
                f"{where(i, 'spray_volume_l_per_ha', pid)} is empty; a dilution (倍液) dose needs "
                "the spray volume in L/ha to give an amount per hectare."
            )
        if row["dose_basis"] == "dilution" and rec["dose_value"] < 1:
            raise InputError(
                f"{where(i, 'dose_value', pid)}: a dilution multiple of {row['dose_value']} is "
                "below 1; write the 倍 number (e.g. 1500 for 1500倍液)."
            )
        rec["phi_days"] = _number(where(i, "phi_days", pid), row["phi_days"], integer=True)
        rec["rei_hours"] = _number(where(i, "rei_hours", pid), row["rei_hours"])
        rec["max_applications_per_season"] = _number(
            where(i, "max_applications_per_season", pid),
            row["max_applications_per_season"],
            positive=True,
            integer=True,
        )
        rec["price_cny"] = _number(where(i, "price_cny", pid), row["price_cny"])
        rec["pack_size"] = _number(where(i, "pack_size", pid), row["pack_size"], positive=True)
        rec["row"] = i
        records.append(rec)
    out = pd.DataFrame.from_records(records)
    out["phi_days"] = out["phi_days"].astype(int)
    out["max_applications_per_season"] = out["max_applications_per_season"].astype(int)
    out["is_example"] = out["registration_no"].str.lower() == "example"
    return out.set_index("product_id", drop=False)


def _check_ais(path: Path, frame: pd.DataFrame, products: pd.DataFrame, moa: pd.DataFrame) -> pd.DataFrame:
    where = _Where(path)
    valid = set(moa["group"])
    records = []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        pid = row["product_id"]
        if pid not in products.index:
            raise InputError(
                f"{where(i, 'product_id', pid)}: product '{pid}' is not in products.csv; add the "
                "product or remove the row."
            )
        for column in ("ai_name_en", "content", "content_unit", "moa_scheme"):
            if row[column] == "":
                raise InputError(f"{where(i, column, pid)} is empty; fill it in.")
        rec = dict(row)
        rec["content"] = _number(where(i, "content", pid), row["content"], positive=True)
        unit = products.at[pid, "product_unit"]
        if row["content_unit"] != CONTENT_UNITS[unit]:
            raise InputError(
                f"{where(i, 'content_unit', pid)}: {row['content_unit']!r} does not fit a product "
                f"measured in {unit}; give the content in {CONTENT_UNITS[unit]}."
            )
        limit = 1000.0 if unit == "kg" else 2000.0
        if rec["content"] > limit:
            raise InputError(
                f"{where(i, 'content', pid)}: {row['content']} {row['content_unit']} is more than "
                "the product can hold; check the unit."
            )
        scheme = row["moa_scheme"]
        if scheme not in SCHEMES:
            raise InputError(f"{where(i, 'moa_scheme', pid)}: {scheme!r} is not FRAC, IRAC or nutrient.")
        if scheme == "nutrient":
            if row["moa_code"]:
                raise InputError(
                    f"{where(i, 'moa_code', pid)}: a nutrient has no mode-of-action code; leave it empty."
                )
            rec["moa_group"] = ""
        else:
            group = f"{scheme} {row['moa_code']}"
            if row["moa_code"] == "":
                raise InputError(
                    f"{where(i, 'moa_code', pid)} is empty; give the {scheme} code from the label "
                    "(e.g. 11, M03, 10B, UN)."
                )
            if group not in valid:
                raise InputError(
                    f"{where(i, 'moa_code', pid)}: unknown {scheme} code '{row['moa_code']}'; use a "
                    "code listed in moa_codes.csv (e.g. 11, 11A, M03, 10A, 21A, UN)."
                )
            rec["moa_group"] = group
        rec["eiq"] = _number(where(i, "eiq", pid), row["eiq"], optional=True)
        if rec["eiq"] is not None and row["eiq_source"] == "":
            raise InputError(f"{where(i, 'eiq_source', pid)} is empty; cite where the EIQ value comes from.")
        records.append(rec)
    out = pd.DataFrame.from_records(records)
    out["eiq"] = out["eiq"].astype(float)
    without = [p for p in products.index if p not in set(out["product_id"])]
    if without:
        raise InputError(
            f"{path}: product '{without[0]}' has no active-ingredient row; add its active "
            "ingredients (or nutrients) with their content."
        )
    pest_ai = out[out["moa_scheme"] != "nutrient"]["product_id"]
    for pid, targets in products["targets"].items():
        has_pest = any(t in PEST_TARGETS for t in targets.split(";"))
        if has_pest and pid not in set(pest_ai):
            raise InputError(
                f"{path}: product '{pid}' targets a pest but has no FRAC/IRAC active ingredient; "
                "add the a.i. with its code."
            )
    return out


@dataclass(frozen=True)
class Catalogue:
    """A validated input catalogue.

    Attributes
    ----------
    products : pandas.DataFrame
        One row per product, indexed by ``product_id`` (columns of products.csv, numbers as floats, plus
        ``moa_groups`` — the product's FRAC/IRAC groups as ``"FRAC 11;FRAC M03"`` —, ``is_example`` and
        ``row``).
    active_ingredients : pandas.DataFrame
        One row per product and a.i.: ``content`` [g/kg or g/L], ``moa_scheme``, ``moa_code``,
        ``moa_group`` (``"FRAC 11"``, empty for nutrients), ``eiq`` (NaN when unknown), ``eiq_source``.
    moa_codes : pandas.DataFrame
        The valid codes, with ``group`` and ``rotation_exempt``.
    source : pathlib.Path
        The folder the catalogue was read from.
    """

    products: pd.DataFrame
    active_ingredients: pd.DataFrame
    moa_codes: pd.DataFrame
    source: Path

    @property
    def is_example(self) -> bool:
        """True when any product is an example (registration number "example"), not a registered product."""
        return bool(self.products["is_example"].any())

    def product(self, product_id: str) -> pd.Series:
        """The row of one product; an unknown id is an InputError pointing at ``orchard products list``."""
        if not isinstance(product_id, str) or product_id not in self.products.index:
            raise InputError(f"unknown product '{product_id}'; see `orchard products list`.")
        return self.products.loc[product_id]

    def groups(self, product_id: str) -> tuple[str, ...]:
        """The FRAC/IRAC groups of a product (``("FRAC 11", "FRAC M03")``; empty for fertilisers)."""
        text = self.product(product_id)["moa_groups"]
        return tuple(g for g in text.split(";") if g)

    def exempt_groups(self) -> frozenset[str]:
        """Groups exempt from rotation limits (FRAC multi-site M groups)."""
        return frozenset(self.moa_codes.loc[self.moa_codes["rotation_exempt"], "group"])

    def for_target(self, target: str) -> pd.DataFrame:
        """Products registered against ``target`` (a pest id or a nutrient)."""
        if target not in TARGETS:
            raise InputError(f"unknown target '{target}'; use one of {', '.join(TARGETS)}.")
        mask = self.products["targets"].str.split(";").map(lambda ts: target in ts)
        return self.products[mask]


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Read and strictly validate an input catalogue.

    Parameters
    ----------
    path : path-like, optional
        A folder holding ``products.csv`` and ``active_ingredients.csv`` (and optionally ``moa_codes.csv``;
        the shipped code table is used when absent), or the path of such a ``products.csv``. Default: the
        shipped EXAMPLE catalogue ``advice/catalogue/``.

    Returns
    -------
    Catalogue

    Raises
    ------
    orchard.errors.InputError
        A missing or empty file, an unknown or missing column, and per row: an empty required field (e.g.
        ``phi_days``), a negative or non-numeric number, a duplicate product id, an unknown target, an unknown
        FRAC/IRAC code, a content unit that does not fit the product unit. The message names file, row and
        column.
    """
    folder = CATALOGUE_DIR if path is None else Path(path)
    if folder.suffix.lower() == ".csv":
        products_path, folder = folder, folder.parent
    else:
        if not folder.is_dir():
            raise InputError(
                f"{folder}: no such catalogue folder; give a folder holding products.csv and "
                "active_ingredients.csv."
            )
        products_path = folder / "products.csv"
    moa_path = folder / "moa_codes.csv"
    if not moa_path.exists():
        moa_path = CATALOGUE_DIR / "moa_codes.csv"
    moa = _read_moa(moa_path)
    raw, _ = _read_table(products_path, PRODUCT_COLUMNS, "product catalogue")
    products = _check_products(products_path, raw)
    ai_path = folder / "active_ingredients.csv"
    ai_raw, _ = _read_table(ai_path, AI_COLUMNS, "active-ingredient table")
    ais = _check_ais(ai_path, ai_raw, products, moa)
    groups = (
        ais[ais["moa_group"] != ""]
        .groupby("product_id")["moa_group"]
        .agg(lambda s: ";".join(dict.fromkeys(s)))
    )
    products["moa_groups"] = [groups.get(p, "") for p in products.index]
    return Catalogue(
        products=products, active_ingredients=ais.reset_index(drop=True), moa_codes=moa, source=folder
    )


@functools.cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, read once per process."""
    return load_catalogue()


def dose_for_area(product_row: pd.Series, area_ha: float) -> dict:
    """Amount of product (and of spray liquid) for a treated area, from the label dose.

    Per hectare: ``per_ha`` doses as given; ``per_mu`` doses × 15 (1 亩 = 666.7 m²); dilutions (倍液)
    ``spray_volume_l_per_ha / multiple``, taking the spray liquid as water-like (1 kg/L) so a powder's kg
    equal its litres of water ÷ multiple (ecosystem notes §4.3).

    Parameters
    ----------
    product_row : pandas.Series
        A row of :attr:`Catalogue.products` (from :meth:`Catalogue.product`).
    area_ha : float
        Treated area [ha], > 0.

    Returns
    -------
    dict
        ``amount`` product for the area [kg or L], ``unit`` (kg or L), ``dose_per_ha`` [kg/ha or L/ha],
        ``spray_liquid_l`` total spray liquid (product + water) for the area [L] (None for dry-applied
        doses without a spray volume), ``water_l`` water to add [L] (None likewise).
    """
    if (
        isinstance(area_ha, bool)
        or not isinstance(area_ha, (int, float))
        or not math.isfinite(area_ha)
        or area_ha <= 0
    ):
        raise InputError(f"area {area_ha!r} ha is not a positive number; give the treated area in hectares.")
    basis = product_row["dose_basis"]
    value = float(product_row["dose_value"])
    volume = product_row["spray_volume_l_per_ha"]
    volume = None if volume is None or pd.isna(volume) else float(volume)
    if basis == "per_ha":
        per_ha = value
    elif basis == "per_mu":
        per_ha = value * 10000.0 / M2_PER_MU
    else:
        per_ha = volume / value
    amount = per_ha * area_ha
    liquid = None if volume is None else volume * area_ha
    water = None if liquid is None else max(liquid - amount, 0.0)
    return {
        "amount": amount,
        "unit": product_row["product_unit"],
        "dose_per_ha": per_ha,
        "spray_liquid_l": liquid,
        "water_l": water,
    }


def _to_product_unit(product_row: pd.Series, amount: float, unit: str) -> float:
    pid = product_row["product_id"]
    if (
        isinstance(amount, bool)
        or not isinstance(amount, (int, float))
        or not math.isfinite(amount)
        or amount < 0
    ):
        raise InputError(f"amount {amount!r} of product '{pid}' is not a number ≥ 0.")
    if unit not in AMOUNT_UNITS:
        raise InputError(f"unit {unit!r} for product '{pid}' is not one of kg, g, L, mL.")
    base, factor = AMOUNT_UNITS[unit]
    if base != product_row["product_unit"]:
        raise InputError(
            f"product '{pid}' is measured in {product_row['product_unit']}, not {unit}; give the "
            f"amount in {product_row['product_unit']}."
        )
    return float(amount) * factor


def kg_active_ingredient(
    product_id: str, amount: float, unit: str, catalogue: Catalogue | None = None
) -> pd.Series:
    """Active ingredient (or nutrient) in an amount of product [kg].

    ``kg a.i. = amount [kg or L] × content [g/kg or g/L] / 1000`` (ecosystem notes §4.3). Nutrients are given
    as on the fertiliser label (N, P2O5, K2O, Mg, B, Zn).

    Parameters
    ----------
    product_id : str
    amount : float
        Product amount, ≥ 0, in ``unit``.
    unit : str
        kg or g for solid products, L or mL for liquid ones (no density conversion).
    catalogue : Catalogue, optional
        Default the shipped catalogue.

    Returns
    -------
    pandas.Series
        kg of each active ingredient, indexed by ``ai_name_en``, named ``kg_ai``.
    """
    catalogue = catalogue or default_catalogue()
    row = catalogue.product(product_id)
    quantity = _to_product_unit(row, amount, unit)
    ais = catalogue.active_ingredients[catalogue.active_ingredients["product_id"] == product_id]
    return pd.Series(
        (quantity * ais["content"] / 1000.0).to_numpy(), index=ais["ai_name_en"].to_numpy(), name="kg_ai"
    )
