"""Entry point of the app: language switch, sign-in, and the pages of the signed-in user's role.

Run with ``orchard app`` (or ``streamlit run app/Home.py`` from the repository root, so that
``.streamlit/config.toml`` is read) after ``orchard init --sample``. This script runs before every page:
it sets the page layout, shows the language switch (中文 | English) and, once signed in, builds the
navigation of the user's role with ``st.navigation`` from the page files under ``app/pages/`` that exist
(see ``session.ROLE_PAGES``). Before sign-in every address shows the sign-in form; the user comes only from
the sign-in (``auth.py``: the form, the identity provider or the signed cookie of an earlier sign-in), never
from the URL. Page addresses (``session.page_url``) are never the names of
the page files, because Streamlit runs a session's first script run the old way while ``app/pages/`` exists.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # app/ holds session.py, i18n.py, … beside this
import auth  # noqa: E402
from i18n import t  # noqa: E402
from session import PAGE_ICONS, ROLE_PAGES, choose_language, page_url, role_pages, signed_in_user  # noqa: E402

#: Growers get a narrow, phone-first layout; staff pages have tables and maps.
LAYOUTS = {"grower": "centered"}

auth.finish_sign_out()
user = signed_in_user()
if user is None:  # a reloaded page (a new browser session) signed in before: its signed cookie says who
    user = auth.cookie_user()
    if user is not None:
        st.session_state["user"] = user
st.set_page_config(page_title="柑橘果园 / Citrus orchard", page_icon="🍊",
                   layout=LAYOUTS.get(user["role"], "wide") if user else "centered")
lang = choose_language()
auth.write_cookie()  # after a sign-in or sign-out: write or delete the cookie (a hidden script, once)

if user is None:
    oidc = auth.oidc_user()
    if oidc is not None:  # signed in at the identity provider and mapped to an account
        st.session_state["user"] = user = oidc

ALL_STEMS = sorted({stem for stems in ROLE_PAGES.values() for stem in stems})
APP_DIR = Path(__file__).resolve().parent


#: What the pages read and draw with (the stored results, maps, the page modules), imported before the freeze.
WARM_MODULES = ("orchard.results", "xarray", "dask.array", "netCDF4", "pydeck", "rasterio", "pyproj",
                "shapely", "PIL.Image", "basemap", "plot_view", "data", "i18n", "i18n_staff")


@st.cache_resource(show_spinner=False)
def warm_up_readers() -> threading.Thread:
    """Get the server ready for page views once per process, in the background, while the first user signs
    in (no model package: the pages read stored runs):

    - import what the pages read and draw with (xarray, dask.array and netCDF4 for the stored results,
      pydeck and the map libraries, the page modules): most of a new server's first plot-page render;
    - the one-time work of xarray's backend discovery and of pydeck's widget probe (see
      ``basemap.quiet_pydeck``), and the grower pages compiled into Streamlit's script cache;
    - then ``gc.freeze()``: Streamlit runs a full garbage collection after every script run, and with these
      libraries loaded one pass over their objects cost 0.12 s of CPU per page view; frozen, the collection
      sees only what later runs allocate (their garbage is still collected).
    """
    def load() -> None:
        try:
            for module in WARM_MODULES:
                importlib.import_module(module)
            import xarray

            import basemap

            xarray.backends.list_engines()  # xarray's backend discovery reads every package's metadata once
            basemap.quiet_pydeck().Deck(layers=[], map_provider=None)  # every page's maps: no widget probe
        except Exception:  # noqa: BLE001 - the page itself reports a broken module as one sentence
            return
        try:  # Streamlit's own script cache (thread-safe); absent when a page runs without a server
            from streamlit.runtime import Runtime

            cache = Runtime.instance()._script_cache
            for stem in ROLE_PAGES["grower"]:
                if (APP_DIR / "pages" / f"{stem}.py").is_file():
                    cache.get_bytecode(str(APP_DIR / "pages" / f"{stem}.py"))
        except Exception:  # noqa: BLE001 - only a head start; the page compiles itself otherwise
            pass
        gc.collect()
        gc.freeze()

    thread = threading.Thread(target=load, name="orchard-warm-up", daemon=True)
    thread.start()
    return thread


warm_up_readers()


def preload_chart_code() -> None:
    """A hidden, empty chart on the sign-in page: the browser loads and starts Streamlit's chart code
    (vega-embed, most of a second on a phone) while the user types, not when the first plot page opens."""
    with st.container(key="chart_preload"):
        st.html("<style>.st-key-chart_preload {display: none}</style>")
        st.vega_lite_chart(spec={"data": {"values": []}, "mark": "point", "width": 1, "height": 1})


if user is None:
    def sign_in() -> None:
        auth.sign_in_form(lang)
        preload_chart_code()

    # Every page address shows the sign-in form (a bookmarked or shared link, or the page one was on when
    # signing out), and the same address opens that page once signed in (pages are identified by address).
    title = t("nav.sign_in", lang)
    st.navigation([st.Page(sign_in, title=title, url_path="sign_in", default=True)]
                  + [st.Page(sign_in, title=title, url_path=page_url(stem), visibility="hidden")
                     for stem in ALL_STEMS], position="hidden").run()
    st.stop()

stems = role_pages(user["role"])
if not stems:
    st.error(t("nav.none", lang))
    st.button(t("auth.sign_out", lang), key="sign_out", on_click=auth.sign_out)
    st.stop()

pages = {stem: st.Page(f"pages/{stem}.py", title=t(f"nav.{stem}", lang), icon=PAGE_ICONS.get(stem),
                       url_path=page_url(stem), default=i == 0) for i, stem in enumerate(stems)}
home = pages[stems[0]]


def to_home() -> None:
    st.switch_page(home)


# The sign-in address and pages of other roles lead to this role's home instead of "page not found".
detours = [st.Page(to_home, title=t("nav.back_home", lang), url_path=url, visibility="hidden")
           for url in ["sign_in", *(page_url(stem) for stem in ALL_STEMS if stem not in pages)]]
with st.sidebar:
    st.markdown(t("auth.signed_in_as", lang, name=user["display_name"], role=t(f"role.{user['role']}", lang)))
    st.button(t("auth.sign_out", lang), key="sign_out", icon=":material/logout:", on_click=auth.sign_out)
page = st.navigation([*pages.values(), *detours], position="sidebar")
if user["role"] == "grower" and page.url_path != home.url_path:
    # On a phone the menu hides behind the sidebar toggle: a plain link back to the big tiles.
    st.page_link(home, label=t("nav.back_home", lang), icon=":material/arrow_back:")
page.run()
