"""Extension page: the district risk map of a chosen week, pest and horizon, on an offline map.

Shows the class band of the weekly export's Cloud-Optimized GeoTIFF (``exports.riskmap``), reprojected to
lon/lat and coloured by its colour table, under the plot outlines, on a pydeck map without tiles
(``map_provider=None``: nothing is fetched from the internet), with a legend of the five classes in the
reader's language. Exports are listed from ``<ORCHARD_HOME>/exports/riskmaps``; a button makes the export of
another week on the district's DEM.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pydeck as pdk
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import date_label, t  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("extension", "agronomist", "admin")
FLASH_KEY = "staff_map_flash"


@st.cache_data(show_spinner=False, max_entries=32)
def overlay(path: str, modified: float, horizon: str) -> dict:
    """The class raster as an image in lon/lat (cached per file version: exports are shared by all staff)."""
    return sd.class_overlay(path, horizon)


def level_names(lang: str) -> dict[int, str]:
    return {level: t(f"staff.level.{level}", lang) for level in sd.RISK_CLASSES}


def export_label(manifest: dict, lang: str) -> str:
    if manifest.get("error"):
        return t("staff.exp.broken", lang, folder=Path(manifest["folder"]).name)
    return t("staff.exp.label", lang, week=manifest.get("week", ""), district=manifest.get("district") or "–",
             date=manifest.get("issue_date") or "")


def fit_view(bounds: list[float], width_px: float = 600.0) -> pdk.ViewState:
    """Centre and zoom showing the whole raster (deck.gl: the world is 512 px wide at zoom 0)."""
    west, south, east, north = bounds
    lat = (south + north) / 2
    span = max(east - west, (north - south) / max(math.cos(math.radians(lat)), 0.1), 1e-4)
    zoom = math.log2(360.0 * width_px / (512.0 * span * 1.1))
    return pdk.ViewState(longitude=(west + east) / 2, latitude=lat, zoom=round(min(zoom, 17.0), 1))


def risk_deck(image: dict, features: dict, lang: str) -> pdk.Deck:
    layers = [
        # Quoted, or pydeck would read the data URL as a JavaScript accessor expression.
        pdk.Layer("BitmapLayer", image=f"'{image['image']}'", bounds=image["bounds"], opacity=0.85),
        pdk.Layer("GeoJsonLayer", features, pickable=True, stroked=True, filled=False,
                  get_line_color=[30, 30, 30], line_width_min_pixels=1),
    ]
    tooltip = {"text": "{plot_id} {name}\n" + t("staff.map.tooltip", lang)}
    # map_provider=None: no basemap tiles, so the page works offline and nothing is fetched from abroad.
    return pdk.Deck(layers=layers, initial_view_state=fit_view(image["bounds"]), map_provider=None,
                    map_style=None, tooltip=tooltip)


def legend(image: dict, lang: str):
    """The five classes with their colour, name and share of the district's cells (a styled table)."""
    names = level_names(lang)
    total = sum(image["counts"].values()) or 1
    frame = pd.DataFrame([{
        t("staff.map.col.level", lang): level, t("staff.map.col.name", lang): names[level],
        t("staff.map.col.share", lang): round(100.0 * image["counts"].get(level, 0) / total, 1),
    } for level in sd.RISK_CLASSES])
    colours = {level: "#{:02x}{:02x}{:02x}".format(*image["colours"][level][:3]) for level in sd.RISK_CLASSES}
    column = t("staff.map.col.level", lang)
    return frame.style.apply(lambda s: [f"background-color: {colours[v]}" for v in s], subset=[column]) \
        .format(precision=1)


