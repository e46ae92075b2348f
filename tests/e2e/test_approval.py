"""An on-call engineer approves a recovery step in a real browser: second factor, comment, quorum."""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from incidents.runs.models import Approval, StepRun, StepState
from incidents.runs.services import run_advance, run_start
from inventory.services import plan_save
from tests.conftest import enrol_totp, totp_now
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_oncall_approves_a_step_after_proving_a_second_factor(live_server, page, settings, tmp_path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"  # the approval exports a signed checkpoint
    commander = UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER)
    oncall = UserFactory.create(username="oli", role=Role.ONCALL_ENGINEER, password="browser password")
    device = enrol_totp(oncall)
    plan = plan_save(
        data={
            "name": "Switch traffic",
            "steps": [
                {
                    "key": "announce",
                    "kind": "notify",
                    "title": "Tell customers we are switching regions",
                    "message": "Switching now.",
                    "approval": {"role": "oncall_engineer", "quorum": 1},
                }
            ],
        },
        by=None,
    )
    run = run_start(plan=plan, mode="recovery", by=commander, incident=IncidentFactory.create(kind="real"))
    run_advance(run_id=run.pk)
    step = StepRun.objects.get(run=run)
    assert step.state == StepState.WAITING_APPROVAL

    page.goto(f"{live_server.url}/approvals/")
    page.fill("#id_username", "oli")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    # Oli has an authenticator enrolled, so signing in asks for the code before the page.
    page.wait_for_url(f"{live_server.url}/accounts/mfa/?next=/approvals/")
    page.fill("#id_code", totp_now(device))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/approvals/")
    card = page.locator(f"#approval-{step.public_id}")
    assert "Tell customers we are switching regions" in card.inner_text()
    assert commander.get_full_name() in card.inner_text()
    page.fill(f"#comment-{step.public_id}", "Status page text checked with comms")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-approval-before.png"), full_page=True)
    page.get_by_role("button", name="Reject").wait_for()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=No recovery steps are waiting for approval.")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-approval-after.png"), full_page=True)
    step.refresh_from_db()
    assert step.state == StepState.QUEUED
    approval = Approval.objects.get(step=step)
    assert approval.approver == oncall and approval.comment == "Status page text checked with comms"
