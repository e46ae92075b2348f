"""The Audit page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dr_portal.accounts.access import Perm, check
from dr_portal.http import AuthenticatedHttpRequest


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_AUDIT)
    return render(request, "audit/index.html")
