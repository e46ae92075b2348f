"""Verify now: a compliance officer asks for a check of the whole chain and watches it finish."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dr_portal.accounts.access import Perm, check
from dr_portal.audit.selectors import head_seq, latest_verification
from dr_portal.http import AuthenticatedHttpRequest
from dr_portal.queue import send_on_commit

SESSION_KEY = "audit_verify_requested_at"


def _requested_at(request: AuthenticatedHttpRequest) -> datetime | None:
    value = request.session.get(SESSION_KEY)
    return datetime.fromisoformat(value) if value else None


def verify_state(request: AuthenticatedHttpRequest) -> dict[str, object]:
    """Whether this person's requested check is still running, and the newest result."""
    requested = _requested_at(request)
    latest = latest_verification()
    running = requested is not None and (latest is None or latest.finished_at < requested)
    return {"verify_running": running, "verify_requested_at": requested, "verification": latest, "head_seq": head_seq()}


@login_required
@require_POST
def verify_now(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_AUDIT)
    from dr_portal.audit.tasks import audit_verify_requested

    request.session[SESSION_KEY] = timezone.now().isoformat()
    send_on_commit(audit_verify_requested, args=())
    if request.htmx:
        return render(request, "audit/index.html#verify", verify_state(request))
    return redirect("audit:index")


@login_required
@require_GET
def verify_status(request: AuthenticatedHttpRequest) -> HttpResponse:
    """htmx polls this while a requested check runs."""
    check(request.user, Perm.VIEW_AUDIT)
    if not request.htmx:
        return redirect("audit:index")
    return render(request, "audit/index.html#verify", verify_state(request))