def make_export_section(engine, plots: list[dict], run: dict | None, lang: str) -> None:
    """Make the export of a week; the day starts on the latest stored run's issue date (the advice the app
    shows), else on the sample's default day."""
    with st.expander(t("staff.map.make", lang), expanded=False):
        if sd.export_module() is None:
            st.warning(t("staff.map.no_module", lang))
            return
        first = run["issued_on"] if run else sd.DEFAULT_ISSUE_DATE
        day = st.date_input(t("staff.map.week_of", lang), value=first, key="staff_map_day")
        week = sd.week_of(day)
        st.caption(t("staff.map.week_is", lang, week=week, monday=date_label(sd.week_monday(week), lang)))
        districts = sorted({p["district"] for p in plots if p.get("district")})
        district = st.selectbox(t("staff.params.district", lang), districts or [""], key="staff_map_district")
        all_pests = list(sd.PEST_SETS[:4])
        pests = st.multiselect(t("staff.map.pests", lang), all_pests, default=all_pests,
                               key="staff_map_pests", format_func=lambda p: t(f"pest.{p}", lang))
        overwrite = st.checkbox(t("staff.map.overwrite", lang), key="staff_map_overwrite")
        if not st.button(t("staff.map.make_button", lang), key="staff_map_make"):
            return
        bar = st.progress(0.0, text=t("staff.rerun.running", lang))

        def progress(*args, **kwargs) -> None:  # the export reports a step name (and maybe a fraction)
            step = str(args[0]) if args else ""
            fraction = next((float(a) for a in args[1:] if isinstance(a, (int, float))), None)
            bar.progress(min(max(fraction, 0.0), 1.0) if fraction is not None else 0.5,
                         text=t("staff.rerun.step", lang, step=step))

        try:
            folder = sd.make_export(engine, week, district=district or None, pests=pests, overwrite=overwrite,
                                    progress=progress)
        except OrchardError as exc:
            bar.empty()
            st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a failed export is one sentence, never a traceback
            bar.empty()
            st.error(t("staff.unexpected", lang, kind=type(exc).__name__))
            return
        st.session_state[FLASH_KEY] = t("staff.map.made", lang, week=week, folder=Path(folder).name)
        st.rerun()


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.map.title", lang))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            plots = store.list_plots(db, user["user_id"])
            run = sd.latest_run(db)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    make_export_section(engine, plots, run, lang)
    exports = sd.list_exports()
    if not exports:  # what to do in the app (the export above), not a server path or a command line
        if sd.export_module() is None:
            st.info(t("staff.map.no_module", lang))
        elif run:
            st.info(t("staff.map.none", lang, date=date_label(run["issued_on"], lang)))
        else:
            st.info(t("staff.map.none_no_run", lang))
        return
    columns = st.columns(3)
    index = columns[0].selectbox(t("staff.exp.choose", lang), list(range(len(exports))),
                                 key="staff_map_export", format_func=lambda i: export_label(exports[i], lang))
    manifest = exports[index]
    if manifest.get("error"):
        st.error(t("staff.error", lang, error=manifest["error"]))
        return
    pests = sd.export_pests(manifest)
    if not pests:
        st.error(t("staff.map.no_raster", lang))
        return
    pest = columns[1].selectbox(t("staff.map.pest", lang), pests, key="staff_map_pest",
                                format_func=lambda p: t(f"pest.{p}", lang))
    horizon = columns[2].selectbox(t("staff.map.horizon", lang), sd.export_horizons(manifest),
                                   key="staff_map_horizon",
                                   format_func=lambda h: t(f"staff.horizon.{h}", lang))
    path = sd.export_file(manifest, "cog", pest, horizon)
    if path is None:
        st.error(t("staff.map.no_raster", lang))
        return
    try:
        image = overlay(str(path), path.stat().st_mtime, horizon)
        risk = sd.plot_risk_classes(manifest, horizon)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - a damaged export file must not show a traceback
        st.error(t("staff.unexpected", lang, kind=type(exc).__name__))
        return
    st.markdown(t("staff.map.heading", lang, pest=t(f"pest.{pest}", lang), week=manifest.get("week", ""),
                  horizon=t(f"staff.horizon.{horizon}", lang), district=manifest.get("district") or "–"))
    features = sd.plot_features(plots, risk, pest, level_names(lang))
    st.pydeck_chart(risk_deck(image, features, lang))
    st.dataframe(legend(image, lang), hide_index=True)
    st.caption(t("staff.map.basis", lang, date=manifest.get("issue_date") or "–",
                 models=sd.manifest_text(manifest.get("models")),
                 sets=sd.manifest_text(manifest.get("parameter_sets")),
                 sources=manifest.get("weather_text") or sd.manifest_text(manifest.get("weather_sources"))))


main()
