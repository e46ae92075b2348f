"""Drills: started now or opened by the schedule on the policy's cadence; a pass feeds readiness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import DetectionSource, DrillSchedule, Incident, IncidentKind
from incidents.services import (
    IncidentRefused,
    drill_outcome_record,
    drill_schedule_set,
    drill_start,
    drills_open_due,
    incident_declare,
)
from inventory.readiness import asset_readiness
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def drilled_asset(db):
    with time_machine.travel(START, tick=False):
        policy = RecoveryPolicyFactory.create(drill_cadence_days=30)
        return AssetFactory.create(name="claims-model", policy=policy, policy_assigned_at=START)


def test_start_a_drill_now(commander, drilled_asset) -> None:
    drill = drill_start(assets=[drilled_asset], scenario="Restore into staging", by=commander, commander=commander)
    assert drill.kind == IncidentKind.DRILL and drill.severity == "SEV4"
    assert drill.reference.startswith("DRL-")
    assert drill.title == "Drill: claims-model"


def test_a_passed_drill_feeds_the_assets_readiness(commander, drilled_asset) -> None:
    with time_machine.travel(START + timedelta(days=29), tick=False):
        assert asset_readiness(asset=drilled_asset).checks[-4].name == "drill"
    with time_machine.travel(START + timedelta(days=31), tick=False):
        before = next(c for c in asset_readiness(asset=drilled_asset).checks if c.name == "drill")
        assert before.level.key == "breach"
        drill = drill_start(assets=[drilled_asset], scenario="Restore", by=commander, commander=commander)
        drill_outcome_record(
            incident=drill, asset=drilled_asset, outcome="passed", evidence="restored in 12 min", by=commander
        )
        drilled_asset.refresh_from_db()
        assert drilled_asset.last_drill_at == START + timedelta(days=31)
        after = next(c for c in asset_readiness(asset=drilled_asset).checks if c.name == "drill")
        assert after.level.key == "ok"


def test_a_failed_drill_does_not_count(commander, drilled_asset) -> None:
    drill = drill_start(assets=[drilled_asset], scenario="Restore", by=commander)
    drill_outcome_record(
        incident=drill, asset=drilled_asset, outcome="failed", evidence="checksum mismatch", by=commander
    )
    drilled_asset.refresh_from_db()
    assert drilled_asset.last_drill_at is None


def test_drill_outcome_only_on_drills(commander, drilled_asset) -> None:
    real = incident_declare(title="Real", category="availability", assets=[drilled_asset], by=commander)
    with pytest.raises(IncidentRefused, match="not a drill"):
        drill_outcome_record(incident=real, asset=drilled_asset, outcome="passed", evidence="x", by=commander)


def test_schedule_opens_a_drill_when_the_cadence_is_due_and_only_once(admin, drilled_asset) -> None:
    drill_schedule_set(asset=drilled_asset, enabled=True, scenario="Quarterly restore", by=admin)
    with time_machine.travel(START + timedelta(days=29), tick=False):
        assert drills_open_due() == []
    with time_machine.travel(START + timedelta(days=30), tick=False):
        [opened] = drills_open_due()
        assert opened.source == DetectionSource.DRILL_SCHEDULE and opened.summary == "Quarterly restore"
        assert list(opened.assets.all()) == [drilled_asset]
        assert drills_open_due() == []  # one open already
    with time_machine.travel(START + timedelta(days=40), tick=False):
        Incident.objects.filter(pk=opened.pk).update(status="closed", closed_at=START + timedelta(days=39))
        # Closed without a pass: not reopened until the next due date moves.
        assert drills_open_due() == []
    assert DrillSchedule.objects.get().last_opened_at == START + timedelta(days=30)


def test_disabled_or_policy_less_assets_are_not_drilled(admin) -> None:
    bare = AssetFactory.create(policy=None)
    with pytest.raises(IncidentRefused, match="no recovery policy"):
        drill_schedule_set(asset=bare, enabled=True, scenario="", by=admin)
    with time_machine.travel(START + timedelta(days=400), tick=False):
        assert drills_open_due() == []


def test_drills_page_starts_a_drill(client_for, commander, drilled_asset) -> None:
    client = client_for(commander)
    assert "claims-model" in client.get("/drills/").content.decode()
    client.post("/drills/", {"assets": [drilled_asset.pk], "scenario": "Restore into staging"})
    drill = Incident.objects.get()
    assert drill.kind == IncidentKind.DRILL
    client.post("/drills/schedule/", {"asset": drilled_asset.public_id, "enabled": "on"})
    assert DrillSchedule.objects.get().enabled
