"""Backups: request, claim, progress, complete or fail; schedule and reconcile (expiry: services/expiry.py).

A backup is a `Backup` row moved through queued → running → succeeded | failed
by the services here (a finished one is added to the daily roll-ups in the same
transaction). The worker carries the row's id; `inventory.vault_io` moves the bytes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from dr_portal.accounts.contents import words_and_detail
from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from dr_portal.keepalive import kept_alive
from dr_portal.queue import send_on_commit
from inventory import vault_io
from inventory.models import (
    Asset,
    Backup,
    BackupStatus,
    BackupTrigger,
    PointStatus,
    RecoveryPoint,
    RecoveryPolicy,
)
from inventory.selectors import point_previous
from inventory.services.pointers import backup_next_at
from inventory.services.readiness import readiness_facts_changed
from inventory.services.rollups import backup_day_add
from inventory.services.screening import point_history, screen_reasons

log = logging.getLogger(__name__)


class BackupRefused(Refused):
    """A backup cannot be requested for this asset; the message says why."""

    code = "backup_refused"


def _enqueue(backup: Backup) -> None:
    from inventory.tasks import backup_run

    # Our own task id, stored on the row first, so the message can be traced to it.
    send_on_commit(backup_run, args=(backup.pk,), task_id=backup.celery_task_id)


@transaction.atomic
def backup_request(*, asset: Asset, by: User | None, trigger: str = BackupTrigger.MANUAL) -> Backup:
    """Queue a backup of `asset`, or return the one already queued or running."""
    locked = Asset.objects.select_for_update(of=("self",), no_key=True).select_related("vault").get(pk=asset.pk)
    active = Backup.objects.active().filter(asset=locked).first()
    if active is not None:
        return active
    if locked.vault is None:
        raise BackupRefused(f"{locked.name} has no vault to back up into; choose one on the asset first.")
    backup = Backup.objects.create(
        asset=locked,
        vault=locked.vault,
        trigger=trigger,
        requested_by=by,
        celery_task_id=str(uuid.uuid4()),
    )
    if locked.policy_id is not None:
        cadence = RecoveryPolicy.objects.values_list("backup_cadence_minutes", flat=True).get(pk=locked.policy_id)
        locked.next_backup_at = backup_next_at(
            last_backup_at=backup.created_at, cadence_minutes=cadence, now=backup.created_at
        )
        locked.save(update_fields=["next_backup_at"])
    audit_append(
        action="backup.requested",
        actor=by,
        system_actor="system:scheduler",
        obj=locked,
        payload={"backup": str(backup.public_id), "trigger": trigger, "vault": locked.vault.name},
    )
    readiness_facts_changed(asset_ids=[locked.pk])
    _enqueue(backup)
    return backup


@transaction.atomic
def backup_claim(*, backup_id: int, stale_after: timedelta | None = None) -> Backup | None:
    """Move a queued backup to running; None if another worker has it or it has finished.

    A running backup whose worker has been silent for `stale_after` is
    claimed again: its worker died and the broker redelivered the message.
    """
    backup = (
        Backup.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset", "vault")
        .filter(pk=backup_id)
        .first()
    )
    if backup is None or not backup.is_active:
        return None
    now = timezone.now()
    silent_for = settings.BACKUP_STALE_SECONDS if stale_after is None else stale_after.total_seconds()
    if (
        backup.status == BackupStatus.RUNNING
        and backup.progress_at
        and (now - backup.progress_at).total_seconds() < silent_for
    ):
        return None
    backup.status = BackupStatus.RUNNING
    backup.attempts += 1
    backup.started_at = backup.progress_at = now
    backup.bytes_done = 0
    backup.files_done = 0
    backup.save(update_fields=["status", "attempts", "started_at", "progress_at", "bytes_done", "files_done"])
    audit_append(
        action="backup.started",
        system_actor="system:worker",
        obj=backup.asset,
        payload={"backup": str(backup.public_id), "attempt": backup.attempts, "vault": backup.vault.name},
    )
    return backup


def _save_if_ours(backup: Backup, **fields: Any) -> bool:
    """Save ``fields`` on the backup while it is still running as this attempt; False once it is not."""
    return (
        Backup.objects.filter(pk=backup.pk, status=BackupStatus.RUNNING, attempts=backup.attempts).update(**fields) == 1
    )


def backup_progress(*, backup: Backup, bytes_done: int, bytes_total: int | None) -> bool:
    """Save progress on a running backup; False once it is no longer this attempt's (stop copying)."""
    return _save_if_ours(backup, bytes_done=bytes_done, bytes_total=bytes_total, progress_at=timezone.now())


