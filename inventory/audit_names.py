"""Names inventory objects for the audit page: an asset by its name, a plan and a vault by theirs, with links."""

from __future__ import annotations

import uuid

from django.urls import reverse

from dr_portal.audit.references import register_object_namer
from inventory.models import Asset, RecoveryPlan, RecoveryPolicy, Vault


def _assets(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = Asset.objects.filter(public_id__in=ids).values_list("public_id", "name")
    return {pid: (name, reverse("inventory:asset", args=[pid])) for pid, name in rows}


def _plans(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = RecoveryPlan.objects.filter(public_id__in=ids).values_list("public_id", "name")
    return {pid: (name, reverse("inventory:plan", args=[pid])) for pid, name in rows}


def _vaults(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = Vault.objects.filter(public_id__in=ids).values_list("public_id", "name")
    return {pid: (f"vault {name}", reverse("inventory:vaults")) for pid, name in rows}


def _policies(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = RecoveryPolicy.objects.filter(public_id__in=ids).values_list("public_id", "name")
    return {pid: (f"policy {name}", reverse("inventory:policies")) for pid, name in rows}


def register() -> None:
    register_object_namer("inventory.asset", _assets)
    register_object_namer("inventory.recoveryplan", _plans)
    register_object_namer("inventory.vault", _vaults)
    register_object_namer("inventory.recoverypolicy", _policies)
