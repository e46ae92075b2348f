"""The public material for checking our reports: the signing and TSA certificates, the audit log's public key.

Served without signing in: an auditor or regulator who received a PDF must be able to fetch what
verifies it, and compare its fingerprint with the one printed in the report.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dr_portal.audit.checkpoints import public_key_pem
from dr_portal.pdf.signing import public_certificate_pem
from dr_portal.pdf.trust import audit_key_fingerprint, certificate_fingerprint
from dr_portal.pdf.tsa import tsa_identity


def _pem(body: bytes, name: str, fingerprint: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-SHA256-Fingerprint"] = fingerprint
    return response


@require_GET
def certificate_pem(request: HttpRequest) -> HttpResponse:
    return _pem(public_certificate_pem(), "dr-portal-report-signing.pem", certificate_fingerprint())


@require_GET
def audit_key_pem(request: HttpRequest) -> HttpResponse:
    return _pem(public_key_pem().encode(), "dr-portal-audit-key.pem", audit_key_fingerprint())


@require_GET
def tsa_certificate_pem(request: HttpRequest) -> HttpResponse:
    """The local time-stamping authority's certificate: what report time-stamps chain to."""
    cert = tsa_identity().certificate
    return _pem(tsa_identity().certificate_pem, "dr-portal-tsa.pem", certificate_fingerprint(cert))
