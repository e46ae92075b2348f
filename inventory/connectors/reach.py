"""Where a connector may connect: the outbound guard's connector rule, in the connectors' own errors.

Every connector that opens a network connection (PostgreSQL, Redis, S3 endpoints,
MLflow) asks `reach` first and connects to the address it returns, so the name is
resolved once and that answer is the one checked (dr_portal/outbound.py,
``connector_address``: never link-local, and inside CONNECTOR_ALLOWED_NETWORKS
when that is set).
"""

from __future__ import annotations

import urllib.parse

from dr_portal import outbound
from inventory.connectors.errors import ConfigInvalid, ConnectorRefused, Unreachable

LOCAL = "127.0.0.1"


def reach(what: str, host: str, port: int) -> str:
    """The address to connect to for `host`; a refusal names the system, the address and the rule."""
    try:
        return outbound.connector_address(host, port)
    except outbound.Malformed as bad:
        raise ConfigInvalid(f"{what} at {host[:80]}:{port}: {bad}.") from None
    except outbound.Unresolvable:
        raise Unreachable(f"{what} at {host}:{port} cannot be reached: {host} does not resolve.") from None
    except outbound.TargetRefused as refused:
        raise ConnectorRefused(
            f"{what} at {host}:{port} is refused: {refused}. Nothing was sent to it.", code="connector_target_refused"
        ) from None


def url_problem(url: str) -> str | None:
    """Why an http(s) URL cannot name a server (its port or host name), or None."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # an unclosed "[" of an IPv6 address
        return "the address is not a URL (an IPv6 address goes in brackets: http://[::1]:5000)."
    try:
        parts.port  # noqa: B018  # raises for a port out of range or not a number
    except ValueError:
        return "give a port from 1 to 65535 after the host name, or none."
    host = parts.hostname or ""
    if not host:
        return "give the server's host name after http:// or https://."
    if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        return "the host name is too long for DNS (at most 253 characters, 63 between dots)."
    if parts.port == 0:
        return "give a port from 1 to 65535 after the host name, or none."
    return None
