"""A tiny local inference server for tests, the demo and the bench (stdlib only).

It names itself in every answer (header ``X-Backend`` and JSON field ``backend``)
so a check through a load balancer can tell which backend answered. ``GET /health``
answers 200; ``GET /predict`` or ``POST /predict`` with ``{"inputs": [[...]]}``
answers with the outputs of a linear model when one is loaded (``weights``:
a matrix W, ``bias``), else just the name.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: InferenceServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/health"):
            self._answer(200, {"backend": self.server.name, "ok": True})
        else:
            self._answer(200, {"backend": self.server.name, **self.server.predict(None)})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
            inputs = payload.get("inputs") if isinstance(payload, dict) else None
        except ValueError:
            self._answer(400, {"backend": self.server.name, "error": "not JSON"})
            return
        self._answer(200, {"backend": self.server.name, **self.server.predict(inputs)})


class InferenceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, name: str, *, port: int = 0, weights: list[list[float]] | None = None, bias: list[float] | None = None
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.name, self.weights, self.bias = name, weights, bias
        self.thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A health check or a client that hangs up early is not an error worth a traceback.
        return

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def predict(self, inputs: Any) -> dict[str, Any]:
        if self.weights is None or not isinstance(inputs, list):
            return {}
        bias = self.bias or [0.0] * len(self.weights[0])
        try:
            outputs = [
                [
                    sum(float(x) * row[j] for x, row in zip(item, self.weights, strict=True)) + bias[j]
                    for j in range(len(bias))
                ]
                for item in inputs
            ]
        except (TypeError, ValueError):
            return {"error": "inputs must be rows of numbers matching the model"}
        return {"outputs": outputs}

    def start(self) -> InferenceServer:
        self.thread = threading.Thread(target=self.serve_forever, name=f"inference-{self.name}", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
