"""Signed archival PDF reports: render (PDF/A-3b), sign (PAdES), verify.

Report builders (the `reports` packages of incidents/ and inventory/) build a
`document.ReportDocument`, print values with `formatting` and share the words in
`wording`; rendering and signing are exported here.
"""

from __future__ import annotations

from dr_portal.pdf.render import (
    Attachment,
    PdfRenderError,
    ReportMetadata,
    render_pdf,
    render_report_html,
)
from dr_portal.pdf.signing import public_certificate_pem, sign_pdf, signing_identity
from dr_portal.pdf.verify import EVIDENCE_FILE, VerificationResult, verify_pdf

__all__ = [
    "EVIDENCE_FILE",
    "Attachment",
    "PdfRenderError",
    "ReportMetadata",
    "VerificationResult",
    "public_certificate_pem",
    "render_pdf",
    "render_report_html",
    "sign_pdf",
    "signing_identity",
    "verify_pdf",
]
