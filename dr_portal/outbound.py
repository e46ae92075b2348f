"""Every outbound HTTP request the portal makes, without letting a plan reach what it must not (SSRF guard).

Smoke and wait checks, the traffic drivers' webhook and smoke-through-the-route
calls, and notification webhooks all send through `send`. A URL is written by a
person, but it is fetched by a worker inside the network, and what comes back
may be shown to everyone who can read the run. So:

- only http and https;
- every address the host name resolves to must be allowed: public addresses,
  plus the networks in CHECK_ALLOWED_NETWORKS and the names in
  CHECK_ALLOWED_HOSTS; loopback only with DEBUG on; private, link-local
  (cloud metadata at 169.254.169.254), multicast and reserved ones never by default;
- the connection goes to the address that was checked (a second DNS answer
  cannot swap it), and the same check is made for every redirect, at most
  CHECK_MAX_REDIRECTS of them (a request with a body follows none);
- callers keep only what they asserted (status, matched fields) as evidence.

A host the operator named in the environment (OUTBOUND_WEBHOOK_URLS) is trusted
by name; its redirects are still checked.

Connections that are not HTTP take the same decision: ``socket_target`` vets a
runtime socket (the HAProxy driver's ``tcp:host:port`` or ``unix:/path``) before
anything is sent. A unix socket is this machine, so it is allowed only where
loopback is (DEBUG, or 127.0.0.1 in CHECK_ALLOWED_NETWORKS) or when it lies in
one of CHECK_ALLOWED_SOCKET_DIRS (links resolved first).

Connectors (PostgreSQL, Redis, S3 endpoints, the MLflow registry) reach systems
an admin named, which normally live on private networks: ``connector_address``
allows private and loopback addresses, but never link-local ones (169.254.0.0/16
and fe80::/10, where cloud metadata answers), and when CONNECTOR_ALLOWED_NETWORKS
is set, only addresses inside it. Every connector resolves its host through it
before it connects, and connects to the address it returns. The HAProxy runtime
socket, a traffic route's setting, keeps the check rules above and adds these.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
REDIRECTS = {301, 302, 303, 307, 308}
MAX_BODY = 65536


class TargetRefused(Exception):
    """The URL (or a redirect) leads somewhere checks may not go; the message says where and why."""


class Unresolvable(TargetRefused):
    """The host name has no address: nothing to refuse, nothing to reach."""


class Malformed(TargetRefused):
    """The host or port cannot name anything (a port outside 1-65535, a name too long for DNS)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    url: str
    redirects: int
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


def address_allowed(address: Address) -> bool:
    if any(address in network for network in settings.CHECK_ALLOWED_NETWORKS):
        return True
    if address.is_loopback:
        return bool(settings.DEBUG)
    return address.is_global and not address.is_multicast


LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


