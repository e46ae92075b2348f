"""Navigation entries the signed-in person may open, decided by the access layer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dr_portal.accounts.access import Perm, has_role_perm

NAV: list[tuple[str, str, Perm]] = [
    ("Dashboard", "dashboard", Perm.VIEW_DASHBOARD),
    ("Inventory", "inventory:index", Perm.VIEW_INVENTORY),
    ("Incidents", "incidents:index", Perm.VIEW_INCIDENTS),
    ("Alert inbox", "incidents:inbox", Perm.COMMAND_INCIDENTS),
    ("Runs", "runs:index", Perm.VIEW_INCIDENTS),
    ("Approvals", "incidents:approvals", Perm.VIEW_APPROVALS),
    ("On call", "paging:index", Perm.RESPOND_INCIDENTS),
    ("Reports", "incidents:reports", Perm.VIEW_REPORTS),
    ("Audit", "audit:index", Perm.VIEW_AUDIT),
    ("Organisation", "accounts:organisation", Perm.MANAGE_ORGANISATION),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    exact = any(name == current for _, name, _ in NAV)
    namespace = current.split(":")[0] + ":" if ":" in current else None

    def is_active(name: str) -> bool:
        if exact:
            return name == current
        return namespace is not None and name == namespace + "index"

    items = [
        {"label": label, "url_name": name, "active": is_active(name)}
        for label, name, perm in NAV
        if has_role_perm(user, perm)
    ]
    return {"nav_items": items}
