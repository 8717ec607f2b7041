"""Benchmark the server-side render time of the app's heaviest pages on the sample district.

A temporary ORCHARD_HOME gets the sample district (``orchard init --sample``), the weekly advice of
2016-07-15 (``advice.pipeline.run_week``) and, when the extension risk-map page exists, the weekly risk-map
export of 2016-W29 (``exports.riskmap.export_riskmap``); none of this is timed. Then each page runs
headless with ``streamlit.testing.v1.AppTest`` (the script run the server does for a browser, without the
websocket) as a signed-in user:

- the grower plot page (``app/pages/plot.py``, grower_li, plot CT13, 2016-07-15): stored advice, growth and
  its 30-day outlook, pests, NDVI series and weak-growth zone, soil water;
- the extension risk-map page (``app/pages/extension_riskmap.py``, extension_county), if present.

The preparation runs in a child process, so this process starts with nothing imported. Three figures per
page: **first** (the first render after a server start: imports of the model modules plus an empty cache),
**cold** (``st.cache_data`` and ``st.cache_resource`` cleared, modules already imported: what a user sees
when the cache has expired or another date is chosen) and **warm** (median of ``--repeat`` renders with the
cache filled: every later visit). Goal: ≤ 5 s cold, ≤ 1 s warm.

Run from the repository root::

    .venv/bin/python benchmarks/app_pages.py
    .venv/bin/python benchmarks/app_pages.py --repeat 10
    .venv/bin/python benchmarks/app_pages.py --sign-in-pause 8   # first render after the sign-in page
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine  # noqa: E402

ISSUE_DATE = "2016-07-15"
RISK_WEEK = "2016-W29"
PAGES = {
    "grower plot page (CT13)": ("plot.py", {"user_id": "grower_li", "display_name": "李明", "role": "grower"},
                                {"plot": "CT13", "date": ISSUE_DATE}),
    "extension risk-map page": ("extension_riskmap.py",
                                {"user_id": "extension_county", "display_name": "县农技推广站",
                                 "role": "extension"}, {}),
}


def prepare(home: Path) -> None:
    """The sample district with stored advice and a risk-map export in ``home`` (not timed)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="Warm renders per page (the median is shown).")
    parser.add_argument("--sign-in-pause", type=float, default=0.0,
                        help="Render the sign-in page (Home.py) first and wait this long [s] before the first "
                             "page render, as a user typing a password (the sign-in page starts the model "
                             "imports in the background).")
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
        import logging

        logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" in bare mode
        results = {}
        if args.sign_in_pause > 0:
            from streamlit.testing.v1 import AppTest

            AppTest.from_file(str(ROOT / "app" / "Home.py"), default_timeout=600).run()
            time.sleep(args.sign_in_pause)
        for name, (page, user, params) in PAGES.items():
            if not (ROOT / "app" / "pages" / page).exists():
                continue
            first = render(page, user, params)
            clear_caches()
            cold = render(page, user, params)
            warm = [render(page, user, params) for _ in range(args.repeat)]
            results[name] = (first, cold, statistics.median(warm), max(warm))
    import streamlit

    print(machine(streamlit=streamlit.__version__))
    print(f"sample district, advice of {ISSUE_DATE} and risk-map export {RISK_WEEK} prepared in "
          f"{setup_s:.0f} s (not timed)")
    print(f"{'page':<28} {'first [s]':>10} {'cold [s]':>9} {'warm [s]':>9} {'warm max':>9}   "
          "goal: cold ≤ 5 s, warm ≤ 1 s")
    for name, (first, cold, warm, worst) in results.items():
        verdict = "ok" if cold <= 5.0 and warm <= 1.0 else "over goal"
        print(f"{name:<28} {first:>10.2f} {cold:>9.2f} {warm:>9.2f} {worst:>9.2f}   {verdict}")


if __name__ == "__main__":
    main()
