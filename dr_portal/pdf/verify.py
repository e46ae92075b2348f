"""Check a signed report: one intact signature over the whole file, trusted, carrying evidence.json."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from cryptography import x509

from dr_portal.pdf.signing import outside_event_loop, to_asn1, trust_roots

EVIDENCE_FILE = "evidence.json"


@dataclass
class VerificationResult:
    """What verify_pdf() found. `ok` is True only when `problems` is empty."""

    sha256: str
    size: int
    problems: list[str] = field(default_factory=list)
    signer: str = ""
    signer_sha256: str = ""
    signed_at: datetime | None = None  # as claimed by the signer; not a trusted timestamp
    timestamp: datetime | None = None  # the RFC 3161 signature time-stamp (PAdES B-T), when there is one
    timestamp_authority: str = ""
    timestamp_authority_sha256: str = ""
    coverage: str = ""
    pdfa: str = ""  # e.g. "3B", from the XMP pdfaid entries
    attachments: dict[str, bytes] = field(default_factory=dict)
    evidence: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_pdf(
    data: bytes,
    *,
    trust: Sequence[x509.Certificate] | None = None,
    tsa_trust: Sequence[x509.Certificate] | None = None,
    require_evidence: bool = True,
) -> VerificationResult:
    """Verify a signed report, and extract its attachments and parsed evidence.json.

    `trust` defaults to `trust_roots()` (REPORT_TRUST_ROOTS, or our own
    signing certificate), `tsa_trust` to `tsa_trust_roots()` (the local TSA,
    plus REPORT_TSA_TRUST_ROOTS). A signature without a time-stamp is not a
    problem here (B-B reports exist); one whose time-stamp does not verify is.
    Nothing is fetched from the network. Every reason for failure is listed in
    `problems`, in words.
    """
    result = VerificationResult(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:
        result.problems.append(f"the file cannot be read as a PDF ({type(exc).__name__}: {exc})")
        return result
    if not signatures:
        result.problems.append("the file carries no signature")
    elif len(signatures) > 1:
        result.problems.append(f"the file carries {len(signatures)} signatures; a report has exactly one")
    else:
        from dr_portal.pdf.timestamping import tsa_trust_roots

        roots = list(trust) if trust is not None else trust_roots()
        tsa_roots = list(tsa_trust) if tsa_trust is not None else tsa_trust_roots()
        _check_signature(result, signatures[0], roots, tsa_roots, data)
    try:
        result.pdfa = _pdfa_declaration(reader)
        result.attachments = _attachments(reader)
    except Exception as exc:
        result.problems.append(f"the attachments cannot be read ({type(exc).__name__}: {exc})")
    if EVIDENCE_FILE in result.attachments:
        try:
            result.evidence = json.loads(result.attachments[EVIDENCE_FILE])
        except ValueError as exc:
            result.problems.append(f"{EVIDENCE_FILE} is not valid JSON ({exc})")
    elif require_evidence:
        result.problems.append(f"{EVIDENCE_FILE} is not attached")
    return result


def _check_signature(
    result: VerificationResult, sig: Any, trust: list[x509.Certificate], tsa_trust: list[x509.Certificate], data: bytes
) -> None:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[to_asn1(c) for c in trust], allow_fetching=False)
    ts_context = ValidationContext(trust_roots=[to_asn1(c) for c in tsa_trust], allow_fetching=False)
    try:
        status = outside_event_loop(validate_pdf_signature, sig, context, ts_context)
    except Exception as exc:
        result.problems.append(f"the signature cannot be validated ({type(exc).__name__}: {exc})")
        return
    cert = status.signing_cert
    result.signer = cert.subject.human_friendly
    result.signer_sha256 = cert.sha256.hex()
    result.signed_at = status.signer_reported_dt
    result.coverage = status.coverage.name if status.coverage is not None else "UNKNOWN"
    if not status.intact:
        result.problems.append("the signed bytes were changed: their digest no longer matches the signature")
    elif not status.valid:
        result.problems.append("the signature value does not verify with the signer's public key")
    if not status.trusted:
        result.problems.append(f"the signer ({result.signer}) does not chain to a trusted certificate")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        result.problems.append(
            "the signature does not cover the whole file: bytes were added after signing (an incremental update)"
        )
    if status.docmdp_ok is False:
        result.problems.append("the document was modified in a way its certification signature forbids")
    _check_timestamp(result, status.timestamp_validity)
    problem = _contents_problem(sig, data)
    if problem:
        result.problems.append(problem)


def _check_timestamp(result: VerificationResult, token: Any) -> None:
    """The signature time-stamp (RFC 3161), if any: its imprint must be the signature's, and its TSA trusted."""
    if token is None:
        return
    result.timestamp = token.timestamp
    result.timestamp_authority = token.signing_cert.subject.human_friendly
    result.timestamp_authority_sha256 = token.signing_cert.sha256.hex()
    if not token.intact:
        result.problems.append("the time-stamp token does not cover this signature (its message imprint differs)")
    elif not token.valid:
        result.problems.append("the time-stamp token's own signature does not verify")
    if not token.trusted:
        result.problems.append(
            f"the time-stamping authority ({result.timestamp_authority}) does not chain to a trusted certificate"
        )


