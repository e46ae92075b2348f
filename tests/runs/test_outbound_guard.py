"""Traffic drivers and notification webhooks send through the same outbound guard as checks (no SSRF)."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dr_portal.outbound import TargetRefused, send
from incidents.models import Delivery, DeliveryChannel
from incidents.runs.drivers.base import DriverRefused
from incidents.runs.drivers.smoke import smoke_through
from incidents.runs.drivers.webhook import WebhookDriver
from incidents.services.outbound import PermanentFailure, _post_webhook

pytestmark = pytest.mark.django_db
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


class Backend(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Backend

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        if self.path == "/to-metadata":
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = json.dumps({"route": "alternate", "backend": "alternate", "secret": "s3cr3t-token"}).encode()
        self.send_response(200)
        self.send_header("X-Backend", "alternate")
        self.send_header("Set-Cookie", "session=private")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.shutdown()
    server.server_close()


def _webhook(url: str) -> WebhookDriver:
    return WebhookDriver(url=url, secret=b"k", endpoint="scoring", retries=0, backoff=0)


def test_the_traffic_webhook_may_not_call_a_private_address(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = []
    with pytest.raises(DriverRefused, match="may not be called") as refused:
        _webhook(f"{backend.url}/traffic").current_route()
    assert refused.value.code == "webhook_not_allowed"
    assert backend.seen == [], "refused before connecting"
    with pytest.raises(DriverRefused, match=r"169\.254\.169\.254"):
        _webhook("http://169.254.169.254/latest/meta-data/").current_route()


def test_the_traffic_webhook_keeps_only_the_facts_it_asserted(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    result = _webhook(f"{backend.url}/traffic").switch(to="alternate", key="k1")
    assert result.took
    assert result.evidence["answer"] == {"route": "alternate"}
    assert "s3cr3t" not in json.dumps(result.evidence)


def test_a_post_does_not_follow_a_redirect(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    answer = send(f"{backend.url}/to-metadata", method="POST", body=b"{}", timeout=5)
    assert answer.status == 307 and backend.seen == ["POST /to-metadata"]


def test_a_smoke_check_through_the_route_may_not_reach_a_private_address(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = []
    ok, evidence = smoke_through(url=f"{backend.url}/", expect="alternate", requests=3)
    assert not ok and backend.seen == []
    assert len(evidence["answers"]) == 1 and "not allowed" in evidence["answers"][0]["error"]


def test_a_smoke_check_redirected_to_cloud_metadata_is_refused(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    ok, evidence = smoke_through(url=f"{backend.url}/to-metadata", expect="alternate", requests=1)
    assert not ok and "169.254.169.254" in evidence["answers"][0]["error"]


def test_a_smoke_check_keeps_status_backend_and_time_only(settings, backend: Backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    ok, evidence = smoke_through(url=f"{backend.url}/", expect="alternate", requests=2)
    assert ok
    assert all(set(answer) == {"status", "backend", "ms"} for answer in evidence["answers"])
    assert "s3cr3t" not in json.dumps(evidence) and "session" not in json.dumps(evidence)


def test_a_closed_port_does_not_say_why(settings) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = probe.server_address[1]
    probe.server_close()
    ok, evidence = smoke_through(url=f"http://127.0.0.1:{port}/", expect="alternate", requests=1)
    assert not ok and evidence["answers"] == [{"error": "ConnectionRefusedError"}]


def test_a_notification_webhook_not_configured_by_the_operator_meets_the_allow_list(settings, backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.OUTBOUND_WEBHOOK_URLS = []
    delivery = Delivery(channel=DeliveryChannel.WEBHOOK, event="declared", recipients=[f"{backend.url}/hook"])
    with pytest.raises(PermanentFailure, match="not allowed"):
        _post_webhook(delivery)
    assert backend.seen == []


def test_a_configured_notification_webhook_is_trusted_by_name(settings, backend) -> None:
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.OUTBOUND_WEBHOOK_URLS = [f"{backend.url}/hook"]
    settings.OUTBOUND_WEBHOOK_SECRET = "s"
    _post_webhook(Delivery(channel=DeliveryChannel.WEBHOOK, event="declared", recipients=[f"{backend.url}/hook"]))
    assert backend.seen == ["POST /hook"]


def test_only_http_and_https_are_sent(settings) -> None:
    with pytest.raises(TargetRefused):
        send("gopher://127.0.0.1/", method="POST", body=b"", timeout=1)
