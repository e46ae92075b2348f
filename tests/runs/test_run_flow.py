"""A run from start to finish through the services, with real bytes restored and verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import RecoveryRun, RunLock, StepState
from tests.runs.conftest import drive, start_run

pytestmark = pytest.mark.django_db


def test_drill_restores_verifies_checks_measures_and_cleans_up(simple_plan, model, commander, settings) -> None:
    run = start_run(plan=simple_plan, mode="drill", by=commander)
    run = drive(run)
    assert run.status == "succeeded", run.error
    steps = {s.key: s for s in run.steps.all()}
    assert all(s.state == StepState.SUCCEEDED for s in steps.values())
    restore = steps["restore"]
    assert restore.target_path.startswith(str(settings.VAR_DIR / "drills"))
    assert restore.evidence["all_hashes_verified"] is True
    assert steps["verify"].evidence["files_checked"] == 3
    assert steps["golden"].evidence["cases"] == 3
    assert run.achieved_rto_seconds is not None and run.achieved_rpo_seconds is not None
    assert not Path(restore.target_path).exists(), "a drill target is removed afterwards"
    assert not RunLock.objects.exists()
    model.refresh_from_db()
    assert model.last_drill_at is not None and model.measured_rto_seconds == run.achieved_rto_seconds
    actions = list(AuditEvent.objects.filter(object_id=str(run.public_id)).values_list("action", flat=True))
    assert actions[0] == "run.requested" and "run.succeeded" in actions and actions[-1] == "run.cleaned_up"
    assert restore.point is not None and RecoveryRun.objects.get(pk=run.pk).data_as_of == restore.point.data_as_of
