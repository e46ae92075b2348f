"""The HAProxy driver against a real HAProxy: traffic really moves, drains lose no request, a down target is refused."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from incidents.runs.drivers.base import DriverUnreachable, TargetUnhealthy
from incidents.runs.drivers.haproxy import HAProxyDriver
from incidents.runs.drivers.smoke import smoke_through
from tests.traffic.conftest import needs_haproxy

pytestmark = needs_haproxy


def answered_by(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return str(json.loads(response.read())["backend"])


def test_switch_moves_requests_to_the_chosen_backend(haproxy_lab) -> None:
    lab = haproxy_lab()
    driver = lab.driver
    assert driver.current_route() == "primary"
    assert {answered_by(lab.endpoint.url) for _ in range(6)} == {"primary"}

    result = driver.switch(to="alternate", key="k1")
    assert (result.route_before, result.route_after, result.took) == ("primary", "alternate", True)
    assert (
        "alternate 2" in result.evidence["show_servers_state"]
        or result.evidence["after"]["alternate"] == "alternate ready up"
    )
    assert result.evidence["after"]["primary"] == "primary drain up"
    assert {answered_by(lab.endpoint.url) for _ in range(6)} == {"alternate"}

    driver.switch(to="fallback", key="k2")
    ok, evidence = smoke_through(url=lab.endpoint.url, expect="fallback", requests=4)
    assert ok, evidence
    driver.switch(to="primary", key="k3")
    assert driver.current_route() == "primary"
    assert {answered_by(lab.endpoint.url) for _ in range(6)} == {"primary"}


def test_a_drained_switch_loses_no_client_request(haproxy_lab) -> None:
    lab = haproxy_lab()
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()

    def client() -> None:
        deadline = time.monotonic() + 20  # bounded, whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                seen.append(answered_by(lab.endpoint.url))
            except Exception as exc:
                failures.append(repr(exc))

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    time.sleep(0.5)
    lab.driver.switch(to="alternate", key="drain")
    time.sleep(0.5)
    stop.set()
    for thread in clients:
        thread.join()
    assert failures == []
    assert "primary" in seen and seen[-1] == "alternate"
    assert len(seen) > 20


def test_a_down_alternate_is_refused_unless_forced(haproxy_lab) -> None:
    lab = haproxy_lab(down=("alternate",))
    driver = lab.driver
    with pytest.raises(TargetUnhealthy, match="fails its health check"):
        driver.switch(to="alternate", key="x")
    assert driver.current_route() == "primary"
    assert answered_by(lab.endpoint.url) == "primary"
    check = driver.check_only(to="alternate")
    assert check.took is False and "DOWN" in check.detail and check.route_after == "primary"

    forced = driver.switch(to="alternate", key="x", force=True)
    assert forced.switched and not forced.took  # honest: traffic did not land on a live alternate


def test_check_only_touches_nothing(haproxy_lab) -> None:
    lab = haproxy_lab()
    before = lab.driver.states()[0]
    result = lab.driver.check_only(to="alternate")
    assert result.took and not result.switched and "production routing untouched" in result.detail
    assert lab.driver.states()[0] == before


def test_unreachable_socket_and_unknown_backend(haproxy_lab, tmp_path) -> None:
    with pytest.raises(DriverUnreachable, match="did not answer"):
        HAProxyDriver(
            socket=f"unix:{tmp_path}/nope.sock", backend="be_x", servers={"primary": "primary"}
        ).current_route()
    lab = haproxy_lab()
    wrong = HAProxyDriver(socket=f"unix:{lab.stack.socket}", backend="be_missing", servers={"primary": "primary"})
    with pytest.raises(DriverUnreachable, match="be_missing"):
        wrong.current_route()


def test_the_runtime_api_over_tcp(haproxy_lab) -> None:
    from incidents.runs.drivers.haproxy_stack import free_port

    port = free_port()
    lab = haproxy_lab(admin_tcp_port=port)
    driver = HAProxyDriver(
        socket=f"tcp:127.0.0.1:{port}", backend=lab.endpoint.backend, servers={r: r for r in lab.servers}
    )
    assert driver.current_route() == "primary"
    assert driver.switch(to="alternate", key="tcp").took
    assert answered_by(lab.endpoint.url) == "alternate"
