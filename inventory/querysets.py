"""Chainable filters for inventory rows; no side effects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import F, OuterRef, Q, Subquery

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

    def matching(self, text: str, *, in_sources: bool = False) -> AssetQuerySet:
        """Assets whose name, title or team holds ``text``; their source too with ``in_sources``.

        Only for people who may read sources: a search that matched a hidden path would confirm it.
        """
        text = text.strip()
        if not text:
            return self
        found = Q(name__icontains=text) | Q(title__icontains=text) | Q(owner_team__icontains=text)
        return self.filter(found | Q(source_uri__icontains=text) if in_sources else found)

    def with_facts(self) -> AssetQuerySet:
        """Join policy, vault and the newest good point (the asset's pointer) and annotate the latest backup.

        One query; the latest backup comes from the `(asset, -created_at)` index, the
        newest point through `Asset.newest_point`, so no asset's history is read.
        """
        from inventory.models import Backup

        latest_backup = Backup.objects.filter(asset=OuterRef("pk")).order_by("-created_at")
        fields: dict[str, Any] = {
            "ok_data_as_of": F("newest_point__data_as_of"),
            "ok_key_id": F("newest_point__key_id"),
            "ok_immutable_until": F("newest_point__immutable_until"),
            "ok_created_at": F("newest_point__created_at"),
            "ok_vault_region": F("newest_point__vault__region"),
            "ok_vault_name": F("newest_point__vault__name"),
            "ok_vault_worm": F("newest_point__vault__worm_capable"),
            "last_backup_status": Subquery(latest_backup.values("status")[:1]),
            "last_backup_error": Subquery(latest_backup.values("error")[:1]),
            # The whole message when the words had to leave a file or server path out (contents.py).
            "last_backup_detail": Subquery(
                latest_backup.values("point__stats__file_detail")[:1], output_field=models.JSONField()
            ),
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
