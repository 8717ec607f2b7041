"""Benchmark the app's pages on the sample district: the grower plot page in a real browser on a fresh server,
and the server-side render time of the heaviest pages.

A temporary ORCHARD_HOME gets the sample district (``orchard init --sample``), the weekly run of 2016-07-15
(``advice.pipeline.run_week``: advice, plot status and module outputs stored) and, when the extension
risk-map page exists, the weekly risk-map export of 2016-W29; none of this is timed. The pages read stored
results only: opening one runs no model.

1. **Browser** (Playwright driving Debian's Chromium at a phone's size, in Chinese; skipped without
   ``/usr/bin/chromium``): ``orchard app`` starts a fresh server on 127.0.0.1; grower_li signs in after
   ``--typing-pause`` seconds on the sign-in page (a user typing; the page imports the results reader in the
   background meanwhile), then opens plot CT13 from the home page's plot list. Timed by the browser's own
   clock, from the click on the link to the first frame where the page is drawn: the script run finished,
   the text down to the last section, the four charts (fruit expansion, Brix, NDVI, soil water) and the
   weak-growth map on screen ("text" is the frame where the text is complete). Then each of grower_li's
   other plots from the home page (the first view of that plot: its stored results read once) and CT13
   again (cached). Twice: with a new browser (it loads Streamlit's chart code with the first chart it
   shows) and with the same browser again on another fresh server (a returning grower: that code cached);
   ``--rounds`` times, medians reported. Goal: the first plot page after sign-in ≤ 1 s.
2. **Server side** (``streamlit.testing.v1.AppTest``, the script run the server does for a browser, without
   the websocket) of the grower plot page and the extension risk-map page: **first** render in a process
   that has imported nothing of the app, **cold** (``st.cache_data`` / ``st.cache_resource`` cleared) and
   **warm** (median of ``--repeat`` renders).

Run from the repository root::

    .venv/bin/python benchmarks/app_pages.py
    .venv/bin/python benchmarks/app_pages.py --typing-pause 0 --repeat 10   # sign in at once
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402

ISSUE_DATE = "2016-07-15"
RISK_WEEK = "2016-W29"
CHROMIUM = Path("/usr/bin/chromium")
GROWER, PLOT = "grower_li", "CT13"
PAGES = {
    "grower plot page (CT13)": ("plot.py", {"user_id": "grower_li", "display_name": "李明", "role": "grower"},
                                {"plot": "CT13"}),
    "extension risk-map page": ("extension_riskmap.py",
                                {"user_id": "extension_county", "display_name": "县农技推广站",
                                 "role": "extension"}, {}),
}
#: Times a plot page in the browser itself (``performance.now()``, so Playwright's own waits do not count):
#: from the click on the plot's link (a capturing listener) to the first animation frame where the page is
#: drawn: the script run finished, the last section (soil water) on screen, ``charts`` charts drawn (canvas
#: or SVG) and, if ``map``, the weak-growth map drawn; ``content`` is the frame where the text is complete.
WATCH_PLOT = """([charts, map, last]) => {
  const mark = window.__orchardMark = {};
  document.addEventListener("click", () => { mark.click = performance.now(); }, {capture: true, once: true});
  const tick = () => {
    const now = performance.now();
    if (mark.click !== undefined) {
      const app = document.querySelector("[data-testid='stApp']");
      const state = app && app.getAttribute("data-test-script-state");
      if (state === "running" && mark.running === undefined) mark.running = now;
      if (state === "notRunning" && mark.running !== undefined && mark.finished === undefined) {
        mark.finished = now;
      }
      const idle = state === "notRunning";
      const text = idle && document.body.innerText.includes(last);  // the home page has no soil section
      if (text && mark.content === undefined) mark.content = now;
      const drawn = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
        .filter(c => c.querySelector("canvas, svg")).length;
      const mapDrawn = !map || !!document.querySelector("[data-testid='stDeckGlJsonChart'] canvas");
      if (text && drawn >= charts && mapDrawn) { mark.drawn = now; return; }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
#: The grower home page is drawn: script finished, the plot map drawn, no chart of a plot page left.
HOME_DRAWN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return app && app.getAttribute("data-test-script-state") === "notRunning"
    && document.querySelectorAll("[data-testid='stVegaLiteChart']").length === 0
    && !!document.querySelector("[data-testid='stDeckGlJsonChart'] canvas");
}"""


def prepare(home: Path) -> None:
    """The sample district with a stored weekly run and a risk-map export in ``home`` (not timed)."""
    from advice.pipeline import run_week
    from orchard import config, store
    from orchard.cli import main as cli_main

    try:
        cli_main(["init", "--sample"])
    except SystemExit as exit_info:
        if exit_info.code not in (0, None):
            raise
    engine = store.create_engine_for(config.database_url())
    try:
        run_week(engine, ISSUE_DATE)
        if (ROOT / "app" / "pages" / "extension_riskmap.py").exists():
            from exports.riskmap import export_riskmap

            export_riskmap(RISK_WEEK, config.sample_data_dir() / config.SAMPLE_DEM,
                           home / "exports" / "riskmaps", engine=engine)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------------------
# A fresh server and a real browser
# ----------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``orchard app --port PORT`` on 127.0.0.1 only (its own process group, so it stops whole); waits for
    the health check."""
    env = {**os.environ, "ORCHARD_HOME": str(home), "STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}
    env.pop("ORCHARD_DB_URL", None)
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the server
    process = subprocess.Popen([sys.executable, "-m", "orchard.cli", "app", "--port", str(port)], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_app(process)
            raise RuntimeError(f"the app did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)


def stop_app(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)  # orchard app and the streamlit server it started
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.log.close()


def server_cpu_s(process: subprocess.Popen) -> float:
    """CPU seconds (user + system) of the app's processes so far (orchard app and its streamlit child)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in [process.pid, *_children(process.pid)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_children(kid)]
    return out


def grower_plots(home: Path, user: str) -> list[str]:
    from orchard import store

    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    try:
        with store.session_scope(engine) as session:
            return [p["plot_id"] for p in store.list_plots(session, user)]
    finally:
        engine.dispose()


def zone_plots(home: Path) -> set[str]:
    """Plots whose stored run has a weak-growth zone (their page draws a map)."""
    from orchard import results, store

    engine = store.create_engine_for(f"sqlite:///{home / 'orchard.db'}")
    try:
        with store.session_scope(engine) as session:
            table = results.status_table(session, "admin")
        return {r["plot_id"] for r in table.to_dict("records") if "within_plot" in (r["alerts"] or [])}
    finally:
        engine.dispose()


def browser_figures(home: Path, typing_pause: float, profile: Path, timeout_ms: int = 120_000) -> dict:
    """Sign-in, first plot page, other plots and a cached revisit in Chromium on a fresh server [s].

    ``profile`` is Chromium's user-data folder: empty, a browser that has never opened the app (it loads
    Streamlit's chart code with the first page that has a chart); reused, a returning grower's browser (that
    code in its cache)."""
    from playwright.sync_api import sync_playwright

    from orchard.sample import SAMPLE_PASSWORD

    plots = grower_plots(home, GROWER)
    zones = zone_plots(home)
    port = free_port()
    server = start_app(home, port, home / "app_server.log")
    url = f"http://127.0.0.1:{port}"
    out: dict = {"plots": plots}
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True,
                viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
            context.set_default_timeout(timeout_ms)
            page = context.pages[0] if context.pages else context.new_page()
            t0 = time.perf_counter()
            page.goto(url)
            page.get_by_label("用户名").wait_for()
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
            out["sign_in_page"] = time.perf_counter() - t0
            time.sleep(typing_pause)
            page.get_by_label("用户名").fill(GROWER)
            page.get_by_label("密码").fill(SAMPLE_PASSWORD)
            t0 = time.perf_counter()
            page.get_by_role("button", name="登录").click()
            page.wait_for_function(HOME_DRAWN, polling="raf")
            out["sign_in_to_home"] = time.perf_counter() - t0

            def open_plot(plot_id: str) -> dict:
                """Click the plot's link on the home page: seconds from the click to the page's text and to
                the page drawn (browser clock), then back home."""
                link = page.get_by_role("link", name=re.compile(rf"· {plot_id} "))
                link.scroll_into_view_if_needed()
                page.evaluate(WATCH_PLOT, [4, plot_id in zones, "土壤水分"])
                link.click()
                page.wait_for_function("() => window.__orchardMark.drawn !== undefined", polling=50)
                mark = page.evaluate("window.__orchardMark")
                if page.get_by_text("Traceback").count() or page.get_by_text("暂时无法显示").count():
                    raise RuntimeError(f"the plot page of {plot_id} shows an error")
                if plot_id not in page.inner_text("[data-testid='stMain']"):
                    raise RuntimeError(f"the page drawn is not the plot page of {plot_id}")
                page.get_by_role("link", name="返回首页").first.click()
                page.wait_for_function(HOME_DRAWN, polling="raf")
                since = {k: (v - mark["click"]) / 1000 for k, v in mark.items() if k != "click"}
                return {"content": since["content"], "drawn": since["drawn"],
                        "running": since.get("running"), "finished": since.get("finished")}

            out["first_plot"] = open_plot(PLOT)
            out["other_plots"] = [open_plot(pid) for pid in plots if pid != PLOT]
            out["revisit"] = [open_plot(PLOT) for _ in range(3)]
            context.close()
        out["server_cpu_s"] = server_cpu_s(server)
    finally:
        stop_app(server)
    return out


# ----------------------------------------------------------------------------------------------------------
# Server-side renders (AppTest)
# ----------------------------------------------------------------------------------------------------------
def render(page: str, user: dict, params: dict) -> float:
    """One headless render of ``app/pages/<page>`` as ``user`` [s]; fails loudly on an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "pages" / page), default_timeout=600)
    at.session_state["user"] = user
    for key, value in params.items():
        at.query_params[key] = value
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    if at.error:
        raise RuntimeError(f"{page}: {at.error[0].value}")
    return elapsed


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def apptest_figures(repeat: int) -> dict:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" in bare mode
    results = {}
    for name, (page, user, params) in PAGES.items():
        if not (ROOT / "app" / "pages" / page).exists():
            continue
        first = render(page, user, params)
        clear_caches()
        cold = render(page, user, params)
        warm = [render(page, user, params) for _ in range(repeat)]
        results[name] = (first, cold, statistics.median(warm), max(warm))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="Warm server-side renders per page (median).")
    parser.add_argument("--typing-pause", type=float, default=5.0,
                        help="Seconds on the sign-in page before signing in (a user typing; the sign-in page "
                             "imports the results reader in the background meanwhile).")
    parser.add_argument("--rounds", type=int, default=3, help="Browser rounds (each: two fresh servers).")
    parser.add_argument("--no-browser", action="store_true", help="Only the server-side renders.")
    parser.add_argument("--prepare-only", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.prepare_only:
        os.environ["ORCHARD_HOME"] = str(args.prepare_only)
        prepare(args.prepare_only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["ORCHARD_HOME"] = str(home)
        os.environ.pop("ORCHARD_DB_URL", None)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--prepare-only", str(home)], check=True,
                       stdout=subprocess.DEVNULL)
        setup_s = time.perf_counter() - t0
        browsers: dict[str, list] = {"new browser": [], "returning browser": []}
        if not args.no_browser and CHROMIUM.exists():
            for k in range(args.rounds):
                # a new browser, then the same browser again (its cache filled), each on a fresh server
                profile = home / f"chromium-profile-{k}"
                browsers["new browser"].append(browser_figures(home, args.typing_pause, profile))
                browsers["returning browser"].append(browser_figures(home, args.typing_pause, profile))
        server_side = apptest_figures(args.repeat)
    import streamlit

    print(machine(streamlit=streamlit.__version__))
    print(f"sample district, weekly run of {ISSUE_DATE} and risk-map export {RISK_WEEK} prepared in "
          f"{setup_s:.0f} s (not timed)")
    load = os.getloadavg()[0]
    for label, rounds in browsers.items():
        if not rounds:
            continue
        text = [r["first_plot"]["content"] for r in rounds]
        drawn = [r["first_plot"]["drawn"] for r in rounds]
        others = [v["drawn"] for r in rounds for v in r["other_plots"]]
        revisit = [v["drawn"] for r in rounds for v in r["revisit"]]
        print(f"{label}: Chromium, a fresh `orchard app` per round ({len(rounds)} rounds, medians), "
              f"{GROWER}, typing pause {args.typing_pause:g} s; click to page drawn, browser clock; load "
              f"average {load:.1f}")
        print(f"  sign-in page {statistics.median(r['sign_in_page'] for r in rounds):.2f} s; sign-in to home "
              f"page drawn {statistics.median(r['sign_in_to_home'] for r in rounds):.2f} s")
        running = [r["first_plot"]["running"] for r in rounds if r["first_plot"]["running"] is not None]
        finished = [r["first_plot"]["finished"] for r in rounds if r["first_plot"]["finished"] is not None]
        if running and finished:
            print(f"  first plot page: script running from {statistics.median(running):.2f} s, finished at "
                  f"{statistics.median(finished):.2f} s (server run and transfer), then drawn")
        verdict = "ok" if statistics.median(drawn) <= 1.0 else "over goal"
        print(f"  first plot page after sign-in ({PLOT}): text {statistics.median(text):.2f} s, drawn "
              f"{statistics.median(drawn):.2f} s (rounds: {', '.join(f'{d:.2f}' for d in drawn)})   "
              f"goal ≤ 1 s: {verdict}")
        print(f"  first view of each other plot ({len(others)}): median {statistics.median(others):.2f} s, "
              f"max {max(others):.2f} s")
        print(f"  {PLOT} again ({len(revisit)}): median {statistics.median(revisit):.2f} s, "
              f"max {max(revisit):.2f} s")
        print(f"  server CPU per round: {statistics.median(r['server_cpu_s'] for r in rounds):.1f} s")
    if not any(browsers.values()) and not args.no_browser:
        print(f"browser: skipped ({CHROMIUM} not found; apt-get install chromium)")
    print(f"server side (AppTest)        {'first [s]':>10} {'cold [s]':>9} {'warm [s]':>9} {'warm max':>9}")
    for name, (first, cold, warm, worst) in server_side.items():
        print(f"  {name:<26} {first:>10.2f} {cold:>9.2f} {warm:>9.2f} {worst:>9.2f}")


if __name__ == "__main__":
    main()
