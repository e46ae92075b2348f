"""The report-signing identity (from configuration, or self-signed in embedded mode) and PAdES signing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dr_portal.pdf.selfsigned import self_signed_publish

logger = logging.getLogger(__name__)
T = TypeVar("T")

SIGNATURE_FIELD = "ReportSignature"
EMBEDDED_KEY_FILE = "report-signing.pem"  # under VAR_DIR/keys/: private key then certificate
EMBEDDED_VALIDITY = timedelta(days=3653)


@dataclass(frozen=True)
class SigningIdentity:
    """A private key, its certificate, and any chain certificates that came with it."""

    key: PrivateKeyTypes
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    source: str  # "pkcs12", "pem" or "embedded": for logs and report_verify output

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


# --- Loading the identity ------------------------------------------------------------


def _passphrase() -> bytes | None:
    path: Path | None = settings.REPORT_SIGNING_PASSPHRASE_FILE
    if path is not None:
        try:
            return path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise ImproperlyConfigured(f"REPORT_SIGNING_PASSPHRASE_FILE: cannot read {path.name}: {exc}") from exc
    value: str | None = settings.REPORT_SIGNING_PASSPHRASE
    return value.encode() if value else None


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"{variable}: cannot read {path.name}: {exc.strerror or exc}") from exc


def _from_pkcs12(path: Path) -> SigningIdentity:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(_read("REPORT_SIGNING_PKCS12", path), _passphrase())
    except ValueError as exc:
        raise ImproperlyConfigured(
            "REPORT_SIGNING_PKCS12: cannot open the bundle (wrong passphrase, or not PKCS#12)"
        ) from exc
    if key is None or cert is None:
        raise ImproperlyConfigured("REPORT_SIGNING_PKCS12: the bundle must hold a private key and its certificate")
    return SigningIdentity(key=key, certificate=cert, chain=tuple(extra), source="pkcs12")


def _from_pem(key_path: Path, cert_path: Path) -> SigningIdentity:
    try:
        key = serialization.load_pem_private_key(_read("REPORT_SIGNING_KEY", key_path), _passphrase())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "REPORT_SIGNING_KEY: cannot load the private key (wrong passphrase, or not PEM)"
        ) from exc
    try:
        certs = x509.load_pem_x509_certificates(_read("REPORT_SIGNING_CERT", cert_path))
    except ValueError as exc:
        raise ImproperlyConfigured("REPORT_SIGNING_CERT: not a PEM certificate") from exc
    return SigningIdentity(key=key, certificate=certs[0], chain=tuple(certs[1:]), source="pem")


def _generate_embedded(path: Path) -> None:
    """Make a self-signed RSA key and certificate and publish them atomically (first writer wins)."""
    made = self_signed_publish(
        path,
        key=rsa.generate_private_key(public_exponent=65537, key_size=3072),
        common_name="DR Portal report signing (self-signed)",
        organisation="DR Portal embedded mode",
        validity=EMBEDDED_VALIDITY,
        trust_anchor=True,  # so an NSS database (pdfsig) can be told to trust it: see docs/reports.md
    )
    if made:
        logger.warning(
            "Generated a self-signed report-signing certificate in VAR_DIR/keys/%s. Reports signed with it "
            "prove integrity only to whoever trusts this file; set REPORT_SIGNING_PKCS12 or "
            "REPORT_SIGNING_KEY/REPORT_SIGNING_CERT in production.",
            path.name,
        )


def _embedded() -> SigningIdentity:
    path = Path(settings.VAR_DIR) / "keys" / EMBEDDED_KEY_FILE
    if not path.exists():
        _generate_embedded(path)
    data = path.read_bytes()
    key = serialization.load_pem_private_key(data, None)
    cert = x509.load_pem_x509_certificates(data)[0]
    return SigningIdentity(key=key, certificate=cert, chain=(), source="embedded")


@lru_cache(maxsize=1)
def signing_identity() -> SigningIdentity:
    """The configured identity; cached per process (call `signing_identity.cache_clear()` after a change)."""
    if settings.REPORT_SIGNING_PKCS12 is not None:
        return _from_pkcs12(settings.REPORT_SIGNING_PKCS12)
    if settings.REPORT_SIGNING_KEY is not None and settings.REPORT_SIGNING_CERT is not None:
        return _from_pem(settings.REPORT_SIGNING_KEY, settings.REPORT_SIGNING_CERT)
    return _embedded()


def trust_roots() -> list[x509.Certificate]:
    """Anchors that verify_pdf() trusts: REPORT_TRUST_ROOTS if set, else our own certificate and chain."""
    bundle: Path | None = settings.REPORT_TRUST_ROOTS
    if bundle is not None:
        try:
            return x509.load_pem_x509_certificates(_read("REPORT_TRUST_ROOTS", bundle))
        except ValueError as exc:
            raise ImproperlyConfigured("REPORT_TRUST_ROOTS: not a PEM certificate bundle") from exc
    identity = signing_identity()
    return [identity.certificate, *identity.chain]


def public_certificate_pem() -> bytes:
    """The signing certificate (and chain), PEM: what a third party needs to check our reports."""
    identity = signing_identity()
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (identity.certificate, *identity.chain))


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def outside_event_loop(fn: Callable[..., T], *args: Any) -> T:
    """Call one of pyHanko's sync wrappers, which use asyncio.run() and so fail inside a running loop
    (an ASGI view, or a thread where Playwright's sync API left one running): use a fresh thread then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


# --- Signing ---------------------------------------------------------------------------


def sign_pdf(
    data: bytes,
    *,
    identity: SigningIdentity | None = None,
    reason: str = "DR Portal audit report: integrity and origin",
    location: str = "",
    timestamper: Any = "configured",
) -> bytes:
    """Add a PAdES certification signature (no changes permitted) to a PDF.

    With a time-stamping authority (`REPORT_TSA_URL`, or `timestamper` given; None for none)
    the signature carries an RFC 3161 signature time-stamp: PAdES baseline B-T. Otherwise B-B.

    The signature is written as an incremental update, so the PDF/A-3b body is
    untouched; pyHanko updates the XMP packet's modification date alongside
    the /Info dictionary so the two stay in agreement.
    """
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from dr_portal.pdf.timestamping import report_timestamper

    if timestamper == "configured":
        timestamper = report_timestamper()
    identity = identity or signing_identity()
    registry = SimpleCertificateStore()
    registry.register_multiple([to_asn1(c) for c in identity.chain])
    signer = signers.SimpleSigner(
        signing_cert=to_asn1(identity.certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(identity.key),
        cert_registry=registry,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=True)
    _align_producer(writer)
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper)
    out = outside_event_loop(pdf_signer.sign_pdf, writer)
    return out.getvalue()


def _align_producer(writer: Any) -> None:
    """PDF/A wants /Info and XMP to agree; pyHanko appends itself to /Info /Producer
    but writes only itself into the XMP pdf:Producer, so say just that in both."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    info_ref = getattr(writer, "_info", None)
    if info_ref is None:
        return
    info = info_ref.get_object()
    info["/Producer"] = generic.TextStringObject(VENDOR)
    writer.mark_update(info_ref)
