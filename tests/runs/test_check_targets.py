"""Smoke and wait checks reach only the hosts and networks the allow-list lets them (no SSRF)."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dr_portal.outbound import TargetRefused, fetch
from incidents.runs.checks import http_check

pytestmark = pytest.mark.django_db
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """Answers JSON with a secret at /ok; /hop/N redirects N more times, /to-metadata redirects to 169.254.169.254."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.startswith("/hop/"):
                left = int(self.path.rsplit("/", 1)[1])
                self.send_response(302)
                self.send_header("Location", f"/hop/{left - 1}" if left > 1 else "/ok")
                self.end_headers()
                return
            if self.path == "/to-metadata":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            body = json.dumps({"status": "ok", "model": {"version": 7}, "secret": "s3cr3t-token"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://192.168.0.1:8080/admin",
        "http://[::1]:9/",
        "http://0.0.0.0:22/",
        "http://localhost:1/",
    ],
)
def test_by_default_a_check_never_reaches_private_link_local_or_loopback_addresses(settings, url) -> None:
    settings.DEBUG = False
    settings.CHECK_ALLOWED_NETWORKS = []
    result = http_check(url=url, timeout=2)
    assert not result.ok
    assert "not allowed" in result.detail and "CHECK_ALLOWED_NETWORKS" in result.detail


def test_a_closed_port_is_not_told_apart_from_a_timeout(settings) -> None:
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    closed = http_check(url="http://127.0.0.1:1/", timeout=2)
    assert not closed.ok and "refused" not in closed.detail.lower()
    assert closed.evidence == {"url": "http://127.0.0.1:1/"}


def test_an_allowed_network_is_checked_and_only_what_was_asserted_is_kept(settings, server) -> None:
    url, _ = server
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    result = http_check(url=f"{url}/ok", expect_json={"model": {"version": 7}}, timeout=5)
    assert result.ok, result.detail
    assert "s3cr3t" not in json.dumps(result.evidence)
    assert result.evidence["status"] == 200 and result.evidence["matched"] == ["model.version"]
    wrong = http_check(url=f"{url}/ok", expect_json={"model": {"version": 8}, "region": "eu"}, timeout=5)
    assert not wrong.ok
    assert "s3cr3t" not in json.dumps(wrong.evidence)
    assert wrong.evidence["mismatched"] == ["model.version", "region"]


def test_a_redirect_to_a_blocked_address_is_not_followed(settings, server) -> None:
    url, _ = server
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    result = http_check(url=f"{url}/to-metadata", timeout=5)
    assert not result.ok and "169.254.169.254" in result.detail and "not allowed" in result.detail


def test_redirects_are_capped(settings, server) -> None:
    url, seen = server
    settings.CHECK_ALLOWED_NETWORKS = LOOPBACK
    settings.CHECK_MAX_REDIRECTS = 3
    assert http_check(url=f"{url}/hop/3", timeout=5).ok
    seen.clear()
    result = http_check(url=f"{url}/hop/4", timeout=5)
    assert not result.ok and "more than 3 redirects" in result.detail
    assert len(seen) == 4


def test_loopback_is_allowed_in_debug_only(settings, server) -> None:
    url, _ = server
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.DEBUG = True
    assert http_check(url=f"{url}/ok", timeout=5).ok
    settings.DEBUG = False
    assert not http_check(url=f"{url}/ok", timeout=5).ok


def test_a_listed_host_name_may_resolve_to_a_private_address(settings, server) -> None:
    url, _ = server
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.CHECK_ALLOWED_HOSTS = {"localhost"}
    port = url.rsplit(":", 1)[1]
    assert fetch(f"http://localhost:{port}/ok", timeout=5).status == 200
    with pytest.raises(TargetRefused, match="not allowed"):
        fetch(f"{url}/ok", timeout=5)  # the same server by address is still not listed


def test_only_http_and_https_are_fetched(settings) -> None:
    with pytest.raises(TargetRefused, match="not an http"):
        fetch("file:///etc/passwd", timeout=1)
