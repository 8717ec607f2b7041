"""Plot page (地块详情 / Plot): one plot: this week's advice and why, with the advised products to record;
the 30-day fruit expansion and Brix outlook; pests at 15 days / 1 month / 3 months; the NDVI series with any
weak-growth zone on a map; root-zone water and irrigation.

For a phone: one column, large numbers, short sentences, no wide tables. The plot comes from the URL
(``?plot=``) or the picker, and every id goes through ``data.plot`` (``orchard.store.get_plot`` for the
signed-in user): a grower opens only their own plots. Everything shown comes from the stored weekly run
(``orchard run-week``): the latest one, or with ``?date=`` the latest issued on or before that day; opening
the page runs no model, so the page, ``orchard advice`` and the plot status show the same numbers. Reading
lives in ``plot_view.py``, caching in ``data.py``; this file translates and draws.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds the shared modules
import basemap  # noqa: E402
import data  # noqa: E402
import plot_view as pv  # noqa: E402
from i18n import (  # noqa: E402
    CATALOGUES,
    M2_PER_MU,
    advice_csv,
    advice_text,
    cultivar_label,
    date_label,
    error_text,
    product_lines,
    reason_text,
    t,
    unnecessary_text,
    weather_source_text,
    window_label,
)
from session import page_language, require_user  # noqa: E402

from orchard.errors import OrchardError  # noqa: E402

#: Earliest day a record of an application or purchase may carry.
FIRST_DAY = date(2010, 1, 1)
#: Markdown colour of each advice severity (as the map's fill colours in basemap.SEVERITY_COLOURS).
SEVERITY_DOTS = {5: ":red[●]", 4: ":orange[●]", 3: ":yellow[●]", 2: ":blue[●]", 1: ":green[●]"}


# ----------------------------------------------------------------------------------------------------------
# Choices (kept in the URL so a link opens the same view); every plot id is checked by the data layer
# ----------------------------------------------------------------------------------------------------------
def choose_plot(lang: str, user: dict) -> dict | None:
    """The plot to show, checked for this user; an id from the URL the user may not open gives a message."""
    plots = data.my_plots(user["user_id"])
    if not plots:
        st.info(t("plot.no_plots", lang))
        return None
    ids = [p["plot_id"] for p in plots]
    labels = {p["plot_id"]: " ".join(filter(None, [p["plot_id"], p.get("name"),
                                                   cultivar_label(p.get("cultivar"), lang)])) for p in plots}
    requested = st.query_params.get("plot")
    index = 0
    if requested is not None and requested not in ids:
        try:
            data.plot(user["user_id"], requested)
        except OrchardError as exc:
            st.error(t("plot.denied", lang, error=error_text(exc, lang)))
            index = None  # show nothing until the user picks one of their own plots
    elif requested in ids:
        index = ids.index(requested)
    plot_id = st.selectbox(t("plot.choose", lang), ids, index=index, format_func=labels.get,
                           placeholder=t("plot.choose_placeholder", lang), key="plot_choice")
    if plot_id is None:
        return None
    plot = data.plot(user["user_id"], plot_id)  # the data layer's check, whatever the widget says
    st.query_params["plot"] = plot_id
    return plot


def choose_run(lang: str) -> dict | None:
    """The stored run the page is for: the URL's date (the latest run issued on or before it), else the
    latest; other weeks fold away (growers rarely change them). None, with one sentence, if there is none."""
    requested = pv.parse_as_of(st.query_params.get("date"))
    run = data.run_for(requested)
    if run is None:
        if requested is None:
            st.info(t("plot.no_run", lang, date=data.today_in_china().isoformat()))
        else:
            st.info(t("plot.no_run_before", lang, date=requested.isoformat()))
        return None
    dates = data.run_dates()
    as_of = st.empty()  # filled once the week is known (the picker below may change it)
    if len(dates) > 1:
        with st.expander(t("plot.other_week", lang)):
            index = dates.index(run["issued_on"]) if run["issued_on"] in dates else 0
            chosen = st.selectbox(t("plot.week", lang), dates, index=index, key="plot_week",
                                  format_func=lambda d: date_label(d, lang))
        if chosen != run["issued_on"]:
            run = data.run_for(chosen) or run
    as_of.caption(t("plot.as_of_run", lang, date=date_label(run["issued_on"], lang)))
    if requested is not None or run["issued_on"] != dates[0]:
        st.query_params["date"] = run["issued_on"].isoformat()
    return run


# ----------------------------------------------------------------------------------------------------------
# This week's advice (stored by the weekly run), with reasons, products, records and a CSV
# ----------------------------------------------------------------------------------------------------------
def advice_section(records: list[dict], plot: dict, user: dict, lang: str, issued: date,
                   review: dict | None = None) -> None:
    st.subheader(t("section.advice", lang))
    if not records and review and not review["visible"]:  # held, or awaiting review (issue #19)
        st.info(t("advice.under_review", lang, date=date_label(issued, lang)))
        return
    if not records:
        st.caption(t("advice.none", lang, date=date_label(issued, lang)))
        return
    st.caption(t("advice.issued", lang, date=date_label(records[0]["issued_on"], lang)))
    if records[0].get("review_note"):
        st.info(t("advice.review_note", lang, note=records[0]["review_note"]))
    for record in records:
        severity = int(record["severity"])
        # coloured dots in Streamlit markdown (emoji need a colour-emoji font, which some phones lack)
        st.markdown(f"{SEVERITY_DOTS.get(severity, ':gray[●]')} **{advice_text(record, lang)}**")
        why = reason_text(record, lang)
        st.caption(" · ".join(filter(None, [t("advice.reason_label", lang, reason=why) if why else "",
                                            t("advice.severity", lang, severity=severity)])))
        unnecessary = unnecessary_text(record, lang)
        if unnecessary:
            st.caption(unnecessary)
        lines = product_lines(record, lang)
        if lines:  # one line per product: on a phone a long joined line is hard to follow
            st.caption(t("advice.products", lang, items=""))
            for line in lines:
                st.caption(f"• {line}")
    if any(record.get("products") for record in records):
        st.caption(t("advice.example_catalogue", lang))
    sources = sorted({r["source"] for r in records if r.get("source")})
    if sources:
        with st.expander(t("advice.sources", lang)):
            if lang == "en":
                for source in sources:
                    st.caption(source)
            else:  # the stored source lines are English technical notes: by module, in the reader's words
                modules = sorted({r.get("module") or "other" for r in records if r.get("source")})
                for module in modules:
                    key = f"source.{module}"
                    st.caption(t(key if key in CATALOGUES["en"] else "source.other", lang))
    st.download_button(t("advice.download", lang), advice_csv(records, lang), key="advice_csv",
                       file_name=f"advice_{plot['plot_id']}_{records[0]['issued_on']}.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", width="stretch")
    record_form(records, plot, user, lang)


def advised_products(records: list[dict]) -> list[tuple[dict, str]]:
    """(product, target) of every product the advice proposes, in advice order, without repeats."""
    out, seen = [], set()
    for record in records:
        numbers = record.get("action_numbers") or {}
        target = numbers.get("pest") or ("N" if record["topic"] == "fertilise" else None)
        for product in record.get("products") or []:
            key = (product["product_id"], target)
            if target and key not in seen:
                seen.add(key)
                out.append((product, target))
    return out


def target_label(target: str, lang: str) -> str:
    key = f"pest.{target}"
    text = t(key, lang)
    return t("inputs.nutrient", lang, nutrient=target) if text == key else text


def record_form(records: list[dict], plot: dict, user: dict, lang: str) -> None:
    """Record an advised product as applied on this plot or bought, with the advised amount filled in."""
    options = advised_products(records)
    if not options:
        return
    st.markdown(f"**{t('advice.record.title', lang)}**")
    role = user["role"]
    can_apply, can_buy = role in data.RECORDERS["application"], role in data.RECORDERS["purchase"]
    if not (can_apply or can_buy):
        st.caption(t("advice.record.read_only", lang))
        return
    name = "name_zh" if lang == "zh-CN" else "name_en"
    choice = st.selectbox(t("advice.record.product", lang), range(len(options)), key="advice_product",
                          format_func=lambda i: t("advice.record.item", lang, name=options[i][0][name],
                                                  amount=round(options[i][0]["amount"], 2),
                                                  unit=options[i][0]["unit"],
                                                  target=target_label(options[i][1], lang)))
    product, target = options[choice]
    with st.form("advice_record", border=True):
        amount = st.number_input(t("advice.record.amount", lang, unit=product["unit"]), min_value=0.0,
                                 value=float(round(product["amount"], 2)), step=0.1, format="%g",
                                 key=f"advice_amount_{choice}")
        today = data.today_in_china()
        day = st.date_input(t("advice.record.date", lang), value=today, min_value=FIRST_DAY, max_value=today,
                            format="YYYY-MM-DD", key="advice_date")
        left, right = st.columns(2)
        applied = left.form_submit_button(t("advice.record.application", lang), type="primary",
                                          disabled=not can_apply, width="stretch")
        bought = right.form_submit_button(t("advice.record.purchase", lang), disabled=not can_buy,
                                          width="stretch")
    if not (applied or bought):
        return
    try:
        if applied:
            data.record_application(user["user_id"], plot["plot_id"], product_id=product["product_id"],
                                    amount=amount, unit=product["unit"], applied_on=day, target=target)
            st.success(t("inputs.applied", lang, date=day.isoformat(), plot=plot["plot_id"],
                         amount=f"{amount:g}",
                         product=product[name], unit=product["unit"], target=target_label(target, lang)))
        else:
            grower = None if role == "grower" else plot.get("owner_id")
            data.record_purchase(user["user_id"], product_id=product["product_id"], quantity=amount,
                                 unit=product["unit"], purchased_on=day, grower_id=grower)
            st.success(t("inputs.bought", lang, date=day.isoformat(), quantity=f"{amount:g}",
                         product=product[name], unit=product["unit"]))
    except OrchardError as exc:
        st.error(t("inputs.not_saved", lang, error=error_text(exc, lang)))


# ----------------------------------------------------------------------------------------------------------
# Model sections
# ----------------------------------------------------------------------------------------------------------
def _x_date(axis_format: str) -> dict:
    return {"field": "date", "type": "temporal", "title": None, "axis": {"format": axis_format}}


def _date_tip(lang: str) -> dict:
    return {"field": "date", "type": "temporal", "title": t("plot.chart_date", lang), "format": "%Y-%m-%d"}


def _chart(frame: pd.DataFrame, layers: list[dict], height: int) -> dict:
    """A layered Vega-Lite spec on one named dataset (plain dicts: a spec built with Altair costs a
    tenth of a second per chart on every page view, for the same JSON)."""
    return {"data": {"name": "values"}, "datasets": {"values": frame}, "layer": layers, "height": height}


def band_chart(frame: pd.DataFrame, title: str, lang: str) -> dict:
    """P10-P90 band with the median line over the outlook days (a Vega-Lite spec)."""
    x = _x_date("%m-%d")
    band = {"mark": {"type": "area", "opacity": 0.3, "color": "#f28e2b"},
            "encoding": {"x": x, "y": {"field": "p10", "type": "quantitative", "title": title,
                                       "scale": {"zero": False}},
                         "y2": {"field": "p90"},
                         "tooltip": [_date_tip(lang),
                                     *({"field": p, "type": "quantitative", "format": ".2f"}
                                       for p in ("p10", "p50", "p90"))]}}
    line = {"mark": {"type": "line", "color": "#d9480f", "strokeWidth": 3},
            "encoding": {"x": x, "y": {"field": "p50", "type": "quantitative", "title": title}}}
    return _chart(frame, [band, line], 220)


def growth_section(result: dict, lang: str) -> None:
    today, harvest = result["today"], result["harvest"]
    st.metric(t("growth.stage", lang), t(f"stage.{today['stage']}", lang))
    st.markdown(t("growth.bloom", lang, date=date_label(today["bloom_date"], lang)))
    if today["fruit_diameter_mm"] is not None and today["stage_code"] >= pv.FRUIT_STAGE:
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
    if harvest["n_members"] and harvest["member_years"]:
        st.caption(t("growth.harvest_source", lang, n=harvest["n_members"],
                     first=min(harvest["member_years"]), last=max(harvest["member_years"])))
    if "outlook_error" in result:
        st.info(t("section.error", lang, error=error_text(result["outlook_error"], lang)))
        return
    st.markdown(f"**{t('growth.outlook', lang)}**")
    for variable, title in (("fruit_expansion_mm_d", "growth.expansion"), ("brix", "growth.brix")):
        spec = band_chart(result["outlook"][variable], t(title, lang), lang)
        st.vega_lite_chart(spec=spec, width="stretch")
    st.caption(t("growth.band", lang, n=result["n_members"]))


def level_label(level: int, lang: str) -> str:
    return t("level.badge", lang, n=level, name=t(f"level.{level}", lang), zh=t(f"level.{level}", "zh-CN"))


def pests_section(result: dict, issued: date, lang: str) -> None:
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
                   action=t(f"spray.{s['action']}", lang),
                   date=window_label(s["window_from"], s["latest_date"], lang, before_rain=s["before_rain"]))
                 for s in result["spray"]]
        st.warning(t("spray.needed", lang, items=t("list.sep", lang).join(items)))
    else:
        st.success(t("spray.none", lang))
    st.caption(t("pests.source", lang, source=weather_source_text(result["weather_source"], issued, lang)))


def soil_chart(frame: pd.DataFrame, lang: str) -> dict:
    x = _x_date("%m-%d")
    date_tip = _date_tip(lang)
    water = {"mark": {"type": "area", "opacity": 0.35, "color": "#3b82c4",
                      "line": {"color": "#1f5f99", "strokeWidth": 3}},
             "encoding": {"x": x, "y": {"field": "available_pct", "type": "quantitative",
                                        "title": t("soil.available", lang), "scale": {"domain": [0, 100]}},
                          "tooltip": [date_tip,
                                      {"field": "available_pct", "type": "quantitative",
                                       "title": t("soil.available", lang), "format": ".0f"},
                                      {"field": "precip_mm", "type": "quantitative",
                                       "title": t("var.precip_mm", lang), "format": ".0f"}]}}
    threshold = {"mark": {"type": "line", "color": "#c0392b", "strokeDash": [6, 4], "strokeWidth": 2},
                 "encoding": {"x": x, "y": {"field": "threshold_pct", "type": "quantitative"},
                              "tooltip": [{"field": "threshold_pct", "type": "quantitative",
                                           "title": t("soil.threshold", lang), "format": ".0f"}]}}
    return _chart(frame, [water, threshold], 200)


def soil_section(result: dict | None, as_of: date, lang: str) -> None:
    if result is None:
        st.info(t("soil.none", lang, date=date_label(as_of, lang)))
        return
    st.metric(t("soil.water", lang), t(f"soil.water.{result['state']}", lang),
              help=t("soil.water_help", lang, depletion=result["depletion_mm"] or 0.0,
                     raw=result["raw_mm"] or 0.0))
    key = "soil.irrigate" if result["irrigate"] else "soil.no_irrigation"
    st.markdown(t(key, lang, depletion=result["depletion_mm"], raw=result["raw_mm"], taw=result["taw_mm"],
                  gross=result["gross_mm"] or 0))
    if result.get("water") is not None and len(result["water"]):
        st.markdown(f"**{t('soil.chart', lang)}**")
        st.vega_lite_chart(spec=soil_chart(result["water"], lang), width="stretch")
        st.caption(t("soil.threshold_help", lang))
    if result["sensor_days"]:
        st.caption(t("soil.sensors", lang, n=result["sensor_days"]))
    else:
        st.caption(t("soil.weather_only", lang))


def ndvi_chart(frame: pd.DataFrame, lang: str) -> dict:
    x = _x_date("%Y-%m")
    line = {"mark": {"type": "line", "color": "#2e7d32", "strokeWidth": 3},
            "encoding": {"x": x, "y": {"field": "ndvi_smooth", "type": "quantitative",
                                       "title": t("crop.index", lang),
                                       "scale": {"zero": False}}}}
    dots = {"mark": {"type": "circle", "size": 60, "color": "#1b5e20"},
            "encoding": {"x": x, "y": {"field": "ndvi", "type": "quantitative"},
                         "tooltip": [_date_tip(lang),
                                     {"field": "ndvi", "type": "quantitative", "title": t("crop.index", lang),
                                      "format": ".2f"}]}}
    return _chart(frame, [line, dots], 200)


def zones_deck(result: dict):
    outline = result.get("outline")
    zones = result.get("zones") or []
    if not zones or not outline:
        return None
    plot_feature = [{"type": "Feature", "geometry": outline, "properties": {}}]
    zone_features = [{**z, "properties": {**z["properties"], "colour": [215, 38, 38, 200]}} for z in zones]
    lons, lats = basemap.geometry_points([outline])
    layers = [basemap.polygon_layer(plot_feature, fill=[255, 255, 255, 60], line=(20, 20, 20), line_px=3,
                                    pickable=False),
              basemap.polygon_layer(zone_features, line=(150, 0, 0), line_px=1, pickable=False)]
    return basemap.offline_deck(layers, basemap.fit_view(lons, lats), background=data.basemap())


def crop_section(result: dict, lang: str) -> None:
    if result["ndvi"] is None:
        st.info(t("crop.no_clear", lang, date=date_label(result["latest_scene"], lang)))
    else:
        st.metric(t("crop.growth", lang, date=date_label(result["last_clear"], lang)),
                  t(f"crop.trend.{result['direction']}", lang),
                  help=t("crop.growth_help", lang, ndvi=result["ndvi"]))
    series = result.get("series")
    if series is not None and series["ndvi"].notna().any():
        st.markdown(f"**{t('crop.series', lang)}**")
        st.vega_lite_chart(spec=ndvi_chart(series, lang), width="stretch")
        st.caption(t("crop.series_help", lang))
    for alert in result["alerts"]:
        fields = {k: v for k, v in alert.items() if k != "since"}
        st.warning(t(alert["message_key"], lang, since=date_label(alert["since"], lang), **fields))
    deck = zones_deck(result)
    if deck is not None:
        st.markdown(f"**{t('crop.zones', lang)}**")
        st.pydeck_chart(deck, height=300)
        area = sum(z["properties"].get("area_mu") or 0.0 for z in result["zones"])
        st.caption(t("crop.zones_legend", lang, area_mu=area))
    if not result["alerts"]:
        st.success(t("crop.no_alerts", lang))
    st.caption(t("crop.imagery_dates", lang, date=date_label(result["latest_scene"], lang)))


def section(title_key: str, result: dict, lang: str, draw, *args) -> None:
    st.subheader(t(title_key, lang))
    if "error" in result:
        st.info(t("section.error", lang, error=error_text(result["error"], lang)))
        return
    draw(result["ok"], *args, lang)


def main() -> None:
    lang = page_language()
    user = require_user(lang, ("grower", "agronomist", "admin"))
    st.title(t("plot.title", lang))
    try:
        plot = choose_plot(lang, user)
    except OrchardError as exc:
        st.error(t("home.db_error", lang, error=error_text(exc, lang)))
        return
    if plot is None:
        return
    uid, pid = user["user_id"], plot["plot_id"]
    area_ha = plot.get("area_ha") or 0.0
    st.caption(t("plot.summary", lang, plot=pid, cultivar=cultivar_label(plot.get("cultivar"), lang),
                 slope=plot.get("slope_deg") or 0.0, elevation=plot.get("elevation_m") or 0.0)
               + " · " + t("plot.area", lang, mu=area_ha * 1e4 / M2_PER_MU, ha=area_ha))
    try:
        run = choose_run(lang)
        if run is None:
            return
        page = data.plot_page(uid, pid, run)
    except OrchardError as exc:
        st.info(t("section.error", lang, error=error_text(str(exc), lang)))  # a run without this plot
        return
    issued = page["run"]["issued_on"]
    advice_section(page["advice"], plot, user, lang, issued, page.get("review"))
    section("section.growth", page["growth"], lang, growth_section)
    section("section.pests", page["pests"], lang, pests_section, issued)
    section("section.crop", page["crop"], lang, crop_section)
    section("section.soil", page["soil"], lang, soil_section, issued)


main()
