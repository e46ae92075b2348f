"""A smoke check made THROUGH the switched route: every answer must name the expected backend.

A backend names itself in a response header (``identify_header``, default
``X-Backend``) or, failing that, a ``backend`` field of a JSON body. The request
goes through the outbound guard (`dr_portal.outbound`), and only what was
asserted (status, the backend named, timing) is kept as evidence.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from dr_portal.outbound import TargetRefused, send


def smoke_through(
    *, url: str, expect: str, header: str = "X-Backend", requests: int = 3, timeout: float = 5.0
) -> tuple[bool, dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for _ in range(max(1, requests)):
        started = time.monotonic()
        try:
            answer = send(url, timeout=timeout, headers={"User-Agent": "dr-portal-smoke"})
        except TargetRefused as exc:
            answers.append({"error": f"refused: {exc}"})
            break  # the allow-list will not change between two requests
        except (OSError, http.client.HTTPException) as exc:
            answers.append({"error": type(exc).__name__})  # not the OS's words: they would map ports
            continue
        named = answer.header(header)
        if not named:
            try:
                payload = json.loads(answer.body)
                named = payload.get("backend") if isinstance(payload, dict) else None
            except ValueError:
                named = None
        backend = named if isinstance(named, str) else None
        answers.append(
            {"status": answer.status, "backend": backend, "ms": round(1000 * (time.monotonic() - started), 1)}
        )
    ok = all(a.get("status") == 200 and a.get("backend") == expect for a in answers)
    return ok, {"url": url, "expected_backend": expect, "answers": answers, "ok": ok}
