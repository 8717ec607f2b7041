"""Inputs page (投入品 / Inputs): record purchases and applications of sprays and fertilisers, and list them.

For a phone: one column, one form at a time. Products come from the advice catalogue; every read and write
goes through ``data.py`` with the signed-in user's id: writes through ``advice.market.record_purchase`` /
``record_application``, which check product, unit and target against the catalogue and let ``orchard.store``
check who may write what. A refused write shows the module's sentence and saves nothing (the store's
transaction is rolled back).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds the shared modules
import data  # noqa: E402
from data import RECORDERS, today_in_china  # noqa: E402
from i18n import error_text, t  # noqa: E402
from session import page_language, require_user  # noqa: E402

from advice.catalogue import PEST_TARGETS, Catalogue, default_catalogue  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

#: Newest records shown in each list.
LIST_LENGTH = 20
#: Units offered for a product measured in kg or L (advice.market converts g and mL).
UNITS = {"kg": ["kg", "g"], "L": ["L", "mL"]}


def product_name(catalogue: Catalogue, product_id: str, lang: str) -> str:
    """Trade name in the reader's language; the id for a product no longer in the catalogue."""
    if product_id not in catalogue.products.index:
        return product_id
    return catalogue.products.at[product_id, "trade_name_zh" if lang == "zh-CN" else "trade_name_en"]


def product_label(catalogue: Catalogue, product_id: str, lang: str, *, staff: bool = False) -> str:
    """Name and, for staff, the mode-of-action group(s) (FRAC/IRAC codes: jargon on a grower's page, where the
    advice already keeps the rotation)."""
    groups = catalogue.products.at[product_id, "moa_groups"].replace(";", " + ")
    name = product_name(catalogue, product_id, lang)
    if not staff:
        return name if groups else f"{name} · {t('inputs.fertiliser', lang)}"
    return f"{name} · {groups or t('inputs.fertiliser', lang)}"


def target_label(target: str | None, lang: str) -> str:
    if not target:
        return ""
    if target in PEST_TARGETS:
        return t(f"pest.{target}", lang)
    return t("inputs.nutrient", lang, nutrient=target)


def default_day() -> date:
    """The date a new record starts with: today, or the issue date of the latest stored weekly run when that
    run is in the past (a grower reading the advice of 2016-07-15 records what they did then, not a date of
    today's year; issue #19)."""
    today = today_in_china()
    try:
        run = data.run_for()
    except OrchardError:
        return today
    issued = run["issued_on"] if run else None
    return issued if issued is not None and issued < today else today


def unit_label(unit: str, lang: str) -> str:
    return t("inputs.unit.pack", lang) if unit == "pack" else unit


def number(value: float) -> str:
    return f"{value:g}"


def pick_product(catalogue: Catalogue, lang: str, key: str, disabled: bool, staff: bool = False) -> str:
    """Outside the form, so the units and targets below follow the product picked."""
    ids = list(catalogue.products.index)
    return st.selectbox(t("inputs.product_moa" if staff else "inputs.product", lang), ids, key=key,
                        disabled=disabled,
                        format_func=lambda pid: product_label(catalogue, pid, lang, staff=staff))


def save(lang: str, write, success: str) -> None:
    """Run one write in one transaction; a refused write shows its sentence and saves nothing."""
    try:
        write()
    except OrchardError as exc:
        st.error(t("inputs.not_saved", lang, error=error_text(exc, lang)))
        return
    st.success(success)


# ----------------------------------------------------------------------------------------------------------
# The two forms
# ----------------------------------------------------------------------------------------------------------
def application_form(lang: str, user: str, role: str, catalogue: Catalogue) -> None:
    plots = data.my_plots(user)
    if not plots:
        st.info(t("inputs.no_plots", lang))
        return
    disabled = role not in RECORDERS["application"]
    if disabled:
        st.info(t("inputs.read_only", lang))
    pid = pick_product(catalogue, lang, "application_product", disabled, staff=role != "grower")
    product = catalogue.product(pid)
    ids = [p["plot_id"] for p in plots]
    names = {p["plot_id"]: " ".join(filter(None, [p["plot_id"], p.get("name")])) for p in plots}
    requested = st.query_params.get("plot")
    with st.form("application_form", clear_on_submit=False, border=False):
        plot_id = st.selectbox(t("inputs.plot", lang), ids, format_func=names.get, key="application_plot",
                               index=ids.index(requested) if requested in ids else 0, disabled=disabled)
        amount = st.number_input(t("inputs.amount", lang), value=None, step=0.1, format="%g",
                                 key="application_amount", placeholder=t("inputs.amount_hint", lang),
                                 disabled=disabled)
        # Keyed by product: the choices change with it.
        unit = st.selectbox(t("inputs.unit", lang), UNITS[product["product_unit"]], disabled=disabled,
                            key=f"application_unit_{pid}")
        applied_on = st.date_input(t("inputs.date_applied", lang), value=default_day(),
                                   max_value=today_in_china(), format="YYYY-MM-DD", key="application_date",
                                   disabled=disabled)
        target = st.selectbox(t("inputs.target", lang), product["targets"].split(";"), disabled=disabled,
                              format_func=lambda x: target_label(x, lang), key=f"application_target_{pid}")
        submitted = st.form_submit_button(t("inputs.save_application", lang), type="primary",
                                          disabled=disabled, width="stretch")
    if not submitted:
        return
    if amount is None:
        st.error(t("inputs.not_saved", lang, error=t("inputs.amount_missing", lang)))
        return
    fields = {"product_id": pid, "amount": amount, "unit": unit, "applied_on": applied_on, "target": target}
    success = t("inputs.applied", lang, date=applied_on.isoformat(), plot=plot_id, amount=number(amount),
                product=product_name(catalogue, pid, lang), unit=unit, target=target_label(target, lang))
    save(lang, lambda: data.record_application(user, plot_id, **fields), success)


