"""Retention on schedule: expire points past their policy's retention, then sweep each vault's chunk store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dr_portal.audit.services import audit_append
from inventory import engine, vault_io
from inventory.models import PointStatus, RecoveryPoint, Vault
from inventory.services.expiry import points_expire_due

log = logging.getLogger(__name__)


@dataclass
class PruneOutcome:
    expired: int = 0
    vaults: list[str] = field(default_factory=list)
    bytes_reclaimed: int = 0

    def summary(self) -> str:
        return f"expired {self.expired} points; " + ("; ".join(self.vaults) or "no chunk-store vault to prune")


def vaults_prune(*, now: datetime | None = None) -> PruneOutcome:
    """Apply retention everywhere: expire what the policies let go, then reclaim unreferenced chunks.

    Expiry first, so the chunks of points that just went are swept in the same pass. A
    vault a backup is writing to is skipped this time (the engine defers) and swept on
    the next run; a vault that cannot be reached is logged and skipped.
    """
    outcome = PruneOutcome(expired=len(points_expire_due(now=now or timezone.now())))
    chunked = RecoveryPoint.objects.filter(manifest__version=2).exclude(status=PointStatus.FAILED)
    for vault in Vault.objects.filter(pk__in=chunked.values("vault_id")).order_by("name"):
        try:
            report = vault_io.prune_vault(vault=vault)
        except vault_io.VaultIOFailure as failure:
            log.warning("could not prune vault %s: %s", vault.name, failure)
            outcome.vaults.append(f"{vault.name}: not pruned ({failure.code})")
            continue
        _record(vault=vault, report=report)
        outcome.bytes_reclaimed += report.bytes_reclaimed
        outcome.vaults.append(f"{vault.name}: {report.summary()}")
    return outcome


@transaction.atomic
def _record(*, vault: Vault, report: engine.PruneReport) -> None:
    audit_append(
        action="vault.pruned",
        system_actor="system:retention",
        obj=vault,
        payload={
            "deferred": report.deferred,
            "points": report.points,
            "packs_deleted": report.packs_deleted,
            "bytes_reclaimed": report.bytes_reclaimed,
            "index_deleted": report.index_deleted,
            "packs_still_locked": len(report.kept_locked),
            "summary": report.summary(),
        },
    )
