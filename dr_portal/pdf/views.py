"""The public material for checking our reports: the signing and TSA certificates, the audit log's public key.

Served without signing in: an auditor or regulator who received a PDF must be able to fetch what
verifies it, and compare its fingerprint with the one printed in the report.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dr_portal.audit.checkpoints import public_key_pem
from dr_portal.pdf.signing import public_certificate_pem
from dr_portal.pdf.timestamping import public_tsa_certificates
from dr_portal.pdf.trust import audit_key_fingerprint, certificate_fingerprint


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
    """The time-stamping authority's certificate that report time-stamps chain to: the local TSA's, or an
    external TSA's from REPORT_TSA_TRUST_ROOTS (the whole bundle; the fingerprint is the first's)."""
    certs = public_tsa_certificates()
    if not certs:
        raise Http404("no time-stamping authority certificate is configured (REPORT_TSA_TRUST_ROOTS)")
    body = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return _pem(body, "dr-portal-tsa.pem", certificate_fingerprint(certs[0]))