def _resolved(host: str, port: int) -> list[Address]:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise Malformed(f"port {str(port)[:24]} is not a TCP port (give one from 1 to 65535)")
    if not host or len(host) > 253 or "\x00" in host:
        raise Malformed(f"the host name {host[:40]!r}{'...' if len(host) > 40 else ''} is not a valid name or address")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Unresolvable(f"{host} does not resolve") from None
    except (UnicodeError, ValueError, OverflowError) as exc:  # idna refuses a label over 63 characters, and such
        raise Malformed(f"the host name {host[:40]!r} is not a valid name or address ({exc})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def connector_refusal(address: Address) -> str | None:
    """Why a connector may not reach `address`, or None when it may."""
    plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address
    if any(plain in network for network in LINK_LOCAL):
        return f"{address} is link-local (cloud metadata answers there), which connectors may never reach"
    allowed = settings.CONNECTOR_ALLOWED_NETWORKS
    if allowed and not any(plain in network for network in allowed):
        return f"{address} is outside CONNECTOR_ALLOWED_NETWORKS"
    return None


def connector_address(host: str, port: int) -> str:
    """The address a connector connects to for `host`, once every address it resolves to is allowed.

    Resolve, then check, then connect to the address returned (never the name again).
    Raises TargetRefused with the host, the address and the rule.
    """
    addresses = _resolved(host, port)
    for address in addresses:
        why = connector_refusal(address)
        if why:
            raise TargetRefused(f"{host} resolves to {why}" if host != str(address) else why)
    # One address is pinned: IPv4 first, where database servers listen by default ("localhost" may give ::1 first).
    return str(min(addresses, key=lambda address: address.version))


def vetted_address(host: str, port: int, *, trusted: frozenset[str] = frozenset()) -> str:
    """The first address of `host`, once every address it resolves to is allowed."""
    addresses = _resolved(host, port)
    name = host.lower().rstrip(".")
    if name not in settings.CHECK_ALLOWED_HOSTS and name not in trusted:
        for address in addresses:
            if not address_allowed(address):
                raise TargetRefused(
                    f"{host} is {address}, which checks are not allowed to reach "
                    "(add it to CHECK_ALLOWED_NETWORKS or CHECK_ALLOWED_HOSTS)"
                )
    return str(addresses[0])


def _pinned_socket(address: str, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the vetted address, with Nagle's algorithm off as http.client sets it.

    Overriding ``connect`` drops http.client's own TCP_NODELAY; without it a request whose
    headers and body go out in two writes waits for the server's delayed ACK (~40 ms per POST).
    """
    sock = socket.create_connection((address, port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned = address

    def connect(self) -> None:
        self.sock = _pinned_socket(self.pinned, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.pinned = address

    def connect(self) -> None:
        raw = _pinned_socket(self.pinned, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)  # certificate checked against the name


def connector_connection(url: str, *, timeout: float) -> http.client.HTTPConnection:
    """An unopened connection to `url`'s server for a connector to keep alive across requests.

    The host is vetted by ``connector_address`` now and the connection pinned to that address:
    it may reconnect (keep-alive closed by the server), but only ever to the address checked.
    It follows no redirect; a caller that receives one follows it through ``opened``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"{url} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    return kind(parts.hostname, port, address=connector_address(parts.hostname, port), timeout=timeout)


@contextlib.contextmanager
def opened(
    url: str,
    *,
    timeout: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    accept: str = "application/json",
    trusted_hosts: frozenset[str] = frozenset(),
    connector: bool = False,
) -> Iterator[tuple[http.client.HTTPResponse, str, int]]:
    """Send one request and yield (response, final URL, redirects followed) for the caller to read.

    For replies too large to hold (an artifact download); a GET follows allowed redirects.
    `connector`: the target is a system an admin named (the MLflow registry), vetted by
    ``connector_address`` at every hop instead of the check rules.
    Raises TargetRefused, or OSError/HTTPException when it cannot reach the target.
    """
    limit = settings.CHECK_MAX_REDIRECTS if body is None and method == "GET" else 0
    sent = {"Accept": accept, "User-Agent": "dr-portal-check", **(headers or {})}
    for hop in range(limit + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetRefused(f"{url} is not an http(s) URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:  # "Port out of range 0-65535", or not a number
            raise Malformed(f"{url[:80]} has no usable port ({exc})") from None
        if connector:
            address = connector_address(parts.hostname, port)
        else:
            address = vetted_address(parts.hostname, port, trusted=trusted_hosts if hop == 0 else frozenset())
        kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        connection = kind(parts.hostname, port, address=address, timeout=timeout)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status in REDIRECTS and location and limit:
                url = urljoin(url, location)
                continue
            yield response, url, hop
            return
        finally:
            connection.close()
    raise TargetRefused(f"more than {limit} redirects")


def send(
    url: str,
    *,
    timeout: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    accept: str = "application/json",
    trusted_hosts: frozenset[str] = frozenset(),
    max_body: int = MAX_BODY,
) -> Answer:
    """Send one request, following allowed redirects for a GET only.

    Raises TargetRefused, or OSError/HTTPException when it cannot reach the target.
    Any status is an answer (a 4xx/5xx, or a redirect not followed, is returned, not raised).
    """
    with opened(
        url, timeout=timeout, method=method, body=body, headers=headers, accept=accept, trusted_hosts=trusted_hosts
    ) as (response, final, hops):
        return Answer(response.status, response.read(max_body), final, hops, dict(response.getheaders()))


def fetch(url: str, *, timeout: float, accept: str = "application/json") -> Answer:
    """GET `url`, following allowed redirects; raises TargetRefused, or OSError/HTTPException when it cannot."""
    return send(url, timeout=timeout, accept=accept)


def socket_target(address: str) -> tuple[int, Any]:
    """(address family, connect target) of a runtime socket, once the guard allows it.

    ``tcp:host:port`` is vetted like an HTTP host (every address the name resolves to)
    and pinned to the address checked; ``unix:/path`` is this machine (see the module
    docstring). Raises TargetRefused with where and why.
    """
    if address.startswith("unix:"):
        path = address.removeprefix("unix:")
        real = Path(os.path.realpath(path))
        if address_allowed(ipaddress.ip_address("127.0.0.1")):
            return socket.AF_UNIX, path
        if any(real.is_relative_to(Path(os.path.realpath(d))) for d in settings.CHECK_ALLOWED_SOCKET_DIRS):
            return socket.AF_UNIX, str(real)
        raise TargetRefused(
            f"the unix socket {path} is on this machine, which outbound connections may not reach "
            "(put it in one of CHECK_ALLOWED_SOCKET_DIRS)"
        )
    host, _, port_text = address.removeprefix("tcp:").rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise TargetRefused(f"{address} names no port") from None
    pinned = vetted_address(host or "127.0.0.1", port)
    connector_address(pinned, port)  # link-local never, and CONNECTOR_ALLOWED_NETWORKS, as for every connector
    family = socket.AF_INET6 if ":" in pinned else socket.AF_INET
    return family, (pinned, port)
