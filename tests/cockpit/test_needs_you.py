"""Item 1: an approver sees waiting steps first on the dashboard and decides them in one form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.runs.models import Approval, StepState
from tests.cockpit.conftest import waiting_step
from tests.conftest import enrol_totp, totp_now

pytestmark = pytest.mark.django_db


def test_dashboard_lists_the_waiting_step_first_with_what_an_approver_needs(client_for, oncall, waiting, sev1) -> None:
    page = client_for(oncall, mfa=True).get(reverse("dashboard")).content.decode()
    needs = page.index('id="needs-you"')
    assert needs < page.index('id="active"'), "needs-you leads the dashboard"
    card = page[needs : page.index('id="active"')]
    assert "Tell customers" in card and sev1.reference in card and "SEV1" in card
    assert "0 of 2" in card, "approvals m of n"
    assert "Switching regions now." in card, "what will happen"
    assert "Expires" in card and "UTC" in card
    assert 'name="code"' not in card, "a verified session is not asked for a code again"


def test_nav_badge_and_title_carry_the_count_for_approvers_only(client_for, oncall, viewer, commander, waiting) -> None:
    page = client_for(oncall).get(reverse("incidents:index")).content.decode()
    assert "<title>(1) " in page
    assert 'id="nav-approvals-count" class="nav-count" aria-label="1 waiting for you">1</span>' in page
    # the requester cannot approve their own request, so nothing waits for them
    asker = client_for(commander).get(reverse("incidents:index")).content.decode()
    assert "<title>(1)" not in asker and "Needs you now" not in client_for(commander).get("/").content.decode()
    assert "<title>(" not in client_for(viewer).get(reverse("incidents:index")).content.decode()


def test_one_form_with_code_and_comment_approves(client, oncall, waiting) -> None:
    device = enrol_totp(oncall)
    client.force_login(oncall)  # signed in, second factor not yet proven this session
    page = client.get("/").content.decode()
    assert 'name="code"' in page and 'name="comment"' in page
    url = reverse("incidents:decide-now", args=[waiting.public_id])
    response = client.post(url, {"decision": "approve", "comment": "Checked the status page", "code": totp_now(device)})
    assert response.status_code == 302
    approval = Approval.objects.get(step=waiting)
    assert approval.approver == oncall and approval.comment == "Checked the status page"


def test_wrong_code_records_nothing_and_says_why(client, oncall, waiting) -> None:
    enrol_totp(oncall)
    client.force_login(oncall)
    url = reverse("incidents:decide-now", args=[waiting.public_id])
    response = client.post(url, {"decision": "approve", "comment": "ok", "code": "000000"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "That code is wrong" in response.content.decode()
    assert not Approval.objects.filter(step=waiting).exists()


def test_htmx_decision_refreshes_the_list_badge_and_title(client_for, oncall, commander, sev1) -> None:
    step = waiting_step(incident=sev1, by=commander, quorum=1)
    client = client_for(oncall, mfa=True)
    url = reverse("incidents:decide-now", args=[step.public_id])
    response = client.post(url, {"decision": "approve", "comment": "Looks right"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Nothing waits for your decision." in body
    assert '<span id="nav-approvals-count" class="nav-count" hx-swap-oob="true"></span>' in body
    assert "<title>Dashboard · DR Portal</title>" in body
    step.refresh_from_db()
    assert step.state == StepState.QUEUED


def test_missing_comment_is_refused_with_the_reason(client_for, oncall, waiting) -> None:
    client = client_for(oncall, mfa=True)
    url = reverse("incidents:decide-now", args=[waiting.public_id])
    body = client.post(url, {"decision": "approve", "comment": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert "Comment: This field is required." in body
    assert not Approval.objects.exists()


def test_viewer_cannot_decide(client_for, viewer, waiting) -> None:
    url = reverse("incidents:decide-now", args=[waiting.public_id])
    assert client_for(viewer).post(url, {"decision": "approve", "comment": "x"}).status_code == 404
