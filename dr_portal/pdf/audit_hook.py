"""Where report_verify will check a report against the audit log. Not wired yet.

Whoever connects reports to the audit log (issue 7, part 3) fills in
`audit_log_checks`: look the PDF's SHA-256 up among the "report generated"
audit events, and check that the checkpoint named in evidence.json exists and
verifies. report_verify already prints whatever this returns and fails on
any check whose `passed` is False.
"""

from __future__ import annotations

from dataclasses import dataclass

from dr_portal.pdf.verify import VerificationResult


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None  # None: not performed
    detail: str


def audit_log_checks(result: VerificationResult) -> list[Check]:
    """Audit-log checks for a verified report. Placeholder: reports are not in the audit log yet."""
    return [
        Check("hash in audit log", None, "not checked yet: reports are not recorded in the audit log"),
        Check("anchoring checkpoint", None, "not checked yet: evidence.json carries no checkpoint"),
    ]
