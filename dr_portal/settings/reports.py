"""Settings: signed PDF reports: the signing identity, where reports are kept and for how long."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from dr_portal.env import env_int, env_optional, env_path, env_str
from dr_portal.settings.core import VAR_DIR

# --- Signed PDF reports -----------------------------------------------------------


def _file(value: str | None) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


# The PAdES signing identity: a PKCS#12 bundle, or a PEM key plus certificate.
# With neither, a self-signed one is made once under VAR_DIR/keys/ (embedded mode).
REPORT_SIGNING_PKCS12 = _file(env_optional("REPORT_SIGNING_PKCS12"))
REPORT_SIGNING_KEY = _file(env_optional("REPORT_SIGNING_KEY"))
REPORT_SIGNING_CERT = _file(env_optional("REPORT_SIGNING_CERT"))
REPORT_SIGNING_PASSPHRASE = env_optional("REPORT_SIGNING_PASSPHRASE")
REPORT_SIGNING_PASSPHRASE_FILE = _file(env_optional("REPORT_SIGNING_PASSPHRASE_FILE"))
REPORT_TRUST_ROOTS = _file(env_optional("REPORT_TRUST_ROOTS"))
if REPORT_SIGNING_PKCS12 and (REPORT_SIGNING_KEY or REPORT_SIGNING_CERT):
    raise ImproperlyConfigured("REPORT_SIGNING_PKCS12: set it or REPORT_SIGNING_KEY/REPORT_SIGNING_CERT, not both")
if bool(REPORT_SIGNING_KEY) != bool(REPORT_SIGNING_CERT):
    raise ImproperlyConfigured("REPORT_SIGNING_KEY: needs REPORT_SIGNING_CERT as well (and the other way round)")
if REPORT_SIGNING_PASSPHRASE and REPORT_SIGNING_PASSPHRASE_FILE:
    raise ImproperlyConfigured("REPORT_SIGNING_PASSPHRASE: set it or REPORT_SIGNING_PASSPHRASE_FILE, not both")

# RFC 3161 time-stamps on report signatures (PAdES B-T): "local" (the portal's own TSA, the default),
# "off" (PAdES B-B), or an external TSA's http(s) URL, asked through dr_portal/outbound.py.
REPORT_TSA_URL = env_str("REPORT_TSA_URL", "local").strip() or "local"
if REPORT_TSA_URL not in ("local", "off"):
    _tsa = urlsplit(REPORT_TSA_URL)
    if _tsa.scheme not in ("http", "https") or not _tsa.hostname:
        raise ImproperlyConfigured(f"REPORT_TSA_URL: {REPORT_TSA_URL!r} is not local, off or an http(s) URL")
# Certificates an external TSA's tokens chain to (PEM); the local TSA's own certificate is always trusted.
REPORT_TSA_TRUST_ROOTS = _file(env_optional("REPORT_TSA_TRUST_ROOTS"))
# Seconds to wait for an external TSA's answer.
REPORT_TSA_TIMEOUT = env_int("REPORT_TSA_TIMEOUT", 10, minimum=1)

# Generated compliance reports (signed PDFs) are kept here, one file per report.
REPORTS_DIR = env_path("REPORTS_DIR", VAR_DIR / "reports")
# Years a report is kept: HIPAA documentation, 6 years (164.316(b)(2)).
REPORT_RETENTION_YEARS = env_int("REPORT_RETENTION_YEARS", 6, minimum=6)
# A running build silent this long was lost with its worker; the reconciler re-dispatches it.
REPORT_STALE_SECONDS = env_int("REPORT_STALE_SECONDS", 900, minimum=60)
REPORT_CLASSIFICATION = env_str("REPORT_CLASSIFICATION", "Confidential \u2014 may contain personal data / PHI")
