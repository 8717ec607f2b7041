"""Load test of the app: concurrent grower sessions against ``orchard app`` on 127.0.0.1, bounded in count and
time.

A temporary ORCHARD_HOME gets the sample district and the weekly run of 2016-07-15 (not timed); ``orchard
app`` starts on a free port of 127.0.0.1 (nothing listens beyond the loopback). Then ``--sessions`` grower
sessions (grower_li, grower_wang, grower_chen in turn) run at once for ``--duration`` seconds, each at most
``--max-pages`` page views: sign in, then again and again open one of the grower's plots (plot page) and go
back to the home page, waiting ``--think`` seconds (uniform) between pages. Every session stops at the
deadline or its page budget, whichever comes first.

The sessions speak Streamlit's own websocket protocol (``/_stcore/stream``, the protobuf BackMsg/ForwardMsg
messages a browser exchanges with the server: a script run per page, widget states for the sign-in form),
all in one asyncio process, because twenty headless browsers would by themselves saturate the two cores the
server is measured on. So a page time here is the server's side of a page view: from the browser's request
(the rerun message) to the last element of the page and the end of the script run, received over the
websocket; drawing in the browser is not included (``benchmarks/app_pages.py`` measures that in Chromium).
An error is: a page that does not finish within ``--timeout``, an exception element, a closed websocket, a
sign-in that fails, or a plot page without its four charts and four sections.

Reported: page views, errors, p50/p95/max page time per kind and overall, pages per second, and the CPU of
the server and of this load generator (user + system seconds over the wall time; 100 % = one core).

Run from the repository root::

    .venv/bin/python benchmarks/app_load.py                      # 20 sessions, 3 minutes
    .venv/bin/python benchmarks/app_load.py --sessions 5 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_pages import free_port, grower_plots, server_cpu_s, start_app, stop_app  # noqa: E402
from machine import machine  # noqa: E402

GROWERS = ("grower_li", "grower_wang", "grower_chen")
ISSUE_DATE = "2016-07-15"
#: Subheaders of a complete plot page (advice, growth, pests, crop condition, soil water), in Chinese.
PLOT_SECTIONS = ("本周建议", "生长", "病虫害", "长势（卫星）", "土壤水分")


@dataclass
class Stats:
    times: dict = field(default_factory=lambda: {"sign_in": [], "home": [], "plot": []})
    errors: list = field(default_factory=list)


class PageError(Exception):
    pass


class Session:
    """One browser tab's worth of Streamlit session over the websocket."""

    def __init__(self, url: str, timeout_s: float):
        self.url = url
        self.timeout_s = timeout_s
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash

    async def __aenter__(self) -> Session:
        import websockets

        host = self.url.split("//", 1)[1]
        self.ws = await websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                           origin=self.url, max_size=None, open_timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def run(self, path: str | None = None, query: str = "", widgets=()) -> tuple[float, list]:
        """One script run (a page view): the rerun message, then every message until the run ends.
        Returns (seconds, new elements)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = query
        if path is not None:
            msg.rerun_script.page_script_hash = self.pages[path]
        msg.rerun_script.widget_states.widgets.extend(widgets)
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        elements = []
        deadline = t0 + self.timeout_s
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise PageError(f"no end of the script run within {self.timeout_s:.0f} s")
            data = await asyncio.wait_for(self.ws.recv(), timeout=remaining)
            fm = ForwardMsg()
            fm.ParseFromString(data)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                element = fm.delta.new_element
                if element.WhichOneof("type") == "exception":
                    raise PageError(f"exception on the page: {element.exception.message[:200]}")
                elements.append(element)
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
            elif kind == "page_not_found":
                raise PageError("page not found")
            elif fm.ref_hash and not kind:
                raise PageError("a cached-message reference (the client reports no cache)")
            elif kind == "script_finished" and fm.script_finished in (0, 1):  # finished, or a compile error
                if fm.script_finished == 1:
                    raise PageError("the page script did not compile")
                return time.perf_counter() - t0, elements

    async def sign_in(self, user: str, password: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        _, elements = await self.run(query="")
        inputs = [e.text_input for e in elements if e.WhichOneof("type") == "text_input"]
        submit = [e.button for e in elements if e.WhichOneof("type") == "button" and e.button.is_form_submitter]
        if len(inputs) < 2 or not submit:
            raise PageError("no sign-in form")
        widgets = [WidgetState(id=inputs[0].id, string_value=user),
                   WidgetState(id=inputs[1].id, string_value=password),
                   WidgetState(id=submit[0].id, trigger_value=True)]
        seconds, elements = await self.run(widgets=widgets)
        if "plot-view" not in self.pages:
            raise PageError(f"{user} is not signed in (no plot page in the navigation)")
        return seconds


def check_plot_page(elements: list, plot_id: str) -> None:
    kinds = [e.WhichOneof("type") for e in elements]
    charts = kinds.count("vega_lite_chart")
    headings = {e.heading.body for e in elements if e.WhichOneof("type") == "heading"}
    missing = [s for s in PLOT_SECTIONS if s not in headings]
    if charts < 4 or missing:
        raise PageError(f"plot page {plot_id} incomplete: {charts} charts, sections missing {missing}")


async def grower(k: int, url: str, plots: dict, args, deadline: float, stats: Stats) -> None:
    from orchard.sample import SAMPLE_PASSWORD

    user = GROWERS[k % len(GROWERS)]
    rng = random.Random(k)
    await asyncio.sleep(rng.uniform(0, args.ramp))  # sessions arrive over the ramp-up, not all at once
    try:
        async with Session(url, args.timeout) as session:
            stats.times["sign_in"].append((time.monotonic(), await session.sign_in(user, SAMPLE_PASSWORD)))
            pages = 0
            while time.monotonic() < deadline and pages < args.max_pages:
                await asyncio.sleep(rng.uniform(*args.think))
                if time.monotonic() >= deadline:
                    break
                plot_id = rng.choice(plots[user])
                seconds, elements = await session.run("plot-view", f"plot={plot_id}")
                check_plot_page(elements, plot_id)
                stats.times["plot"].append((time.monotonic(), seconds))
                await asyncio.sleep(rng.uniform(*args.think))
                if time.monotonic() >= deadline:
                    break
                seconds, _ = await session.run("", "")
                stats.times["home"].append((time.monotonic(), seconds))
                pages += 2
    except Exception as exc:  # noqa: BLE001 - every failure counts (timeouts, closed sockets, pages)
        stats.errors.append(f"session {k} ({user}): {type(exc).__name__}: {exc}")


async def load(url: str, plots: dict, args) -> tuple[Stats, float]:
    stats = Stats()
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(*(grower(k, url, plots, args, deadline, stats) for k in range(args.sessions)))
    return stats, time.monotonic() - start


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, int(round(q / 100 * len(values) + 0.5)) - 1))
    return values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=20, help="Concurrent grower sessions.")
    parser.add_argument("--duration", type=float, default=180.0, help="Seconds of load (the time bound).")
    parser.add_argument("--max-pages", type=int, default=400, help="Page views per session at most.")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                        help="Seconds between a page and the next (uniform).")
    parser.add_argument("--ramp", type=float, default=10.0, help="Sessions start within this many seconds.")
    parser.add_argument("--timeout", type=float, default=30.0, help="A page slower than this is an error.")
    parser.add_argument("--url", help="Load an app already running on this machine (http://127.0.0.1:PORT, "
                                      "its ORCHARD_HOME must hold the sample run) instead of starting one.")
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)  # with --url: its ORCHARD_HOME
    args = parser.parse_args()
    if args.sessions < 1 or args.sessions > 200 or args.duration <= 0 or args.duration > 3600:
        parser.error("keep the load bounded: 1-200 sessions, at most 3600 s")
    if args.url:
        from urllib.parse import urlparse

        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1") or not args.home:
            parser.error("--url must be an app on this machine's loopback (with --home, its ORCHARD_HOME)")
        plots = {user: grower_plots(args.home, user) for user in GROWERS}
        stats, wall = asyncio.run(load(args.url.rstrip("/"), plots, args))
        report(args, stats, wall, None, None, 0.0, os.getloadavg(), "")
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "ORCHARD_HOME": str(home)}
        env.pop("ORCHARD_DB_URL", None)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "app_pages.py"), "--prepare-only", str(home)],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        setup_s = time.perf_counter() - t0
        plots = {user: grower_plots(home, user) for user in GROWERS}
        port = free_port()
        server = start_app(home, port, home / "app_server.log")
        try:
            cpu0 = server_cpu_s(server)
            me0 = resource.getrusage(resource.RUSAGE_SELF)
            load_before = os.getloadavg()
            stats, wall = asyncio.run(load(f"http://127.0.0.1:{port}", plots, args))
            me1 = resource.getrusage(resource.RUSAGE_SELF)
            server_cpu = server_cpu_s(server) - cpu0
        finally:
            stop_app(server)
        server_log = (home / "app_server.log").read_text(errors="replace")
    gen_cpu = (me1.ru_utime - me0.ru_utime) + (me1.ru_stime - me0.ru_stime)
    report(args, stats, wall, server_cpu, gen_cpu, setup_s, load_before, server_log)


def report(args, stats: Stats, wall: float, server_cpu, gen_cpu, setup_s: float, load_before,
           server_log: str) -> None:
    import streamlit

    print(machine(streamlit=streamlit.__version__))
    print(f"sample district and weekly run of {ISSUE_DATE} prepared in {setup_s:.0f} s (not timed); "
          f"load average before the run {load_before[0]:.1f}")
    print(f"{args.sessions} grower sessions over Streamlit's websocket protocol (one asyncio process) against "
          f"`orchard app` on 127.0.0.1 for {wall:.0f} s; think time {args.think[0]:g}-{args.think[1]:g} s, "
          f"ramp-up {args.ramp:g} s, at most {args.max_pages} pages per session")
    every = []
    print(f"{'page':<10} {'views':>6} {'p50 [s]':>8} {'p95 [s]':>8} {'max [s]':>8}")
    for kind, rows in stats.times.items():
        values = [s for _, s in rows]
        if kind != "sign_in":
            every += values
        if values:
            print(f"{kind:<10} {len(values):>6} {statistics.median(values):>8.2f} {percentile(values, 95):>8.2f} "
                  f"{max(values):>8.2f}")
    p95 = percentile(every, 95)
    print(f"{'all pages':<10} {len(every):>6} {statistics.median(every) if every else float('nan'):>8.2f} "
          f"{p95:>8.2f} {max(every) if every else float('nan'):>8.2f}   ({len(every) / wall:.1f} pages/s)")
    rows = sorted((t, s) for kind, r in stats.times.items() if kind != "sign_in" for t, s in r)
    if rows:
        start, windows = rows[0][0], {}
        for t, s in rows:
            windows.setdefault(int((t - start) // 30), []).append(s)
        print("p95 per 30 s: " + ", ".join(f"{percentile(v, 95):.2f}" for _, v in sorted(windows.items())))
    print(f"errors: {len(stats.errors)}")
    for error in stats.errors[:10]:
        print(f"  {error}")
    if stats.errors and server_log:
        print("server log (end):\n" + server_log[-3000:])
    if server_cpu is not None:
        print(f"CPU over the run: server {server_cpu / wall:.0%} of one core ({server_cpu:.0f} s), load "
              f"generator {gen_cpu / wall:.0%} of one core ({gen_cpu:.0f} s)")
    ok = not stats.errors and p95 <= 3.0
    print(f"goal (0 errors, p95 ≤ 3 s): {'met' if ok else 'not met'}")

if __name__ == "__main__":
    main()
