"""The HAProxy runtime socket goes through the outbound guard (#11 item 2, the driver's half).

A driver's socket is an admin's setting that a worker connects to and writes
commands into: it gets the same allow/deny decision as every HTTP request.
These tests talk to a plain listening socket standing in for HAProxy, and check
that a refused address is never connected to at all.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dr_portal.outbound import socket_target
from incidents.runs.drivers.base import DriverRefused, DriverUnreachable
from incidents.runs.drivers.haproxy import HAProxyDriver, runtime_command


@pytest.fixture(autouse=True)
def _loopback(settings: Any) -> None:
    """Override the package's autouse loopback permission: here each test says what it allows."""
    settings.CHECK_ALLOWED_NETWORKS = []
    settings.CHECK_ALLOWED_SOCKET_DIRS = []
    settings.DEBUG = False


class FakeRuntime:
    """Answers one line to every connection, and counts the connections it saw."""

    def __init__(self, server: socket.socket) -> None:
        self.server, self.connections = server, 0
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                self.connections += 1
                conn.recv(1024)
                conn.sendall(b"1\n# be_id be_name srv_id srv_name\n")

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)
        self.server.close()


@pytest.fixture
def tcp_runtime() -> Iterator[tuple[str, FakeRuntime]]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    fake = FakeRuntime(server)
    yield f"tcp:127.0.0.1:{server.getsockname()[1]}", fake
    fake.stop()


@pytest.fixture
def unix_runtime() -> Iterator[tuple[Path, FakeRuntime]]:
    folder = Path(tempfile.mkdtemp(prefix="rt-"))  # short: a unix socket path must stay under ~100 bytes
    path = folder / "admin.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    fake = FakeRuntime(server)
    yield path, fake
    fake.stop()
    path.unlink(missing_ok=True)
    folder.rmdir()


def test_a_tcp_socket_on_cloud_metadata_is_refused_with_a_clear_error() -> None:
    with pytest.raises(DriverRefused, match=r"169\.254\.169\.254.*CHECK_ALLOWED_NETWORKS") as refused:
        runtime_command("tcp:169.254.169.254:9999", "show servers state")
    assert not isinstance(refused.value, DriverUnreachable), "a refusal is final, not a network hiccup"
    assert "Nothing was switched" in str(refused.value)


def test_a_tcp_socket_on_loopback_is_refused_and_never_connected_to(tcp_runtime: tuple[str, FakeRuntime]) -> None:
    address, fake = tcp_runtime
    driver = HAProxyDriver(socket=address, backend="scoring", servers={"primary": "primary"})
    with pytest.raises(DriverRefused, match=r"127\.0\.0\.1"):
        driver.current_route()
    assert fake.connections == 0


def test_a_tcp_socket_on_an_allowed_network_is_used(
    tcp_runtime: tuple[str, FakeRuntime], loopback_allowed: None
) -> None:
    address, fake = tcp_runtime
    assert "be_name" in runtime_command(address, "show servers state")
    assert fake.connections == 1


def test_a_private_address_is_refused_unless_its_network_is_listed(settings: Any) -> None:
    with pytest.raises(DriverRefused, match=r"10\.1\.2\.3"):
        runtime_command("tcp:10.1.2.3:9999", "show info", timeout=0.5)
    settings.CHECK_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    # Listed now: the guard gives the (pinned) address to connect to.
    assert socket_target("tcp:10.1.2.3:9999") == (socket.AF_INET, ("10.1.2.3", 9999))


def test_a_unix_socket_is_refused_outside_the_allowed_folders(unix_runtime: tuple[Path, FakeRuntime]) -> None:
    path, fake = unix_runtime
    with pytest.raises(DriverRefused, match="CHECK_ALLOWED_SOCKET_DIRS"):
        runtime_command(f"unix:{path}", "show servers state")
    assert fake.connections == 0


def test_a_unix_socket_in_an_allowed_folder_is_used(unix_runtime: tuple[Path, FakeRuntime], settings: Any) -> None:
    path, fake = unix_runtime
    settings.CHECK_ALLOWED_SOCKET_DIRS = [path.parent]
    assert "be_name" in runtime_command(f"unix:{path}", "show servers state")
    assert fake.connections == 1


def test_a_link_from_an_allowed_folder_to_a_socket_elsewhere_is_refused(
    unix_runtime: tuple[Path, FakeRuntime], settings: Any
) -> None:
    path, fake = unix_runtime
    allowed = Path(tempfile.mkdtemp(prefix="ok-"))
    try:
        (allowed / "admin.sock").symlink_to(path)
        settings.CHECK_ALLOWED_SOCKET_DIRS = [allowed]
        with pytest.raises(DriverRefused, match="CHECK_ALLOWED_SOCKET_DIRS"):
            runtime_command(f"unix:{allowed / 'admin.sock'}", "show info")
        assert fake.connections == 0
    finally:
        (allowed / "admin.sock").unlink()
        allowed.rmdir()


def test_a_unix_socket_is_allowed_where_loopback_is(unix_runtime: tuple[Path, FakeRuntime], settings: Any) -> None:
    path, fake = unix_runtime
    settings.DEBUG = True
    assert "be_name" in runtime_command(f"unix:{path}", "show servers state")
    assert fake.connections == 1
