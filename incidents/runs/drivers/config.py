"""Validation of a driver's configuration, and building the driver an endpoint uses."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from incidents.runs.drivers.base import ROUTES, DriverConfigInvalid, secret_from
from incidents.runs.drivers.haproxy import HAProxyDriver
from incidents.runs.drivers.haproxy_map import HAProxyMapDriver
from incidents.runs.drivers.models import DriverKind, EndpointRoute
from incidents.runs.drivers.record_only import RecordOnlyDriver
from incidents.runs.drivers.webhook import WebhookDriver
from inventory.models import Asset

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_MAP = re.compile(r"^(/[A-Za-z0-9_./-]{1,300}|#\d{1,6})$")
_SOCKET = re.compile(r"^(unix:/\S+|tcp:[A-Za-z0-9_.-]*:\d{1,5})$")
_SECRET_WORDS = ("secret", "password", "token", "key")
_COMMON = {"smoke_url", "identify_header", "smoke_requests"}
_ALLOWED = {
    DriverKind.RECORD_ONLY: set(),
    # Server-state mode (backend, servers) or map mode (map, map_key, backends).
    DriverKind.HAPROXY: {"socket", "backend", "servers", "map", "map_key", "backends", "timeout", *_COMMON},
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
    not_secret = {"secret_env", "secret_file", "map_key"}  # references and names, not values
    for k in config:
        if k in _ALLOWED[DriverKind(driver)] - not_secret and any(w in k for w in _SECRET_WORDS):
            faults.append(f"{k!r} looks like a secret; give secret_env or secret_file instead.")
    if "smoke_url" in config and not _http(config["smoke_url"]):
        faults.append("smoke_url must be an http(s) URL through the switched route.")
    if driver == DriverKind.HAPROXY:
        if not _SOCKET.match(str(config.get("socket", ""))):
            faults.append("socket must be unix:/path/to/admin.sock or tcp:host:port (a stats socket with level admin).")
        if "map" in config:
            faults += _map_faults(config)
        else:
            if not _NAME.match(str(config.get("backend", ""))):
                faults.append("backend must name the HAProxy backend that holds the route servers.")
            faults += _routes_faults(config.get("servers"), "servers", "server")
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


def _routes_faults(mapping: Any, field: str, what: str) -> list[str]:
    if not isinstance(mapping, dict) or "primary" not in mapping:
        return [f"{field} must map primary (and alternate/fallback if any) to HAProxy {what} names."]
    return [f"{field}: unknown route {r!r}." for r in mapping if r not in ROUTES] + [
        f"{field}: {r} has a bad {what} name." for r, s in mapping.items() if not _NAME.match(str(s))
    ]


def _map_faults(config: dict[str, Any]) -> list[str]:
    faults = []
    if "servers" in config or "backend" in config:
        faults.append("Map mode (map) sets a map entry: give backends, not backend/servers.")
    if not _MAP.match(str(config.get("map", ""))):
        faults.append("map must be the map file's absolute path (as in the HAProxy config) or #<id>.")
    if not _NAME.match(str(config.get("map_key", ""))):
        faults.append("map_key must be the endpoint's key in the map (e.g. its host name).")
    return faults + _routes_faults(config.get("backends"), "backends", "backend")


def route_of(asset: Asset) -> EndpointRoute:
    try:
        return asset.traffic
    except EndpointRoute.DoesNotExist:
        return EndpointRoute(asset=asset, driver=DriverKind.RECORD_ONLY, config={})


def driver_build(route: EndpointRoute) -> HAProxyDriver | HAProxyMapDriver | WebhookDriver | RecordOnlyDriver:
    config = route.config
    if route.driver == DriverKind.HAPROXY and "map" in config:
        return HAProxyMapDriver(
            socket=config["socket"],
            map=config["map"],
            key=config["map_key"],
            backends=dict(config["backends"]),
            timeout=float(config.get("timeout", 3)),
        )
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
