"""Commands of the ``advice`` package, added to the ``orchard`` command by ``register``."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``orchard`` command (run-week and advice: advice/week_cli.py)."""
    from advice.accounting_cli import register_accounting

    register_market(app)
    register_accounting(app)


# ----------------------------------------------------------------------------------------------------------
# market commands: orchard products list, orchard purchases add|list, orchard applications add|list
# ----------------------------------------------------------------------------------------------------------
products_app = typer.Typer(no_args_is_help=True, help="The input catalogue (pesticides and fertilisers).")
purchases_app = typer.Typer(no_args_is_help=True, help="Inputs bought by growers.")
applications_app = typer.Typer(no_args_is_help=True, help="Inputs applied on plots (sprays, fertilisers).")

_PRODUCT_COLUMNS = (
    "product_id",
    "trade_name_zh",
    "kind",
    "targets",
    "moa_groups",
    "dose",
    "phi_days",
    "max_uses",
    "price",
)
_PURCHASE_COLUMNS = (
    "id",
    "grower_id",
    "product_id",
    "quantity",
    "unit",
    "price_cny",
    "supplier",
    "purchased_on",
)
_APPLICATION_COLUMNS = (
    "id",
    "plot_id",
    "product_id",
    "applied_on",
    "amount",
    "unit",
    "area_ha",
    "target",
    "recorded_by",
)
_USER = Annotated[
    str, typer.Option("--user", help="Act as this user (growers see and record only their own).")
]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register_market(app: typer.Typer) -> None:
    """Add ``orchard products``, ``orchard purchases`` and ``orchard applications``."""
    app.add_typer(products_app, name="products")
    app.add_typer(purchases_app, name="purchases")
    app.add_typer(applications_app, name="applications")


def _example_warning(catalogue) -> None:
    from orchard.cli_common import err

    if catalogue.is_example:
        err.print(
            "note: this is the EXAMPLE catalogue shipped with the toolkit, not a list of registered "
            "products; check every label (ICAMA) before use."
        )


def _dose_text(row) -> str:
    if row["dose_basis"] == "dilution":
        return f"{row['dose_value']:g}倍 ({row['spray_volume_l_per_ha']:g} L/ha)"
    per = "ha" if row["dose_basis"] == "per_ha" else "亩"
    return f"{row['dose_value']:g} {row['product_unit']}/{per}"


@products_app.command("list")
def products_list(
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Only products for this pest or nutrient "
            "(black_spot, canker, mites, leaf_miner, N, P, K, "
            "Mg, B, Zn).",
        ),
    ] = None,
    as_json: _JSON = False,
) -> None:
    """List the input catalogue's products (optionally those for one target)."""
    from advice.catalogue import default_catalogue
    from orchard.cli_common import print_records

    catalogue = default_catalogue()
    frame = catalogue.products if target is None else catalogue.for_target(target)
    records = []
    for _, row in frame.iterrows():
        record = {
            c: row[c]
            for c in (
                "product_id",
                "trade_name_zh",
                "trade_name_en",
                "formulation",
                "kind",
                "product_unit",
                "targets",
                "moa_groups",
                "dose_basis",
                "dose_value",
                "spray_volume_l_per_ha",
                "phi_days",
                "rei_hours",
                "max_applications_per_season",
                "registration_no",
                "supplier",
                "price_cny",
                "pack_size",
                "is_example",
            )
        }
        record["spray_volume_l_per_ha"] = (
            None
            if record["spray_volume_l_per_ha"] != record["spray_volume_l_per_ha"]
            else record["spray_volume_l_per_ha"]
        )
        record["dose"] = _dose_text(row)
        record["max_uses"] = int(row["max_applications_per_season"])
        record["price"] = f"{row['price_cny']:g} CNY / {row['pack_size']:g} {row['product_unit']}"
        records.append(record)
    _example_warning(catalogue)
    if as_json:
        for r in records:
            for key in ("dose", "max_uses", "price"):
                r.pop(key)
    print_records(records, _PRODUCT_COLUMNS, as_json, title="Input catalogue")


