"""Local receivers on 127.0.0.1 for the notification tests: a webhook (records each POST with its
Idempotency-Key; ``mode`` "ok", "500" or "hang") and a tiny SMTP server written here (aiosmtpd is not
installed): HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, enough for smtplib."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackHTTPServer


class WebhookReceiver(LoopbackHTTPServer):
    def __init__(self):
        self.mode = "ok"
        self.received: list[dict] = []
        self.hang_s = 2.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.mode == "hang":
                    time.sleep(receiver.hang_s)
                    return
                if receiver.mode == "500":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.received.append({"key": self.headers.get("Idempotency-Key"), "path": self.path,
                                          **json.loads(body.decode("utf-8"))})
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    def url(self, path="/hook") -> str:
        return self.base_url + path


class TinySMTP:
    """Accepts every message and keeps it (``messages``: parsed email.message.EmailMessage objects)."""

    def __init__(self):
        self.messages: list = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 tiny ESMTP")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line.decode("utf-8", "replace").strip().split(" ")[0].upper()
                    if verb in ("HELO", "EHLO"):
                        self.reply("250 tiny")
                    elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = []
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b".\n", b""):
                                break
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        raw = b"".join(data)
                        owner.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
