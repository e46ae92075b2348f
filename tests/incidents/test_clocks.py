"""Regulatory clocks, with time frozen: GDPR 72 h, HIPAA 60 days, the EU AI Act's 15 / 10 / 2 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from dr_portal.audit.models import AuditEvent
from incidents.clocks import ClockState
from incidents.compliance.models import RecipientKind
from incidents.compliance.notices import NotificationRefused, notification_record
from incidents.models import Delivery, Incident, Regime
from incidents.selectors import incident_board
from incidents.services import (
    deadlines_scan,
    delay_reason_record,
    delivery_attempt,
    incident_declare,
    incident_update_facts,
    role_assign,
)

pytestmark = pytest.mark.django_db

AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _clock(incident: Incident, regime: str, now: datetime):
    incident.refresh_from_db()
    board = incident_board(incident=incident, now=now)
    return next(c for c in board.clocks if c.regime == regime)


@pytest.fixture
def breach(commander) -> Incident:
    with time_machine.travel(AWARE, tick=False):
        incident = incident_declare(title="Customer data exposed", category="confidentiality", by=commander)
        return incident_update_facts(
            incident=incident, changes={"personal_data": True, "aware_at": AWARE, "subjects_approx": 1200}, by=commander
        )


def test_no_clock_without_personal_data_phi_or_ai_act(commander) -> None:
    incident = incident_declare(title="GPU node lost", category="compute_loss", by=commander)
    assert incident_board(incident=incident).clocks == []


def test_gdpr_clock_waits_for_the_aware_time(commander) -> None:
    incident = incident_declare(title="Leak", category="confidentiality", by=commander)
    incident = incident_update_facts(incident=incident, changes={"personal_data": True}, by=commander)
    clock = _clock(incident, Regime.GDPR_33, AWARE)
    assert clock.state == ClockState.WAITING
    assert clock.due_at is None


def test_gdpr_deadline_is_72_hours_after_becoming_aware(breach) -> None:
    clock = _clock(breach, Regime.GDPR_33, AWARE + timedelta(hours=1))
    assert clock.due_at == AWARE + timedelta(hours=72)
    assert clock.state == ClockState.RUNNING
    assert clock.remaining == timedelta(hours=71)


def test_gdpr_clock_is_due_soon_in_its_last_24_hours(breach) -> None:
    assert _clock(breach, Regime.GDPR_33, AWARE + timedelta(hours=47, minutes=59)).state == ClockState.RUNNING
    assert _clock(breach, Regime.GDPR_33, AWARE + timedelta(hours=48)).state == ClockState.DUE_SOON


def test_gdpr_exactly_at_the_deadline_is_not_yet_missed(breach) -> None:
    due = AWARE + timedelta(hours=72)
    at = _clock(breach, Regime.GDPR_33, due)
    assert at.state == ClockState.DUE_SOON
    assert at.remaining == timedelta(0)
    after = _clock(breach, Regime.GDPR_33, due + timedelta(seconds=1))
    assert after.state == ClockState.OVERDUE
    assert after.needs_reason


def _notice(incident: Incident, by, sent_at: datetime, **extra):
    return notification_record(
        incident=incident, by=by, kind=RecipientKind.AUTHORITY, recipient="CNIL", channel="portal", sent_at=sent_at,
        **extra,
    )  # fmt: skip


def test_a_notice_exactly_at_the_deadline_is_in_time(breach, compliance, commander) -> None:
    role_assign(incident=breach, role="compliance_liaison", user=compliance, by=commander)
    due = AWARE + timedelta(hours=72)
    with time_machine.travel(due, tick=False):
        _notice(breach, compliance, due)
    clock = _clock(breach, Regime.GDPR_33, due + timedelta(days=3))
    assert clock.state == ClockState.MET
    assert not clock.needs_reason


def test_a_late_notice_needs_the_reason_for_the_delay(breach, compliance) -> None:
    late = AWARE + timedelta(hours=72, seconds=1)
    with time_machine.travel(late + timedelta(minutes=1), tick=False):
        with pytest.raises(NotificationRefused, match="reasons for the delay"):
            _notice(breach, compliance, late)
        assert not breach.notifications.exists() and not breach.delay_reasons.exists()
        row = _notice(breach, compliance, late, late_reason="Forensics confirmed the scope only on day four.")
    clock = _clock(breach, Regime.GDPR_33, late + timedelta(hours=1))
    assert clock.state == ClockState.LATE
    assert clock.delay_reason.startswith("Forensics")
    assert not clock.needs_reason
    assert AuditEvent.objects.get(seq=row.audit_seq).payload["delay_reason"].startswith("Forensics")


def test_a_reason_recorded_before_the_late_notice_is_enough(breach, compliance) -> None:
    late = AWARE + timedelta(hours=80)
    with time_machine.travel(late, tick=False):
        delay_reason_record(
            incident=breach, regime=Regime.GDPR_33, reason="The processor told us only on day three.", by=compliance
        )
        _notice(breach, compliance, late)
    assert _clock(breach, Regime.GDPR_33, late).state == ClockState.LATE
    assert breach.delay_reasons.count() == 1


def test_a_missed_deadline_asks_for_a_reason_until_one_is_recorded(breach, commander) -> None:
    later = AWARE + timedelta(hours=80)
    assert _clock(breach, Regime.GDPR_33, later).needs_reason
    delay_reason_record(
        incident=breach, regime=Regime.GDPR_33, reason="Authority portal was down all day.", by=commander
    )
    clock = _clock(breach, Regime.GDPR_33, later)
    assert clock.state == ClockState.OVERDUE
    assert not clock.needs_reason


def test_hipaa_deadline_is_60_calendar_days_after_discovery(commander) -> None:
    found = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    incident = incident_declare(title="PHI in logs", category="confidentiality", by=commander)
    incident_update_facts(
        incident=incident, changes={"phi": True, "discovered_at": found, "subjects_approx": 800}, by=commander
    )
    individuals = _clock(incident, Regime.HIPAA_INDIVIDUALS, found)
    assert individuals.due_at == datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    assert _clock(incident, Regime.HIPAA_INDIVIDUALS, individuals.due_at).state == ClockState.DUE_SOON
    assert (
        _clock(incident, Regime.HIPAA_INDIVIDUALS, individuals.due_at + timedelta(seconds=1)).state
        == ClockState.OVERDUE
    )
    hhs = _clock(incident, Regime.HIPAA_HHS, found)
    assert hhs.due_at == individuals.due_at  # 500 or more: HHS within the same 60 days


def test_hipaa_small_breach_goes_to_hhs_within_60_days_after_year_end(commander) -> None:
    found = datetime(2026, 6, 1, tzinfo=UTC)
    incident = incident_declare(title="Misaddressed letters", category="confidentiality", by=commander)
    incident_update_facts(
        incident=incident, changes={"phi": True, "discovered_at": found, "subjects_approx": 40}, by=commander
    )
    hhs = _clock(incident, Regime.HIPAA_HHS, found)
    assert hhs.due_at == datetime(2027, 3, 2, tzinfo=UTC)  # 1 Jan 2027 + 60 days
    assert "fewer than 500" in hhs.rule


def test_encrypted_phi_is_not_unsecured_so_no_hipaa_clock(commander) -> None:
    incident = incident_declare(title="Stolen laptop", category="confidentiality", by=commander)
    incident = incident_update_facts(
        incident=incident, changes={"phi": True, "data_encrypted": True, "discovered_at": AWARE}, by=commander
    )
    board = incident_board(incident=incident, now=AWARE)
    assert [c.regime for c in board.clocks] == []
    assert "safe harbour" in board.notes[0]


@pytest.mark.parametrize(
    ("facts", "days"),
    [
        ({"ai_serious": True}, 15),
        ({"ai_serious": True, "ai_death": True}, 10),
        ({"ai_serious": True, "ai_widespread": True}, 2),
        ({"ai_serious": True, "ai_critical_infra": True}, 2),
        # Several apply: the shortest deadline wins.
        ({"ai_serious": True, "ai_death": True, "ai_critical_infra": True}, 2),
        ({"ai_death": True}, 10),
    ],
)
def test_ai_act_deadline_depends_on_the_kind_of_serious_incident(commander, facts, days) -> None:
    incident = incident_declare(title="Model gave unsafe advice", category="unsafe_output", by=commander)
    incident_update_facts(incident=incident, changes={**facts, "ai_aware_at": AWARE}, by=commander)
    due = AWARE + timedelta(days=days)
    assert _clock(incident, Regime.AI_ACT, AWARE).due_at == due
    assert _clock(incident, Regime.AI_ACT, due).state == ClockState.DUE_SOON
    assert _clock(incident, Regime.AI_ACT, due + timedelta(seconds=1)).state == ClockState.OVERDUE


def test_ai_act_two_day_clock_is_due_soon_with_16_hours_left(commander) -> None:
    incident = incident_declare(title="Grid model failure", category="model_corruption", by=commander)
    incident_update_facts(incident=incident, changes={"ai_critical_infra": True, "ai_aware_at": AWARE}, by=commander)
    assert _clock(incident, Regime.AI_ACT, AWARE + timedelta(hours=31, minutes=59)).state == ClockState.RUNNING
    assert _clock(incident, Regime.AI_ACT, AWARE + timedelta(hours=32)).state == ClockState.DUE_SOON


def test_deadline_scan_warns_once_when_due_soon_and_once_when_missed(breach, commander, settings) -> None:
    settings.OUTBOUND_WEBHOOK_URLS = []
    settings.NOTIFY_EMAIL = {**settings.NOTIFY_EMAIL, "deadline_near": ["incident_roles"]}
    role_assign(incident=breach, role="commander", user=commander, by=commander)
    with time_machine.travel(AWARE + timedelta(hours=10), tick=False):
        assert deadlines_scan() == []
    with time_machine.travel(AWARE + timedelta(hours=50), tick=False):
        assert deadlines_scan() == [f"{breach.reference} gdpr_33 due_soon"]
        assert deadlines_scan() == []  # already warned
    with time_machine.travel(AWARE + timedelta(hours=73), tick=False):
        assert deadlines_scan() == [f"{breach.reference} gdpr_33 overdue"]
    actions = list(
        AuditEvent.objects.filter(incident_id=breach.public_id, action__startswith="deadline.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["deadline.near", "deadline.missed"]
    deliveries = Delivery.objects.filter(event="deadline_near")
    assert deliveries.count() == 2
    for delivery in deliveries:
        delivery_attempt(delivery_id=delivery.pk)
    assert {tuple(m.to) for m in mail.outbox} == {(commander.email,)}
    assert any("deadline due soon" in m.subject for m in mail.outbox)
