"""Template context for every page: how many approval requests wait for the signed-in person."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from incidents.cockpit.needs_you import needs_you_count


def needs_you_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"needs_you_count": 0}
    return {"needs_you_count": needs_you_count(user=user)}
