"""Who may see and change inventory rows; views, the API and tasks all ask here."""

from __future__ import annotations

from typing import Any

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, check, parse_public_id
from inventory.models import Asset, Backup, RecoveryPlan, RecoveryPoint, RecoveryPolicy, Vault


def access_inventory(user: Any, *, for_write: bool = False) -> None:
    check(user, Perm.MANAGE_INVENTORY if for_write else Perm.VIEW_INVENTORY)


def access_asset_by_id(user: Any, asset_id: Any, *, for_write: bool = False, for_backup: bool = False) -> Asset:
    """The asset, if `user` may see it (and change it, or back it up); otherwise a 404."""
    check(user, Perm.VIEW_INVENTORY)
    if for_write:
        check(user, Perm.MANAGE_INVENTORY)
    if for_backup:
        check(user, Perm.RUN_BACKUPS)
    try:
        return Asset.objects.select_related("policy", "vault").get(public_id=parse_public_id(asset_id))
    except Asset.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_policy_by_id(user: Any, policy_id: Any, *, for_write: bool = False) -> RecoveryPolicy:
    access_inventory(user, for_write=for_write)
    try:
        return RecoveryPolicy.objects.get(public_id=parse_public_id(policy_id))
    except RecoveryPolicy.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_vault_by_id(user: Any, vault_id: Any, *, for_write: bool = False) -> Vault:
    access_inventory(user, for_write=for_write)
    try:
        return Vault.objects.get(public_id=parse_public_id(vault_id))
    except Vault.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_backup_by_id(user: Any, backup_id: Any) -> Backup:
    check(user, Perm.VIEW_INVENTORY)
    try:
        return Backup.objects.select_related("asset", "vault").get(public_id=parse_public_id(backup_id))
    except Backup.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_point_by_id(user: Any, point_id: Any) -> RecoveryPoint:
    check(user, Perm.VIEW_INVENTORY)
    try:
        return RecoveryPoint.objects.select_related("asset", "vault").get(public_id=parse_public_id(point_id))
    except RecoveryPoint.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_plan_by_id(user: Any, plan_id: Any, *, for_write: bool = False) -> RecoveryPlan:
    access_inventory(user, for_write=for_write)
    try:
        return RecoveryPlan.objects.get(public_id=parse_public_id(plan_id))
    except RecoveryPlan.DoesNotExist:
        raise NotFoundOrForbidden from None
