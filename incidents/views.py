"""Incident command pages, and the dashboard that sums up both apps."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dr_portal.accounts.access import Perm, check
from dr_portal.http import AuthenticatedHttpRequest


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
    check(request.user, Perm.VIEW_APPROVALS)
    return render(request, "incidents/approvals.html")


@login_required
@require_GET
def reports(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_REPORTS)
    return render(request, "incidents/reports.html")
