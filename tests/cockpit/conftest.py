"""A recovery step waiting for on-call approval, on a SEV1 incident: what the cockpit is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dr_portal.accounts.models import User
from incidents.models import Incident
from incidents.runs.models import StepRun, StepState
from incidents.runs.services import run_advance, run_start
from inventory.services import plan_save
from tests.factories import IncidentFactory


@pytest.fixture(autouse=True)
def private_checkpoints(settings: Any, tmp_path: Path) -> Path:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"  # approvals export signed checkpoints
    settings.AUDIT_CHECKPOINT_S3_BUCKET = None
    return settings.AUDIT_CHECKPOINT_DIR


@pytest.fixture
def sev1(db: None) -> Incident:
    return IncidentFactory.create(kind="real", severity="SEV1", title="Fraud scoring down")


def waiting_step(*, incident: Incident, by: User, quorum: int = 1, title: str = "Tell customers") -> StepRun:
    plan = plan_save(
        data={
            "name": f"Announce {title}",
            "steps": [
                {
                    "key": "announce",
                    "kind": "notify",
                    "title": title,
                    "message": "Switching regions now.",
                    "approval": {"role": "oncall_engineer", "quorum": quorum},
                }
            ],
        },
        by=None,
    )
    run = run_start(plan=plan, mode="recovery", by=by, incident=incident)
    run_advance(run_id=run.pk)
    step = StepRun.objects.get(run=run)
    assert step.state == StepState.WAITING_APPROVAL
    return step


@pytest.fixture
def waiting(sev1: Incident, commander: User) -> StepRun:
    return waiting_step(incident=sev1, by=commander, quorum=2)
