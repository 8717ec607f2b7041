"""The app's entry point (app/Home.py) and the grower's home page, run headless with AppTest.

Users are signed in by setting ``st.session_state["user"]`` (the contract the sign-in fulfils; the real form
is tested in test_auth.py). The weekly advice is stored once per module on a private copy of the sample
database, so the home tiles and the map colours come from real stored advice.
"""

import json
import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import basemap  # noqa: E402
from i18n import CATALOGUES, DUPLICATE_KEYS, advice_text, aspect_label, cultivar_label, t  # noqa: E402
from session import ROLE_PAGES, URL_PATHS, page_url, role_pages  # noqa: E402

HOME = str(APP / "Home.py")
ISSUED = date(2016, 7, 15)
USERS = {"grower_li": ("李明", "grower"), "grower_wang": ("王芳", "grower"),
         "agronomist_zhao": ("赵农艺师", "agronomist"), "extension_county": ("县农技推广站", "extension"),
         "admin": ("Administrator", "admin")}
MY_PAGES = ("grower_home", "plot", "inputs", "identify")


@pytest.fixture
def app_env(advised_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(advised_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return advised_home


def _signed_in(user_id: str, lang: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=120)
    name, role = USERS[user_id]
    at.session_state["user"] = {"user_id": user_id, "display_name": name, "role": role}
    if lang:
        at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    return at


def _stored_advice(user_id: str) -> list[dict]:
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            return store.list_recommendations(session, user_id)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------------------
# Messages and navigation
# ----------------------------------------------------------------------------------------------------------
def test_catalogues_have_the_same_keys_and_none_twice():
    assert set(CATALOGUES["zh-CN"]) == set(CATALOGUES["en"])
    assert DUPLICATE_KEYS == []


def test_every_page_of_every_role_has_a_title_in_both_languages():
    stems = {stem for stems in ROLE_PAGES.values() for stem in stems}
    for lang in ("zh-CN", "en"):
        for stem in stems:
            assert f"nav.{stem}" in CATALOGUES[lang], stem
    assert t("nav.plot", "zh-CN") == "地块详情" and t("nav.identify", "en") == "Identify a pest"


def test_page_addresses_are_never_page_file_names():
    """A /plot address would make Streamlit run pages/plot.py without Home.py on a session's first run."""
    stems = {stem for stems in ROLE_PAGES.values() for stem in stems}
    stems |= {p.stem for p in (APP / "pages").glob("*.py")}
    urls = [page_url(stem) for stem in stems]
    assert not set(urls) & stems and len(set(urls)) == len(urls)
    assert page_url("extension_riskmap") == "extension-riskmap" and URL_PATHS["grower_home"] == "home"


def test_role_pages_lists_only_existing_page_files_in_menu_order(tmp_path):
    (tmp_path / "pages").mkdir()
    for stem in ("identify", "grower_home", "agronomist_parameters"):
        (tmp_path / "pages" / f"{stem}.py").write_text("")
    assert role_pages("grower", tmp_path) == ["grower_home", "identify"]
    assert role_pages("agronomist", tmp_path) == ["agronomist_parameters", "identify"]
    assert role_pages("extension", tmp_path) == [] and role_pages("nobody", tmp_path) == []
    assert role_pages("grower") == list(MY_PAGES)  # this repository's grower pages all exist


@pytest.mark.parametrize("user_id", ["grower_li", "agronomist_zhao", "extension_county", "admin"])
def test_each_role_gets_its_pages_and_no_other(app_env, user_id):
    at = _signed_in(user_id).run()
    assert not at.exception
    role = USERS[user_id][1]
    expected = role_pages(role)
    if not expected:
        assert [e.value for e in at.error] == [t("nav.none", "zh-CN")]
        return
    assert at.sidebar.markdown[0].value == f"{USERS[user_id][0]}（{t(f'role.{role}', 'zh-CN')}）"
    for stem in expected:
        at.switch_page(f"pages/{stem}.py")  # registered for this role (raises otherwise)
    for stem in set(MY_PAGES) - set(expected):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{stem}.py")


def test_agronomist_and_admin_land_on_their_first_page(app_env):
    at = _signed_in("agronomist_zhao", plot="CT02", date="2019-07-15").run()  # a date the models refuse: fast
    assert not at.exception
    first = role_pages("agronomist")[0]
    if first == "plot":
        assert at.title[0].value == t("nav.plot", "zh-CN") and at.selectbox(key="plot_choice").value == "CT02"


def test_pages_refuse_roles_they_are_not_for(app_env):
    for stem, user_id in (("plot", "extension_county"), ("grower_home", "agronomist_zhao"),
                          ("identify", "extension_county")):
        at = AppTest.from_file(str(APP / "pages" / f"{stem}.py"), default_timeout=60)
        name, role = USERS[user_id]
        at.session_state["user"] = {"user_id": user_id, "display_name": name, "role": role}
        at.run()
        assert not at.exception and [e.value for e in at.error] == [t("auth.forbidden", "zh-CN")], stem


def test_pages_opened_without_sign_in_ask_for_it(app_env):
    for stem in MY_PAGES:
        at = AppTest.from_file(str(APP / "pages" / f"{stem}.py"), default_timeout=60).run()
        assert not at.exception and [w.value for w in at.warning] == [t("auth.required", "zh-CN")], stem


# ----------------------------------------------------------------------------------------------------------
# Grower home
# ----------------------------------------------------------------------------------------------------------
def test_grower_home_tiles_count_only_this_growers_stored_advice(app_env):
    at = _signed_in("grower_li").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "李明，您好"
    mine = _stored_advice("grower_li")
    li_plots = {f"CT{n:02d}" for n in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28)}
    assert mine and {r["plot_id"] for r in mine} <= li_plots
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("gh.tile.plots", "zh-CN")] == "10 块"
    assert metrics[t("gh.tile.urgent", "zh-CN")] == str(sum(r["severity"] >= 4 for r in mine))
    assert metrics[t("gh.tile.pests", "zh-CN")] == str(sum(r["topic"] == "spray" for r in mine))
    everyone = _stored_advice("agronomist_zhao")
    assert len(everyone) > len(mine)  # the counts above are not everybody's
    captions = [c.value for c in at.caption]
    assert any(c.startswith(t("gh.advice_issued", "zh-CN", date="2016年7月15日")) for c in captions)
    assert any(c.startswith("2016年7月15日天气：") for c in captions)


