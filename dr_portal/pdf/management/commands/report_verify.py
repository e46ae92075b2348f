"""Check a signed report PDF: signature over the whole file, trusted signer, evidence.json."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dr_portal.pdf.audit_hook import Check, audit_log_checks
from dr_portal.pdf.evidence_checks import attached_exports_check, timestamp_check
from dr_portal.pdf.verify import EVIDENCE_FILE, VerificationResult, verify_pdf


class Command(BaseCommand):
    help = "Verify a signed DR Portal report. Exit status 0 when every check passes, 1 otherwise."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the report PDF")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
        result = verify_pdf(data)
        checks = [
            Check("signature", not _signature_problems(result.problems), _signature_detail(result)),
            timestamp_check(result),
            Check(EVIDENCE_FILE, result.evidence is not None, _evidence_detail(result)),
            attached_exports_check(result),
            *audit_log_checks(result),
        ]
        out = self.stdout
        out.write(f"file      {path.name} ({result.size} bytes)")
        out.write(f"sha256    {result.sha256}")
        out.write(f"signer    {result.signer or '-'}")
        out.write(f"signed at {result.signed_at.isoformat() if result.signed_at else '-'} (signer's clock)")
        stamped = f"{result.timestamp.isoformat()} by {result.timestamp_authority}" if result.timestamp else "-"
        out.write(f"timestamp {stamped} (RFC 3161)")
        out.write(f"pdf/a     {result.pdfa or 'not declared'}")
        out.write("")
        for check in checks:
            mark = {True: "PASS", False: "FAIL", None: "SKIP"}[check.passed]
            out.write(f"{mark}  {check.name}: {check.detail}")
        for problem in result.problems:
            out.write(f"      - {problem}")
        failed = bool(result.problems) or any(c.passed is False for c in checks)
        out.write("")
        skipped = sum(1 for c in checks if c.passed is None)
        if failed:
            out.write(f"RESULT: NOT VERIFIED: {_first_reason(result, checks)}")
        else:
            out.write(f"RESULT: VERIFIED ({skipped} checks skipped)" if skipped else "RESULT: VERIFIED")
        if failed:
            raise SystemExit(1)


def _first_reason(result: VerificationResult, checks: list[Check]) -> str:
    """The verdict's one-line reason: the first problem found, else the first failed check."""
    if result.problems:
        return result.problems[0]
    failed = next(c for c in checks if c.passed is False)
    return f"{failed.name}: {failed.detail}"


def _signature_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if EVIDENCE_FILE not in p and "attachments" not in p and "time-stamp" not in p]


def _signature_detail(result: VerificationResult) -> str:
    if _signature_problems(result.problems):
        return "does not verify (reasons below)"
    return f"intact, trusted, covers the whole file ({result.coverage})"


def _evidence_detail(result: VerificationResult) -> str:
    if result.evidence is None:
        return "missing or unreadable"
    size = len(result.attachments.get(EVIDENCE_FILE, b""))
    return f"attached, {size} bytes, parses as JSON"
