"""Validation of a driver's configuration, and building the driver an endpoint uses."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from incidents.runs.drivers.base import ROUTES, DriverConfigInvalid, secret_from
from incidents.runs.drivers.haproxy import HAProxyDriver
from incidents.runs.drivers.models import DriverKind, EndpointRoute
from incidents.runs.drivers.record_only import RecordOnlyDriver
from incidents.runs.drivers.webhook import WebhookDriver
from inventory.models import Asset

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_SOCKET = re.compile(r"^(unix:/\S+|tcp:[A-Za-z0-9_.-]*:\d{1,5})$")
_SECRET_WORDS = ("secret", "password", "token", "key")
_COMMON = {"smoke_url", "identify_header", "smoke_requests"}
_ALLOWED = {
    DriverKind.RECORD_ONLY: set(),
    DriverKind.HAPROXY: {"socket", "backend", "servers", "timeout", *_COMMON},
    DriverKind.WEBHOOK: {"url", "secret_env", "secret_file", "timeout", "retries", "backoff", *_COMMON},
}


def _http(value: Any) -> bool:
    parts = urlsplit(str(value))
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def driver_config_validate(driver: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return the config if valid; else raise DriverConfigInvalid naming every fault in one sentence each."""
    if driver not in DriverKind.values:
        raise DriverConfigInvalid(f"Unknown traffic driver {driver!r}; use one of {', '.join(DriverKind.values)}.")
    if not isinstance(config, dict):
        raise DriverConfigInvalid("The driver configuration must be a JSON object.")
    faults = [
        f"Unknown setting {k!r} for the {driver} driver." for k in sorted(set(config) - _ALLOWED[DriverKind(driver)])
    ]
    for k in config:
        if k in _ALLOWED[DriverKind(driver)] - {"secret_env", "secret_file"} and any(w in k for w in _SECRET_WORDS):
            faults.append(f"{k!r} looks like a secret; give secret_env or secret_file instead.")
    if "smoke_url" in config and not _http(config["smoke_url"]):
        faults.append("smoke_url must be an http(s) URL through the switched route.")
    if driver == DriverKind.HAPROXY:
        if not _SOCKET.match(str(config.get("socket", ""))):
            faults.append("socket must be unix:/path/to/admin.sock or tcp:host:port (a stats socket with level admin).")
        if not _NAME.match(str(config.get("backend", ""))):
            faults.append("backend must name the HAProxy backend that holds the route servers.")
        servers = config.get("servers")
        if not isinstance(servers, dict) or "primary" not in servers:
            faults.append("servers must map primary (and alternate/fallback if any) to HAProxy server names.")
        else:
            faults += [f"servers: unknown route {r!r}." for r in servers if r not in ROUTES]
            faults += [f"servers: {r} has a bad server name." for r, s in servers.items() if not _NAME.match(str(s))]
    if driver == DriverKind.WEBHOOK:
        if not _http(config.get("url")):
            faults.append("url must be an http(s) URL.")
        if bool(config.get("secret_env")) == bool(config.get("secret_file")):
            faults.append("Give exactly one of secret_env (an environment variable name) or secret_file (a path).")
    for number in ("timeout", "retries", "backoff", "smoke_requests"):
        if number in config and (not isinstance(config[number], int | float) or not 0 <= config[number] <= 60):
            faults.append(f"{number} must be a number between 0 and 60.")
    if faults:
        raise DriverConfigInvalid(" ".join(faults))
    return config


def route_of(asset: Asset) -> EndpointRoute:
    try:
        return asset.traffic
    except EndpointRoute.DoesNotExist:
        return EndpointRoute(asset=asset, driver=DriverKind.RECORD_ONLY, config={})


def driver_build(route: EndpointRoute) -> HAProxyDriver | WebhookDriver | RecordOnlyDriver:
    config = route.config
    if route.driver == DriverKind.HAPROXY:
        return HAProxyDriver(
            socket=config["socket"],
            backend=config["backend"],
            servers=dict(config["servers"]),
            timeout=float(config.get("timeout", 3)),
        )
    if route.driver == DriverKind.WEBHOOK:
        return WebhookDriver(
            url=config["url"],
            secret=secret_from(config, what=f"{route.asset.name}'s traffic webhook"),
            endpoint=route.asset.name,
            timeout=float(config.get("timeout", 5)),
            retries=int(config.get("retries", 3)),
            backoff=float(config.get("backoff", 0.5)),
        )
    return RecordOnlyDriver(recorded_route=route.asset.serving)
