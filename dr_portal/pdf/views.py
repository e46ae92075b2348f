"""The public half of the report-signing identity, for whoever must check a report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from dr_portal.accounts.access import Perm, check
from dr_portal.http import AuthenticatedHttpRequest
from dr_portal.pdf.signing import public_certificate_pem


@login_required
@require_GET
def certificate_pem(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_DASHBOARD)  # anyone signed in: it is public material
    response = HttpResponse(public_certificate_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="dr-portal-report-signing.pem"'
    return response
