"""factory_boy factories shared by every test package."""

from __future__ import annotations

from typing import Any

import factory
from django.utils import timezone

from dr_portal.accounts.models import Role, User
from incidents.models import Incident
from incidents.runs.models import RecoveryRun, StepRun
from inventory.models import (
    Asset,
    Backup,
    BackupStatus,
    PlanStep,
    PointStatus,
    RecoveryPlan,
    RecoveryPoint,
    RecoveryPolicy,
    Vault,
)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = Role.VIEWER
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.ADMIN)
    is_superuser = factory.LazyAttribute(lambda o: o.role == Role.ADMIN)

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        # Hashing with Argon2 is deliberately slow; only tests that sign in
        # with a password ask for one.
        if extracted:
            obj.set_password(extracted)
        else:
            obj.set_unusable_password()
        if create:
            obj.save(update_fields=["password"])


# --- inventory ------------------------------------------------------------------


class RecoveryPolicyFactory(factory.django.DjangoModelFactory[RecoveryPolicy]):
    class Meta:
        model = RecoveryPolicy

    name = factory.Sequence(lambda n: f"policy-{n}")
    strategy = "warm_standby"
    rto_minutes = 240
    rpo_minutes = 60
    mtd_minutes = 720
    backup_cadence_minutes = 60
    retention_days = 30
    worm_days = 0
    encryption_required = True
    allowed_regions = factory.LazyFunction(list)
    drill_cadence_days = 90
    failover_quorum = 1


class VaultFactory(factory.django.DjangoModelFactory[Vault]):
    class Meta:
        model = Vault

    name = factory.Sequence(lambda n: f"vault-{n}")
    kind = "filesystem"
    region = "eu-west-1"
    worm_capable = True
    config = factory.LazyAttribute(lambda o: {"path": f"/tmp/{o.name}"})  # noqa: S108 - tests override it


class AssetFactory(factory.django.DjangoModelFactory[Asset]):
    class Meta:
        model = Asset

    name = factory.Sequence(lambda n: f"asset-{n}")
    kind = "model"
    owner_team = "ml-platform"
    tier = 1
    data_classes = factory.LazyFunction(lambda: ["none"])
    region = "eu-west-1"
    environment = "production"
    source_uri = factory.LazyAttribute(lambda o: f"/srv/{o.name}")
    labels = factory.LazyFunction(dict)
    policy = factory.SubFactory(RecoveryPolicyFactory)
    vault = factory.SubFactory(VaultFactory)
    policy_assigned_at = factory.LazyFunction(timezone.now)


class BackupFactory(factory.django.DjangoModelFactory[Backup]):
    """A backup row; a finished one is also counted in the daily roll-ups, as the services that finish
    backups do (tests/inventory/test_backup_rollups.py proves those services do it themselves)."""

    class Meta:
        model = Backup
        skip_postgeneration_save = True

    asset = factory.SubFactory(AssetFactory)
    vault = factory.LazyAttribute(lambda o: o.asset.vault)
    trigger = "manual"
    status = BackupStatus.SUCCEEDED
    finished_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def rollup(obj: Backup, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted is not False and obj.status in (BackupStatus.SUCCEEDED, BackupStatus.FAILED):
            from inventory.services.rollups import backup_day_add

            backup_day_add(backup=obj)


class RecoveryPointFactory(factory.django.DjangoModelFactory[RecoveryPoint]):
    class Meta:
        model = RecoveryPoint
        skip_postgeneration_save = True

    asset = factory.SubFactory(AssetFactory)
    vault = factory.LazyAttribute(lambda o: o.asset.vault)
    status = PointStatus.OK
    data_as_of = factory.LazyFunction(timezone.now)
    created_at = factory.LazyAttribute(lambda o: o.data_as_of)
    size_bytes = 1024
    file_count = 1
    manifest = factory.LazyFunction(lambda: {"files": [{"path": "a.bin", "size": 1024, "sha256": "0" * 64}]})
    manifest_sha256 = "f" * 64
    key_id = "k1"
    verified_at = factory.LazyAttribute(lambda o: o.data_as_of)

    @factory.post_generation
    def newest_pointer(obj: RecoveryPoint, create: bool, extracted: object, **kwargs: object) -> None:
        # Like every service that writes a point, keep the asset's newest-point pointer.
        if create:
            from inventory.services.pointers import points_newest_refresh

            points_newest_refresh(asset_ids=[obj.asset_id])


# --- plans and runs ----------------------------------------------------------------


class RecoveryPlanFactory(factory.django.DjangoModelFactory[RecoveryPlan]):
    class Meta:
        model = RecoveryPlan

    name = factory.Sequence(lambda n: f"plan-{n}")


class PlanStepFactory(factory.django.DjangoModelFactory[PlanStep]):
    class Meta:
        model = PlanStep

    plan = factory.SubFactory(RecoveryPlanFactory)
    key = factory.Sequence(lambda n: f"step-{n}")
    title = "Restore"
    kind = "restore"
    asset = factory.SubFactory(AssetFactory)
    group = 1
    position = factory.Sequence(lambda n: n + 1)


class RecoveryRunFactory(factory.django.DjangoModelFactory[RecoveryRun]):
    class Meta:
        model = RecoveryRun

    plan = factory.SubFactory(RecoveryPlanFactory)
    plan_version = 1
    mode = "drill"
    outage_started_at = factory.LazyFunction(timezone.now)


class StepRunFactory(factory.django.DjangoModelFactory[StepRun]):
    class Meta:
        model = StepRun

    run = factory.SubFactory(RecoveryRunFactory)
    key = factory.Sequence(lambda n: f"step-{n}")
    title = "Restore"
    kind = "restore"
    asset = factory.SubFactory(AssetFactory)
    group = 1
    position = factory.Sequence(lambda n: n + 1)
    timeout_seconds = 600
    params_digest = "0" * 64


# --- incidents ------------------------------------------------------------------


class IncidentFactory(factory.django.DjangoModelFactory[Incident]):
    """A bare incident row. Tests of behaviour declare through `incident_declare` instead."""

    class Meta:
        model = Incident

    title = factory.Sequence(lambda n: f"Incident {n}")
    severity = "SEV2"
    severity_rule = "Set by the test."
    category = "availability"


def decide_mandatory_assessments(incident: Any, by: Any) -> None:
    """Settle the determinations an incident's personal-data or PHI assets make mandatory, so it may close."""
    from incidents.compliance.obligations import obligations_settle

    obligations_settle(
        incident=incident,
        decisions={
            "gdpr": {"gdpr.personal_data": "yes", "gdpr.risk": "risk", "gdpr.art34": "not_high_risk"},
            "hipaa": {"hipaa.phi": "yes", "hipaa.outcome": "breach"},
        },
        why="Decided in the test set-up, as the assets' data classes require.",
        by=by,
    )


def sign_required(incident: Any, commander: Any, compliance: Any) -> None:
    """The default required sign-offs (incident commander, compliance officer), each with a verified factor."""
    from incidents.compliance.signoffs import signoff_record

    for user, duty in ((commander, "incident_commander"), (compliance, "compliance_officer")):
        signer = User.objects.get(pk=user.pk)
        signer.is_verified = lambda: True  # type: ignore[attr-defined]  # as django-otp marks a checked code
        signoff_record(incident=incident, by=signer, duty=duty, decision="signed")
