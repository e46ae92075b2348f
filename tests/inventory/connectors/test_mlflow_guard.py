"""The MLflow connector's REST client goes through the outbound guard (dr_portal/outbound.py).

The tracking URI is an admin's setting and a worker connects to it, so it follows
the connector rule (never link-local; inside CONNECTOR_ALLOWED_NETWORKS when set):
a small local HTTP server stands in for MLflow and counts the requests that got through.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import ConnectorRefused, get_connector
from inventory.connectors.errors import AuthFailed
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest


class _Handler(BaseHTTPRequestHandler):
    seen: list[str]
    clients: list[int]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.clients.append(self.client_address[1])
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path.startswith("/api/2.0/mlflow/secret"):
            self._answer(401, {})
            return
        if self.path.startswith("/api/2.0/mlflow/registered-models/get"):
            self._answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such model"})
            return
        self._answer(200, {"registered_models": []})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _serving(**handler: Any) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), handler))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def registry() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    with _serving(seen=seen, clients=[]) as url:
        yield url, seen


@pytest.fixture(autouse=True)
def _production_rules(settings: Any) -> None:
    settings.DEBUG = False
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.CONNECTOR_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    settings.CONNECTOR_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]


def test_a_registry_on_cloud_metadata_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    connector = get_connector("mlflow", {"tracking_uri": "http://169.254.169.254:5000", "models": ["fraud"]})
    with pytest.raises(ConnectorRefused, match=r"169\.254\.169\.254 is link-local") as refused:
        connector.snapshot(tmp_path)
    assert refused.value.code == "connector_target_refused"


def test_a_registry_outside_the_allowed_networks_is_refused_and_never_asked(
    registry: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = registry
    with pytest.raises(ConnectorRefused, match=r"127\.0\.0\.1 is outside CONNECTOR_ALLOWED_NETWORKS"):
        get_connector("mlflow", {"tracking_uri": url}).snapshot(tmp_path)
    assert seen == []


def test_a_registry_on_an_allowed_network_answers(registry: tuple[str, list[str]], loopback_allowed: None) -> None:
    url, seen = registry
    assert MlflowRest(url).get("/registered-models/search") == {"registered_models": []}
    assert seen == ["/api/2.0/mlflow/registered-models/search"]


def test_a_redirect_to_a_forbidden_address_is_refused(registry: tuple[str, list[str]], loopback_allowed: None) -> None:
    url, seen = registry
    with pytest.raises(ConnectorRefused, match=r"169\.254\.169\.254"):
        list(MlflowRest(url + "/redirect").download("model.bin"))
    assert len(seen) == 1, "only the allowed server was asked"


def test_errors_keep_their_meaning_through_the_guard(registry: tuple[str, list[str]], loopback_allowed: None) -> None:
    url, _ = registry
    api = MlflowRest(url)
    with pytest.raises(AuthFailed, match="HTTP 401"):
        api.get("/secret")
    with pytest.raises(MlflowApiError, match="no such model") as missing:
        api.get("/registered-models/get", name="fraud")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST" and missing.value.status == 404


def test_connections_are_kept_alive_and_a_closed_one_is_replaced(loopback_allowed: None) -> None:
    """Requests reuse one connection; one the server closed while idle is noticed, and a new one opened."""
    clients: list[int] = []
    # HTTP/1.1 keeps the connection; the server drops it after 0.3 s without a request.
    with _serving(seen=[], clients=clients, protocol_version="HTTP/1.1", timeout=0.3) as url:
        api = MlflowRest(url)
        for _ in range(3):
            assert api.get("/registered-models/search") == {"registered_models": []}
        assert len(set(clients)) == 1, "three requests, one connection"
        time.sleep(0.8)
        assert api.get("/registered-models/search") == {"registered_models": []}
        assert len(set(clients)) == 2 and len(clients) == 4
        api.close()
