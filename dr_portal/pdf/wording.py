"""Words both compliance reports print the same way: missing facts, the NPRM caveat, classifications, labels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings

# A fact the product does not know is printed, never left out (COMPLIANCE.md: absent ≠ false).
NOT_RECORDED = "not recorded"

# The HIPAA Security Rule NPRM is a proposal: every figure measured against it must say so.
NPRM_STATUS = "proposed, not in force"
NPRM = f"HIPAA Security Rule NPRM (90 FR 898, Jan 2025): {NPRM_STATUS}"
NPRM_RESTORE = timedelta(hours=72)  # relevant systems restored within 72 h
NPRM_BACKUP_AGE = timedelta(hours=48)  # backups no older than 48 h

HIPAA_RETENTION = "6 years (§164.316(b)(2))"


def report_classification(*, phi: bool = False) -> str:
    """The configured classification, marked "(PHI)" when the report carries PHI and the wording does not say so."""
    base: str = settings.REPORT_CLASSIFICATION
    if phi and "PHI" not in base:
        return f"{base} (PHI)"
    return base


def data_classes_label(labels: Iterable[str]) -> str | None:
    """An asset's data classes, given in words (`Asset.data_class_labels`); None (not recorded) when it has none."""
    return ", ".join(labels) or None


def tier_label(tier: int) -> str:
    return f"tier {tier}"
