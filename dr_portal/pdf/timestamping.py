"""Which time-stamping authority report signatures ask (REPORT_TSA_URL), and the certificates that vouch for it.

- unset or "local": the portal's own TSA (dr_portal/pdf/tsa.py), called in-process;
- "off": no time-stamp (PAdES B-B);
- an http(s) URL: an external TSA, asked through dr_portal/outbound.py. The operator named
  it in the environment, so its host is trusted by name (as OUTBOUND_WEBHOOK_URLS are);
  a request with a body follows no redirect. REPORT_TSA_TRUST_ROOTS holds the certificates
  its tokens chain to.

A TSA that does not answer, answers garbage or refuses fails the report build with the
reason: a report configured for B-T is never quietly signed B-B instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asn1crypto import tsp
from cryptography import x509
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dr_portal import outbound
from dr_portal.pdf.tsa import TimeStampReply, tsa_identity, tsa_respond

TSA_OFF = "off"
TSA_LOCAL = "local"
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY = 256 * 1024


class TimestampUnavailable(Exception):
    """The time-stamping authority could not give a token; the message says why."""


def tsa_mode() -> str:
    """ "off", "local", or the external TSA's URL."""
    return str(settings.REPORT_TSA_URL or TSA_LOCAL).strip()


def _timestamper_base() -> type:
    from pyhanko.sign.timestamps.api import TimeStamper

    return TimeStamper


def _parse(body: bytes, where: str) -> tsp.TimeStampResp:
    try:
        reply = TimeStampReply.load(body)
        status = reply["status"]["status"].native
        text = "; ".join(reply["status"]["status_string"].native or []) or "no reason given"
        if status in ("granted", "granted_with_mods"):
            return tsp.TimeStampResp.load(body)
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampUnavailable(f"{where} answered something that is not an RFC 3161 response") from exc
    raise TimestampUnavailable(f"{where} refused the time-stamp request ({status}: {text})")


def local_timestamper() -> object:
    """A pyHanko TimeStamper answered in-process by the local TSA (the same DER round trip as over HTTP)."""

    class LocalTimeStamper(_timestamper_base()):  # type: ignore[misc]
        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            return _parse(tsa_respond(req.dump()), "the local time-stamping authority")

    return LocalTimeStamper()


def http_timestamper(url: str) -> object:
    """A pyHanko TimeStamper that POSTs to `url` through the outbound guard."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    where = f"the time-stamping authority at {host or url}"

    def post(body: bytes) -> bytes:
        try:
            answer = outbound.send(
                url,
                timeout=settings.REPORT_TSA_TIMEOUT,
                method="POST",
                body=body,
                headers={"Content-Type": QUERY_TYPE},
                accept=REPLY_TYPE,
                trusted_hosts=frozenset({host}),
                max_body=MAX_REPLY,
            )
        except outbound.TargetRefused as exc:
            raise TimestampUnavailable(f"{where} may not be reached: {exc}") from exc
        except OSError as exc:
            raise TimestampUnavailable(f"{where} did not answer ({type(exc).__name__})") from exc
        if answer.status != 200:
            raise TimestampUnavailable(f"{where} answered HTTP {answer.status}")
        content_type = (answer.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != REPLY_TYPE:
            raise TimestampUnavailable(f"{where} answered {content_type or 'no content type'}, not {REPLY_TYPE}")
        return answer.body

    class HttpTimeStamper(_timestamper_base()):  # type: ignore[misc]
        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            return _parse(await asyncio.to_thread(post, req.dump()), where)

    return HttpTimeStamper()


def report_timestamper() -> object | None:
    """The TimeStamper report signatures use, or None when time-stamping is off."""
    mode = tsa_mode()
    if mode == TSA_OFF:
        return None
    if mode == TSA_LOCAL:
        return local_timestamper()
    return http_timestamper(mode)


def tsa_trust_roots() -> list[x509.Certificate]:
    """Certificates a report's time-stamp may chain to: REPORT_TSA_TRUST_ROOTS, plus the local TSA's own.

    The local TSA's certificate is made on first use, so even a verifier with time-stamping off
    checks the tokens of reports signed while it was on.
    """
    roots = [tsa_identity().certificate]
    bundle: Path | None = settings.REPORT_TSA_TRUST_ROOTS
    if bundle is not None:
        try:
            roots += x509.load_pem_x509_certificates(bundle.read_bytes())
        except OSError as exc:
            raise ImproperlyConfigured(f"REPORT_TSA_TRUST_ROOTS: cannot read {bundle.name}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ImproperlyConfigured("REPORT_TSA_TRUST_ROOTS: not a PEM certificate bundle") from exc
    return roots


def public_tsa_certificates() -> list[x509.Certificate]:
    """What `/reports/tsa-certificate.pem` publishes and the report prints the fingerprint of: the certificates
    an outsider checks this portal's time-stamps with. The local TSA's, unless an external TSA is configured:
    then REPORT_TSA_TRUST_ROOTS (empty when the operator gave none)."""
    mode = tsa_mode()
    if mode in (TSA_OFF, TSA_LOCAL):
        return [tsa_identity().certificate]
    return tsa_trust_roots()[1:]


def timestamp_label() -> str:
    """What the report's integrity section says about its time-stamp before the signature exists."""
    mode = tsa_mode()
    if mode == TSA_OFF:
        return "none: no time-stamping authority is configured (PAdES B-B)"
    if mode == TSA_LOCAL:
        return (
            "RFC 3161 signature time-stamp from the DR Portal local time-stamping authority, "
            "inside this file's signature"
        )
    host = urlsplit(mode).hostname or mode
    return f"RFC 3161 signature time-stamp from {host}, inside this file's signature"


def signature_profile() -> str:
    return "PAdES B-B" if tsa_mode() == TSA_OFF else "PAdES B-T"


def tsa_fields() -> list[Any]:
    """The integrity section's line on the TSA's certificate, whose fingerprint an outsider compares."""
    from dr_portal.pdf.document import Field
    from dr_portal.pdf.trust import TSA_CERTIFICATE_URL, certificate_fingerprint

    published = public_tsa_certificates()
    if tsa_mode() == TSA_OFF:
        value: str | None = "none: reports are not time-stamped"
    else:
        value = certificate_fingerprint(published[0]) if published else None
    label = f"Time-stamping authority certificate SHA-256 (public, {TSA_CERTIFICATE_URL})"
    return [Field("tsa_certificate_sha256", label, value)]
