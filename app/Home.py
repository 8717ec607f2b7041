"""Home page: the plots on an offline map with their terrain, and the latest weather (zh-CN / en).

Run with ``orchard app`` (or ``streamlit run app/Home.py``) after ``orchard init --sample``.
The seed of the full app: grower, agronomist and extension pages come with later issues.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pydeck as pdk
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # app/ holds i18n.py beside this page
from basemap import shaded_relief  # noqa: E402
from i18n import M2_PER_MU, aspect_label, cultivar_label, t  # noqa: E402
from session import choose_language, choose_user, engine_for, users  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402
from orchard.sample import SAMPLE_DISTRICT  # noqa: E402

WEATHER_VARIABLES = ("tmin_c", "tmax_c", "precip_mm", "rh_mean_pct", "wind_ms", "rs_mj_m2")
ASPECT_COLOURS = {"south": [230, 120, 30, 170], "north": [40, 110, 200, 170], "other": [150, 150, 150, 150]}

st.set_page_config(page_title="Citrus orchard / 柑橘果园", page_icon="🍊", layout="wide")


def load(url: str, user: str) -> tuple[list[dict], dict]:
    with store.session_scope(engine_for(url)) as session:
        plots = store.list_plots(session, user)
        station_ids = sorted({p["station_id"] for p in plots if p.get("station_id")})
        weather = {sid: store.latest_weather(session, sid, resolution="daily") for sid in station_ids}
    return plots, weather


def aspect_colour(aspect_deg, slope_deg) -> list[int]:
    if aspect_deg is None or slope_deg is None or slope_deg < 2.0:
        return ASPECT_COLOURS["other"]
    if 135.0 <= aspect_deg <= 225.0:
        return ASPECT_COLOURS["south"]
    if aspect_deg >= 315.0 or aspect_deg <= 45.0:
        return ASPECT_COLOURS["north"]
    return ASPECT_COLOURS["other"]


@st.cache_data(show_spinner=False)
def relief(dem_path: str) -> tuple[str, list[float]] | None:
    try:
        return shaded_relief(dem_path)
    except OrchardError:
        return None  # the map still shows the plots, without relief


def fit_view(lons: list[float], lats: list[float], width_px: float = 340.0) -> pdk.ViewState:
    """Centre and zoom showing every plot on a phone-wide map (deck.gl: the world is 512 px wide at zoom 0)."""
    span_deg = max(max(lons) - min(lons), (max(lats) - min(lats)) / math.cos(math.radians(lats[0])), 0.002)
    zoom = math.log2(360.0 * width_px / (512.0 * span_deg * 1.2))  # 20 % margin
    return pdk.ViewState(longitude=(min(lons) + max(lons)) / 2, latitude=(min(lats) + max(lats)) / 2,
                         zoom=round(min(zoom, 17.0), 1))


def plot_map(plots: list[dict], lang: str) -> pdk.Deck:
    features = [{
        "type": "Feature",
        "geometry": json.loads(p["geometry_geojson"]),
        "properties": {"plot_id": p["plot_id"], "name": p.get("name") or "",
                       "aspect": aspect_label(_num(p.get("aspect_deg")), _num(p.get("slope_deg")), lang),
                       "colour": aspect_colour(p.get("aspect_deg"), p.get("slope_deg"))},
    } for p in plots]
    layer = pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": features}, pickable=True,
                      stroked=True, filled=True, get_fill_color="properties.colour",
                      get_line_color=[40, 40, 40], line_width_min_pixels=1)
    layers = [layer]
    dem = config.basemap_dem()
    background = relief(str(dem)) if dem else None
    if background:
        image, bounds = background
        # Quoted, or pydeck would read the data URL as a JavaScript accessor expression.
        layers.insert(0, pdk.Layer("BitmapLayer", image=f"'{image}'", bounds=bounds))
    view = fit_view([p["lon"] for p in plots], [p["lat"] for p in plots])
    # map_provider=None: no basemap tiles, so the page works offline and nothing is fetched from abroad.
    return pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, map_style=None,
                    tooltip={"text": "{plot_id} {name}\n{aspect}"})


def plot_table(plots: list[dict], lang: str) -> pd.DataFrame:
    rows = [{
        t("col.plot_id", lang): p["plot_id"],
        t("col.name", lang): p.get("name") or "",
        t("col.cultivar", lang): cultivar_label(p.get("cultivar"), lang),
        t("col.area_mu", lang): round(p["area_ha"] * 1e4 / M2_PER_MU, 1),
        t("col.elevation_m", lang): _round(p.get("elevation_m"), 0),
        t("col.slope_deg", lang): _round(p.get("slope_deg"), 1),
        t("col.aspect", lang): aspect_label(_num(p.get("aspect_deg")), _num(p.get("slope_deg")), lang),
        t("col.sky_view_factor", lang): _round(p.get("sky_view_factor"), 2),
    } for p in plots]
    return pd.DataFrame(rows)


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def _round(value, digits):
    return None if value is None else round(float(value), digits)


def main() -> None:
    lang = choose_language()
    st.title(t("app.title", lang))
    st.caption(t("app.caption", lang, district=SAMPLE_DISTRICT))
    url = config.database_url()
    try:
        known = users(url)
        plots, weather = load(url, choose_user(lang, known)) if known else ([], {})
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=str(exc)))
        return
    if not plots:
        st.info(t("home.no_plots", lang))
        return
    area_ha = sum(p["area_ha"] for p in plots)
    st.markdown(t("home.n_plots", lang, n=len(plots), area=area_ha, mu=area_ha * 1e4 / M2_PER_MU))
    st.page_link("pages/1_Plot.py", label=t("home.to_plot", lang), icon="🍊",
                 query_params={"lang": lang, "user": st.query_params.get("user", "")})
    st.page_link("pages/2_Inputs.py", label=t("home.to_inputs", lang), icon="🧴",
                 query_params={"lang": lang, "user": st.query_params.get("user", "")})

    st.subheader(t("home.map", lang))
    st.pydeck_chart(plot_map(plots, lang))
    st.caption(t("home.map_legend", lang))

    st.subheader(t("home.plots", lang))
    st.dataframe(plot_table(plots, lang), hide_index=True, width="stretch")

    st.subheader(t("home.weather", lang))
    shown = False
    for station_id, latest in weather.items():
        values = {v: latest[v] for v in WEATHER_VARIABLES if v in latest and latest[v][1] is not None}
        if not values:
            continue
        shown = True
        newest = max(time for time, _ in values.values())
        local_date = pd.Timestamp(newest).tz_convert(f"Etc/GMT-{config.CHINA_UTC_OFFSET_H}").date()
        st.markdown(t("home.weather_date", lang, station=station_id, date=local_date.isoformat(),
                      source=t("home.weather_source", lang)))
        columns = st.columns(min(len(values), 3))
        for i, (variable, (_, value)) in enumerate(values.items()):
            columns[i % len(columns)].metric(t(f"var.{variable}", lang), f"{value:.1f}")
    if not shown:
        st.info(t("home.weather_none", lang))


main()
