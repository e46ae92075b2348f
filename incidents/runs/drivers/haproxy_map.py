"""HAProxy map mode: the frontend picks its backend from a map entry, and a switch rewrites the entry.

For setups where each route is its own backend (a region, a fallback pool) and the frontend
says ``use_backend %[req.hdr(host),lower,map(/etc/haproxy/routes.map,be_primary)]``: the
endpoint's key in that map names the backend that serves. A switch checks that the target
backend has a healthy server, sets the entry (``set map``, or ``add map`` when the key is
new), and reads ``show map`` back as evidence. Requests already sent finish where they are;
new ones go to the new backend.
"""

from __future__ import annotations

from typing import Any

from incidents.runs.drivers.base import ROUTES, DriverRefused, SwitchResult, TargetUnhealthy
from incidents.runs.drivers.haproxy import HAProxyDriver, runtime_command


class HAProxyMapDriver:
    kind = "haproxy"
    moves_traffic = True

    def __init__(self, *, socket: str, map: str, key: str, backends: dict[str, str], timeout: float = 3.0) -> None:
        self.address, self.map, self.key, self.backends, self.timeout = socket, map, key, backends, timeout

    def _cmd(self, command: str) -> str:
        return runtime_command(self.address, command, timeout=self.timeout)

    def entries(self) -> tuple[dict[str, str], str]:
        """``{key: value}`` of the map as HAProxy holds it now, and the raw answer."""
        raw = self._cmd(f"show map {self.map}")
        found: dict[str, str] = {}
        for line in raw.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[0].startswith("0x"):
                found[fields[1]] = fields[2]
        if raw.strip() and not found and "Unknown map" in raw:
            raise DriverRefused(f"HAProxy has no map {self.map}: {raw.strip()[:200]}", code="driver_config_invalid")
        return found, raw

    def _route_of(self, value: str | None) -> str:
        for route, backend in self.backends.items():
            if backend == value:
                return route
        return f"unmapped:{value}" if value else "none"

    def current_route(self) -> str:
        return self._route_of(self.entries()[0].get(self.key))

    def _target(self, to: str) -> str:
        if to not in ROUTES or to not in self.backends:
            raise DriverRefused(f"Map {self.map} has no backend for the {to} route.", code="no_such_route")
        return self.backends[to]

    def _healthy(self, backend: str) -> tuple[bool, list[str]]:
        states, _ = HAProxyDriver(socket=self.address, backend=backend, servers={}, timeout=self.timeout).states()
        return any(s.healthy for s in states.values()), [s.text for s in states.values()]

    def check_only(self, *, to: str) -> SwitchResult:
        target = self._target(to)
        route = self.current_route()
        healthy, servers = self._healthy(target)
        detail = (
            f"Check only (drill): {to} ({target}) is {'healthy' if healthy else 'DOWN'}; "
            f"production routing untouched, {route} still serves."
        )
        return SwitchResult(route, route, False, healthy, detail, {"servers": servers, "check_only": True})

    def switch(self, *, to: str, key: str, force: bool = False) -> SwitchResult:
        target = self._target(to)
        entries, _ = self.entries()
        before = self._route_of(entries.get(self.key))
        healthy, servers = self._healthy(target)
        if not healthy and not force:
            raise TargetUnhealthy(
                f"Refused: {to} (backend {target}) has no healthy server; nothing was switched. "
                "Force the step (with approval) to switch anyway."
            )
        verb = "set" if self.key in entries else "add"
        command = f"{verb} map {self.map} {self.key} {target}"
        answer = self._cmd(command).strip()
        if answer and "done" not in answer.lower():
            raise DriverRefused(f"HAProxy refused {command!r}: {answer}", code="driver_refused")
        took, evidence = self.verify(to=to)
        evidence = {
            "map_before": {self.key: entries.get(self.key)},
            **evidence,
            "commands": {command: answer or "ok"},
            "target_servers": servers,
            "forced": force,
        }
        detail = f"HAProxy map {self.map} [{self.key}]: {before} → {to}" + ("" if took else " did NOT take")
        return SwitchResult(before, to if took else self.current_route(), True, took, detail, evidence)

    def verify(self, *, to: str) -> tuple[bool, dict[str, Any]]:
        entries, raw = self.entries()
        value = entries.get(self.key)
        return self._route_of(value) == to, {"map_after": {self.key: value}, "show_map": raw.strip()}
