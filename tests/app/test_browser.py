"""The app in a real browser: Playwright drives Debian's Chromium at a phone's size in Chinese.

A Streamlit server runs ``app/Home.py`` from the repository root (so ``.streamlit/config.toml`` applies) on a
free port, against a copy of the sample district with this week's advice stored. A grower signs in, opens a
plot, sees the advice and the outlook chart, switches to English and downloads the advice as CSV; the county
extension officer signs in and downloads the weekly risk-map bundle.

Set ``ORCHARD_APP_SCREENSHOTS=docs/img`` to also write the screenshots of the main pages used in the README
(``app_*.png``). Chromium comes from Debian (``apt-get install chromium``; ``make test`` installs it), never
from ``playwright install``.
"""

import csv
import io
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ISSUED = date(2016, 7, 15)
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
TIMEOUT_MS = 120_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium (apt-get install chromium; `make test` does it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(advised_home, tmp_path_factory):
    """``streamlit run app/Home.py`` on a free port against a private copy (with a weekly risk-map export
    when the extension export page exists); yields the base URL."""
    home = tmp_path_factory.mktemp("browser_home")
    shutil.copytree(advised_home, home, ignore=shutil.ignore_patterns("orchard.db*", "ready"),
                    dirs_exist_ok=True)
    source, copy = sqlite3.connect(advised_home / "orchard.db"), sqlite3.connect(home / "orchard.db")
    source.backup(copy)
    source.close()
    copy.close()
    if (ROOT / "app" / "pages" / "extension_exports.py").exists():
        from orchard import config, store
        from exports.riskmap import export_riskmap

        engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
        try:
            export_riskmap("2016-W29", config.sample_data_dir() / config.SAMPLE_DEM,
                           home / "exports" / "riskmaps", engine=engine)
        finally:
            engine.dispose()
    port = _free_port()
    env = {**os.environ, "ORCHARD_HOME": str(home)}
    env.pop("ORCHARD_DB_URL", None)
    log = (home / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/Home.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log_text = (home / "streamlit.log").read_text()
                raise RuntimeError(f"the Streamlit server did not start: {log_text}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (390 × 844 CSS px, like an iPhone 12–15) in Chinese."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  accept_downloads=True, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def _screenshot(page, name: str, height_px: int | None = None) -> None:
    """Write docs/img/app_<name>.png when ORCHARD_APP_SCREENSHOTS names a folder; ``height_px`` shows more of
    the page at once (Streamlit scrolls inside the page, so a "full page" screenshot would not)."""
    folder = os.environ.get("ORCHARD_APP_SCREENSHOTS")
    if not folder:
        return
    target = Path(folder) if Path(folder).is_absolute() else ROOT / folder
    target.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    if height_px:
        page.set_viewport_size({"width": size["width"], "height": height_px})
    page.wait_for_timeout(1500)  # let maps and charts finish drawing
    page.screenshot(path=str(target / f"app_{name}.png"))
    if height_px:
        page.set_viewport_size(size)


def _settle(page) -> None:
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)


def _sign_in(page, url: str, user_id: str) -> None:
    from orchard.sample import SAMPLE_PASSWORD

    page.goto(url)
    page.get_by_label("用户名").wait_for()
    _settle(page)
    _screenshot(page, "sign_in") if user_id.startswith("grower") else None
    page.get_by_label("用户名").fill(user_id)
    page.get_by_label("密码").fill(SAMPLE_PASSWORD)
    page.get_by_role("button", name="登录").click()


def _stored_first_advice(home: Path, plot: str, lang: str) -> tuple[str, str]:
    """The most urgent stored advice of ``plot`` (as grower_li reads it): its action and reason texts."""
    sys.path.insert(0, str(ROOT / "app"))
    from i18n import advice_text, reason_text  # noqa: PLC0415 - the app's own helpers

    from orchard import store

    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    try:
        with store.session_scope(engine) as session:
            first = store.list_recommendations(session, "grower_li", plot_id=plot)[0]
    finally:
        engine.dispose()
    return advice_text(first, lang), reason_text(first, lang)


def test_grower_signs_in_opens_a_plot_sees_advice_and_chart_switches_language_downloads(server, phone,
                                                                                       advised_home):
    page = phone
    advice_zh, reason_zh = _stored_first_advice(advised_home, "CT13", "zh-CN")
    advice_en, _ = _stored_first_advice(advised_home, "CT13", "en")
    _sign_in(page, server, "grower_li")
    page.get_by_text("李明，您好").wait_for()
    _settle(page)
    page.get_by_test_id("stDeckGlJsonChart").wait_for()  # my plots on the offline map
    assert page.get_by_test_id("stDeckGlJsonChart").count() == 1
    _screenshot(page, "grower_home", height_px=1900)

    page.get_by_role("link", name=re.compile(r"· CT13 ")).click()
    page.get_by_text("本周建议", exact=True).wait_for()
    page.wait_for_url(re.compile(r"/plot-view\?.*plot=CT13"))
    page.get_by_test_id("stVegaLiteChart").first.wait_for()  # the 30-day outlook
    _settle(page)
    assert page.get_by_text(advice_zh).first.is_visible()  # the most urgent stored advice, first
    assert page.get_by_text(f"原因：{reason_zh}").first.is_visible()
    assert page.get_by_test_id("stVegaLiteChart").count() == 4  # expansion, Brix, NDVI, soil water
    assert page.get_by_text("Traceback").count() == 0
    _screenshot(page, "plot")
    page.get_by_test_id("stVegaLiteChart").first.scroll_into_view_if_needed()
    _screenshot(page, "plot_outlook")
    page.get_by_test_id("stDeckGlJsonChart").scroll_into_view_if_needed()  # the weak-growth zone
    _screenshot(page, "plot_zone")

    page.get_by_text("English", exact=True).click()
    page.get_by_text("This week's advice", exact=True).wait_for()
    _settle(page)
    assert page.get_by_text(advice_en).first.is_visible()
    assert page.get_by_text("本周建议").count() == 0

    with page.expect_download() as download_info:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    download = download_info.value
    assert download.suggested_filename == "advice_CT13_2016-07-15.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Plot", "Issued", "Valid to", "Urgency", "Advice", "Why", "Products"]
    assert len(rows) > 3 and {r[0] for r in rows[1:]} == {"CT13"}
    assert rows[1][4] == advice_en


def test_a_sign_in_survives_a_reload_until_signing_out(server, browser):
    # Issue #18: reloading the browser signed the user out. A signed, expiring cookie now keeps them in.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        _sign_in(page, server, "grower_chen")
        page.get_by_text("陈建国，您好").wait_for()
        _settle(page)
        (cookie,) = [c for c in context.cookies() if c["name"] == "orchard_signin"]
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > time.time() + 6 * 24 * 3600
        page.reload()
        page.get_by_text("陈建国，您好").wait_for()
        _settle(page)
        assert page.get_by_role("textbox", name="密码").count() == 0
        page.get_by_role("button", name="退出登录").click()
        page.get_by_role("textbox", name="密码").wait_for()
        _settle(page)
        page.wait_for_function("() => !document.cookie.includes('orchard_signin=')")
        page.reload()
        page.get_by_role("textbox", name="密码").wait_for()
        _settle(page)
        assert page.get_by_text("陈建国，您好").count() == 0
    finally:
        context.close()


def test_a_grower_cannot_open_another_growers_plot_from_a_link(server, phone):
    page = phone
    _sign_in(page, server, "grower_li")
    page.get_by_text("李明，您好").wait_for()
    _settle(page)
    # a new page load is a new session, still signed in by the signed cookie (issue #18)
    page.goto(f"{server}/plot-view?plot=CT02")
    page.get_by_text("不能打开这个地块").wait_for()
    _settle(page)
    assert page.get_by_text("does not belong").count() == 0  # in Chinese only, and nothing about CT02's owner
    assert page.get_by_text("not one of yours").count() == 0
    assert page.get_by_text("本周建议").count() == 0


def test_identify_page_on_a_phone(server, phone):
    page = phone
    _sign_in(page, server, "grower_li")
    page.get_by_text("李明，您好").wait_for()
    _settle(page)
    page.get_by_role("link", name="去拍照").click()
    page.get_by_role("heading", name="拍照识病虫").wait_for()
    _settle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "leaf.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo" * 100}])
    page.get_by_text("这个文件不是照片").wait_for()
    _settle(page)
    assert page.get_by_text("Traceback").count() == 0
    leaf = ROOT / "sample_data" / "leaf_images" / "black-spot" / "bl_001.png"
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(leaf))
    page.get_by_role("button", name="保存照片，请农艺师查看").wait_for()
    _settle(page)
    # `orchard init --sample` trains the identification model on the sample's leaf photos
    assert page.get_by_text("识别结果（可能性从高到低）").is_visible()
    assert page.get_by_text(re.compile(r"^柑橘黑斑病：\d+%$")).count() == 1
    _screenshot(page, "identify", height_px=1300)


