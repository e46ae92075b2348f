"""Backups and the recovery points they make."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dr_portal.accounts.contents import contents_visible, shown
from inventory.models.catalog import Asset, Vault
from inventory.querysets import BackupQuerySet, RecoveryPointQuerySet


class BackupStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BackupTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "On demand"


ACTIVE_BACKUP = [BackupStatus.QUEUED, BackupStatus.RUNNING]


class Backup(models.Model):
    """One backup job: queued by a person or the scheduler, run by a worker."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="backups")
    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="backups")
    status = models.CharField(max_length=16, choices=BackupStatus.choices, default=BackupStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=BackupTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(null=True, blank=True)
    files_done = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from the worker.")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # The latest backup of an asset (readiness, the backup panel) without a sort; the API's
        # keyset pages walk (created_at, id), so the id is in the index as the tiebreaker.
        indexes = [
            models.Index(fields=["asset", "-created_at"], name="backup_asset_newest"),
            models.Index(fields=["-created_at", "-id"], name="backup_newest"),
            models.Index(fields=["status", "-created_at", "-id"], name="backup_status_newest"),
        ]
        constraints = [
            # One backup of an asset at a time; a second request joins the first.
            models.UniqueConstraint(
                fields=["asset"], condition=Q(status__in=ACTIVE_BACKUP), name="backup_one_active_per_asset"
            ),
            models.CheckConstraint(condition=Q(status__in=BackupStatus.values), name="backup_status_known"),
            models.CheckConstraint(
                condition=Q(status__in=ACTIVE_BACKUP) | Q(finished_at__isnull=False), name="backup_finished_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status=BackupStatus.FAILED) | ~Q(error=""), name="backup_failure_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"backup {self.public_id} of {self.asset_id} ({self.status})"

    @property
    def shown_error(self) -> str:
        """The error as the person asking may see it: the whole message, file named, only to restorers.

        A failure recorded since file names left the error keeps the message under ``file_detail``
        in the failed point's statistics (dr_portal/accounts/contents.py)."""
        if contents_visible():
            point = getattr(self, "point", None) if self.status == BackupStatus.FAILED else None
            detail = (point.stats or {}).get("file_detail") if point is not None else None
            return str(detail or self.error)
        return cast("str", shown(self.error))

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BACKUP

    @property
    def is_running(self) -> bool:
        return self.status == BackupStatus.RUNNING

    @property
    def is_failed(self) -> bool:
        return self.status == BackupStatus.FAILED

    @property
    def percent(self) -> int | None:
        if not self.bytes_total:
            return None
        return min(100, int(100 * self.bytes_done / self.bytes_total))


class PointStatus(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    CORRUPT = "corrupt", "Corrupt"
    EXPIRED = "expired", "Expired"
    # Screening found the signs of ransomware; restoring it needs an audited release.
    SUSPICIOUS = "suspicious", "Suspicious"


class RecoveryPoint(models.Model):
    """A backup in a vault. Only `ok` points may be restored from."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="points")
    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="points")
    backup = models.OneToOneField(Backup, null=True, blank=True, on_delete=models.PROTECT, related_name="point")
    status = models.CharField(max_length=16, choices=PointStatus.choices)
    data_as_of = models.DateTimeField(help_text="The source's state at this moment is what the point holds.")
    size_bytes = models.PositiveBigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    manifest = models.JSONField(
        default=dict,
        blank=True,
        help_text="Format 1: files with their sizes and SHA-256. Format 2: a summary; the manifest is in the vault.",
    )
    stats = models.JSONField(
        default=dict,
        blank=True,
        help_text="Files added/changed/removed, bytes new vs reused, compression ratio, duration, throughput.",
    )
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=100, blank=True, help_text="Which encryption key; never the key.")
    immutable_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    verify_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When someone asked to verify this point now; cleared when a verification ends. "
        "The reconciler sends a request again that the broker never took.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RecoveryPointQuerySet.as_manager()

    class Meta:
        ordering = ["-data_as_of"]
        indexes = [
            models.Index(fields=["asset", "status", "-data_as_of"]),
            # History pages and the API list, per asset and across all assets; the id breaks
            # ties for the API's keyset pages.
            models.Index(fields=["asset", "-data_as_of", "-id"], name="point_asset_newest"),
            models.Index(fields=["-data_as_of", "-id"], name="point_newest"),
            # Retention reads only points that can still expire.
            models.Index(fields=["created_at"], condition=~Q(status="expired"), name="point_unexpired_age"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PointStatus.values), name="point_status_known"),
            # A point is only good once its manifest has been written and read back.
            models.CheckConstraint(
                condition=~Q(status=PointStatus.OK) | (Q(verified_at__isnull=False) & ~Q(manifest_sha256="")),
                name="point_ok_is_verified",
            ),
            models.CheckConstraint(
                condition=~Q(status=PointStatus.EXPIRED) | Q(expired_at__isnull=False), name="point_expired_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"point {self.public_id} of {self.asset_id} ({self.status})"

    @property
    def shown_note(self) -> str:
        """The note as the person asking may see it (a file it names only to restorers)."""
        return cast("str", shown(self.note))

    @property
    def shown_manifest(self) -> dict[str, Any]:
        """The manifest as the person asking may see it: its file list only for people who may restore."""
        return cast("dict[str, Any]", shown(self.manifest))

    @property
    def shown_stats(self) -> dict[str, Any]:
        """The statistics as the person asking may see them (the files screening flagged only to restorers)."""
        return cast("dict[str, Any]", shown(self.stats))

    @property
    def is_good(self) -> bool:
        """May be restored from: the one meaning of a "good" point (`RecoveryPoint.objects.good()`)."""
        return self.status == PointStatus.OK

    @property
    def is_expired(self) -> bool:
        return self.status == PointStatus.EXPIRED

    @property
    def is_corrupt(self) -> bool:
        return self.status == PointStatus.CORRUPT

    @property
    def is_suspicious(self) -> bool:
        return self.status == PointStatus.SUSPICIOUS
