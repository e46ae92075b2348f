"""A signed webhook for anything HAProxy is not: a cloud API, a DNS or service-mesh controller.

Request (POST, JSON, docs/traffic.md)::

    {"version": 1, "action": "switch" | "read" | "check", "endpoint": "<asset>",
     "route": "primary" | "alternate" | "fallback", "idempotency_key": "<key>", "sent_at": "<UTC>"}

Headers: ``Idempotency-Key`` (the same key on every retry of one switch),
``X-DR-Timestamp`` and ``X-DR-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
with the shared secret. Success is a 200 whose JSON says ``{"route": "<route>"}``
(for ``switch`` and ``check``, the route asked for). A 5xx, a timeout or a refused
connection is retried with backoff and the same key; any other answer fails at once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from datetime import UTC, datetime
from typing import Any

from dr_portal.outbound import TargetRefused, send
from incidents.runs.drivers.base import DriverRefused, DriverUnreachable, SwitchResult

# What a controller's answer may put into evidence: the facts the driver asserts on, nothing else.
ANSWER_FACTS = ("route", "serving", "healthy")


def facts(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in ANSWER_FACTS if k in answer and isinstance(answer[k], str | bool | int)}


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookDriver:
    kind = "webhook"
    moves_traffic = True

    def __init__(
        self,
        *,
        url: str,
        secret: bytes,
        endpoint: str,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.url, self.secret, self.endpoint = url, secret, endpoint
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.attempts: list[str] = []

    def _post(self, action: str, route: str, key: str) -> dict[str, Any]:
        body = json.dumps(
            {
                "version": 1,
                "action": action,
                "endpoint": self.endpoint,
                "route": route,
                "idempotency_key": key,
                "sent_at": datetime.now(UTC).isoformat(),
            },
            sort_keys=True,
        ).encode()
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            stamp = str(int(time.time()))
            try:
                reply = send(
                    self.url,
                    method="POST",
                    body=body,
                    timeout=self.timeout,
                    headers={
                        "Content-Type": "application/json",
                        "Idempotency-Key": key,
                        "X-DR-Timestamp": stamp,
                        "X-DR-Signature": sign(self.secret, stamp, body),
                        "User-Agent": "dr-portal-traffic",
                    },
                )
            except TargetRefused as exc:
                raise DriverRefused(
                    f"The traffic webhook may not be called: {exc}.", code="webhook_not_allowed"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                last = f"no answer ({type(exc).__name__})"
                self.attempts.append(last)
                continue
            status, raw = reply.status, reply.body
            self.attempts.append(str(status))
            if status >= 500:
                last = f"answered {status}"
                continue
            if status != 200:
                raise DriverRefused(
                    f"The traffic webhook answered {status} to {action} {route}. "
                    "Nothing was retried (a 4xx does not improve with time).",
                    code="webhook_rejected",
                )
            try:
                answer = json.loads(raw)
            except ValueError:
                raise DriverRefused(
                    "The traffic webhook answered 200 without JSON.", code="webhook_bad_answer"
                ) from None
            if not isinstance(answer, dict) or not isinstance(answer.get("route"), str):
                raise DriverRefused("The traffic webhook's answer names no route.", code="webhook_bad_answer")
            return answer
        raise DriverUnreachable(
            f"The traffic webhook {action} {route} failed after {self.retries + 1} attempts ({last}); "
            "nothing is known to have switched."
        )

    def current_route(self) -> str:
        return str(self._post("read", "", f"read-{time.time_ns()}")["route"])

    def switch(self, *, to: str, key: str, force: bool = False) -> SwitchResult:
        before = self.current_route()
        answer = self._post("switch", to, key)
        took = answer["route"] == to
        evidence = {"answer": facts(answer), "attempts": list(self.attempts), "idempotency_key": key, "url": self.url}
        detail = f"Webhook: {before} → {answer['route']}" + ("" if took else f" (asked for {to})")
        return SwitchResult(before, str(answer["route"]), True, took, detail, evidence)

    def check_only(self, *, to: str) -> SwitchResult:
        answer = self._post("check", to, f"check-{time.time_ns()}")
        route = str(answer.get("serving", answer["route"]))
        ok = answer["route"] == to and bool(answer.get("healthy", True))
        detail = f"Check only (drill): the controller says {to} is {'ready' if ok else 'NOT ready'}; nothing switched."
        return SwitchResult(route, route, False, ok, detail, {"answer": facts(answer), "check_only": True})

    def verify(self, *, to: str) -> tuple[bool, dict[str, Any]]:
        route = self.current_route()
        return route == to, {"route_read_back": route}
