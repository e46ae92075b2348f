"""Catalogue writes: validation with field errors, constraints, cycles, audit events."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset, Dependency, RecoveryPolicy
from inventory.services import (
    asset_create,
    asset_update,
    dependency_add,
    dependency_remove,
    policy_create,
    policy_default_for_tier,
    policy_update,
    vault_create,
)
from tests.factories import AssetFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db

POLICY = {
    "name": "gold",
    "strategy": "hot_standby",
    "rto_minutes": 15,
    "rpo_minutes": 5,
    "mtd_minutes": 60,
    "backup_cadence_minutes": 5,
    "retention_days": 30,
    "worm_days": 7,
    "encryption_required": True,
    "allowed_regions": ["eu-west-1"],
    "drill_cadence_days": 30,
    "failover_quorum": 2,
}


def test_policy_create_appends_one_audit_event(admin) -> None:
    policy = policy_create(by=admin, fields=POLICY)
    event = AuditEvent.objects.get(action="policy.created")
    assert event.object_id == str(policy.public_id)
    assert event.actor_label == "ada"
    assert event.payload["rto_minutes"] == 15


def test_policy_rto_must_be_below_mtd_and_the_error_names_the_field(admin) -> None:
    with pytest.raises(ValidationError) as caught:
        policy_create(by=admin, fields={**POLICY, "rto_minutes": 60, "mtd_minutes": 60})
    assert "rto_minutes" in caught.value.message_dict
    assert "must be shorter than the MTD (60 min)" in caught.value.message_dict["rto_minutes"][0]
    assert not RecoveryPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="policy.created").exists()


def test_database_refuses_rto_at_or_above_mtd_even_around_the_service() -> None:
    policy = RecoveryPolicyFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryPolicy.objects.filter(pk=policy.pk).update(rto_minutes=policy.mtd_minutes)


def test_worm_days_cannot_exceed_retention(admin) -> None:
    with pytest.raises(ValidationError) as caught:
        policy_create(by=admin, fields={**POLICY, "worm_days": 40, "retention_days": 30})
    assert "worm_days" in caught.value.message_dict


def test_policy_update_records_what_changed(admin) -> None:
    policy = policy_create(by=admin, fields=POLICY)
    policy_update(policy=policy, by=admin, fields={"rpo_minutes": 10})
    event = AuditEvent.objects.get(action="policy.updated")
    assert event.payload == {"rpo_minutes": [5, 10]}


def test_unchanged_policy_update_writes_nothing(admin) -> None:
    policy = policy_create(by=admin, fields=POLICY)
    policy_update(policy=policy, by=admin, fields={"rpo_minutes": 5})
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


def test_tier_defaults_follow_the_documented_table() -> None:
    tier0 = policy_default_for_tier(tier=0)
    assert (tier0.rto_minutes, tier0.rpo_minutes, tier0.strategy) == (15, 5, "hot_standby")
    tier1 = policy_default_for_tier(tier=1)
    assert (tier1.rto_minutes, tier1.rpo_minutes) == (240, 60)
    assert policy_default_for_tier(tier=0).pk == tier0.pk


def test_asset_create_validates_data_classes_labels_and_source(admin) -> None:
    base = {"name": "fraud", "kind": "model", "owner_team": "risk", "tier": 0, "region": "eu-west-1"}
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**base, "source_uri": "relative/path", "data_classes": ["secret"]})
    errors = caught.value.message_dict
    assert "Unknown data class 'secret'" in errors["data_classes"][0]
    assert "absolute path" in errors["source_uri"][0]
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**base, "source_uri": "/srv/x", "tier": 4})
    assert "tier" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**base, "source_uri": "/srv/x", "labels": {"a": 1}})
    assert "labels" in caught.value.message_dict
    asset = asset_create(by=admin, fields={**base, "source_uri": "s3://bucket/models/fraud", "data_classes": ["phi"]})
    assert Asset.objects.get(pk=asset.pk).data_classes == ["phi"]
    assert AuditEvent.objects.filter(action="asset.created", object_id=str(asset.public_id)).count() == 1


def test_asset_update_restarts_the_drill_clock_when_the_policy_changes(admin) -> None:
    asset = AssetFactory.create(policy_assigned_at=None)
    new_policy = RecoveryPolicyFactory.create()
    updated = asset_update(asset=asset, by=admin, fields={"policy": new_policy})
    assert updated.policy_assigned_at is not None
    event = AuditEvent.objects.get(action="asset.updated")
    assert event.payload["policy"][1] == new_policy.name


def test_dependency_cycle_is_refused_and_named(admin) -> None:
    a, b, c = AssetFactory.create(name="a"), AssetFactory.create(name="b"), AssetFactory.create(name="c")
    dependency_add(upstream=a, downstream=b, by=admin)
    dependency_add(upstream=b, downstream=c, by=admin)
    with pytest.raises(ValidationError) as caught:
        dependency_add(upstream=c, downstream=a, by=admin)
    assert caught.value.message_dict["upstream"] == ["This would make a cycle: c → a → b → c."]
    assert Dependency.objects.count() == 2


def test_dependency_on_itself_is_refused(admin) -> None:
    a = AssetFactory.create(name="a")
    with pytest.raises(ValidationError, match="cannot depend on itself"):
        dependency_add(upstream=a, downstream=a, by=admin)


def test_dependency_add_twice_keeps_one_edge_and_remove_is_audited(admin) -> None:
    a, b = AssetFactory.create(name="a"), AssetFactory.create(name="b")
    first = dependency_add(upstream=a, downstream=b, by=admin)
    assert dependency_add(upstream=a, downstream=b, by=admin).pk == first.pk
    assert AuditEvent.objects.filter(action="dependency.added").count() == 1
    dependency_remove(dependency=first, by=admin)
    assert not Dependency.objects.exists()
    assert AuditEvent.objects.get(action="dependency.removed").payload == {"upstream": "a", "downstream": "b"}


def test_vault_config_needs_a_path_and_refuses_secrets(admin) -> None:
    with pytest.raises(ValidationError, match="needs"):
        vault_create(by=admin, fields={"name": "v", "kind": "filesystem", "region": "eu-west-1", "config": {}})
    with pytest.raises(ValidationError, match="environment"):
        vault_create(
            by=admin,
            fields={"name": "v", "kind": "s3", "region": "eu-west-1", "config": {"bucket": "b", "secret_key": "x"}},
        )
    vault = vault_create(by=admin, fields={"name": "v", "kind": "s3", "region": "eu-west-1", "config": {"bucket": "b"}})
    assert AuditEvent.objects.get(action="vault.created").object_id == str(vault.public_id)


def test_vault_in_use_cannot_be_deleted() -> None:
    vault = VaultFactory.create()
    AssetFactory.create(vault=vault)
    with pytest.raises(Exception, match="protected"):
        vault.delete()
