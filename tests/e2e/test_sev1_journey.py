"""Issue 18's done-when: a SEV1 from an alert pages the on-call (acknowledged from the email link), the
commander sees the run waiting in the incident header, and the on-call approves from the dashboard in one form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from dr_portal.accounts.models import Role
from incidents.intake import InboundAlert, InboundBatch
from incidents.models import Delivery, Incident
from incidents.paging.models import EscalationPolicy, Page, PageStatus, Schedule
from incidents.paging.schedules import layer_add, level_add
from incidents.paging.services import pages_escalate
from incidents.runs.models import StepRun, StepState
from incidents.services.alerts import alerts_ingest
from incidents.services.outbound import delivery_attempt
from tests.cockpit.conftest import waiting_step
from tests.conftest import enrol_totp, totp_now
from tests.factories import AssetFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")


def test_sev1_from_alert_to_page_ack_to_header_to_one_form_approval(live_server, browser, settings, tmp_path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.SITE_URL = live_server.url
    commander = UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    oncall = UserFactory.create(username="oli", role=Role.ONCALL_ENGINEER, password="browser password")
    device = enrol_totp(oncall)
    AssetFactory.create(name="fraud-model", owner_team="ml-platform")
    schedule = Schedule.objects.create(team="ml-platform", name="ML platform on call")
    layer_add(schedule=schedule, name="weekly", members=[oncall.pk], starts_at=timezone.now() - timedelta(hours=1))
    level_add(policy=EscalationPolicy.objects.create(severity="SEV1"), schedule=schedule)

    # An alert opens a SEV1; beat pages the on-call; the worker sends the email.
    alert = InboundAlert(
        fingerprint="fp-1",
        status="firing",
        labels={"alertname": "FraudScoringDown", "severity": "critical", "asset": "fraud-model"},
        annotations={"summary": "error rate above 5 %"},
        starts_at=None,
        ends_at=None,
    )
    alerts_ingest(batch=InboundBatch(source="alertmanager", group_key="fraud", alerts=[alert]))
    incident = Incident.objects.get()
    assert incident.severity == "SEV1"
    pages_escalate()
    delivery_attempt(delivery_id=Delivery.objects.get(event="page", channel="email").pk)
    found = re.search(r"Acknowledge \(one click[^:]*: (\S+)", str(mail.outbox[-1].body))
    assert found is not None, "the email carries the acknowledgement link"
    link = found.group(1)

    # The on-call acknowledges from the email link, without signing in.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    tab = phone.new_page()
    tab.goto(link)
    tab.get_by_role("button", name="Acknowledge").click()
    tab.wait_for_selector("text=Escalation has stopped")
    page = Page.objects.get(incident=incident)
    assert page.status == PageStatus.ACKNOWLEDGED and page.acknowledged_via == "email link"
    phone.close()

    # The commander starts a run that needs an on-call approval and sees it in the header.
    step = waiting_step(incident=incident, by=commander, quorum=1, title="Switch fraud scoring to eu-central")
    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = desk.new_page()
    _sign_in(tab, live_server.url, "chris")
    tab.goto(f"{live_server.url}/incidents/{incident.public_id}/")
    head = tab.locator("#incident-head").inner_text()
    assert f"{step.run.reference}\nwaiting for 1 of 1 on-call approval (Switch fraud scoring to eu-central)" in head
    desk.close()

    # The on-call approves from the dashboard: one form, comment and decision together.
    laptop = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = laptop.new_page()
    _sign_in(tab, live_server.url, "oli")
    tab.wait_for_url(re.compile(r".*/accounts/mfa/.*"))
    tab.fill("#id_code", totp_now(device))
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/")
    assert tab.title().startswith("(1) ")
    card = tab.locator(f"#need-{step.public_id}")
    assert "SEV1" in card.inner_text() and "0 of 1" in card.inner_text()
    card.locator("input[name=comment]").fill("Checked the target region is healthy")
    card.get_by_role("button", name="Approve").click()
    tab.wait_for_selector("text=Nothing waits for your decision.")
    assert not tab.title().startswith("(")
    laptop.close()
    step.refresh_from_db()
    assert step.state == StepState.QUEUED
    assert StepRun.objects.get(pk=step.pk).approvals.get().comment == "Checked the target region is healthy"
