"""A drill's run records each asset's drill outcome when it ends, whoever started the drill: the API (CI/CD),
`manage.py drill` (tests/runs/test_ci_drills.py) or the pages. Outcomes a person recorded are theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.accounts.services import token_issue
from dr_portal.audit.models import AuditEvent
from incidents.models import IncidentAsset
from incidents.runs.models import RecoveryRun
from incidents.runs.services import run_cancel
from incidents.services import drill_outcome_record, drill_start
from inventory.models import Asset
from tests.runs.conftest import drive, make_plan, start_run
from tests.runs.test_damaged_points import _packs_of as packs_of

pytestmark = pytest.mark.django_db


def ci_drill(user: User, asset: Asset) -> RecoveryRun:
    token = token_issue(user=user, name="ci", mfa_verified=False).raw
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/drills/", {"assets": [asset.name], "scenario": "CI", "run": True}, content_type="application/json"
    )
    assert answer.status_code == 201, answer.content
    return RecoveryRun.objects.get(public_id=answer.json()["run"]["id"])


def link_of(run: RecoveryRun, asset: Asset) -> IncidentAsset:
    return IncidentAsset.objects.get(incident=run.incident, asset=asset)


def test_a_ci_drill_records_a_passed_outcome_per_asset_like_the_drill_page(
    commander: User, model: Asset, client: Client
) -> None:
    run = ci_drill(commander, model)
    assert link_of(run, model).drill_outcome == "", "nothing is judged before the run ends"
    run = drive(run)
    assert run.status == "succeeded"
    link = link_of(run, model)
    assert link.drill_outcome == "passed" and link.drill_recorded_at is not None
    assert link.drill_evidence.startswith(f"recovery run {run.reference} succeeded, RTO ")
    assert link.drill_evidence.endswith("within the 30 min RTO")
    event = AuditEvent.objects.get(action="drill.outcome_recorded", incident_id=run.incident_uuid)
    assert event.payload == {"asset": model.name, "outcome": "passed", "evidence": link.drill_evidence}
    assert event.actor_id == commander.pk  # the person (or CI token) who started the drill
    # The run moved the drill clock once; recording the outcome does not count the drill twice.
    assert AuditEvent.objects.filter(action="asset.drill_recorded", object_id=str(model.public_id)).count() == 1
    client.force_login(commander)
    assert f"{model.name} passed" in client.get("/drills/").content.decode()


def test_a_ci_drill_over_the_assets_rto_is_a_failed_outcome(commander: User, model: Asset) -> None:
    run = ci_drill(commander, model)
    # The drill began an hour ago by the portal's clock: far over the asset's 30-minute RTO.
    RecoveryRun.objects.filter(pk=run.pk).update(outage_started_at=run.outage_started_at - timedelta(hours=1))
    run = drive(run)
    assert run.status == "succeeded"
    link = link_of(run, model)
    assert link.drill_outcome == "failed"
    assert link.drill_evidence == f"recovery run {run.reference} succeeded but took 1 h, over the 30 min RTO"


def test_a_failed_drill_run_is_a_failed_outcome_with_the_runs_error(commander: User, model: Asset) -> None:
    run = ci_drill(commander, model)
    point = run.steps.get(kind="restore").point
    assert point is not None
    for pack in packs_of(point, "model.json"):
        pack.unlink()  # the model's data is gone from the vault: the restore cannot finish
    run = drive(run)
    assert run.status in ("failed", "partially_failed"), run.status
    link = link_of(run, model)
    assert link.drill_outcome == "failed"
    assert link.drill_evidence.startswith(f"recovery run {run.reference} {run.get_status_display().lower()}: ")


def test_a_drill_run_started_from_the_pages_records_outcomes_the_same_way(commander: User, model: Asset) -> None:
    incident = drill_start(assets=[model], scenario="Quarterly restore of the fraud model", by=commander,
                           commander=commander)  # fmt: skip
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name}], name="fraud restore")
    run = drive(start_run(plan=plan, mode="drill", by=commander, incident=incident))
    assert link_of(run, model).drill_outcome == "passed"


def test_an_outcome_a_person_recorded_is_kept_and_a_cancelled_run_records_none(
    commander: User, model: Asset, make_asset
) -> None:
    other = make_asset("ranker")
    incident = drill_start(assets=[model, other], scenario="s", by=commander, commander=commander)
    drill_outcome_record(incident=incident, asset=model, outcome="failed", evidence="alerts did not fire", by=commander)
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "restore-ranker", "kind": "restore", "asset": other.name},
        ],
        name="both",
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander, incident=incident))
    assert link_of(run, model).drill_outcome == "failed" and link_of(run, model).drill_evidence == "alerts did not fire"
    assert link_of(run, other).drill_outcome == "passed"

    second = drill_start(assets=[model], scenario="s2", by=commander, commander=commander)
    cancelled = start_run(plan=make_plan([{"key": "r", "kind": "restore", "asset": model.name}], name="one"),
                          mode="drill", by=commander, incident=second)  # fmt: skip
    run_cancel(run=cancelled, by=commander, reason="wrong window")
    assert link_of(cancelled, model).drill_outcome == ""
