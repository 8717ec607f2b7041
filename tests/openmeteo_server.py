"""A local Open-Meteo on 127.0.0.1 serving the recorded responses of tests/data/openmeteo_live/ (see its
README), with switchable misbehaviour for the bad-input tests: ``mode`` = "ok", "500", "hang", "malformed",
"truncated" (valid length, JSON cut in half) or "cut" (announces the full length, closes half-way)."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.loopback import LoopbackHTTPServer

RECORDED = Path(__file__).parent / "data" / "openmeteo_live"
#: station fixture -> (lat, lon) of the sample stations and Fengjie.
POSITIONS = {"58911": (25.75, 116.333), "chengdu": (30.66, 104.07), "57348": (31.0333, 109.4833)}


class OpenMeteoStub(LoopbackHTTPServer):
    def __init__(self):
        self.mode = "ok"
        self.requests: list[str] = []
        self.hang_s = 3.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                stub.requests.append(self.path)
                stub.handle(self)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return self.base_url

    def body_for(self, path: str) -> tuple[int, bytes]:
        parts = urllib.parse.urlsplit(path)
        kind = parts.path.rstrip("/").split("/")[-1]
        query = dict(urllib.parse.parse_qsl(parts.query))
        lat, lon = float(query["latitude"]), float(query["longitude"])
        station = min(POSITIONS, key=lambda s: math.hypot(POSITIONS[s][0] - lat, POSITIONS[s][1] - lon))
        path = RECORDED / f"{kind}_{station}.json"
        if not path.exists():
            return 400, json.dumps({"error": True, "reason": f"no recorded {kind} for {station}"}).encode()
        payload = json.loads(path.read_text(encoding="utf-8"))
        if kind == "archive":  # cut to the span asked for, as the archive does
            days = payload["daily"]["time"]
            keep = [i for i, d in enumerate(days) if query["start_date"] <= d <= query["end_date"]]
            payload["daily"] = {k: [v[i] for i in keep] for k, v in payload["daily"].items()}
        return 200, json.dumps(payload).encode()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode == "hang":
            time.sleep(self.hang_s)
            return
        if mode == "500":
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        status, body = self.body_for(handler.path)
        if mode == "malformed":
            body = b"<html><body>502 Bad Gateway</body></html>"
        elif mode == "truncated":
            body = body[: len(body) // 2]
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if mode == "cut":  # promise the whole body, send half, hang up
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)
