"""Admin page (用户管理 / Users): add accounts, change a role, reset a password, disable an account; every
change is logged with who made it and when (issue #19).

Only admins open it (``session.require_user``) and the store checks the role again on every write
(``orchard.store.add_user`` and friends), so the page is not the only guard. Signing in stays in ``auth.py``:
a disabled account is one without a password; a new password enables it again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("admin",)


def write(lang: str, change, done: str) -> None:
    """Run one account change in one transaction; a refused change shows its sentence and changes nothing."""
    try:
        with store.session_scope(session.engine_for(config.database_url())) as db:
            change(db)
    except OrchardError as exc:
        st.error(t("admin.users.not_saved", lang, error=sd.one_sentence(exc)))
        return
    st.success(done)


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    me = user["user_id"]
    st.title(t("admin.users.title", lang))
    role_label = {r: t(f"role.{r}", lang) for r in store.ROLES}

    with st.expander(t("admin.users.add", lang)):
        with st.form("add_user", border=False):
            new_id = st.text_input(t("admin.users.user_id", lang), key="new_user_id")
            new_name = st.text_input(t("admin.users.name", lang), key="new_user_name")
            new_role = st.selectbox(t("admin.users.role", lang), store.ROLES, key="new_user_role",
                                    format_func=role_label.get)
            new_password = st.text_input(t("admin.users.password", lang), type="password",
                                         key="new_user_password")
            added = st.form_submit_button(t("admin.users.add_button", lang), type="primary")
    if added:
        write(lang, lambda db: store.add_user(db, me, user_id=new_id, display_name=new_name, role=new_role,
                                              password=new_password),
              t("admin.users.added", lang, user=new_id))

    with store.session_scope(session.engine_for(config.database_url())) as db:
        accounts = store.list_accounts(db, me)
    ids = [a["user_id"] for a in accounts]
    st.subheader(t("admin.users.change", lang))
    chosen = st.selectbox(t("admin.users.account", lang), ids, key="account_choice",
                          format_func=lambda uid: next(f"{a['user_id']} · {a['display_name']}"
                                                       for a in accounts if a["user_id"] == uid))
    account = next(a for a in accounts if a["user_id"] == chosen)
    role = st.selectbox(t("admin.users.role", lang), store.ROLES,
                        index=store.ROLES.index(account["role"]), key="account_role",
                        format_func=role_label.get)
    if st.button(t("admin.users.role_button", lang), key="account_role_save",
                 disabled=role == account["role"]):
        write(lang, lambda db: store.set_user_role(db, me, chosen, role),
              t("admin.users.role_done", lang, user=chosen, role=role_label[role]))
    password = st.text_input(t("admin.users.new_password", lang), type="password", key="account_password")
    if st.button(t("admin.users.password_button", lang), key="account_password_save"):
        write(lang, lambda db: store.reset_user_password(db, me, chosen, password),
              t("admin.users.password_done", lang, user=chosen))
    if account["enabled"] and st.button(t("admin.users.disable", lang), key="account_disable"):
        write(lang, lambda db: store.disable_user(db, me, chosen),
              t("admin.users.disabled", lang, user=chosen))

    with store.session_scope(session.engine_for(config.database_url())) as db:
        accounts = store.list_accounts(db, me)
        changes = store.list_user_changes(db, me)
    st.subheader(t("admin.users.list", lang))
    yes_no = {True: t("admin.users.yes", lang), False: t("admin.users.no", lang)}
    frame = pd.DataFrame([{"user_id": a["user_id"], "name": a["display_name"], "role": role_label[a["role"]],
                           "enabled": yes_no[a["enabled"]]} for a in accounts])
    st.dataframe(frame.rename(columns={c: t(f"admin.users.col.{c}", lang) for c in frame.columns}),
                 hide_index=True, width="stretch")
    st.subheader(t("admin.users.log", lang))
    if not changes:
        st.caption(t("admin.users.log_none", lang))
        return
    log = pd.DataFrame([{"when": sd.local_time(c["changed_utc"]), "admin": c["admin_id"],
                         "user_id": c["user_id"],
                         "action": t(f"admin.users.action.{c['action']}", lang), "detail": c["detail"] or ""}
                        for c in changes])
    st.dataframe(log.rename(columns={c: t(f"admin.users.col.{c}", lang) for c in log.columns}),
                 hide_index=True, width="stretch")


main()
