"""Start a real HAProxy in front of route servers: generated config, free ports, an admin socket in a directory.

Used by the tests, the demo (``make run``) and the bench. Each endpoint gets a
frontend on its own port and a backend ``be_<name>`` with one server per route;
HAProxy health-checks them (``GET /health``), and traffic starts on primary.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from incidents.runs.drivers.base import ROUTES, DriverUnreachable
from incidents.runs.drivers.haproxy import HAProxyDriver, runtime_command

HAPROXY = "/usr/sbin/haproxy"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (HAPROXY if Path(HAPROXY).exists() else None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Endpoint:
    name: str
    servers: dict[str, int]  # route -> backend port
    port: int = field(default_factory=free_port)

    @property
    def backend(self) -> str:
        return f"be_{self.name}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/predict"


def haproxy_config(endpoints: list[Endpoint], admin_socket: Path, *, admin_tcp_port: int | None = None) -> str:
    lines = [
        "global",
        f"    stats socket {admin_socket} mode 600 level admin",
        *([f"    stats socket ipv4@127.0.0.1:{admin_tcp_port} level admin"] if admin_tcp_port else []),
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    retries 3",
        "    option redispatch",
    ]
    for endpoint in endpoints:
        lines += [
            f"frontend fe_{endpoint.name}",
            f"    bind 127.0.0.1:{endpoint.port}",
            f"    default_backend {endpoint.backend}",
            f"backend {endpoint.backend}",
            "    balance roundrobin",
            "    option httpchk GET /health",
            "    default-server inter 300ms fall 2 rise 1",
        ]
        lines += [
            f"    server {route} 127.0.0.1:{port} check" for route, port in endpoint.servers.items() if route in ROUTES
        ]
    return "\n".join(lines) + "\n"


class HAProxyStack:
    def __init__(
        self,
        endpoints: list[Endpoint],
        workdir: Path,
        *,
        serving: dict[str, str] | None = None,
        admin_tcp_port: int | None = None,
    ) -> None:
        self.endpoints, self.workdir, self.admin_tcp_port = endpoints, workdir, admin_tcp_port
        self.serving = serving or {}  # endpoint name -> the route that takes traffic at start (default primary)
        self.socket = workdir / "admin.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def driver(self, endpoint: Endpoint) -> HAProxyDriver:
        return HAProxyDriver(
            socket=f"unix:{self.socket}", backend=endpoint.backend, servers={r: r for r in endpoint.servers}
        )

    def start(self, *, timeout: float = 10.0) -> HAProxyStack:
        binary = haproxy_binary()
        if binary is None:
            raise FileNotFoundError("haproxy is not installed (Debian: apt-get install haproxy)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "haproxy.cfg"
        config.write_text(haproxy_config(self.endpoints, self.socket, admin_tcp_port=self.admin_tcp_port))
        check = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused the generated config: {check.stderr or check.stdout}")
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"haproxy exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                runtime_command(f"unix:{self.socket}", "show info", timeout=1)
                break
            except DriverUnreachable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        for endpoint in self.endpoints:  # one route takes traffic; the others drain (and keep being checked)
            driver = self.driver(endpoint)
            first = self.serving.get(endpoint.name, "primary")
            for route in endpoint.servers:
                state = "ready" if route == first else "drain"
                runtime_command(driver.address, f"set server {endpoint.backend}/{route} state {state}")
        return self

    def wait_healthy(
        self, endpoint: Endpoint, routes: list[str], *, down: tuple[str, ...] = (), timeout: float = 10.0
    ) -> None:
        """Wait until HAProxy's checks see `routes` up and `down` down."""
        driver, deadline = self.driver(endpoint), time.monotonic() + timeout
        while True:
            states, _ = driver.states()
            if all(states[r].healthy for r in routes) and not any(states[r].healthy for r in down):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{endpoint.backend}: {', '.join(s.text for s in states.values())}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
