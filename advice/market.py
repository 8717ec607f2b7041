"""Purchases and applications of inputs, checked against the catalogue before the store records them.

The store (:mod:`orchard.store`) scopes access (a grower records only on their own plots and for themselves)
but does not know the catalogue; these functions check the product, its unit and target first, normalise
g → kg and mL → L, and then call the store. :func:`history_for` gives the spray history that
:func:`advice.products.recommend_products` checks rotation against.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from orchard import store
from orchard.errors import InputError

from .catalogue import AMOUNT_UNITS, Catalogue, default_catalogue
from .products import rotation_parameters, season_window

__all__ = ["HISTORY_COLUMNS", "PACK_UNITS", "history_for", "record_application", "record_purchase"]

#: A purchase may also be counted in packs (bags, bottles) of the catalogue's pack size.
PACK_UNITS = ("pack",)
HISTORY_COLUMNS = [
    "id",
    "plot_id",
    "product_id",
    "applied_on",
    "amount",
    "unit",
    "area_ha",
    "target",
    "moa_groups",
    "kind",
    "in_catalogue",
]


def _normalise(product: pd.Series, amount, unit: str, what: str, allow_packs: bool = False) -> tuple:
    pid = product["product_id"]
    if allow_packs and unit in PACK_UNITS:
        return amount, unit
    if unit not in AMOUNT_UNITS:
        allowed = "kg, g, L, mL" + (" or pack" if allow_packs else "")
        raise InputError(f"{what}: unit {unit!r} is not one of {allowed}.")
    base, factor = AMOUNT_UNITS[unit]
    if base != product["product_unit"]:
        raise InputError(
            f"{what}: product '{pid}' is measured in {product['product_unit']}, not {unit}; give the "
            f"amount in {product['product_unit']}."
        )
    if isinstance(amount, (int, float)) and not isinstance(amount, bool):
        amount = amount * factor
    return amount, base


def record_purchase(session, caller: str, catalogue: Catalogue | None = None, **fields) -> int:
    """Record a purchase after checking the product against the catalogue; return its id.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Inside :func:`orchard.store.session_scope`.
    caller : str
        user_id of the signed-in user (growers record their own purchases).
    catalogue : Catalogue, optional
        Default the shipped catalogue.
    **fields
        Those of :func:`orchard.store.add_purchase`: ``product_id``, ``quantity``, ``unit`` (kg, g, L, mL or
        pack), ``purchased_on``, optionally ``grower_id``, ``price_cny`` (total paid), ``supplier``.

    Raises
    ------
    orchard.errors.InputError
        Unknown product ("unknown product 'X'; see `orchard products list`"), a unit that does not fit it.
    orchard.errors.AccessError
        From the store (a grower buying for someone else, an extension user).
    """
    catalogue = catalogue or default_catalogue()
    fields = dict(fields)
    product = catalogue.product(fields.get("product_id"))
    what = f"purchase of {product['product_id']}"
    fields["quantity"], fields["unit"] = _normalise(
        product, fields.get("quantity"), str(fields.get("unit")), what, allow_packs=True
    )
    return store.add_purchase(session, caller, **fields)


def _check_purchase(session, caller: str, purchase_id, product_id: str, plot_id: str) -> None:
    # Ownership first, in the store, with one refusal for a missing purchase and another grower's, so a
    # stranger learns nothing about other growers' purchases; only then what the purchase was of.
    purchase = store.linkable_purchase(session, caller, purchase_id, plot_id=plot_id)
    if purchase.product_id != product_id:
        raise InputError(
            f"purchase {purchase_id} was of '{purchase.product_id}', not '{product_id}'; link the "
            "application to a purchase of the same product."
        )


def record_application(session, caller: str, catalogue: Catalogue | None, plot_id: str, **fields) -> int:
    """Record an application on a plot after checking product, unit and target; return its id.

    Parameters
    ----------
    session, caller
        As for :func:`record_purchase`; growers record only on their own plots (the store raises
        :class:`~orchard.errors.AccessError` otherwise).
    catalogue : Catalogue or None
        None for the shipped catalogue.
    plot_id : str
    **fields
        Those of :func:`orchard.store.add_application`: ``product_id``, ``applied_on``, ``amount`` (product on
        the treated area), ``unit`` (kg or g for solid products, L or mL for liquid ones), optionally
        ``area_ha``, ``target`` (one of the product's catalogue targets), ``purchase_id``, ``note``.
    """
    catalogue = catalogue or default_catalogue()
    fields = dict(fields)
    product = catalogue.product(fields.get("product_id"))
    pid = product["product_id"]
    what = f"application of {pid} on plot {plot_id}"
    fields["amount"], fields["unit"] = _normalise(
        product, fields.get("amount"), str(fields.get("unit")), what
    )
    target = fields.get("target")
    targets = product["targets"].split(";")
    if target is not None and target not in targets:
        raise InputError(
            f"{what}: target '{target}' is not on the product's label in the catalogue; its targets "
            f"are {', '.join(targets)}."
        )
    if fields.get("purchase_id") is not None:
        _check_purchase(session, caller, fields["purchase_id"], pid, plot_id)
    return store.add_application(session, caller, plot_id, **fields)


def _season_bounds(season) -> tuple[date, date]:
    if isinstance(season, tuple) and len(season) == 2:
        start, end = (pd.Timestamp(s).date() for s in season)
        return start, end
    start_month = int(rotation_parameters()["season.start_month"])
    if isinstance(season, int) and not isinstance(season, bool):
        return season_window(date(season, start_month, 1), start_month)
    try:
        return season_window(pd.Timestamp(season).date(), start_month)
    except (ValueError, TypeError):
        raise InputError(f"season {season!r} is not a year, a date or a (start, end) pair.") from None


def history_for(
    session, plot_ids, season, catalogue: Catalogue | None = None, caller: str | None = None
) -> pd.DataFrame:
    """Applications on some plots in one season, joined with the catalogue's modes of action.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    plot_ids : str or list of str, or None
        None: every plot (a district-wide run; no list of ids in the query).
    season : int, date or (start, end)
        A year (the season starting in it on day 1 of ``season.start_month``), a date (the season holding it)
        or an explicit pair of dates.
    catalogue : Catalogue, optional
    caller : str, optional
        When given, scoped as :func:`orchard.store.list_applications` (a grower sees only their plots);
        None is for operator tools and the weekly pipeline.

    Returns
    -------
    pandas.DataFrame
        :data:`HISTORY_COLUMNS`, ordered by date: ``moa_groups`` ``"FRAC 11;FRAC M03"`` (empty for fertilisers
        and for products no longer in the catalogue, flagged ``in_catalogue`` False).
    """
    catalogue = catalogue or default_catalogue()
    ids = None if plot_ids is None else [plot_ids] if isinstance(plot_ids, str) else list(plot_ids)
    start, end = _season_bounds(season)
    rows = store.list_applications(session, caller, plot_ids=ids, start=start, end=end)
    frame = pd.DataFrame(
        rows, columns=[c for c in HISTORY_COLUMNS if c not in ("moa_groups", "kind", "in_catalogue")]
    )
    known = frame["product_id"].isin(catalogue.products.index)
    frame["moa_groups"] = [
        catalogue.products.at[p, "moa_groups"] if k else ""
        for p, k in zip(frame["product_id"], known, strict=True)
    ]
    frame["kind"] = [
        catalogue.products.at[p, "kind"] if k else None
        for p, k in zip(frame["product_id"], known, strict=True)
    ]
    frame["in_catalogue"] = known.to_numpy(dtype=bool)
    return frame[HISTORY_COLUMNS]
