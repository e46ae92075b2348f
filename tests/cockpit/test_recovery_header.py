"""Item 2: the incident header says how recovery stands, how long since declared, and the next deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from incidents.runs.services import step_approve
from tests.cockpit.conftest import waiting_step

pytestmark = pytest.mark.django_db


def _header(html: str) -> str:
    start = html.index('id="incident-head"')
    return html[start : html.index("</section>", start)]


def test_header_names_the_waiting_run_with_approvals_missing_and_time_waiting(
    client_for, commander, oncall, sev1
) -> None:
    step = waiting_step(incident=sev1, by=commander, quorum=2)
    step_approve(step=step, by=oncall, comment="checked")
    with time_machine.travel(timezone.now() + timedelta(minutes=4, seconds=5)):
        head = _header(client_for(commander).get(reverse("incidents:detail", args=[sev1.public_id])).content.decode())
    assert f"<strong>{step.run.reference}</strong> waiting for 1 of 2 on-call approvals (Tell customers), 4 min" in head


def test_header_shows_time_since_declared_and_the_next_regulatory_deadline(client_for, commander, sev1) -> None:
    sev1.aware_at = sev1.declared_at
    sev1.personal_data = True
    sev1.save()
    with time_machine.travel(sev1.declared_at + timedelta(hours=2, minutes=5)):
        head = _header(client_for(commander).get(reverse("incidents:detail", args=[sev1.public_id])).content.decode())
    assert "<strong>2 h 5 min</strong> ago" in head
    assert "Next deadline" in head and "GDPR" in head and "due in 2 d 21 h" in head


def test_runs_card_sits_above_the_timeline_with_a_start_button(client_for, commander, sev1) -> None:
    html = client_for(commander).get(reverse("incidents:detail", args=[sev1.public_id])).content.decode()
    assert html.index('id="recovery"') < html.index('id="timeline"')
    assert f"/runs/new/?incident={sev1.public_id}" in html
    assert "no run in progress" in _header(html)


def test_live_poll_refreshes_the_header_with_the_run_state(client_for, commander, sev1) -> None:
    client = client_for(commander)
    url = reverse("incidents:timeline", args=[sev1.public_id]) + "?after=0"
    waiting_step(incident=sev1, by=commander, quorum=1)
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="incident-head" class="incident-head" hx-swap-oob="true"' in body
    assert "waiting for 1 of 1 on-call approval (Tell customers)" in body
