"""A team's schedule with a weekly rotation of two on-call engineers, and SEV1 escalation to the commander."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import Incident, IncidentAsset
from incidents.paging.models import EscalationPolicy, Schedule
from incidents.paging.schedules import layer_add, level_add
from tests.factories import AssetFactory, IncidentFactory


@pytest.fixture(autouse=True)
def private_checkpoints(settings: Any, tmp_path: Path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.SITE_URL = "http://portal.test"


@pytest.fixture
def schedule(oncall: User, oncall2: User) -> Schedule:
    schedule = Schedule.objects.create(team="ml-platform", name="ML platform on call")
    start = timezone.now() - timedelta(hours=1)
    layer_add(schedule=schedule, name="weekly", members=[oncall.pk, oncall2.pk], starts_at=start, shift_hours=168)
    return schedule


@pytest.fixture
def sev1_policy(schedule: Schedule, commander: User) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(severity="SEV1", repeat_minutes=5)
    level_add(policy=policy, schedule=schedule, wait_minutes=10)
    level_add(policy=policy, user=commander, wait_minutes=10)
    return policy


@pytest.fixture
def paged_incident(db: None) -> Incident:
    incident = IncidentFactory.create(kind="real", severity="SEV1", title="Fraud scoring down")
    IncidentAsset.objects.create(
        incident=incident, asset=AssetFactory.create(name="fraud-model", owner_team="ml-platform")
    )
    return incident
