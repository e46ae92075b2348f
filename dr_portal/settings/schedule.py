"""Settings: the one beat schedule: every periodic task and how often it runs."""

from __future__ import annotations

from dr_portal.settings.audit import AUDIT_CHECKPOINT_SECONDS, AUDIT_VERIFY_SECONDS
from dr_portal.settings.workers import (
    PAGING_ESCALATE_SECONDS,
    RUN_RECONCILE_SECONDS,
    RUN_RECONCILE_SECONDS_BY_TIER,
    VAULT_PRUNE_SECONDS,
)

# --- Periodic tasks (the one beat schedule) ---------------------------------------

# Every periodic task, keyed by its task name (`<app>.<action>`); seconds between runs. An extra entry for
# the same task is keyed `<app>.<action>_<qualifier>` (tests/test_queue.py holds every key to that).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    name: {"task": name, "schedule": float(seconds)}
    for name, seconds in {
        "ops.heartbeat": 15,
        "inventory.backups_schedule": 60,
        "inventory.backups_reconcile": 120,
        "inventory.points_expire": 3600,
        "inventory.points_verify": 3600,
        "inventory.vault_prune": VAULT_PRUNE_SECONDS,
        "inventory.readiness_sweep": 60,
        "inventory.portal_backup_schedule": 300,
        "incidents.deadlines_scan": 300,
        "incidents.deliveries_reconcile": 120,
        "incidents.drills_schedule": 3600,
        "incidents.reports_reconcile": 300,
        "runs.reconcile": RUN_RECONCILE_SECONDS,
        "paging.escalate": PAGING_ESCALATE_SECONDS,
        "restoretests.schedule": 60,
        "audit.checkpoint": AUDIT_CHECKPOINT_SECONDS,
        "audit.verify": AUDIT_VERIFY_SECONDS,
    }.items()
}
# A tier that wants its lost steps found sooner than RUN_RECONCILE_SECONDS gets its own, narrower
# pass: it only re-sends that tier's lost or lapsed steps (incidents/runs/services/reconcile.py).
for _tier, _seconds in sorted(RUN_RECONCILE_SECONDS_BY_TIER.items()):
    if _seconds < RUN_RECONCILE_SECONDS:
        CELERY_BEAT_SCHEDULE[f"runs.reconcile_tier{_tier}"] = {
            "task": "runs.reconcile",
            "schedule": float(_seconds),
            "kwargs": {"tiers": [_tier]},
        }
