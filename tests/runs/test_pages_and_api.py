"""The run pages, the approvals page and the API, through HTTP."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.runs.models import StepState
from tests.db_state import nothing_changes
from tests.factories import IncidentFactory
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated(model, commander):
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "failover", "kind": "failover", "asset": model.name, "after": ["restore"]},
        ],
        name="gated",
    )
    return drive(start_run(plan=plan, mode="recovery", by=commander))


def test_commander_previews_then_starts_a_drill_from_the_page(simple_plan, commander, client_for) -> None:
    drill = IncidentFactory.create(kind="drill", title="Quarterly drill")
    client = client_for(commander)
    page = client.get("/runs/new/", {"plan": simple_plan.public_id, "mode": "drill", "incident": drill.public_id})
    text = page.content.decode()
    assert page.status_code == 200 and "Bytes to move" in text and "RTO forecast" in text
    assert "No restore has been measured yet" in text, "the fallback throughput is labelled as such"
    response = client.post("/runs/new/", {"plan": simple_plan.public_id, "mode": "drill", "incident": drill.public_id})
    assert response.status_code == 302
    run = drill.recovery_runs.get()
    assert response["Location"] == f"/runs/{run.public_id}/"
    incident_page = client.get(f"/incidents/{drill.public_id}/").content.decode()
    assert run.reference in incident_page


def test_a_drill_cannot_start_from_a_real_incident(simple_plan, commander, client_for) -> None:
    real = IncidentFactory.create(kind="real")
    response = client_for(commander).post(
        "/runs/new/", {"plan": simple_plan.public_id, "mode": "drill", "incident": real.public_id}
    )
    assert "is a real incident" in response.content.decode()


def test_live_page_polls_while_active_and_stops_when_finished(simple_plan, commander, client_for) -> None:
    run = start_run(plan=simple_plan, mode="drill", by=commander)
    client = client_for(commander)
    live = client.get(f"/runs/{run.public_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in live and "queued, waiting for workers" in live
    drive(run)
    done = client.get(f"/runs/{run.public_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in done and "Succeeded" in done and "files' SHA-256 verified" in done


def test_live_page_with_fifty_steps_renders_in_a_constant_number_of_queries(model, commander, client_for) -> None:
    steps = [{"key": "restore", "kind": "restore", "asset": model.name}]
    steps += [{"key": f"wait-{i}", "kind": "notify", "message": "x", "after": ["restore"]} for i in range(49)]
    run = start_run(plan=make_plan(steps, name="fifty"), mode="drill", by=commander)
    client = client_for(commander)
    client.get(f"/runs/{run.public_id}/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/runs/{run.public_id}/", HTTP_HX_REQUEST="true")
    assert page.content.decode().count('<tr id="step-') == 50
    assert len(queries) < 25, [q["sql"][:80] for q in queries]


def test_approvals_page_shows_exactly_what_will_happen(gated, oncall, client_for) -> None:
    page = client_for(oncall, mfa=True).get("/approvals/").content.decode()
    step = gated.steps.get(key="failover")
    assert step.title in page and "eu-central-1" in page and "Data-loss window" in page
    assert "chris" in page or str(gated.requested_by) in page
    assert step.params_digest in page and 'name="comment"' in page


def test_approving_needs_a_second_factor(gated, oncall, client_for) -> None:
    step = gated.steps.get(key="failover")
    response = client_for(oncall).post(
        f"/runs/steps/{step.public_id}/decide/", {"decision": "approve", "comment": "ok"}
    )
    assert response.status_code == 302 and "/accounts/mfa/" in response["Location"]
    step.refresh_from_db()
    assert step.state == StepState.WAITING_APPROVAL


def test_approve_from_the_page_with_mfa_starts_the_step(gated, oncall, client_for) -> None:
    step = gated.steps.get(key="failover")
    client = client_for(oncall, mfa=True)
    no_comment = client.post(f"/runs/steps/{step.public_id}/decide/", {"decision": "approve", "comment": ""})
    assert no_comment.status_code == 302
    step.refresh_from_db()
    assert step.state == StepState.WAITING_APPROVAL
    partial = client.post(
        f"/runs/steps/{step.public_id}/decide/",
        {"decision": "approve", "comment": "point and region checked"},
        HTTP_HX_REQUEST="true",
    )
    assert "No recovery steps are waiting" in partial.content.decode()
    step.refresh_from_db()
    assert step.state == StepState.QUEUED


def test_requester_sees_why_they_cannot_approve(gated, commander, client_for) -> None:
    page = client_for(commander, mfa=True).get("/approvals/").content.decode()
    assert "You asked for this step" in page and 'name="comment"' not in page


def test_skip_and_retry_from_the_page(simple_plan, model, commander, client_for) -> None:
    run = drive(start_run(plan=simple_plan, mode="drill", by=commander))
    assert run.status == "succeeded"
    plan = make_plan([{"key": "golden", "kind": "smoke", "asset": model.name, "check": "golden-output"}], name="g")
    (__import__("pathlib").Path(model.source_uri) / "golden.json").write_text('{"inputs": [], "outputs": [1]}')
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    step = run.steps.get()
    assert step.state == StepState.FAILED
    client = client_for(commander)
    form = client.get(f"/runs/steps/{step.public_id}/skip/")
    assert "critical" in form.content.decode()
    client.post(f"/runs/steps/{step.public_id}/skip/", {"reason": "golden data is being regenerated"})
    step.refresh_from_db()
    assert step.state == StepState.SKIPPED
    assert drive(run).status == "partially_failed"


def test_api_dry_run_start_and_read(simple_plan, commander, client_for) -> None:
    client = client_for(commander)
    preview = client.post(
        "/api/v1/runs/dry-run/", {"plan": str(simple_plan.public_id), "mode": "drill"}, content_type="application/json"
    ).json()
    assert preview["problems"] == [] and preview["bytes_total"] > 0 and preview["throughput_measured"] is False
    drill = IncidentFactory.create(kind="drill")
    created = client.post(
        "/api/v1/runs/",
        {"plan": str(simple_plan.public_id), "mode": "drill", "incident": str(drill.public_id)},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "queued" and body["queue_position"] == 1 and len(body["steps"]) == 3
    read = client.get(f"/api/v1/runs/{body['id']}/").json()
    assert read["incident"] == str(drill.public_id)


def test_api_approve_needs_an_mfa_token_and_not_the_requester(gated, commander, oncall, client_for) -> None:
    step = gated.steps.get(key="failover")
    url = f"/api/v1/runs/steps/{step.public_id}/approve/"
    without = client_for(oncall).post(url, {"comment": "ok"}, content_type="application/json")
    assert without.status_code == 403 and without.json()["error"]["code"] == "mfa_required"
    as_requester = client_for(commander, mfa=True)
    with nothing_changes(step):
        own = as_requester.post(url, {"comment": "ok"}, content_type="application/json")
    assert own.status_code == 409 and "someone else" in own.json()["error"]["detail"]
    assert own.json()["error"]["code"] == "run_refused"
    ok = client_for(oncall, mfa=True).post(url, {"comment": "ok"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "queued"
    pending = client_for(oncall, mfa=True).get("/api/v1/runs/approvals/").json()
    assert pending == []


def test_api_lists_pending_approvals_with_what_will_happen(gated, oncall, client_for) -> None:
    pending = client_for(oncall, mfa=True).get("/api/v1/runs/approvals/").json()
    assert len(pending) == 1
    item = pending[0]
    assert item["step"]["target_region"] == "eu-central-1" and item["requested_by"] == "chris"
    assert item["data_loss_seconds"] is not None and item["you_may_decide"] is True


def test_viewer_cannot_cancel_through_the_api(simple_plan, commander, viewer, client_for) -> None:
    run = start_run(plan=simple_plan, mode="drill", by=commander)
    response = client_for(viewer).post(
        f"/api/v1/runs/{run.public_id}/cancel/", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_plan_api_refuses_a_cycle_and_generates_a_default(model, admin, client_for) -> None:
    client = client_for(admin, mfa=True)
    cycle = client.post(
        "/api/v1/inventory/plans/",
        {
            "name": "loop",
            "steps": [
                {"key": "a", "kind": "restore", "asset": model.name, "after": ["b"]},
                {"key": "b", "kind": "verify", "asset": model.name, "after": ["a"]},
            ],
        },
        content_type="application/json",
    )
    assert cycle.status_code == 400 and "circle" in str(cycle.json())
    default = client.post("/api/v1/inventory/plans/default/", {"assets": [model.name]}, content_type="application/json")
    created = client.post("/api/v1/inventory/plans/", default.json(), content_type="application/json")
    assert created.status_code == 201 and created.json()["version"] == 1


def test_a_plans_start_link_shows_the_dry_run_before_an_incident_is_chosen(simple_plan, commander, client_for) -> None:
    """The plan page's "Dry run / start" names the plan and the mode only. The page showed "This field is
    required." under Incident before anyone had typed, and no dry run ("Choose a plan and a mode")."""
    IncidentFactory.create(kind="drill", title="Quarterly drill")
    client = client_for(commander)
    text = client.get("/runs/new/", {"plan": simple_plan.public_id, "mode": "drill"}).content.decode()
    assert "Bytes to move" in text and "RTO forecast" in text
    assert "This field is required." not in text and 'aria-invalid="true"' not in text
    # The preview on change (no incident yet) shows it too; starting without one is still refused.
    partial = client.post("/runs/new/", {"plan": simple_plan.public_id, "mode": "drill", "dry_run": "1"})
    assert "Bytes to move" in partial.content.decode()
    started = client.post("/runs/new/", {"plan": simple_plan.public_id, "mode": "drill"})
    assert started.status_code == 200 and "This field is required." in started.content.decode()
    assert not simple_plan.runs.exists()
