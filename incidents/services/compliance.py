"""Reasons for missed deadlines and the deadline watcher (notices: incidents.compliance.notices)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.clocks import CLOCK_PREFETCH, ClockState, clock_inputs, incident_clocks
from incidents.models import DelayReason, Incident, Regime
from incidents.services.common import IncidentRefused, lock, record
from incidents.services.outbound import notify

REASON_MIN = 10


def _board(incident: Incident, now: datetime):  # type: ignore[no-untyped-def]
    return incident_clocks(incident, now=now, **clock_inputs(incident))


@transaction.atomic
def delay_reason_record(*, incident: Incident, regime: str, reason: str, by: User) -> DelayReason:
    locked = lock(incident)
    if regime not in Regime.values:
        raise IncidentRefused(f"Unknown regime {regime!r}.")
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise IncidentRefused(f"Give the reason in a sentence (at least {REASON_MIN} characters).")
    row = DelayReason.objects.create(incident=locked, regime=regime, reason=reason, recorded_by=by)
    record(locked, "incident.delay_reason_recorded", by=by, payload={"regime": regime, "reason": reason})
    return row


def deadlines_scan(*, now: datetime | None = None) -> list[str]:
    """Notify once per clock when it becomes due soon, and once more if it is missed."""
    now = now or timezone.now()
    sent: list[str] = []
    candidates = Incident.objects.not_closed().with_regulated_data().prefetch_related(*CLOCK_PREFETCH)
    for incident in candidates:
        for clock in _board(incident, now).clocks:
            if clock.state not in (ClockState.DUE_SOON, ClockState.OVERDUE) or clock.due_at is None:
                continue
            key = f"deadline:{incident.public_id}:{clock.regime}:{clock.due_at.isoformat()}:{clock.state}"
            if _deadline_notify(
                incident=incident,
                clock_label=clock.label,
                regime=clock.regime,
                state=clock.state,
                due_at=clock.due_at,
                key=key,
            ):
                sent.append(f"{incident.reference} {clock.regime} {clock.state}")
    return sent


@transaction.atomic
def _deadline_notify(
    *, incident: Incident, clock_label: str, regime: str, state: str, due_at: datetime, key: str
) -> bool:
    locked = lock(incident)
    action = "deadline.near" if state == ClockState.DUE_SOON else "deadline.missed"
    # The timeline event is the record that we warned; it is also what stops a second warning.
    already = (
        AuditEvent.objects.filter(incident_id=locked.public_id, action=action)
        .payload_matches(regime=regime, due_at=due_at.isoformat())
        .exists()
    )
    if already:
        return False
    record(
        locked,
        action,
        by=None,
        system_actor="system:clocks",
        payload={"regime": regime, "clock": clock_label, "due_at": due_at.isoformat(), "state": state},
    )
    notify(
        event="deadline_near",
        incident=locked,
        extra={"clock": clock_label, "regime": regime, "state": state, "due_at": due_at.isoformat()},
        dedupe_key=key,
    )
    return True