def backup_alive(*, backup: Backup) -> bool:
    """Renew a running backup's lease while its worker is busy in one long call; False once it is
    no longer this attempt's, or once it has run ``BACKUP_MAX_SECONDS`` (a hung snapshot's lease
    then lapses and the reconciler takes it over, as if its worker had died)."""
    now = timezone.now()
    if backup.started_at and (now - backup.started_at).total_seconds() > settings.BACKUP_MAX_SECONDS:
        return False
    return _save_if_ours(backup, progress_at=now)


@transaction.atomic
def backup_complete(*, backup: Backup, result: vault_io.BackupResult) -> RecoveryPoint | None:
    locked = (
        Backup.objects.select_for_update(of=("self",), no_key=True).select_related("asset", "vault").get(pk=backup.pk)
    )
    if locked.status != BackupStatus.RUNNING or locked.attempts != backup.attempts:
        return None  # someone else finished or re-claimed it meanwhile
    now = timezone.now()
    suspicion = screen_reasons(stats=result.stats, history=point_history(asset=locked.asset))
    point = RecoveryPoint.objects.create(
        public_id=result.point_id,
        asset=locked.asset,
        vault=locked.vault,
        backup=locked,
        status=PointStatus.SUSPICIOUS if suspicion else PointStatus.OK,
        note=" ".join(suspicion),
        data_as_of=result.data_as_of,
        size_bytes=result.size_bytes,
        file_count=result.file_count,
        manifest=result.manifest,
        manifest_sha256=result.manifest_sha256,
        key_id=result.key_id,
        immutable_until=result.immutable_until,
        verified_at=result.verified_at,
        stats=result.stats,
    )
    locked.status = BackupStatus.SUCCEEDED
    locked.finished_at = now
    locked.progress_at = now
    locked.bytes_done = result.size_bytes
    locked.bytes_total = result.size_bytes
    locked.files_done = result.file_count
    locked.save(update_fields=["status", "finished_at", "progress_at", "bytes_done", "bytes_total", "files_done"])
    backup_day_add(backup=locked)
    readiness_facts_changed(asset_ids=[locked.asset_id])
    audit_append(
        action="backup.completed",
        system_actor="system:worker",
        obj=locked.asset,
        payload={
            "backup": str(locked.public_id),
            "point": str(point.public_id),
            "vault": locked.vault.name,
            "bytes": result.size_bytes,
            "files": result.file_count,
            "manifest_sha256": result.manifest_sha256,
            "key_id": result.key_id,
            "immutable_until": result.immutable_until.isoformat() if result.immutable_until else None,
        },
    )
    if suspicion:
        audit_append(
            action="point.suspicious",
            system_actor="system:worker",
            obj=locked.asset,
            payload={"point": str(point.public_id), "reasons": suspicion},
        )
        # The alert belongs to incidents, which inventory does not import: sent by task name.
        send_on_commit(current_app.signature("incidents.point_suspicious_alert"), args=(point.pk,))
    return point


@transaction.atomic
def backup_fail(
    *, backup: Backup, code: str, reason: str, only_attempt: int | None = None, point_id: uuid.UUID | None = None
) -> Backup | None:
    """Mark a backup failed with a reason a person can act on; earlier points are not touched."""
    locked = (
        Backup.objects.select_for_update(of=("self",), no_key=True).select_related("asset", "vault").get(pk=backup.pk)
    )
    if not locked.is_active or (only_attempt is not None and locked.attempts != only_attempt):
        return None
    now = timezone.now()
    # A message naming a source file keeps it only where restorers look (dr_portal/accounts/contents.py).
    words, detail = words_and_detail(reason or "The backup failed without a reason.")
    locked.status = BackupStatus.FAILED
    locked.error_code = code[:32]
    locked.error = words
    locked.finished_at = now
    locked.save(update_fields=["status", "error_code", "error", "finished_at"])
    backup_day_add(backup=locked)
    if locked.started_at is not None:
        # Bytes may have reached the vault; record the attempt as a failed
        # point so it can never be mistaken for (or restored as) a good one.
        RecoveryPoint.objects.create(
            public_id=point_id or uuid.uuid4(),
            asset=locked.asset,
            vault=locked.vault,
            backup=locked,
            status=PointStatus.FAILED,
            data_as_of=locked.started_at,
            size_bytes=locked.bytes_done,
            note=locked.error,
            stats=detail,
        )
    readiness_facts_changed(asset_ids=[locked.asset_id])
    audit_append(
        action="backup.failed",
        system_actor="system:worker",
        obj=locked.asset,
        payload={
            "backup": str(locked.public_id),
            "vault": locked.vault.name,
            "code": code,
            "reason": locked.error,
            **detail,
        },
    )
    return locked