def test_grower_home_weather_is_of_the_advice_day_not_the_records_end(app_env):
    """Every date on home is the stored run's: the weather line is of 2016-07-15, the day the advice was
    issued, though the sample's record runs to the end of 2017 (issue #19, finding 6)."""
    from orchard import config, store

    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            station = store.get_plot(session, "grower_li", "CT01")["station_id"]
            record_end = store.latest_weather(session, station)["tmax_c"][0]
            day = store.read_weather(session, [station], "daily", start="2016-07-15T00:00:00+08:00",
                                     end="2016-07-15T23:59:59+08:00")
    finally:
        engine.dispose()
    assert record_end.year > ISSUED.year  # the record goes on after the run: the newest day would be wrong
    values = {v: float(day.loc[day["variable"] == v, "value"].iloc[0])
              for v in ("tmax_c", "tmin_c", "precip_mm")}
    for lang in ("zh-CN", "en"):
        at = _signed_in("grower_li", lang).run()
        assert not at.exception
        expected = t("gh.weather", lang, date="2016年7月15日" if lang == "zh-CN" else "15 Jul 2016",
                     tmax=values["tmax_c"], tmin=values["tmin_c"], precip=values["precip_mm"])
        assert expected in [c.value for c in at.caption]


def test_grower_home_map_colours_plots_by_their_most_urgent_advice(app_env):
    at = _signed_in("grower_li").run()
    (chart,) = at.get("deck_gl_json_chart")
    spec = json.loads(chart.proto.json)
    assert [layer["@@type"] for layer in spec["layers"]] == ["BitmapLayer", "GeoJsonLayer", "TextLayer"]
    assert spec["layers"][0]["image"].startswith("data:image/png;base64,")  # offline relief, not tiles
    assert "mapProvider" not in spec and "mapStyle" not in spec
    features = spec["layers"][1]["data"]["features"]
    assert len(features) == 10
    worst = {}
    for r in _stored_advice("grower_li"):
        worst[r["plot_id"]] = max(worst.get(r["plot_id"], 0), r["severity"])
    for feature in features:
        props = feature["properties"]
        level = worst.get(props["plot_id"], 0)
        assert props["colour"] == basemap.SEVERITY_COLOURS[level]
        assert props["severity"] == t(f"sev.{level}", "zh-CN")
    # each plot is labelled on the map with its id and its most urgent action this week
    first = {}
    for r in sorted(_stored_advice("grower_li"), key=lambda r: (-r["severity"], str(r["valid_to"]))):
        first.setdefault(r["plot_id"], r["topic"])
    labels = {item["text"] for item in spec["layers"][2]["data"]}
    assert labels == {f"{pid} {t('gh.topic.' + topic, 'zh-CN')}" for pid, topic in first.items()}
    assert len(labels) == 10 and any(label.endswith("喷药") for label in labels)


