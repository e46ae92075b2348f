"""Writes to the catalogue: assets, dependencies, recovery policies and vaults."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from inventory.fields import ASSET_FIELDS, POLICY_FIELDS, VAULT_FIELDS
from inventory.models import Asset, ReadinessState, RecoveryPolicy, Serving, Vault, VaultKind
from inventory.paths import region_validate, source_validate, vault_path_validate, vault_userinfo_validate
from inventory.policies import TIER_DEFAULTS
from inventory.services.pointers import backups_next_forget
from inventory.services.readiness import readiness_facts_changed
from inventory.verification.models import EvidenceKind
from inventory.verification.services import NO_PARTS, RestoreParts, restore_evidence_record


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return getattr(value, "name", str(value.pk))
    return value


def _assign(instance: Model, fields: Mapping[str, Any], allowed: Collection[str]) -> dict[str, list[Any]]:
    """Set fields on `instance`; returns {field: [old, new]} for those that changed."""
    unknown = sorted(set(fields).difference(allowed))
    if unknown:
        raise ValidationError({unknown[0]: "This field cannot be set here."})
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        old = getattr(instance, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(instance, name, value)
    return changes


def _validate_vault_config(vault: Vault) -> None:
    config = vault.config
    if not isinstance(config, dict):
        raise ValidationError({"config": "The configuration is a mapping of settings."})
    if vault.kind == VaultKind.FILESYSTEM and not str(config.get("path", "")).strip():
        raise ValidationError({"config": 'A filesystem vault needs {"path": "/where/points/go"}.'})
    if vault.kind == VaultKind.S3 and not str(config.get("bucket", "")).strip():
        raise ValidationError({"config": 'An S3 vault needs {"bucket": "name"} (and optionally prefix, endpoint_url).'})
    if vault.kind == VaultKind.FILESYSTEM:
        vault_path_validate(str(config["path"]).strip())
    vault_userinfo_validate(config)
    secrets = {k for k in config if any(word in k.lower() for word in ("secret", "password", "key"))}
    if secrets:
        raise ValidationError({"config": f"Secrets such as {sorted(secrets)[0]!r} come from the environment."})


# --- assets ---------------------------------------------------------------------


def _validate_asset_paths(asset: Asset) -> None:
    region_validate(asset.region or "", field="region")
    region_validate(asset.alternate_region or "", field="alternate_region")
    source_validate(asset.source_uri or "")


def _connector_given(fields: Mapping[str, Any]) -> bool:
    """Whether the request named a connector and gave it a config (which must then fit the source)."""
    return bool(fields.get("connector")) and bool(fields.get("connector_config"))


@transaction.atomic
def asset_create(*, by: User | None, fields: Mapping[str, Any], system_actor: str = "system:import") -> Asset:
    """Register an asset. `fields` are Asset field names (policy and vault as rows)."""
    asset = Asset()
    _assign(asset, fields, ASSET_FIELDS)
    asset._connector_given = _connector_given(fields)
    if asset.policy_id:
        asset.policy_assigned_at = timezone.now()
    _validate_asset_paths(asset)
    asset.full_clean()
    asset.save(force_insert=True)
    ReadinessState.objects.create(asset=asset, next_change_at=timezone.now())
    readiness_facts_changed(asset_ids=[asset.pk])
    audit_append(
        action="asset.created",
        actor=by,
        system_actor=system_actor,
        obj=asset,
        payload={name: _jsonable(getattr(asset, name)) for name in sorted(ASSET_FIELDS)},
    )
    return asset


@transaction.atomic
def asset_update(*, asset: Asset, by: User | None, fields: Mapping[str, Any]) -> Asset:
    locked = Asset.objects.select_for_update(no_key=True).get(pk=asset.pk)
    changes = _assign(locked, fields, ASSET_FIELDS)
    if not changes:
        return locked
    locked._connector_given = _connector_given(fields)
    _validate_asset_paths(locked)
    locked.full_clean()
    update = [*changes, "updated_at"]
    locked.updated_at = timezone.now()
    if "policy" in changes:
        # A new policy restarts the clock for a first drill.
        locked.policy_assigned_at = timezone.now() if locked.policy_id else None
        update.append("policy_assigned_at")
    locked.save(update_fields=update)
    if "policy" in changes or "vault" in changes:
        backups_next_forget(asset_ids=[locked.pk])
    readiness_facts_changed(asset_ids=[locked.pk])
    audit_append(action="asset.updated", actor=by, system_actor="system:import", obj=locked, payload=changes)
    return locked


@transaction.atomic
def asset_drill_record(*, asset: Asset, drilled_at: datetime, evidence: str, by: User | None = None) -> Asset:
    """Record a successful recovery drill; the readiness drill check reads it.

    The incidents app calls this when a drill run verifies the asset.
    """
    locked = Asset.objects.select_for_update(no_key=True).get(pk=asset.pk)
    if locked.last_drill_at is None or drilled_at > locked.last_drill_at:
        locked.last_drill_at = drilled_at
        locked.save(update_fields=["last_drill_at"])
        readiness_facts_changed(asset_ids=[locked.pk])
    audit_append(
        action="asset.drill_recorded",
        actor=by,
        system_actor="system:drills",
        obj=locked,
        payload={"drilled_at": drilled_at.isoformat(), "evidence": evidence},
    )
    return locked


@transaction.atomic
def asset_recovery_record(
    *,
    asset: Asset,
    mode: str,
    finished_at: datetime,
    rto_seconds: int,
    rpo_seconds: int | None,
    run_id: uuid.UUID,
    by: User | None = None,
    parts: RestoreParts = NO_PARTS,
) -> Asset:
    """Record a measured recovery (achieved RTO and RPO) of `asset`; readiness shows the newest.

    A successful drill also moves the drill clock, through `asset_drill_record`.
    """
    locked = Asset.objects.select_for_update(no_key=True).get(pk=asset.pk)
    if locked.measured_at is None or finished_at >= locked.measured_at:
        locked.measured_at = finished_at
        locked.measured_mode = mode
        locked.measured_rto_seconds = max(0, rto_seconds)
        locked.measured_rpo_seconds = None if rpo_seconds is None else max(0, rpo_seconds)
        locked.measured_run = run_id
        locked.save(
            update_fields=[
                "measured_at",
                "measured_mode",
                "measured_rto_seconds",
                "measured_rpo_seconds",
                "measured_run",
            ]
        )
        readiness_facts_changed(asset_ids=[locked.pk])
    audit_append(
        action="asset.recovery_measured",
        actor=by,
        system_actor="system:runs",
        obj=locked,
        payload={
            "run": str(run_id),
            "mode": mode,
            "finished_at": finished_at.isoformat(),
            "rto_seconds": rto_seconds,
            "rpo_seconds": rpo_seconds,
        },
    )
    restore_evidence_record(
        asset=locked,
        kind=EvidenceKind.DRILL if mode == "drill" else EvidenceKind.RECOVERY,
        started_at=finished_at - timedelta(seconds=max(0, rto_seconds)),
        finished_at=finished_at,
        rto_seconds=rto_seconds,
        rpo_seconds=rpo_seconds,
        rto_target_seconds=locked.policy.rto_minutes * 60 if locked.policy else None,
        run_id=run_id,
        **asdict(parts),
    )
    if mode == "drill":
        return asset_drill_record(asset=locked, drilled_at=finished_at, evidence=f"recovery run {run_id}", by=by)
    return locked


@transaction.atomic
def asset_serving_switch(*, asset: Asset, to: str, reason: str, by: User | None = None) -> Asset:
    """Make the primary, the alternate region or the fallback what serves `asset`."""
    if to not in Serving.values:
        raise ValidationError({"serving": f"Unknown serving mode {to!r}."})
    locked = Asset.objects.select_for_update(no_key=True).get(pk=asset.pk)
    if to == Serving.ALTERNATE and not locked.alternate_region:
        raise ValidationError({"serving": f"{locked.name} has no alternate region."})
    previous = locked.serving
    if previous != to:
        locked.serving = to
        locked.updated_at = timezone.now()
        locked.save(update_fields=["serving", "updated_at"])
    audit_append(
        action="asset.serving_switched",
        actor=by,
        system_actor="system:runs",
        obj=locked,
        payload={"from": previous, "to": to, "reason": reason, "region": _serving_region(locked)},
    )
    return locked


def _serving_region(asset: Asset) -> str:
    return asset.alternate_region if asset.serving == Serving.ALTERNATE else asset.region


# --- policies -------------------------------------------------------------------


@transaction.atomic
def policy_create(*, by: User | None, fields: Mapping[str, Any]) -> RecoveryPolicy:
    policy = RecoveryPolicy()
    _assign(policy, fields, POLICY_FIELDS)
    policy.full_clean()
    policy.save(force_insert=True)
    audit_append(
        action="policy.created",
        actor=by,
        system_actor="system:import",
        obj=policy,
        payload={name: getattr(policy, name) for name in sorted(POLICY_FIELDS)},
    )
    return policy


@transaction.atomic
def policy_update(*, policy: RecoveryPolicy, by: User | None, fields: Mapping[str, Any]) -> RecoveryPolicy:
    locked = RecoveryPolicy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    changes = _assign(locked, fields, POLICY_FIELDS)
    if not changes:
        return locked
    locked.full_clean()
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*changes, "updated_at"])
    if "backup_cadence_minutes" in changes:
        backups_next_forget(policy=locked)
    readiness_facts_changed(asset_ids=list(locked.assets.values_list("pk", flat=True)))
    audit_append(action="policy.updated", actor=by, system_actor="system:import", obj=locked, payload=changes)
    return locked


def policy_default_for_tier(*, tier: int, by: User | None = None) -> RecoveryPolicy:
    """The shared default policy of a tier (see docs/inventory.md), created on first use."""
    default = TIER_DEFAULTS[tier]
    existing = RecoveryPolicy.objects.filter(name=default.name).first()
    if existing is not None:
        return existing
    return policy_create(
        by=by,
        fields={
            "name": default.name,
            "description": f"The default policy for tier {tier} assets.",
            "strategy": default.strategy,
            "rto_minutes": default.rto_minutes,
            "rpo_minutes": default.rpo_minutes,
            "mtd_minutes": default.mtd_minutes,
            "backup_cadence_minutes": default.backup_cadence_minutes,
            "retention_days": default.retention_days,
            "worm_days": default.worm_days,
            "encryption_required": True,
            "allowed_regions": [],
            "drill_cadence_days": default.drill_cadence_days,
            "failover_quorum": default.failover_quorum,
        },
    )


# --- vaults ---------------------------------------------------------------------


@transaction.atomic
def vault_create(*, by: User | None, fields: Mapping[str, Any]) -> Vault:
    vault = Vault()
    _assign(vault, fields, VAULT_FIELDS)
    vault.full_clean()
    _validate_vault_config(vault)
    vault.save(force_insert=True)
    audit_append(
        action="vault.created",
        actor=by,
        system_actor="system:import",
        obj=vault,
        payload={name: getattr(vault, name) for name in sorted(VAULT_FIELDS)},
    )
    return vault


@transaction.atomic
def vault_update(*, vault: Vault, by: User | None, fields: Mapping[str, Any]) -> Vault:
    locked = Vault.objects.select_for_update(no_key=True).get(pk=vault.pk)
    changes = _assign(locked, fields, VAULT_FIELDS)
    if not changes:
        return locked
    locked.full_clean()
    _validate_vault_config(locked)
    locked.save(update_fields=list(changes))
    readiness_facts_changed(asset_ids=list(locked.assets.values_list("pk", flat=True)))
    audit_append(action="vault.updated", actor=by, system_actor="system:import", obj=locked, payload=changes)
    return locked