def backup_execute(*, backup_id: int) -> str:
    """Run one backup end to end. Safe to call twice: a second call finds nothing to claim."""
    backup = backup_claim(backup_id=backup_id)
    if backup is None:
        return f"backup {backup_id}: nothing to do"
    policy = backup.asset.policy
    point_id = uuid.uuid4()  # also names the attempt's folder in the vault

    def progress(bytes_done: int, bytes_total: int) -> bool:
        return backup_progress(backup=backup, bytes_done=bytes_done, bytes_total=bytes_total)

    previous, previous_stats = point_previous(asset=backup.asset, vault=backup.vault)
    try:
        # A connector's snapshot (pg_dump, a Redis read, an MLflow capture) saves no progress:
        # its worker keeps the backup's lease from a side thread, up to BACKUP_MAX_SECONDS.
        with kept_alive(partial(backup_alive, backup=backup), every=max(1.0, settings.BACKUP_STALE_SECONDS / 3)):
            result = vault_io.take_backup(
                asset=backup.asset,
                vault=backup.vault,
                point_id=point_id,
                worm_days=policy.worm_days if policy else 0,
                progress=progress,
                previous=previous,
                previous_stats=previous_stats,
            )
    except vault_io.BackupStopped:
        return f"backup {backup.public_id}: stopped, no longer ours"
    except vault_io.VaultIOFailure as failure:
        backup_fail(
            backup=backup, code=failure.code, reason=str(failure), only_attempt=backup.attempts, point_id=point_id
        )
        return f"backup {backup.public_id}: failed ({failure.code})"
    point = backup_complete(backup=backup, result=result)
    if point is None:
        return f"backup {backup.public_id}: finished elsewhere"
    return f"backup {backup.public_id}: ok, point {point.public_id}"


# --- scheduling, reconciling, expiry ----------------------------------------------


def backups_enqueue_due(*, now: datetime | None = None, limit: int = 2000) -> list[Backup]:
    """Queue a backup for every asset whose policy cadence has elapsed since its last backup.

    Reads only assets whose indexed `next_backup_at` has passed or is unknown
    (null: new, or its policy or vault changed), never the backup history; an
    unknown one is worked out from its latest backup and stored. At most
    `limit` are queued per run; the rest stay due for the next.
    """
    now = now or timezone.now()
    queued: list[Backup] = []
    latest = Backup.objects.filter(asset=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    due = (
        Asset.objects.filter(policy__isnull=False, vault__isnull=False)
        .filter(Q(next_backup_at__isnull=True) | Q(next_backup_at__lte=now))
        .exclude(backups__status__in=[BackupStatus.QUEUED, BackupStatus.RUNNING])
        .select_related("policy")
        .annotate(last_backup_at=Subquery(latest))
        .order_by(F("next_backup_at").asc(nulls_first=True), "pk")[:limit]
    )
    for asset in due:
        assert asset.policy is not None
        cadence = asset.policy.backup_cadence_minutes
        last: datetime | None = getattr(asset, "last_backup_at", None)  # annotated above
        when = backup_next_at(last_backup_at=last, cadence_minutes=cadence, now=now)
        if when > now:
            Asset.objects.filter(pk=asset.pk).update(next_backup_at=when)
            continue
        try:
            queued.append(backup_request(asset=asset, by=None, trigger=BackupTrigger.SCHEDULE))
        except (BackupRefused, IntegrityError) as exc:
            log.warning("not scheduling a backup of %s: %s", asset.name, exc)
            # Tried again after one cadence, not every minute.
            Asset.objects.filter(pk=asset.pk).update(next_backup_at=now + timedelta(minutes=cadence))
    return queued


def backups_reconcile(*, now: datetime | None = None) -> list[str]:
    """Re-dispatch queued backups whose message was lost; fail those whose worker went silent for good."""
    now = now or timezone.now()
    stale = timedelta(seconds=settings.BACKUP_STALE_SECONDS)
    done: list[str] = []
    for backup in Backup.objects.stuck(queued_before=now - stale, silent_since=now - stale):
        if backup.status == BackupStatus.QUEUED:
            backup_run_again(backup=backup)
            done.append(f"re-dispatched {backup.public_id}")
        elif backup.attempts >= settings.BACKUP_MAX_ATTEMPTS:
            backup_fail(
                backup=backup,
                code="worker_lost",
                reason=f"The worker stopped reporting {backup.attempts} times; giving up.",
                only_attempt=backup.attempts,
            )
            done.append(f"failed {backup.public_id}")
        else:
            backup_run_again(backup=backup)
            done.append(f"re-dispatched {backup.public_id}")
    return done


@transaction.atomic
def backup_run_again(*, backup: Backup) -> None:
    locked = Backup.objects.select_for_update(no_key=True).get(pk=backup.pk)
    if locked.is_active:
        _enqueue(locked)