def _contents_problem(sig: Any, data: bytes) -> str | None:
    """The signature value sits outside the signed byte range, so check its encoding byte for byte.

    pyHanko reads the CMS blob and ignores what follows it; a changed padding
    digit, or a hex digit switched to the other case, would otherwise go unseen.
    """
    byte_range = list(sig.sig_object["/ByteRange"])
    if len(byte_range) != 4 or byte_range[0] != 0:
        return "the signature's byte range has an unexpected shape"
    start, stop = byte_range[1], byte_range[2]
    gap = data[start:stop]
    if not re.fullmatch(rb"<[0-9a-f]*>|<[0-9A-F]*>", gap):
        return "the signature value's encoding was altered (unexpected characters or mixed case)"
    raw = bytes.fromhex(gap[1:-1].decode())
    der_end = _der_length(raw)
    if der_end is None or any(raw[der_end:]):
        return "the signature value was altered after the signature's end (non-zero padding)"
    return None


def _der_length(raw: bytes) -> int | None:
    """Total length of the DER element at the start of `raw`, or None if malformed."""
    if len(raw) < 2:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        return None
    return 2 + count + int.from_bytes(raw[2 : 2 + count], "big")


def _attachments(reader: Any) -> dict[str, bytes]:
    """Embedded files by name, from the /EmbeddedFiles name tree (flat or with /Kids)."""
    found: dict[str, bytes] = {}
    names = reader.root.get("/Names")
    tree = names.get("/EmbeddedFiles") if names is not None else None

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 16:
            raise ValueError("the embedded-files tree is too deep")
        node = node.get_object()
        pairs = list(node.get("/Names", []))
        for i in range(0, len(pairs) - 1, 2):
            spec = pairs[i + 1].get_object()
            name = str(spec.get("/UF", spec.get("/F", pairs[i])))
            found[name] = spec["/EF"]["/F"].get_object().data
        for kid in node.get("/Kids", []):
            walk(kid, depth + 1)

    if tree is not None:
        walk(tree)
    return found


_PDFAID = re.compile(rb"pdfaid:(part|conformance)\s*=\s*\"([^\"]+)\"|<pdfaid:(part|conformance)>([^<]+)<")


def _pdfa_declaration(reader: Any) -> str:
    """'3B' when the XMP packet says part 3, conformance B; '' when it declares none."""
    meta = reader.root.get("/Metadata")
    if meta is None:
        return ""
    xmp = meta.get_object().data
    values: dict[bytes, bytes] = {}
    for m in _PDFAID.finditer(xmp):
        key, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        values[key] = value.strip()
    return (values.get(b"part", b"") + values.get(b"conformance", b"")).decode()