@pytest.mark.skipif(not (ROOT / "app" / "pages" / "extension_exports.py").exists(),
                    reason="the extension export page is not in this checkout")
def test_extension_officer_downloads_the_weekly_risk_map_bundle(server, phone):
    page = phone
    _sign_in(page, server, "extension_county")
    page.get_by_test_id("stExpandSidebarButton").wait_for()
    _settle(page)
    page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_text("数据导出").click()
    page.get_by_text("风险图下载").wait_for()
    _settle(page)
    if page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "false":  # covers a phone
        page.get_by_test_id("stSidebarCollapseButton").get_by_role("button").click(force=True)
    zip_button = page.get_by_test_id("stDownloadButton").filter(has_text="ZIP").get_by_role("button")
    with page.expect_download() as download_info:
        zip_button.click()
    download = download_info.value
    assert download.suggested_filename == "riskmap_2016-W29.zip"
    with zipfile.ZipFile(download.path()) as bundle:
        names = bundle.namelist()
    assert any(n.endswith("manifest.json") for n in names) and any(n.endswith(".csv") for n in names)
    assert any(n.endswith(".tif") for n in names) and any(n.endswith(".gpkg") for n in names)


# ----------------------------------------------------------------------------------------------------------
# Issue #19: advice a grower can act on, in Chinese on a phone
# ----------------------------------------------------------------------------------------------------------
#: Visible text of the page (icons excluded: Material icons are ligature names such as "upload").
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    if (!el || el.closest('[data-testid="stIconMaterial"], script, style, noscript')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const hidden = style.visibility === 'hidden' || style.display === 'none';
    if (box.width <= 1 || box.height <= 1 || hidden) continue;
    if (node.textContent.trim()) out.push(node.textContent.trim());
  }
  return out;
}"""
#: ASCII words a Chinese page may show: units, and the language switch's own name for English.
ALLOWED_WORDS = {"kg", "g", "mL", "L", "mm", "MB", "KB", "ha", "Brix", "English"}


def english_words(texts: list[str]) -> list[str]:
    """ASCII-only words of two or more letters that are not units, codes or the language switch: letter runs
    next to a digit (CT01, 7.9kg) or all capitals up to 5 letters (CSV, JPG, WP) are codes and units."""
    words = []
    for text in texts:
        for match in re.finditer(r"[A-Za-z]{2,}", text):
            word, start, end = match.group(), match.start(), match.end()
            next_to_digit = ((start > 0 and text[start - 1].isdigit())
                             or (end < len(text) and text[end].isdigit()))
            if next_to_digit or (word.isupper() and len(word) <= 5) or word in ALLOWED_WORDS:
                continue
            words.append(f"{word} (in: {text[:80]})")
    return words


def _stored(home: Path, query: str):
    from orchard import store

    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    try:
        with store.session_scope(engine) as session:
            return query(session)
    finally:
        engine.dispose()


def _signed_in_grower(page, server) -> None:
    _sign_in(page, server, "grower_li")
    page.get_by_text("李明，您好").wait_for()
    _settle(page)


def test_a_spray_plot_shows_how_to_mix_it_and_a_window_after_the_issue_day(server, phone, advised_home):
    from orchard import store

    records = _stored(advised_home, lambda s: store.approved_recommendations(s, "grower_li"))
    spray_plot = next(r["plot_id"] for r in records if r["topic"] == "spray" and r["products"])
    page = phone
    _signed_in_grower(page, server)
    page.get_by_role("link", name=re.compile(rf"· {spray_plot} ")).click()
    page.wait_for_url(re.compile(rf"/plot-view\?.*plot={spray_plot}"))
    page.get_by_text("本周建议", exact=True).wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    _settle(page)
    text = page.get_by_test_id("stMain").inner_text()
    assert re.search(r"每亩 [\d.]+(g|mL|kg|L)，", text), "no dose per 亩"
    assert re.search(r"\d+ 倍液", text), "no 倍液 dilution"
    assert re.search(r"每亩兑水 [\d.]+ 升", text) and re.search(r"每 15 升喷雾器加 [\d.]+(g|mL)", text)
    assert re.search(r"安全间隔期 \d+ 天", text) and "药箱" in text  # the label's PHI; the drone tank
    windows = re.findall(r"(\d+)月(\d+)日–(\d+)月(\d+)日", text)
    assert windows, "no action window"
    for _, _, month, day in windows:  # every window ends after the issue day
        assert date(ISSUED.year, int(month), int(day)) > ISSUED
    assert f"{ISSUED:%Y-%m-%d} 前" not in text and "前喷" not in text.replace("下雨前喷", "")
    page.get_by_text(re.compile("倍液")).first.scroll_into_view_if_needed()  # how to mix it, on a phone
    _screenshot(page, "plot_spray")


def test_grower_pages_in_chinese_show_no_english_words(server, phone, advised_home):
    page = phone
    _signed_in_grower(page, server)
    page.get_by_test_id("stDeckGlJsonChart").wait_for()
    offenders = {"home": english_words(page.evaluate(VISIBLE_TEXT_JS))}
    from orchard import store

    plots = _stored(advised_home, lambda s: [p["plot_id"] for p in store.list_plots(s, "grower_li")])
    for plot in plots[:3]:
        page.get_by_role("link", name=re.compile(rf"· {plot} ")).click()
        page.get_by_text("本周建议", exact=True).wait_for()
        page.get_by_test_id("stVegaLiteChart").first.wait_for()
        _settle(page)
        page.get_by_text("数据来源").first.click()  # the sources too, unfolded
        _settle(page)
        offenders[plot] = english_words(page.evaluate(VISIBLE_TEXT_JS))
        page.get_by_role("link", name="返回首页").click()
        page.get_by_text("李明，您好").wait_for()
        _settle(page)
    page.get_by_role("link", name="去拍照").click()
    page.get_by_role("heading", name="拍照识病虫").wait_for()
    _settle(page)
    offenders["identify"] = english_words(page.evaluate(VISIBLE_TEXT_JS))
    page.get_by_role("link", name="返回首页").click()
    page.get_by_text("李明，您好").wait_for()
    page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_text("农资记录").click()
    page.get_by_role("heading", name="投入品").wait_for()
    _settle(page)
    offenders["inputs"] = english_words(page.evaluate(VISIBLE_TEXT_JS))
    assert offenders == {name: [] for name in offenders}


def test_each_home_tile_and_plot_link_opens_the_plot_it_names(server, phone, advised_home):
    page = phone
    _signed_in_grower(page, server)
    pattern = re.compile(r"查看 CT\d+|· CT\d+ ")
    links = page.get_by_role("link", name=pattern)
    links.nth(12).wait_for()  # the greeting can render before the tiles and the plot list (seen in CI)
    names = [links.nth(i).inner_text() for i in range(links.count())]
    assert len([n for n in names if "查看 CT" in n]) == 3 and len(names) == 13, names
    for i, name in enumerate(names):
        plot = re.search(r"CT\d+", name).group()
        page.get_by_role("link", name=pattern).nth(i).click()
        page.wait_for_url(re.compile(rf"/plot-view\?.*plot={plot}(&|$)"))
        page.get_by_text("本周建议", exact=True).wait_for()
        _settle(page)
        summary = page.get_by_test_id("stMain").inner_text()
        assert f"{plot}，" in summary, f"{name} opened another plot"  # the plot's own summary line
        page.get_by_role("link", name="返回首页").click()
        page.get_by_text("李明，您好").wait_for()
        _settle(page)
