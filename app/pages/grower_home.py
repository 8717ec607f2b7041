"""Grower's home (首页): big tiles (plots, this week's urgent advice, pest alerts, identify a pest), the plots
on an offline map coloured by their most urgent stored advice, and one link per plot.

For a phone and older eyes: few words, big numbers, one column on a narrow screen. Every number comes from
``data.py`` with the signed-in grower's id (their own plots and advice only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds the shared modules
import basemap  # noqa: E402
import data  # noqa: E402
from i18n import M2_PER_MU, advice_text, date_label, error_text, t  # noqa: E402
from session import page_language, require_user  # noqa: E402

from orchard import config  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

PLOT_PAGE, IDENTIFY_PAGE = "pages/plot.py", "pages/identify.py"


def mu(area_ha) -> float:
    return float(area_ha or 0.0) * 1e4 / M2_PER_MU


def tile(column, label: str, value: str, caption: str, link: str, link_label: str, icon: str,
         query_params: dict | None = None) -> None:
    with column.container(border=True):
        st.metric(label, value)
        st.caption(caption)
        st.page_link(link, label=link_label, icon=icon, query_params=query_params, width="stretch")


def plot_name(plots: list[dict], plot_id: str) -> str:
    return next((" ".join(filter(None, [p["plot_id"], p.get("name")]))
                 for p in plots if p["plot_id"] == plot_id), plot_id)


def tiles(plots: list[dict], summary: dict, lang: str) -> None:
    """Four tiles; each link opens the plot its tile is about and says which (issue #19: both links used to
    open the first plot whatever the tile)."""
    area_ha = sum(p.get("area_ha") or 0.0 for p in plots)
    first = plots[0]["plot_id"]
    urgent_plot = summary["most_urgent_plot"] or first
    top = st.columns(2, wrap=False)  # two tiles a row, on a phone too
    tile(top[0], t("gh.tile.plots", lang), t("gh.tile.plots_value", lang, n=len(plots)),
         t("gh.tile.plots_area", lang, mu=mu(area_ha), ha=area_ha), PLOT_PAGE,
         t("gh.open_plot", lang, plot=first), ":material/eco:", {"plot": first})
    urgent = summary["urgent"]
    issued = summary["issued_on"]
    caption = (t("gh.advice_issued", lang, date=date_label(issued, lang)) if issued
               else t("gh.advice_none", lang))
    if summary["most_urgent_plot"]:
        caption += t("list.sep", lang) + t("gh.tile.urgent_where", lang,
                                            plot=plot_name(plots, summary["most_urgent_plot"]))
    tile(top[1], t("gh.tile.urgent", lang), str(urgent), caption,
         PLOT_PAGE, t("gh.open_plot", lang, plot=urgent_plot), ":material/priority_high:",
         {"plot": urgent_plot})
    bottom = st.columns(2, wrap=False)
    pest_plot = summary["pest_plot"] or urgent_plot
    pests_help = (t("gh.tile.pests_plots", lang, n=summary["pest_plots"]) if summary["pest_alerts"]
                  else t("gh.tile.pests_none", lang))
    tile(bottom[0], t("gh.tile.pests", lang), str(summary["pest_alerts"]), pests_help,
         PLOT_PAGE, t("gh.open_plot", lang, plot=pest_plot), ":material/pest_control:", {"plot": pest_plot})
    tile(bottom[1], t("gh.tile.identify", lang), t("gh.tile.identify_value", lang),
         t("gh.tile.identify_help", lang), IDENTIFY_PAGE,
         t("gh.open_identify", lang), ":material/photo_camera:")


def map_label(plot_id: str, week: dict | None, lang: str) -> str:
    """A plot's label on the map: its id and what to do first this week (喷药, 灌溉, …)."""
    if week is None:
        return plot_id
    return f"{plot_id} {t('gh.topic.' + week['topic'], lang)}"


def plots_deck(plots: list[dict], summary: dict, lang: str):
    """My plots on the offline relief, filled by the urgency of their most urgent advice and labelled with
    the plot id and that action."""
    import shapely.geometry

    features, labels = [], []
    for p in plots:
        if not p.get("geometry_geojson"):
            continue
        week = summary.get("plots", {}).get(p["plot_id"])
        level = summary["severity"].get(p["plot_id"], 0)
        geometry = json.loads(p["geometry_geojson"])
        text = map_label(p["plot_id"], week, lang)
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {"plot_id": p["plot_id"], "name": p.get("name") or "",
                                        "severity": t(f"sev.{level}", lang), "label": text,
                                        "colour": basemap.SEVERITY_COLOURS[level]}})
        point = shapely.geometry.shape(geometry).representative_point()
        labels.append({"position": [point.x, point.y], "text": text})
    if not features:
        return None
    lons, lats = basemap.geometry_points(f["geometry"] for f in features)
    return basemap.offline_deck([basemap.polygon_layer(features), basemap.label_layer(labels)],
                                basemap.fit_view(lons, lats), background=data.basemap(),
                                tooltip={"text": "{plot_id} {name}\n{severity}"})


def week_line(week: dict | None, lang: str) -> str:
    """The plot's week in one line: its most urgent advice (and how many more)."""
    if week is None:
        return t("gh.week_none", lang)
    text = t("gh.week", lang, action=advice_text(week["record"], lang))
    return text + (t("gh.week_more", lang, n=week["n"] - 1) if week["n"] > 1 else "")


def weather_line(user_id: str, lang: str, issued=None) -> None:
    """The weather of the day the shown advice was issued (the latest of the record when none is stored):
    every date on the page is the stored run's (issue #19)."""
    for latest in data.latest_weather(user_id, on=issued).values():
        needed = ("tmax_c", "tmin_c", "precip_mm")
        if not all(v in latest and latest[v][1] is not None for v in needed):
            continue
        newest = max(latest[v][0] for v in needed)
        local = pd.Timestamp(newest).tz_convert(f"Etc/GMT-{config.CHINA_UTC_OFFSET_H}").date()
        st.caption(t("gh.weather", lang, date=date_label(local, lang), tmax=latest["tmax_c"][1],
                     tmin=latest["tmin_c"][1], precip=latest["precip_mm"][1]))
        return


def main() -> None:
    lang = page_language()
    user = require_user(lang, ("grower",))
    st.title(t("gh.hello", lang, name=user["display_name"]))
    try:
        plots = data.my_plots(user["user_id"])
        summary = data.advice_summary(user["user_id"])
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=error_text(exc, lang)))
        return
    if not plots:
        st.info(t("plot.no_plots", lang))
        return
    tiles(plots, summary, lang)

    st.subheader(t("gh.map", lang))
    deck = plots_deck(plots, summary, lang)
    if deck is not None:
        st.pydeck_chart(deck, height=380)
        st.caption(t("gh.map_legend", lang))

    st.subheader(t("gh.list", lang))
    for p in plots:
        level = summary["severity"].get(p["plot_id"], 0)
        st.page_link(PLOT_PAGE, query_params={"plot": p["plot_id"]}, icon=":material/eco:",
                     label=t("gh.plot_item", lang, plot=p["plot_id"], name=p.get("name") or "",
                             mu=mu(p.get("area_ha")), ha=p.get("area_ha") or 0.0,
                             severity=t(f"sev.{level}", lang)))
        st.caption(week_line(summary["plots"].get(p["plot_id"]), lang))
    try:
        weather_line(user["user_id"], lang, summary["issued_on"])
    except OrchardError:
        pass  # the weather line is a nicety; the page stands without it


main()
