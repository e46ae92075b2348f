"""Celery tasks: each takes ids, calls a service and returns a short line."""

from __future__ import annotations

from celery import shared_task

from dr_portal.queue import send_now
from inventory.portal.services import portal_backup, portal_backup_due
from inventory.services import (
    backup_execute,
    backups_enqueue_due,
    backups_reconcile,
    point_verify,
    points_expire_due,
    points_verify_due,
)
from inventory.services.prune import vaults_prune
from inventory.services.readiness import readiness_sweep
from inventory.services.verification import points_verify_reconcile


@shared_task(name="inventory.backup_run")
def backup_run(backup_id: int) -> str:
    return backup_execute(backup_id=backup_id)


@shared_task(name="inventory.backups_schedule", expires=50)
def backups_schedule() -> str:
    queued = backups_enqueue_due()
    return f"queued {len(queued)} scheduled backups"


@shared_task(name="inventory.backups_reconcile", expires=100)
def backups_reconcile_task() -> str:
    done = backups_reconcile()
    resent = points_verify_reconcile()
    if resent:
        done = [*done, f"verify requests sent again: {len(resent)}"]
    return "; ".join(done) or "nothing stuck"


@shared_task(name="inventory.points_expire", expires=3000)
def points_expire() -> str:
    expired = points_expire_due()
    return f"expired {len(expired)} recovery points"


@shared_task(name="inventory.point_verify")
def point_verify_run(point_id: int) -> str:
    point = point_verify(point_id=point_id)
    if point is None:
        return f"point {point_id}: nothing verified"
    return f"point {point.public_id}: {point.status}"


@shared_task(name="inventory.points_verify", expires=3000)
def points_verify() -> str:
    due = points_verify_due()
    return f"queued verification of {len(due)} recovery points"


@shared_task(name="inventory.readiness_sweep", expires=50)
def readiness_sweep_task() -> str:
    return f"assessed the readiness of {readiness_sweep()} assets"


@shared_task(name="inventory.vault_prune", expires=3000)
def vault_prune() -> str:
    return vaults_prune().summary()


@shared_task(name="inventory.portal_backup_schedule", expires=250)
def portal_backup_schedule() -> str:
    if not portal_backup_due():
        return "portal backup not due"
    send_now(portal_backup_run, args=())
    return "portal backup queued"


@shared_task(name="inventory.portal_backup", acks_late=True)
def portal_backup_run() -> str:
    if not portal_backup_due():  # a duplicate message, or one sent before a backup just finished
        return "portal backup not due"
    result = portal_backup()
    return f"portal backed up as {result.point} (audit head {result.head_seq})"
