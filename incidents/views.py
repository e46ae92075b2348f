"""Incident command pages, and the dashboard that sums up both apps."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dr_portal.accounts.access import Perm, can, check
from dr_portal.http import AuthenticatedHttpRequest
from incidents.runs.access import access_approvals
from incidents.runs.selectors import approvals_pending


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_DASHBOARD)
    return render(request, "dashboard.html")


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_INCIDENTS)
    return render(request, "incidents/index.html")


@login_required
@require_GET
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Recovery steps waiting for a decision, with exactly what each will do."""
    access_approvals(request.user)
    context = {"items": approvals_pending(user=request.user), "can_decide": can(request.user, Perm.APPROVE_STEPS)}
    return render(request, "incidents/approvals.html", context)


@login_required
@require_GET
def reports(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_REPORTS)
    return render(request, "incidents/reports.html")
