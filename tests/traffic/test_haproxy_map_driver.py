"""HAProxy map mode against a real HAProxy: the frontend's backend comes from a map entry the driver sets."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidents.runs.drivers.base import DriverConfigInvalid, TargetUnhealthy
from incidents.runs.drivers.config import driver_build, driver_config_validate
from incidents.runs.drivers.haproxy import runtime_command
from incidents.runs.drivers.haproxy_map import HAProxyMapDriver
from incidents.runs.drivers.haproxy_stack import free_port, haproxy_binary
from incidents.runs.drivers.inference_server import InferenceServer
from incidents.runs.drivers.models import EndpointRoute
from tests.traffic.conftest import needs_haproxy

pytestmark = needs_haproxy


def answered_by(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return str(json.loads(response.read())["backend"])


@pytest.fixture
def map_lab() -> Iterator[dict[str, object]]:
    """One frontend choosing among three one-server backends through routes.map; alternate is down."""
    workdir = Path(tempfile.mkdtemp(prefix="hapm-"))
    servers = {route: InferenceServer(route) for route in ("primary", "alternate", "fallback")}
    for route, server in servers.items():
        if route == "alternate":
            server.server_close()
        else:
            server.start()
    routes_map, socket, port = workdir / "routes.map", workdir / "admin.sock", free_port()
    routes_map.write_text("scoring be_primary\n")
    lines = [
        "global",
        f"    stats socket {socket} mode 600 level admin",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "frontend fe",
        f"    bind 127.0.0.1:{port}",
        f"    use_backend %[str(scoring),map({routes_map},be_primary)]",
    ]
    for route, server in servers.items():
        lines += [
            f"backend be_{route}",
            "    option httpchk GET /health",
            "    default-server inter 300ms fall 2 rise 1",
            f"    server {route} 127.0.0.1:{server.port} check",
        ]
    config = workdir / "haproxy.cfg"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([str(haproxy_binary()), "-db", "-f", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            runtime_command(f"unix:{socket}", "show info", timeout=1)
            break
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.05)
    config_json = {
        "socket": f"unix:{socket}",
        "map": str(routes_map),
        "map_key": "scoring",
        "backends": {route: f"be_{route}" for route in servers},
        "smoke_url": f"http://127.0.0.1:{port}/predict",
    }
    driver = driver_build(EndpointRoute(driver="haproxy", config=driver_config_validate("haproxy", config_json)))
    assert isinstance(driver, HAProxyMapDriver)
    for _ in range(100):  # wait for the checks to see alternate down
        if not driver._healthy("be_alternate")[0] and driver._healthy("be_fallback")[0]:
            break
        time.sleep(0.1)
    yield {"driver": driver, "url": f"http://127.0.0.1:{port}/predict"}
    process.terminate()
    process.wait(timeout=5)
    for route, server in servers.items():
        if route != "alternate":
            server.stop()


def test_a_map_switch_moves_new_requests_and_reads_the_map_back(map_lab) -> None:
    driver, url = map_lab["driver"], str(map_lab["url"])
    assert isinstance(driver, HAProxyMapDriver)
    assert driver.current_route() == "primary"
    assert {answered_by(url) for _ in range(4)} == {"primary"}

    result = driver.switch(to="fallback", key="k1")
    assert (result.route_before, result.route_after, result.took) == ("primary", "fallback", True)
    assert result.evidence["map_before"] == {"scoring": "be_primary"}
    assert result.evidence["map_after"] == {"scoring": "be_fallback"}
    assert "scoring be_fallback" in result.evidence["show_map"]
    assert {answered_by(url) for _ in range(4)} == {"fallback"}

    with pytest.raises(TargetUnhealthy, match="be_alternate"):
        driver.switch(to="alternate", key="k2")
    assert driver.current_route() == "fallback", "a refused switch changes nothing"
    drill = driver.check_only(to="primary")
    assert drill.took and drill.route_after == "fallback"

    driver.switch(to="primary", key="k3")
    assert {answered_by(url) for _ in range(4)} == {"primary"}


def test_map_mode_config_is_checked() -> None:
    with pytest.raises(DriverConfigInvalid) as caught:
        driver_config_validate(
            "haproxy",
            {"socket": "unix:/run/h.sock", "map": "routes.map", "map_key": "a b", "backends": {"nope": "be"}},
        )
    message = str(caught.value)
    assert "map must be the map file's absolute path" in message
    assert "map_key must be" in message and "backends must map primary" in message
