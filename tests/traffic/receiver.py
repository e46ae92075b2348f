"""A local webhook receiver that checks signatures and keeps idempotency keys, scripted per test."""

from __future__ import annotations

import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from incidents.runs.drivers.webhook import sign


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.route = "primary"
        self.script: list[str] = []  # per request: "ok", "500", "sleep"
        self.calls: list[dict[str, Any]] = []
        self.applied: dict[str, str] = {}  # idempotency key -> route it set
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # the driver hung up on a slow answer: that is the test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/traffic"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        payload = json.loads(body)
        key = self.headers["Idempotency-Key"]
        good = hmac.compare_digest(
            self.headers.get("X-DR-Signature", ""), sign(self.server.secret, self.headers["X-DR-Timestamp"], body)
        )
        self.server.calls.append({"key": key, "action": payload["action"], "signed": good})
        if not good:
            self._send(401, {"error": "bad signature"})
            return
        step = self.server.script.pop(0) if self.server.script and payload["action"] == "switch" else "ok"
        if step == "500":
            self._send(500, {"error": "try later"})
            return
        if step == "sleep":
            time.sleep(1.5)
        if payload["action"] == "switch" and key not in self.server.applied:
            self.server.applied[key] = payload["route"]
            self.server.route = payload["route"]
        if payload["action"] == "check":
            self._send(200, {"route": payload["route"], "healthy": True, "serving": self.server.route})
            return
        self._send(200, {"route": self.server.route})
