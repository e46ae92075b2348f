"""A smoke check made THROUGH the switched route: every answer must name the expected backend.

A backend names itself in a response header (``identify_header``, default
``X-Backend``) or, failing that, a ``backend`` field of a JSON body.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def smoke_through(
    *, url: str, expect: str, header: str = "X-Backend", requests: int = 3, timeout: float = 5.0
) -> tuple[bool, dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for _ in range(max(1, requests)):
        started = time.monotonic()
        request = urllib.request.Request(url, headers={"User-Agent": "dr-portal-smoke", "Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - validated http(s)
                status, body, named = response.status, response.read(65536), response.headers.get(header)
        except urllib.error.HTTPError as exc:
            status, body, named = exc.code, b"", exc.headers.get(header)
        except (urllib.error.URLError, OSError) as exc:
            answers.append({"error": str(getattr(exc, "reason", exc))})
            continue
        if not named:
            try:
                payload = json.loads(body)
                named = payload.get("backend") if isinstance(payload, dict) else None
            except ValueError:
                named = None
        answers.append({"status": status, "backend": named, "ms": round(1000 * (time.monotonic() - started), 1)})
    ok = all(a.get("status") == 200 and a.get("backend") == expect for a in answers)
    return ok, {"url": url, "expected_backend": expect, "answers": answers, "ok": ok}
