"""Fingerprints of the public material an outsider checks our reports with, printed in every report.

Both files are served without signing in (`/reports/certificate.pem`, `/reports/audit-key.pem`):
a regulator compares the fingerprint printed in the PDF with the one of the file it downloaded
(or received out of band) before trusting either.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dr_portal.audit import checkpoints
from dr_portal.pdf.signing import signing_identity

CERTIFICATE_URL = "/reports/certificate.pem"
AUDIT_KEY_URL = "/reports/audit-key.pem"
TSA_CERTIFICATE_URL = "/reports/tsa-certificate.pem"


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def certificate_fingerprint(certificate: x509.Certificate | None = None) -> str:
    """SHA-256 over the DER certificate, as `openssl x509 -fingerprint -sha256` prints it."""
    cert = certificate or signing_identity().certificate
    return colon_hex(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def audit_key_fingerprint() -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo of the audit log's Ed25519 key."""
    der = checkpoints.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return colon_hex(hashlib.sha256(der).digest())
