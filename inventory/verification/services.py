"""Writes for verification: filing restore evidence (the daily score is kept by `samples`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from dr_portal.audit.services import audit_append
from inventory.models import Asset
from inventory.verification.models import RestoreEvidence


@dataclass(frozen=True)
class RestoreParts:
    """What a run measured besides its RTO: whether all its checks passed (a partial failure is no proof
    of recovery), and the parts the forecast models on their own: what moved from which vault how fast,
    and how long the run waited for people."""

    passed: bool = True
    bytes_restored: int = 0
    vault_id: int | None = None
    throughput_bps: float | None = None
    approval_wait_seconds: int | None = None


NO_PARTS = RestoreParts()


@transaction.atomic
def restore_evidence_record(
    *,
    asset: Asset,
    kind: str,
    passed: bool,
    started_at: datetime,
    finished_at: datetime,
    rto_seconds: int | None,
    rpo_seconds: int | None = None,
    rto_target_seconds: int | None = None,
    bytes_restored: int = 0,
    run_id: uuid.UUID | None = None,
    point_id: uuid.UUID | None = None,
    detail: str = "",
    vault_id: int | None = None,
    throughput_bps: float | None = None,
    approval_wait_seconds: int | None = None,
) -> RestoreEvidence:
    """File one measured restore of ``asset``; once per run and asset (a repeat returns the first)."""
    # Imported here: the inventory.services package imports this module while it initialises.
    from inventory.services.readiness import readiness_facts_changed

    if run_id is not None:
        existing = RestoreEvidence.objects.filter(run_id=run_id, asset=asset).first()
        if existing is not None:
            return existing
    evidence = RestoreEvidence.objects.create(
        asset=asset,
        kind=kind,
        passed=passed,
        started_at=started_at,
        finished_at=finished_at,
        rto_seconds=None if rto_seconds is None else max(0, rto_seconds),
        rpo_seconds=None if rpo_seconds is None else max(0, rpo_seconds),
        rto_target_seconds=rto_target_seconds,
        bytes_restored=bytes_restored,
        run_id=run_id,
        point_id=point_id,
        detail=detail,
        vault_id=vault_id,
        throughput_bps=throughput_bps,
        approval_wait_seconds=None if approval_wait_seconds is None else max(0, approval_wait_seconds),
    )
    readiness_facts_changed(asset_ids=[asset.pk])
    audit_append(
        action="asset.restore_evidence",
        system_actor="system:verification",
        obj=asset,
        payload={
            "kind": kind,
            "passed": passed,
            "rto_seconds": evidence.rto_seconds,
            "rpo_seconds": evidence.rpo_seconds,
            "run": str(run_id) if run_id else None,
            "point": str(point_id) if point_id else None,
        },
    )
    return evidence
