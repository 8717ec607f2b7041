"""What every page shares: the language, the signed-in user, the database engine and the role's pages.

Imported by ``Home.py`` (the entry point) and the pages (``sys.path`` holds ``app/``); importing a page would
run it. Sign-in itself is in ``auth.py``; data reach the pages only through ``data.py`` (scoped per user).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from i18n import DEFAULT_LANGUAGE, LANGUAGES, t

from orchard import store

APP_DIR = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------------------------------------
# The contract every page relies on (the sign-in in Home.py sets these; AppTests set them directly):
#   st.session_state["user"] = {"user_id", "display_name", "role"}   after a successful sign-in
#   st.session_state["lang"] = "zh-CN" | "en"                          the chosen language
# ----------------------------------------------------------------------------------------------------------

#: Pages of each role, in menu order: file stems under ``app/pages/`` (the first is the role's home).
#: A page is offered only if its file exists, so pages built later appear as they land.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "grower": ("grower_home", "plot", "inputs", "identify"),
    "agronomist": ("plot", "agronomist_parameters", "agronomist_calibration", "agronomist_images",
                   "agronomist_advice", "agronomist_scouting", "identify", "extension_riskmap"),
    "extension": ("extension_riskmap", "extension_plots", "extension_exports", "extension_accounting"),
    "admin": ("agronomist_parameters", "agronomist_images", "extension_riskmap", "extension_accounting",
              "plot", "admin_users"),
}

#: Address of each page (``/home``, ``/plot-view`` …). Never a file stem of ``app/pages/``: while a ``pages/``
#: folder exists, Streamlit runs a session's first script run the old (v1) way, where ``/plot`` would run
#: ``pages/plot.py`` without this entry script (no sign-in, no navigation); an address no file is named after
#: always comes back here. (AppTest starts every run that way.)
URL_PATHS = {"grower_home": "home", "plot": "plot-view", "inputs": "input-records", "identify": "pest-photo"}


def page_url(stem: str) -> str:
    """The address of the page file ``stem`` (see :data:`URL_PATHS`; others: hyphens for underscores)."""
    return URL_PATHS.get(stem, stem.replace("_", "-"))


#: Menu icons (Material Symbols ship with Streamlit: no download).
PAGE_ICONS = {
    "grower_home": ":material/home:", "plot": ":material/eco:", "inputs": ":material/inventory_2:",
    "identify": ":material/photo_camera:", "agronomist_parameters": ":material/tune:",
    "agronomist_calibration": ":material/query_stats:", "agronomist_images": ":material/photo_library:",
    "agronomist_advice": ":material/fact_check:", "agronomist_scouting": ":material/bug_report:",
    "extension_riskmap": ":material/map:",
    "extension_plots": ":material/grid_view:", "extension_exports": ":material/download:",
    "extension_accounting": ":material/calculate:", "admin_users": ":material/manage_accounts:",
}


def role_pages(role: str, app_dir: Path = APP_DIR) -> list[str]:
    """File stems of the pages ``role`` may open that exist under ``app_dir/pages`` (menu order)."""
    return [stem for stem in ROLE_PAGES.get(role, ()) if (app_dir / "pages" / f"{stem}.py").is_file()]


def browser_language() -> str:
    """The language of the URL (``?lang=``), else English for an English browser, else Chinese."""
    lang = st.query_params.get("lang")
    if lang in LANGUAGES:
        return lang
    locale = (getattr(st.context, "locale", None) or "").lower()
    return "en" if locale.startswith("en") else DEFAULT_LANGUAGE


def page_language() -> str:
    """The language chosen for this session (``st.session_state["lang"]``, else ``?lang=``, else Chinese)."""
    lang = st.session_state.get("lang") or st.query_params.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def choose_language() -> str:
    """The language switch (中文 | English) at the top of every page; kept in the session and the URL."""
    if st.session_state.get("lang") not in LANGUAGES:
        st.session_state["lang"] = browser_language()
    lang = st.session_state["lang"]
    options = list(LANGUAGES)
    # The choice lives in st.session_state["lang"], not in the widget: a widget's state is dropped when the
    # page (and so the widget's identity) changes, e.g. right after sign-in.
    st.radio(t("lang.label", lang), options, index=options.index(lang), format_func=LANGUAGES.get,
             horizontal=True, key="lang_choice", label_visibility="collapsed", on_change=_language_changed)
    lang = st.session_state["lang"]
    st.query_params["lang"] = lang
    return lang


def _language_changed() -> None:
    choice = st.session_state.get("lang_choice")
    if choice in LANGUAGES:
        st.session_state["lang"] = choice


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
    if roles and user.get("role") not in roles:
        st.error(t("auth.forbidden", lang))
        st.stop()
    return user


@st.cache_resource(show_spinner=False)
def engine_for(url: str):
    """One engine per database URL for the whole server (created, and migrated, once)."""
    return store.init_db(url)


def uploader_in_language(box_key: str, button_text: str, lang: str) -> None:
    """Streamlit's file uploader writes "Upload", "Drag and drop file here" and "Limit 10MB per file" in
    English whatever the page (no parameter sets them): on other languages, in the container keyed
    ``box_key``, its instructions are hidden and its button says ``button_text``; the page states the
    limit in its own words (the label or a line above)."""
    if lang == "en":
        return
    box = f".st-key-{box_key} [data-testid='stFileUploaderDropzone']"
    st.html(f"""<style>
    {box} [data-testid='stFileUploaderDropzoneInstructions'] {{display: none;}}
    {box} button [data-testid='stMarkdownContainer'] {{display: none;}}
    {box} button > div::after {{content: "{button_text}";}}
    </style>""")
