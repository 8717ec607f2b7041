"""Plot page (地块 / Plot): one plot on one day: growth and its 30-day outlook, pests, soil water, crop.

For a phone: one column, large numbers, short sentences, no wide tables. The plot comes from the URL (?plot=)
or the picker, and is always checked with ``orchard.store.get_plot`` for the signed-in user (growers open
only their own plots). Each section fails on its own: a module's ``OrchardError`` is shown as a sentence.
The computations live in ``app/plot_view.py``; this file only caches, translates and draws.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py and plot_view.py
import plot_view as pv  # noqa: E402
from i18n import cultivar_label, date_label, t  # noqa: E402
from session import choose_language, choose_user, engine_for, users  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

#: Cached results expire after an hour, so newly imported weather or sensors show up.
CACHE_TTL_S = 3600
FIRST_DAY = date(2010, 1, 1)
LAST_DAY = date(2030, 12, 31)

st.set_page_config(page_title="地块 / Plot", page_icon="🍊", layout="centered")


# ----------------------------------------------------------------------------------------------------------
# Sign-in and choices (as on the home page; kept in the URL so a link opens the same view)
# ----------------------------------------------------------------------------------------------------------
def choose_signed_in_user(lang: str, url: str) -> str:
    """DEMO sign-in, as on the home page."""
    known = users(url)
    if not known:
        raise_no_plots(lang)
    return choose_user(lang, known)


def raise_no_plots(lang: str) -> None:
    st.info(t("home.no_plots", lang))
    st.stop()


def choose_plot(lang: str, url: str, user: str) -> dict | None:
    """The plot to show, checked for this user; an id from the URL the user may not open gives a message."""
    with store.session_scope(engine_for(url)) as session:
        plots = store.list_plots(session, user)
    if not plots:
        raise_no_plots(lang)
    ids = [p["plot_id"] for p in plots]
    labels = {p["plot_id"]: " ".join(filter(None, [p["plot_id"], p.get("name"),
                                                   cultivar_label(p.get("cultivar"), lang)])) for p in plots}
    requested = st.query_params.get("plot")
    index = 0
    if requested is not None and requested not in ids:
        try:
            with store.session_scope(engine_for(url)) as session:
                store.get_plot(session, user, requested)
        except OrchardError as exc:
            st.error(t("plot.denied", lang, error=str(exc)))
            index = None  # show nothing until the user picks one of their own plots
    elif requested in ids:
        index = ids.index(requested)
    plot_id = st.selectbox(t("plot.choose", lang), ids, index=index, format_func=labels.get,
                           placeholder=t("plot.choose_placeholder", lang))
    if plot_id is None:
        return None
    with store.session_scope(engine_for(url)) as session:
        plot = store.get_plot(session, user, plot_id)  # the data layer's check, whatever the widget says
    st.query_params["plot"] = plot_id
    return plot


def choose_date(lang: str) -> date:
    as_of = pv.parse_as_of(st.query_params.get("date"))
    as_of = min(max(as_of, FIRST_DAY), LAST_DAY)
    as_of = st.date_input(t("plot.as_of", lang), value=as_of, min_value=FIRST_DAY, max_value=LAST_DAY,
                          format="YYYY-MM-DD")
    st.query_params["date"] = as_of.isoformat()
    return as_of


# ----------------------------------------------------------------------------------------------------------
# Cached computations, keyed by (database, user, plot, date); a model error is cached as its sentence
# ----------------------------------------------------------------------------------------------------------
def _soft(compute):
    try:
        return {"ok": compute()}
    except OrchardError as exc:
        return {"error": str(exc)}


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_S, max_entries=32)
def weather_of(url: str, user: str, plot_id: str):
    def compute():
        with store.session_scope(engine_for(url)) as session:
            return pv.daily_weather(session, user, plot_id)
    return _soft(compute)


def _with_weather(url, user, plot_id, view, *args):
    weather = weather_of(url, user, plot_id)
    if "error" in weather:
        return weather

    def compute():
        with store.session_scope(engine_for(url)) as session:
            return view(session, user, plot_id, *args, weather["ok"])
    return _soft(compute)


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_S, max_entries=64)
def growth_of(url: str, user: str, plot_id: str, as_of: date):
    return _with_weather(url, user, plot_id, pv.growth_view, as_of)


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_S, max_entries=64)
def pests_of(url: str, user: str, plot_id: str, as_of: date):
    return _with_weather(url, user, plot_id, pv.pests_view, as_of)


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_S, max_entries=64)
def soil_of(url: str, user: str, plot_id: str, as_of: date):
    def compute():
        with store.session_scope(engine_for(url)) as session:
            return pv.soil_view(session, user, plot_id, as_of)
    return _soft(compute)


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_S, max_entries=64)
def crop_of(url: str, user: str, plot_id: str):
    def compute():
        with store.session_scope(engine_for(url)) as session:
            return pv.crop_view(session, user, plot_id)
    return _soft(compute)


# ----------------------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------------------
def band_chart(frame: pd.DataFrame, title: str, lang: str) -> alt.LayerChart:
    """P10-P90 band with the median line over the outlook days."""
    base = alt.Chart(frame).encode(x=alt.X("date:T", title=None, axis=alt.Axis(format="%m-%d")))
    band = base.mark_area(opacity=0.3, color="#f28e2b").encode(
        y=alt.Y("p10:Q", title=title, scale=alt.Scale(zero=False)), y2="p90:Q",
        tooltip=[alt.Tooltip("date:T", title=t("plot.chart_date", lang), format="%Y-%m-%d"),
                 alt.Tooltip("p10:Q", format=".2f"), alt.Tooltip("p50:Q", format=".2f"),
                 alt.Tooltip("p90:Q", format=".2f")])
    line = base.mark_line(color="#d9480f", strokeWidth=3).encode(y=alt.Y("p50:Q", title=title))
    return (band + line).properties(height=220)


def growth_section(result: dict, lang: str) -> None:
    today, harvest = result["today"], result["harvest"]
    st.metric(t("growth.stage", lang), t(f"stage.{today['stage']}", lang))
    st.markdown(t("growth.bloom", lang, date=date_label(today["bloom_date"], lang)))
    if today["fruit_diameter_mm"] is not None and today["stage_code"] >= 3:
        st.markdown(t("growth.fruit_now", lang, diameter=today["fruit_diameter_mm"],
                      brix=today["brix"] if today["brix"] is not None else float("nan")))
    st.metric(t("growth.colour_break", lang), date_label(harvest["colour_break_date"], lang)
              or t("growth.not_reached", lang, end=date_label(harvest["season_end"], lang)))
    st.metric(t("growth.maturity", lang), date_label(harvest["maturity_date"], lang)
              or t("growth.not_reached", lang, end=date_label(harvest["season_end"], lang)))
    delay = harvest["maturity_delay_days"]
    if delay is None:
        st.markdown(t("growth.delay_unknown", lang))
    elif delay > 0:
        st.markdown(t("growth.delay_later", lang, n=int(delay)))
    elif delay < 0:
        st.markdown(t("growth.delay_earlier", lang, n=int(-delay)))
    else:
        st.markdown(t("growth.delay_none", lang))
    if harvest["n_members"]:
        st.caption(t("growth.harvest_source", lang, n=harvest["n_members"],
                     first=min(harvest["member_years"]), last=max(harvest["member_years"])))
    if "outlook_error" in result:
        st.info(t("section.error", lang, error=result["outlook_error"]))
        return
    st.markdown(f"**{t('growth.outlook', lang)}**")
    st.altair_chart(band_chart(result["outlook"]["fruit_expansion_mm_d"], t("growth.expansion", lang), lang),
                    width="stretch")
    st.altair_chart(band_chart(result["outlook"]["brix"], t("growth.brix", lang), lang), width="stretch")
    st.caption(t("growth.band", lang, n=result["n_members"]))


def pests_section(result: dict, lang: str) -> None:
    for row in result["pests"]:
        level = row["level"]["15d"]
        colour = pv.LEVEL_COLOURS[level]
        name = t(f"pest.{row['pest']}", lang)
        st.markdown(f"#### {name} :{colour}-badge[{level_label(level, lang)}]")
        parts = [t("pests.horizon_item", lang, horizon=t(f"horizon.{h}", lang), p=round(100 * p),
                   level=t(f"level.{row['level'][h]}", lang))
                 for h, p in row["probability"].items()]
        st.markdown(t("pests.probabilities", lang, items=t("list.sep", lang).join(parts)))
    if result["spray"]:
        items = [t("spray.item", lang, pest=t(f"pest.{s['pest']}", lang),
                   action=t(f"spray.{s['action']}", lang), date=date_label(s["latest_date"], lang))
                 for s in result["spray"]]
        st.warning(t("spray.needed", lang, items=t("list.sep", lang).join(items)))
    else:
        st.success(t("spray.none", lang))
    st.caption(t("pests.source", lang, source=result["weather_source"]))


def level_label(level: int, lang: str) -> str:
    return t("level.badge", lang, n=level, name=t(f"level.{level}", lang), zh=t(f"level.{level}", "zh-CN"))


def soil_section(result: dict | None, as_of: date, lang: str) -> None:
    if result is None:
        st.info(t("soil.none", lang, date=date_label(as_of, lang)))
        return
    st.metric(t("soil.ks", lang), f"{result['ks']:.2f}")
    st.metric(t("soil.depletion", lang), f"{result['depletion_mm']:.0f}")
    key = "soil.irrigate" if result["irrigate"] else "soil.no_irrigation"
    st.markdown(t(key, lang, depletion=result["depletion_mm"], raw=result["raw_mm"], taw=result["taw_mm"],
                  gross=result["gross_mm"] or 0))
    if result["sensor_days"]:
        st.caption(t("soil.sensors", lang, n=result["sensor_days"]))
    else:
        st.caption(t("soil.weather_only", lang))


def crop_section(result: dict, lang: str) -> None:
    if result["ndvi"] is None:
        st.info(t("crop.no_clear", lang, date=date_label(result["latest_scene"], lang)))
        return
    st.metric(t("crop.ndvi", lang, date=date_label(result["last_clear"], lang)), f"{result['ndvi']:.2f}",
              delta=None if result["trend_per_30d"] is None else f"{result['trend_per_30d']:+.3f}",
              help=t("crop.ndvi_help", lang))
    for alert in result["alerts"]:
        fields = {k: v for k, v in alert.items() if k != "since"}
        st.warning(t(alert["message_key"], lang, since=date_label(alert["since"], lang), **fields))
    if not result["alerts"]:
        st.success(t("crop.no_alerts", lang))
    st.caption(t("crop.imagery_dates", lang))


def advice_of(url: str, user: str, plot_id: str) -> list[dict]:
    """The latest stored advice for the plot (``orchard run-week``), scoped to the signed-in user."""
    with store.session_scope(engine_for(url)) as session:
        return store.list_recommendations(session, user, plot_id=plot_id)


def advice_text(record: dict, lang: str) -> str:
    """A recommendation's action in the reader's language (pest names translated)."""
    numbers = {k: ("–" if v is None else v) for k, v in (record.get("action_numbers") or {}).items()}
    if "pest" in numbers:
        numbers["pest"] = t(f"pest.{numbers['pest']}", lang)
    try:
        return t(record["action_key"], lang, **numbers)
    except (KeyError, IndexError):  # a message whose numbers are missing: show the English evidence
        return record.get("evidence") or record["action_key"]


def advice_section(records: list[dict], lang: str) -> None:
    st.subheader(t("section.advice", lang))
    if not records:
        st.caption(t("advice.none", lang))
        return
    st.caption(t("advice.issued", lang, date=date_label(records[0]["issued_on"], lang)))
    for record in records:
        # coloured dots in Streamlit markdown (emoji need a colour-emoji font, which some phones lack)
        icon = {5: ":red[●]", 4: ":orange[●]", 3: ":violet[●]", 2: ":blue[●]"}.get(int(record["severity"]),
                                                                                 ":gray[●]")
        st.markdown(f"{icon} **{advice_text(record, lang)}**  \n"
                    f"<small>{t('advice.severity', lang, severity=record['severity'])} · "
                    f"{record.get('evidence') or ''}</small>", unsafe_allow_html=True)
        products = record.get("products") or []
        if products:
            name = "name_zh" if lang == "zh-CN" else "name_en"
            separator = "；" if lang == "zh-CN" else "; "
            items = separator.join(
                t("advice.product_item", lang, name=p[name], amount=round(p["amount"], 1), unit=p["unit"],
                  cost="–" if p["cost_cny"] is None else round(p["cost_cny"]), phi=p["phi_days"])
                for p in products)
            st.caption(t("advice.products", lang, items=items))
    if any(record.get("products") for record in records):
        st.caption(t("advice.example_catalogue", lang))


def section(title_key: str, result: dict, lang: str, draw, *args) -> None:
    st.subheader(t(title_key, lang))
    if "error" in result:
        st.info(t("section.error", lang, error=result["error"]))
        return
    draw(result["ok"], *args, lang)


def main() -> None:
    lang = choose_language()
    url = config.database_url()
    try:
        user = choose_signed_in_user(lang, url)
        st.title(t("plot.title", lang))
        plot = choose_plot(lang, url, user)
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=str(exc)))
        return
    if plot is None:
        return
    as_of = choose_date(lang)
    st.caption(t("plot.summary", lang, plot=plot["plot_id"],
                 cultivar=cultivar_label(plot.get("cultivar"), lang),
                 slope=plot.get("slope_deg") or 0.0, elevation=plot.get("elevation_m") or 0.0))
    pid = plot["plot_id"]
    try:
        advice_section(advice_of(url, user, pid), lang)
    except OrchardError as exc:
        st.info(t("section.error", lang, error=str(exc)))
    section("section.growth", growth_of(url, user, pid, as_of), lang, growth_section)
    section("section.pests", pests_of(url, user, pid, as_of), lang, pests_section)
    section("section.soil", soil_of(url, user, pid, as_of), lang, soil_section, as_of)
    section("section.crop", crop_of(url, user, pid), lang, crop_section)


main()