def test_grower_home_lists_each_plot_with_its_urgency_area_and_a_link(app_env):
    at = _signed_in("grower_li").run()
    links = [link for link in at.get("page_link") if " · CT" in link.proto.label]
    assert len(links) == 10
    worst = max(r["severity"] for r in _stored_advice("grower_li") if r["plot_id"] == "CT01")
    assert links[0].proto.label == f"{t(f'sev.{worst}', 'zh-CN')} · CT01 李家湾1号地 · 15.6 亩"
    tile = next(c.value for c in at.caption if c.value.startswith("共 "))
    assert tile == "共 149 亩（10.0 公顷）"
    assert [(link.proto.page, link.proto.query_string) for link in links[:2]] == [
        ("plot-view", "plot=CT01"), ("plot-view", "plot=CT04")]
    # under each plot its week in one line: the most urgent advice, and how many more
    weeks = [c.value for c in at.caption if c.value.startswith("本周：") or c.value == "本周没有建议"]
    assert len(weeks) == 10
    ct01 = sorted((r for r in _stored_advice("grower_li") if r["plot_id"] == "CT01"),
                  key=lambda r: (-r["severity"], str(r["valid_to"])))
    assert weeks[0].startswith("本周：" + advice_text(ct01[0], "zh-CN"))
    assert weeks[0].endswith(f"（另有 {len(ct01) - 1} 条）")


def test_each_home_tile_opens_the_plot_it_is_about(app_env):
    at = _signed_in("grower_li").run()
    mine = sorted(_stored_advice("grower_li"),
                  key=lambda r: (-r["severity"], str(r["valid_to"]), r["plot_id"]))
    sprays = [r for r in mine if r["topic"] == "spray"]
    tiles = {link.proto.icon: link.proto for link in at.get("page_link")
             if link.proto.label.startswith("查看 ")}
    assert tiles[":material/priority_high:"].query_string == f"plot={mine[0]['plot_id']}"
    assert tiles[":material/pest_control:"].query_string == f"plot={sprays[0]['plot_id']}"
    assert tiles[":material/priority_high:"].label == f"查看 {mine[0]['plot_id']}"  # the link says which
    captions = [c.value for c in at.caption]
    assert f"{len({r['plot_id'] for r in sprays})} 块地需要喷药" in captions


def test_grower_home_switches_to_english(app_env):
    at = _signed_in("grower_li").run()
    at.radio(key="lang_choice").set_value("en").run()
    assert not at.exception
    assert at.session_state["lang"] == "en"
    assert at.title[0].value == "Hello, 李明"
    assert {m.label for m in at.metric} == {"My plots", "Urgent this week", "Pest alerts", "Identify a pest"}
    worst = max(r["severity"] for r in _stored_advice("grower_li") if r["plot_id"] == "CT01")
    assert f"{t(f'sev.{worst}', 'en')} · CT01 李家湾1号地 · 15.6 mu" in [link.proto.label for link in
                                                                       at.get("page_link")]
    assert at.query_params["lang"] in ("en", ["en"])


def test_grower_without_advice_yet_sees_what_to_expect(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))  # the plain sample: no weekly run stored
    at = _signed_in("grower_wang").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("gh.tile.urgent", "zh-CN")] == "0"
    assert t("gh.advice_none", "zh-CN") in [c.value for c in at.caption]


def test_cultivar_and_aspect_labels():
    assert cultivar_label("valencia", "zh-CN") == "伏令夏橙"
    assert cultivar_label("tarocco_blood", "zh-CN") == "tarocco_blood"
    assert aspect_label(180.0, 15.0, "zh-CN") == "南" and aspect_label(90.0, 0.5, "en") == "flat"
