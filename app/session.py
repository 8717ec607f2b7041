"""What every page shares: the language and the (demo) signed-in user, both kept in the URL, and the engine.

Imported by ``Home.py`` and the pages (``sys.path`` holds ``app/``); importing a page would run it.
"""

from __future__ import annotations

import streamlit as st
from i18n import DEFAULT_LANGUAGE, LANGUAGES, t

from orchard import store


def choose_language() -> str:
    """Language from the URL (?lang=), else the browser's locale, else Chinese; kept in the URL."""
    lang = st.query_params.get("lang")
    if lang not in LANGUAGES:
        locale = getattr(st.context, "locale", None) or ""
        lang = "en" if locale.lower().startswith("en") else DEFAULT_LANGUAGE
    options = list(LANGUAGES)
    lang = st.sidebar.radio(t("lang.label", lang), options, index=options.index(lang),
                            format_func=LANGUAGES.get, horizontal=True)
    st.query_params["lang"] = lang
    return lang


@st.cache_resource
def engine_for(url: str):
    return store.init_db(url)


def users(url: str) -> list[dict]:
    with store.session_scope(engine_for(url)) as session:
        return store.list_users(session)


def choose_user(lang: str, known: list[dict]) -> str:
    """DEMO sign-in: pick one of the database's users (real sign-in comes with the app issue).

    Whoever is picked, plots are read through ``store.list_plots`` / ``store.get_plot``, which scope them in
    the data layer; the default is the agronomist.
    """
    ids = [u["user_id"] for u in known]
    names = {u["user_id"]: f"{u['display_name']} ({u['role']})" for u in known}
    chosen = st.query_params.get("user")
    default = next((u["user_id"] for u in known if u["role"] == "agronomist"), ids[0])
    index = ids.index(chosen) if chosen in ids else ids.index(default)
    user = st.sidebar.selectbox(t("user.label", lang), ids, index=index, format_func=names.get)
    st.query_params["user"] = user
    return user


# ----------------------------------------------------------------------------------------------------------
# The contract every page relies on (the sign-in in Home.py sets these; AppTests set them directly):
#   st.session_state["user"] = {"user_id", "display_name", "role"}   after a successful sign-in
#   st.session_state["lang"] = "zh-CN" | "en"                          the chosen language
# ----------------------------------------------------------------------------------------------------------
def page_language() -> str:
    """The language chosen for this session (``st.session_state["lang"]``, else ``?lang=``, else Chinese)."""
    lang = st.session_state.get("lang") or st.query_params.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def signed_in_user() -> dict | None:
    """The signed-in user as ``{user_id, display_name, role}``, or None."""
    user = st.session_state.get("user")
    return user if isinstance(user, dict) and user.get("user_id") else None


def require_user(lang: str, roles: tuple[str, ...] | None = None) -> dict:
    """The signed-in user, or one plain sentence and the page stops (not signed in / wrong role)."""
    user = signed_in_user()
    if user is None:
        st.warning(t("auth.required", lang))
        st.stop()
    if roles and user["role"] not in roles:
        st.error(t("auth.forbidden", lang))
        st.stop()
    return user
