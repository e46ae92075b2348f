"""HAProxy through its runtime API (a stats socket with ``level admin``, unix or TCP).

One backend per endpoint holds one server per route (primary, alternate,
fallback). The route that serves is the one server in state ``ready``; the
others are ``drain`` — they finish what they are answering and get no new
requests, and HAProxy keeps health-checking them so a switch can refuse a
target that is down. Evidence is what ``show servers state`` read back.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from dr_portal.outbound import TargetRefused, socket_target
from incidents.runs.drivers.base import ROUTES, DriverRefused, DriverUnreachable, SwitchResult, TargetUnhealthy

# srv_admin_state flags (HAProxy's enum srv_admin): maintenance and drain masks.
_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
_DRAIN = 0x08 | 0x10
_RUNNING = 2  # srv_op_state SRV_ST_RUNNING: up (or checks passing)


@dataclass(frozen=True)
class ServerState:
    name: str
    address: str
    op_state: int
    admin_state: int
    weight: int

    @property
    def healthy(self) -> bool:
        return self.op_state == _RUNNING and not self.admin_state & _MAINT

    @property
    def serving(self) -> bool:
        return self.healthy and not self.admin_state & _DRAIN and self.weight > 0

    @property
    def text(self) -> str:
        mode = "maint" if self.admin_state & _MAINT else "drain" if self.admin_state & _DRAIN else "ready"
        return f"{self.name} {mode} {'up' if self.op_state == _RUNNING else 'down'}"


def runtime_command(address: str, command: str, *, timeout: float = 3.0) -> str:
    """Send one command to the runtime API and return its answer (the socket closes after it).

    The address is an admin's setting, and a worker inside the network connects to it: the
    outbound guard decides first (dr_portal/outbound.py), as for every HTTP request.
    """
    try:
        family, target = socket_target(address)
    except TargetRefused as refused:
        raise DriverRefused(f"HAProxy runtime API at {address} is refused: {refused}. Nothing was switched.") from None
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        with sock:
            sock.settimeout(timeout)
            sock.connect(target)
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except (OSError, ValueError) as exc:
        raise DriverUnreachable(
            f"HAProxy runtime API at {address} did not answer: {exc}. Nothing was switched."
        ) from None
    return b"".join(chunks).decode(errors="replace")


class HAProxyDriver:
    kind = "haproxy"
    moves_traffic = True

    def __init__(self, *, socket: str, backend: str, servers: dict[str, str], timeout: float = 3.0) -> None:
        self.address, self.backend, self.servers, self.timeout = socket, backend, servers, timeout

    def _cmd(self, command: str) -> str:
        return runtime_command(self.address, command, timeout=self.timeout)

    def states(self) -> tuple[dict[str, ServerState], str]:
        raw = self._cmd(f"show servers state {self.backend}")
        states: dict[str, ServerState] = {}
        for line in raw.splitlines():
            fields = line.split()
            if len(fields) < 9 or line.startswith("#") or fields[1] != self.backend:
                continue
            try:
                states[fields[3]] = ServerState(fields[3], fields[4], int(fields[5]), int(fields[6]), int(fields[7]))
            except ValueError:
                continue
        if not states:
            raise DriverUnreachable(f"HAProxy has no backend {self.backend!r} (it answered: {raw.strip()[:200]!r}).")
        missing = [s for s in self.servers.values() if s not in states]
        if missing:
            raise DriverRefused(
                f"Backend {self.backend} has no server {', '.join(missing)}.", code="driver_config_invalid"
            )
        return states, raw

    def _route_of(self, states: dict[str, ServerState]) -> str:
        live = [route for route, server in self.servers.items() if states[server].serving]
        return live[0] if len(live) == 1 else ("mixed:" + "+".join(live) if live else "none")

    def _evidence(self, states: dict[str, ServerState]) -> dict[str, str]:
        return {route: states[server].text for route, server in self.servers.items()}

    def current_route(self) -> str:
        return self._route_of(self.states()[0])

    def _target(self, to: str) -> str:
        if to not in ROUTES or to not in self.servers:
            raise DriverRefused(f"Backend {self.backend} has no server for the {to} route.", code="no_such_route")
        return self.servers[to]

    def check_only(self, *, to: str) -> SwitchResult:
        target = self._target(to)
        states, _ = self.states()
        route = self._route_of(states)
        healthy = states[target].healthy
        detail = (
            f"Check only (drill): {to} ({target}) is {'healthy' if healthy else 'DOWN'}; "
            f"production routing untouched, {route} still serves."
        )
        return SwitchResult(
            route, route, False, healthy, detail, {"servers": self._evidence(states), "check_only": True}
        )

    def switch(self, *, to: str, key: str, force: bool = False) -> SwitchResult:
        target = self._target(to)
        states, _ = self.states()
        before = self._route_of(states)
        if not states[target].healthy and not force:
            raise TargetUnhealthy(
                f"Refused: {to} ({self.backend}/{target}) fails its health check; nothing was switched. "
                "Force the step (with approval) to switch anyway."
            )
        answers = {}
        # Ready first, then drain the others: there is never a moment with no server taking requests.
        commands = [f"set server {self.backend}/{target} state ready"] + [
            f"set server {self.backend}/{server} state drain" for server in self.servers.values() if server != target
        ]
        for command in commands:
            answer = self._cmd(command).strip()
            answers[command] = answer or "ok"
            if answer:
                raise DriverRefused(f"HAProxy refused {command!r}: {answer}", code="driver_refused")
        took, evidence = self.verify(to=to)
        evidence = {"before": self._evidence(states), **evidence, "commands": answers, "forced": force}
        detail = f"HAProxy {self.backend}: {before} → {to}" + ("" if took else " did NOT take")
        return SwitchResult(before, self.current_route() if not took else to, True, took, detail, evidence)

    def verify(self, *, to: str) -> tuple[bool, dict[str, Any]]:
        states, raw = self.states()
        return self._route_of(states) == to, {"after": self._evidence(states), "show_servers_state": raw.strip()}