def purchase_form(lang: str, user: str, role: str, catalogue: Catalogue) -> None:
    disabled = role not in RECORDERS["purchase"]
    if disabled:
        st.info(t("inputs.read_only", lang))
    pid = pick_product(catalogue, lang, "purchase_product", disabled, staff=role != "grower")
    product = catalogue.product(pid)
    growers = data.growers(user)
    with st.form("purchase_form", clear_on_submit=False, border=False):
        grower = None  # a grower buys for themselves; agronomists and admins record for a grower
        if role != "grower" and growers:
            grower = st.selectbox(t("inputs.grower", lang), list(growers), format_func=growers.get,
                                  key="purchase_grower", disabled=disabled)
        quantity = st.number_input(t("inputs.quantity", lang), value=None, step=1.0, format="%g",
                                   key="purchase_quantity", placeholder=t("inputs.amount_hint", lang),
                                   disabled=disabled)
        unit = st.selectbox(t("inputs.unit", lang), [*UNITS[product["product_unit"]], "pack"],
                            format_func=lambda u: unit_label(u, lang), key=f"purchase_unit_{pid}",
                            disabled=disabled)
        purchased_on = st.date_input(t("inputs.date_bought", lang), value=default_day(),
                                     max_value=today_in_china(), format="YYYY-MM-DD", key="purchase_date",
                                     disabled=disabled)
        price = st.number_input(t("inputs.price", lang), value=None, step=1.0, format="%g",
                                key="purchase_price", disabled=disabled)
        supplier = st.text_input(t("inputs.supplier", lang), key="purchase_supplier", max_chars=200,
                                 disabled=disabled)
        submitted = st.form_submit_button(t("inputs.save_purchase", lang), type="primary",
                                          disabled=disabled, width="stretch")
    if not submitted:
        return
    if quantity is None:
        st.error(t("inputs.not_saved", lang, error=t("inputs.amount_missing", lang)))
        return
    fields = {"product_id": pid, "quantity": quantity, "unit": unit, "purchased_on": purchased_on,
              "grower_id": grower, "price_cny": price, "supplier": supplier.strip() or None}
    success = t("inputs.bought", lang, date=purchased_on.isoformat(), quantity=number(quantity),
                product=product_name(catalogue, pid, lang), unit=unit_label(unit, lang))
    save(lang, lambda: data.record_purchase(user, **fields), success)


# ----------------------------------------------------------------------------------------------------------
# The lists, newest first
# ----------------------------------------------------------------------------------------------------------
def short_list(lang: str, lines: list[str]) -> None:
    if not lines:
        st.caption(t("inputs.none", lang))
        return
    st.markdown("\n".join(f"- {line}" for line in lines[:LIST_LENGTH]))
    if len(lines) > LIST_LENGTH:
        st.caption(t("inputs.more", lang, n=LIST_LENGTH, total=len(lines)))


def purchase_line(p: dict, catalogue: Catalogue, lang: str) -> str:
    line = t("inputs.purchase_item", lang, date=p["purchased_on"].isoformat(), quantity=number(p["quantity"]),
             product=product_name(catalogue, p["product_id"], lang), unit=unit_label(p["unit"], lang))
    if p["price_cny"] is not None:
        line += t("inputs.price_item", lang, price=number(p["price_cny"]))
    return line


def history(lang: str, user: str, catalogue: Catalogue) -> None:
    applications = data.applications(user)[::-1]  # the store orders them oldest first
    purchases = data.purchases(user)[::-1]
    st.subheader(t("inputs.applications", lang))
    short_list(lang, [t("inputs.application_item", lang, date=a["applied_on"].isoformat(), plot=a["plot_id"],
                        product=product_name(catalogue, a["product_id"], lang), amount=number(a["amount"]),
                        unit=a["unit"], target=target_label(a.get("target"), lang))
                      for a in applications])
    st.subheader(t("inputs.purchases", lang))
    short_list(lang, [purchase_line(p, catalogue, lang) for p in purchases])


def main() -> None:
    lang = page_language()
    user = require_user(lang)
    st.title(t("inputs.title", lang))
    try:
        catalogue = default_catalogue()
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=error_text(exc, lang)))
        return
    if catalogue.is_example:
        st.caption(t("inputs.example_catalogue", lang))
    kinds = ["application", "purchase"]
    kind = st.radio(t("inputs.what", lang), kinds, format_func=lambda k: t(f"inputs.kind.{k}", lang),
                    horizontal=True, key="inputs_kind")
    uid, role = user["user_id"], user["role"]
    try:
        if kind == "application":
            application_form(lang, uid, role, catalogue)
        else:
            purchase_form(lang, uid, role, catalogue)
        history(lang, uid, catalogue)
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=error_text(exc, lang)))


main()
