"""Inventory writes; each is one transaction that appends its audit event."""

from __future__ import annotations

from inventory.services.backups import (
    BackupRefused,
    backup_claim,
    backup_complete,
    backup_execute,
    backup_fail,
    backup_progress,
    backup_request,
    backups_enqueue_due,
    backups_reconcile,
)
from inventory.services.catalog import (
    asset_create,
    asset_drill_record,
    asset_recovery_record,
    asset_serving_switch,
    asset_update,
    policy_create,
    policy_default_for_tier,
    policy_update,
    vault_create,
    vault_update,
)
from inventory.services.dependencies import dependency_add, dependency_remove
from inventory.services.expiry import point_expire, points_expire_due
from inventory.services.plan_default import plan_default_data
from inventory.services.plans import plan_parse, plan_save, plan_to_data
from inventory.services.screening import ScreeningRefused, point_release
from inventory.services.verification import VerifyRefused, point_verify, point_verify_request, points_verify_due

__all__ = [
    "BackupRefused",
    "ScreeningRefused",
    "VerifyRefused",
    "asset_create",
    "asset_drill_record",
    "asset_recovery_record",
    "asset_serving_switch",
    "asset_update",
    "backup_claim",
    "backup_complete",
    "backup_execute",
    "backup_fail",
    "backup_progress",
    "backup_request",
    "backups_enqueue_due",
    "backups_reconcile",
    "dependency_add",
    "dependency_remove",
    "plan_default_data",
    "plan_parse",
    "plan_save",
    "plan_to_data",
    "point_expire",
    "point_release",
    "point_verify",
    "point_verify_request",
    "points_expire_due",
    "points_verify_due",
    "policy_create",
    "policy_default_for_tier",
    "policy_update",
    "vault_create",
    "vault_update",
]
