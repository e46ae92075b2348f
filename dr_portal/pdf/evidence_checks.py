"""report_verify's checks on what the signed file carries: its RFC 3161 time-stamp and the files beside evidence.json.

evidence.json sits inside the signed bytes, so what it says about the signature and the
attachments cannot be changed without breaking the signature. The time-stamp token and
nothing else lives outside them (in the signature's unsigned attributes): a report whose
evidence says it was time-stamped but whose signature carries no token had it removed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dr_portal.pdf.audit_hook import Check
from dr_portal.pdf.verify import EVIDENCE_FILE, VerificationResult


def _evidence(result: VerificationResult) -> dict[str, Any]:
    return result.evidence if isinstance(result.evidence, dict) else {}


def timestamp_check(result: VerificationResult) -> Check:
    problems = [p for p in result.problems if "time-stamp" in p]
    if problems:
        return Check("time-stamp", False, "does not verify (reasons below)")
    signature = _evidence(result).get("signature")
    promised = isinstance(signature, dict) and signature.get("profile") == "PAdES B-T"
    if result.timestamp is None:
        if promised:
            return Check(
                "time-stamp",
                False,
                "evidence.json says the signature was time-stamped (PAdES B-T), but it carries no token: removed",
            )
        return Check("time-stamp", None, "none: signed without a time-stamping authority (PAdES B-B)")
    return Check(
        "time-stamp",
        True,
        f"RFC 3161 token of {result.timestamp.isoformat()} from {result.timestamp_authority}, trusted, "
        f"covers the signature (TSA certificate sha256 {result.timestamp_authority_sha256[:16]}…)",
    )


def attached_exports_check(result: VerificationResult) -> Check:
    """Every file evidence.json lists is attached with that SHA-256, and nothing else is attached."""
    if result.evidence is None:
        return Check("attached files", None, "not checked: no evidence.json")
    listed = _evidence(result).get("attachments", [])
    if not isinstance(listed, list) or not all(isinstance(e, dict) and "name" in e for e in listed):
        return Check("attached files", False, "evidence.json lists its attachments in an unexpected shape")
    if not listed:
        extra = sorted(set(result.attachments) - {EVIDENCE_FILE})
        if extra:
            return Check("attached files", False, f"attached but not listed in evidence.json: {', '.join(extra)}")
        return Check("attached files", True, "none besides evidence.json, as evidence.json lists")
    wanted = {str(e["name"]): str(e.get("sha256", "")) for e in listed}
    missing = [name for name in wanted if name not in result.attachments]
    changed = [
        name
        for name, digest in wanted.items()
        if name in result.attachments and hashlib.sha256(result.attachments[name]).hexdigest() != digest
    ]
    extra = sorted(set(result.attachments) - set(wanted) - {EVIDENCE_FILE})
    parts = []
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if changed:
        parts.append(f"SHA-256 differs from evidence.json: {', '.join(changed)}")
    if extra:
        parts.append(f"attached but not listed in evidence.json: {', '.join(extra)}")
    if parts:
        return Check("attached files", False, "; ".join(parts))
    return Check("attached files", True, f"{', '.join(wanted)}: present, SHA-256 as evidence.json records")
