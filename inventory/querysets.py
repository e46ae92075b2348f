"""Chainable filters for inventory rows; no side effects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import OuterRef, Q, Subquery

if TYPE_CHECKING:
    from inventory.models import Asset, Backup, RecoveryPoint  # noqa: F401


class AssetQuerySet(models.QuerySet["Asset"]):
    def critical(self) -> AssetQuerySet:
        return self.filter(tier__lte=1)

    def of_kind(self, kind: str) -> AssetQuerySet:
        return self.filter(kind=kind) if kind else self

    def of_tier(self, tier: int | None) -> AssetQuerySet:
        return self if tier is None else self.filter(tier=tier)

    def of_team(self, team: str) -> AssetQuerySet:
        return self.filter(owner_team=team) if team else self

    def in_region(self, region: str) -> AssetQuerySet:
        return self.filter(region=region) if region else self

    def matching(self, text: str) -> AssetQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text)
            | Q(title__icontains=text)
            | Q(owner_team__icontains=text)
            | Q(source_uri__icontains=text)
        )

    def with_facts(self) -> AssetQuerySet:
        """Join policy and vault and annotate the newest good point and latest backup, in one query."""
        from inventory.models import Backup, PointStatus, RecoveryPoint

        newest_ok = RecoveryPoint.objects.filter(asset=OuterRef("pk"), status=PointStatus.OK).order_by("-data_as_of")
        latest_backup = Backup.objects.filter(asset=OuterRef("pk")).order_by("-created_at")
        fields: dict[str, Any] = {
            "ok_data_as_of": Subquery(newest_ok.values("data_as_of")[:1]),
            "ok_key_id": Subquery(newest_ok.values("key_id")[:1]),
            "ok_immutable_until": Subquery(newest_ok.values("immutable_until")[:1]),
            "ok_created_at": Subquery(newest_ok.values("created_at")[:1]),
            "ok_vault_region": Subquery(newest_ok.values("vault__region")[:1]),
            "ok_vault_name": Subquery(newest_ok.values("vault__name")[:1]),
            "ok_vault_worm": Subquery(newest_ok.values("vault__worm_capable")[:1]),
            "last_backup_status": Subquery(latest_backup.values("status")[:1]),
            "last_backup_error": Subquery(latest_backup.values("error")[:1]),
            "last_backup_at": Subquery(latest_backup.values("created_at")[:1]),
        }
        return self.select_related("policy", "vault").annotate(**fields)


class BackupQuerySet(models.QuerySet["Backup"]):
    def active(self) -> BackupQuerySet:
        from inventory.models import ACTIVE_BACKUP

        return self.filter(status__in=ACTIVE_BACKUP)

    def stuck(self, *, queued_before: datetime, silent_since: datetime) -> BackupQuerySet:
        """Queued for too long (a lost message) or running without a sign of life (a dead worker)."""
        from inventory.models import BackupStatus

        return self.filter(
            Q(status=BackupStatus.QUEUED, created_at__lt=queued_before)
            | Q(status=BackupStatus.RUNNING, progress_at__lt=silent_since)
        )


class RecoveryPointQuerySet(models.QuerySet["RecoveryPoint"]):
    def good(self) -> RecoveryPointQuerySet:
        from inventory.models import PointStatus

        return self.filter(status=PointStatus.OK)

    def not_expired(self) -> RecoveryPointQuerySet:
        from inventory.models import PointStatus

        return self.exclude(status=PointStatus.EXPIRED)

    def mutable_at(self, moment: datetime) -> RecoveryPointQuerySet:
        return self.filter(Q(immutable_until__isnull=True) | Q(immutable_until__lte=moment))
