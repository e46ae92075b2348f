"""A real HAProxy (generated config, free ports, admin socket in tmp) in front of real local inference servers."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from incidents.runs.drivers.haproxy_stack import Endpoint, HAProxyStack, haproxy_binary
from incidents.runs.drivers.inference_server import InferenceServer


@pytest.fixture(autouse=True)
def _loopback(loopback_allowed: None) -> None:
    """These tests' controllers, HAProxy and inference servers listen on loopback."""


needs_haproxy = pytest.mark.skipif(
    haproxy_binary() is None, reason="haproxy is not installed (apt-get install haproxy)"
)


class Lab:
    def __init__(self, stack: HAProxyStack, endpoint: Endpoint, servers: dict[str, InferenceServer]) -> None:
        self.stack, self.endpoint, self.servers = stack, endpoint, servers

    @property
    def driver(self):
        return self.stack.driver(self.endpoint)

    def route_config(self) -> dict[str, object]:
        return {
            "socket": f"unix:{self.stack.socket}",
            "backend": self.endpoint.backend,
            "servers": {r: r for r in self.servers},
            "smoke_url": self.endpoint.url,
        }


def lab_factory() -> Iterator[Callable[..., Lab]]:
    """The body of the haproxy_lab fixture; other test packages wrap it in a fixture of their own."""
    started: list[tuple[HAProxyStack, list[InferenceServer]]] = []
    # A short directory: a unix socket path must stay under ~100 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="hap-"))

    def make(*, down: tuple[str, ...] = (), name: str = "scoring", admin_tcp_port: int | None = None) -> Lab:
        servers = {route: InferenceServer(route) for route in ("primary", "alternate", "fallback")}
        for route, server in servers.items():
            if route in down:
                server.server_close()  # the port is reserved for it, but nothing answers
            else:
                server.start()
        endpoint = Endpoint(name=name, servers={route: server.port for route, server in servers.items()})
        stack = HAProxyStack([endpoint], workdir / name, admin_tcp_port=admin_tcp_port).start()
        started.append((stack, [s for r, s in servers.items() if r not in down]))
        stack.wait_healthy(endpoint, [r for r in servers if r not in down], down=down)
        return Lab(stack, endpoint, servers)

    yield make
    for stack, servers in started:
        stack.stop()
        for server in servers:
            server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def haproxy_lab() -> Iterator[Callable[..., Lab]]:
    yield from lab_factory()