@purchases_app.command("add")
def purchases_add(
    user: _USER,
    product: Annotated[str, typer.Option("--product", help="Product id (see `orchard products list`).")],
    quantity: Annotated[float, typer.Option("--quantity", help="Quantity bought, in --unit.")],
    date: Annotated[str, typer.Option("--date", help="Purchase date, YYYY-MM-DD.")],
    unit: Annotated[str, typer.Option("--unit", help="kg, g, L, mL or pack.")] = "kg",
    price: Annotated[float | None, typer.Option("--price", help="Total paid [CNY].")] = None,
    supplier: Annotated[str | None, typer.Option("--supplier", help="Shop or supplier.")] = None,
    grower: Annotated[
        str | None, typer.Option("--grower", help="Record for this grower (agronomists, admins).")
    ] = None,
) -> None:
    """Record a purchase of an input."""
    from advice.catalogue import default_catalogue
    from advice.market import record_purchase
    from orchard import store
    from orchard.cli_common import engine, out

    with store.session_scope(engine()) as session:
        purchase_id = record_purchase(
            session,
            user,
            default_catalogue(),
            product_id=product,
            quantity=quantity,
            unit=unit,
            purchased_on=date,
            grower_id=grower,
            price_cny=price,
            supplier=supplier,
        )
    out.print(f"purchase {purchase_id} recorded: {quantity:g} {unit} of {product}")


@purchases_app.command("list")
def purchases_list(user: _USER, as_json: _JSON = False) -> None:
    """List purchases (a grower's own; all for agronomists, extension and admins)."""
    from orchard import store
    from orchard.cli_common import engine, print_records

    with store.session_scope(engine()) as session:
        records = store.list_purchases(session, user)
    print_records(records, _PURCHASE_COLUMNS, as_json, title="Purchases")


@applications_app.command("add")
def applications_add(
    user: _USER,
    plot: Annotated[str, typer.Option("--plot", help="Plot id.")],
    product: Annotated[str, typer.Option("--product", help="Product id (see `orchard products list`).")],
    amount: Annotated[
        float, typer.Option("--amount", help="Product applied on the treated area, in --unit.")
    ],
    unit: Annotated[str, typer.Option("--unit", help="kg or g (solid products), L or mL (liquid ones).")],
    date: Annotated[str, typer.Option("--date", help="Application date, YYYY-MM-DD.")],
    target: Annotated[str | None, typer.Option("--target", help="Pest or nutrient aimed at.")] = None,
    area: Annotated[
        float | None, typer.Option("--area", help="Treated area [ha] (default the plot's).")
    ] = None,
    purchase: Annotated[
        int | None, typer.Option("--purchase", help="Id of the purchase it came from.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
) -> None:
    """Record an application of an input on a plot."""
    from advice.catalogue import default_catalogue
    from advice.market import record_application
    from orchard import store
    from orchard.cli_common import engine, out

    with store.session_scope(engine()) as session:
        application_id = record_application(
            session,
            user,
            default_catalogue(),
            plot,
            product_id=product,
            applied_on=date,
            amount=amount,
            unit=unit,
            area_ha=area,
            target=target,
            purchase_id=purchase,
            note=note,
        )
    out.print(f"application {application_id} recorded: {amount:g} {unit} of {product} on plot {plot}")


@applications_app.command("list")
def applications_list(
    user: _USER,
    plot: Annotated[str | None, typer.Option("--plot", help="Only this plot.")] = None,
    as_json: _JSON = False,
) -> None:
    """List applications on the plots the user may see."""
    from orchard import store
    from orchard.cli_common import engine, print_records

    with store.session_scope(engine()) as session:
        if plot is not None:
            store.get_plot(session, user, plot)  # a grower asking for another's plot gets an AccessError
        records = store.list_applications(session, user, plot_ids=None if plot is None else [plot])
    print_records(records, _APPLICATION_COLUMNS, as_json, title="Applications")
