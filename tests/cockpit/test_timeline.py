"""Item 3: a readable timeline — steps and assets named, comments shown, automatic events folded, alerts grouped."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from incidents.intake import InboundAlert, InboundBatch
from incidents.runs.services import step_approve
from incidents.runs.services.common import audit_step
from incidents.services import note_add
from incidents.services.alerts import alerts_ingest
from tests.cockpit.conftest import waiting_step
from tests.factories import RecoveryRunFactory, StepRunFactory

pytestmark = pytest.mark.django_db


def _page(client, incident, query: str = "") -> str:
    return client.get(reverse("incidents:detail", args=[incident.public_id]) + query).content.decode()


def test_approval_entries_name_the_step_and_carry_the_comment(client_for, commander, oncall, sev1) -> None:
    step = waiting_step(incident=sev1, by=commander, quorum=1)
    step_approve(step=step, by=oncall, comment="Checked the wording with comms")
    html = _page(client_for(commander), sev1, "?kind=recovery")
    run = step.run.reference
    assert f"{run} Tell customers: {oncall.get_full_name()} approved" in html
    assert '<q class="entry-comment">Checked the wording with comms</q>' in html
    assert f"{run} Tell customers: {commander.get_full_name()} asked for 1 approval(s) by On-call engineer" in html
    assert f"{run} requested by {commander.get_full_name()}" in html


def test_automatic_step_events_fold_into_one_line_per_step_with_a_count(client_for, commander, sev1) -> None:
    run = RecoveryRunFactory.create(incident=sev1)
    step = StepRunFactory.create(run=run, key="restore-store", asset__name="fraud-feature-store")
    for action in ("step.queued", "step.started", "step.succeeded"):
        audit_step(action, step)
    html = _page(client_for(commander), sev1)
    assert re.search(r"restore fraud-feature-store: queued → running → succeeded, \d+ s", html)
    assert '<span class="group-count">3 events</span>' in html
    assert html.count("restore fraud-feature-store") == 1, "one line, not three"


def test_recovery_chip_filters_to_run_and_step_events(client_for, commander, sev1) -> None:
    waiting_step(incident=sev1, by=commander, quorum=1)
    html = _page(client_for(commander), sev1, "?kind=recovery")
    assert '<a href="?kind=recovery#timeline" aria-current="true">Recovery</a>' in html
    timeline = html[html.index('id="timeline-list"') :]
    assert "Declared SEV1" not in timeline, "status entries are filtered out"


def test_alerts_of_one_group_are_one_expandable_entry(client_for, commander, sev1) -> None:
    alerts = [
        InboundAlert(
            fingerprint=f"fp-{n}",
            status="firing",
            labels={"alertname": f"HighLatency{n % 4}"},
            annotations={},
            starts_at=None,
            ends_at=None,
        )
        for n in range(30)
    ]
    sev1.alert_group_key = "storm-group"
    sev1.save()
    alerts_ingest(batch=InboundBatch(source="alertmanager", group_key="storm-group", alerts=alerts))
    html = _page(client_for(commander), sev1)
    timeline = html[html.index('id="timeline-list"') :]
    assert "Alert group storm-group: 30 alert(s) firing, 0 resolved" in timeline
    assert timeline.count("Alert group storm-group") == 1
    side = html[html.index('id="alerts"') :]
    assert "30 of 30 firing" in side and side.count("<details") >= 1


def test_entries_show_absolute_and_relative_times(client_for, commander, sev1) -> None:
    note_add(incident=sev1, body="Scoring endpoint at 5 % errors", by=commander)
    html = _page(client_for(commander), sev1)
    assert re.search(r"<time datetime=\"[^\"]+\" title=\"[^\"]+ UTC\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", html)
    assert '<span class="rel-time">just now</span>' in html
