"""The one small interface every traffic driver implements.

A driver moves an endpoint's traffic between three routes: ``primary``,
``alternate`` (the other region) and ``fallback`` (a degraded model or cached
answers). It can read which route serves now, switch, and tell whether the
switch took. ``check_only`` switches nothing: a drill uses it to prove the
target route is healthy without touching production routing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ValidationError

from dr_portal.errors import Refused

ROUTES = ("primary", "alternate", "fallback")


class DriverRefused(Refused):
    """A driver would not or could not move traffic; the message says why."""

    code = "driver_refused"


class DriverUnreachable(DriverRefused):
    """The load balancer or controller did not answer (or answered garbage): nothing was switched."""

    code = "driver_unreachable"


class TargetUnhealthy(DriverRefused):
    """The route to switch to fails its health check; a switch needs `force` with approval."""

    code = "target_unhealthy"


class DriverConfigInvalid(ValidationError):
    """A driver configuration that cannot be used: bad input (400 from the API), not a refusal."""


@dataclass
class SwitchResult:
    route_before: str
    route_after: str
    switched: bool
    took: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


class Driver(Protocol):
    kind: str
    moves_traffic: bool

    def current_route(self) -> str: ...

    def switch(self, *, to: str, key: str, force: bool = False) -> SwitchResult: ...

    def check_only(self, *, to: str) -> SwitchResult: ...

    def verify(self, *, to: str) -> tuple[bool, dict[str, Any]]: ...


def secret_from(config: dict[str, Any], *, what: str) -> bytes:
    """Read a secret named by reference (`secret_env` or `secret_file`); the value is never stored."""
    if config.get("secret_env"):
        value = os.environ.get(str(config["secret_env"]), "")
        if not value:
            raise DriverRefused(
                f"{what}: the environment variable {config['secret_env']} is not set.", code="secret_missing"
            )
        return value.encode()
    if config.get("secret_file"):
        try:
            return Path(str(config["secret_file"])).read_bytes().strip()
        except OSError as exc:
            raise DriverRefused(
                f"{what}: cannot read the secret file ({exc.strerror}).", code="secret_missing"
            ) from None
    raise DriverRefused(f"{what}: no secret_env or secret_file is configured.", code="secret_missing")
