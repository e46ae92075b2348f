"""The notification register: record a notice (audited, with its attachment), and judge each against its deadline.

Deadlines per recipient (COMPLIANCE.md, notification clocks):
- supervisory authority: 72 h from becoming aware (GDPR Art. 33(1));
- individuals: 60 days from discovery when HIPAA applies (§164.404); GDPR Art. 34 sets no
  fixed window ("without undue delay");
- media: 60 days from discovery (§164.406); HHS: 60 days, or the yearly log (§164.408);
- business associate → covered entity: 60 days from the BA's discovery (§164.410(b));
- processor → controller: without undue delay (Art. 33(2)), or the hours the agreement sets;
- AI Act market surveillance authority: 2, 10 or 15 days from awareness (Art. 73).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from incidents.assessments import answer_values
from incidents.clocks import GDPR_WINDOW, HIPAA_WINDOW, affected_count, ai_act_window, hhs_due
from incidents.compliance.models import KIND_REGIMES, NoticePhase, Notification, RecipientKind
from incidents.models import Incident, Regime
from incidents.services.common import IncidentRefused, lock
from incidents.services.compliance import REASON_MIN, delay_reason_record

MAX_ATTACHMENT = 5 * 1024 * 1024
MAX_TEXT = 4000


class NotificationRefused(IncidentRefused):
    """A notice that cannot go into the register as given; nothing was saved."""

    code = "notification_refused"


@dataclass(frozen=True)
class RegimeFiled:
    """One regime a register notice stops the clock of; what `incidents.clocks` reads."""

    regime: str
    filed_at: datetime


def filed_regimes(notifications: Iterable[Notification]) -> list[RegimeFiled]:
    return [RegimeFiled(regime, n.sent_at) for n in notifications for regime in n.regimes]


@dataclass(frozen=True)
class Deadline:
    due_at: datetime | None
    rule: str

    def verdict(self, sent_at: datetime) -> str:
        if self.due_at is None:
            return "no fixed deadline"
        # "Not later than" includes the moment itself.
        return "met" if sent_at <= self.due_at else "missed"


def notice_deadline(incident: Incident, kind: str, answers: Mapping[str, Any]) -> Deadline:
    """When a notice of `kind` about `incident` was due, and the rule in words."""
    aware, discovered = incident.aware_at, incident.discovered_at
    if kind == RecipientKind.AUTHORITY:
        return Deadline(aware + GDPR_WINDOW if aware else None, "72 h from becoming aware (GDPR Art. 33(1))")
    if kind in (RecipientKind.INDIVIDUALS, RecipientKind.MEDIA, RecipientKind.BA_CE):
        phi = incident.phi or answers.get("hipaa.phi") == "yes"
        if not phi and kind == RecipientKind.INDIVIDUALS:
            return Deadline(None, "without undue delay (GDPR Art. 34(1)); no fixed window")
        rule: str = {
            RecipientKind.INDIVIDUALS.value: "60 days from discovery (HIPAA §164.404(b))",
            RecipientKind.MEDIA.value: "60 days from discovery (HIPAA §164.406(b))",
            RecipientKind.BA_CE.value: "60 days from the business associate's discovery (HIPAA §164.410(b))",
        }[kind]
        return Deadline(discovered + HIPAA_WINDOW if discovered else None, rule)
    if kind == RecipientKind.HHS:
        if discovered is None:
            return Deadline(None, "HHS: discovery time not recorded")
        due, rule = hhs_due(discovered, affected_count(incident, answers))
        return Deadline(due, f"HHS, {rule} (§164.408)")
    if kind == RecipientKind.AI_AUTHORITY:
        window, rule = ai_act_window(incident, answers.get("ai_act.category"))
        start = incident.ai_aware_at
        return Deadline(start + window if start else None, f"{rule}")
    if kind == RecipientKind.PROCESSOR_CONTROLLER:
        return Deadline(None, "without undue delay after becoming aware (GDPR Art. 33(2))")
    return Deadline(None, "as the contract or law requires")


def late_regime(kind: str, regime: str) -> str:
    """The regime a late notice's reason for the delay is recorded under: the one whose deadline it missed."""
    if regime:
        return regime
    if kind == RecipientKind.INDIVIDUALS:
        return Regime.HIPAA_INDIVIDUALS  # the only fixed deadline for individuals is HIPAA's 60 days
    covered = KIND_REGIMES.get(kind, ())
    return covered[0] if covered else Regime.OTHER


def breach_began(incident: Incident, answers: Mapping[str, Any]) -> datetime | None:
    """The earliest recorded moment of the breach: nothing can be notified before it."""
    moments: list[datetime] = [m for m in (incident.started_at, incident.detected_at, incident.declared_at) if m]
    started = answers.get("gdpr.started_at")
    if started:
        parsed = parse_datetime(str(started))
        if parsed:
            moments.append(parsed)
    return min(moments, default=None)


@dataclass(frozen=True)
class RegisterRow:
    notification: Notification
    deadline: Deadline
    verdict: str


def incident_notifications(*, incident: Incident) -> list[RegisterRow]:
    """The register of one incident, oldest first, each notice judged against its deadline."""
    answers = answer_values(incident.assessment_answers.all())
    rows = Notification.objects.filter(incident=incident).select_related("recorded_by").defer("attachment")
    result = []
    for row in rows.order_by("sent_at", "pk"):
        deadline = notice_deadline(incident, row.kind, answers)
        result.append(RegisterRow(row, deadline, deadline.verdict(row.sent_at)))
    return result


def _text(value: Any, label: str, problems: list[str], *, required: bool = False, limit: int = 200) -> str:
    text = str(value or "").strip()
    if required and not text:
        problems.append(f"Give the {label}.")
    if len(text) > limit:
        problems.append(f"The {label} is longer than {limit} characters.")
    return text


@transaction.atomic
def notification_record(
    *,
    incident: Incident,
    by: User,
    kind: str,
    recipient: str,
    channel: str,
    sent_at: datetime,
    phase: str = NoticePhase.INITIAL,
    regime: str = "",
    count_notified: int | None = None,
    reference: str = "",
    summary: str = "",
    attachment: tuple[str, str, bytes] | None = None,
    late_reason: str = "",
) -> Notification:
    """Add a notice to the register. Every problem is named at once; nothing is saved unless all is well.

    A notice after its deadline must carry the reasons for the delay (GDPR Art. 33(1)): `late_reason`,
    unless one is already recorded for that regime; it is kept as the regime's `DelayReason`.
    """
    locked = lock(incident)
    problems: list[str] = []
    if kind not in RecipientKind.values:
        problems.append(f"Unknown recipient kind {kind!r}; use one of {', '.join(RecipientKind.values)}.")
    if phase not in NoticePhase.values:
        problems.append(f"Unknown phase {phase!r}; use one of {', '.join(NoticePhase.values)}.")
    covered = KIND_REGIMES.get(kind, ())
    if regime and regime not in covered:
        labels = " or ".join(Regime(r).label for r in covered)
        given = Regime(regime).label if regime in Regime.values else repr(str(regime))
        problems.append(
            f"A notice to this recipient answers {labels}, not {given}."
            if covered
            else f"A notice to this recipient stops no regulatory clock; leave the regime blank, not {given}."
        )
    recipient = _text(recipient, "recipient", problems, required=True)
    channel = _text(channel, "channel", problems, required=True, limit=100)
    reference = _text(reference, "reference", problems)
    summary = _text(summary, "summary", problems, limit=MAX_TEXT)
    if timezone.is_naive(sent_at):
        sent_at = sent_at.replace(tzinfo=UTC)
    answers = answer_values(locked.assessment_answers.all())
    began = breach_began(locked, answers)
    if sent_at > timezone.now() + timedelta(minutes=1):
        problems.append("The notice is dated in the future; record notices once they are sent.")
    if began is not None and sent_at < began:
        problems.append(
            f"The notice is dated {sent_at:%Y-%m-%d %H:%M} UTC, before the breach began ({began:%Y-%m-%d %H:%M} UTC)."
        )
    if count_notified is not None and not (0 <= count_notified <= 2_000_000_000):
        problems.append("The number notified must be between 0 and 2,000,000,000.")
    if kind in (RecipientKind.INDIVIDUALS,) and count_notified is None:
        problems.append("Say how many individuals were notified.")
    deadline = notice_deadline(locked, kind, answers)
    late = deadline.due_at is not None and sent_at > deadline.due_at
    delay_regime = late_regime(kind, regime)
    late_reason = late_reason.strip()
    if late and len(late_reason) < REASON_MIN and not locked.delay_reasons.filter(regime=delay_regime).exists():
        problems.append(
            f"This notice is after its deadline ({deadline.due_at:%Y-%m-%d %H:%M} UTC, {deadline.rule}): "
            f"give the reasons for the delay (at least {REASON_MIN} characters), which a late notice must include."
        )
    name, content_type, content = attachment or ("", "", b"")
    if attachment is not None and len(content) > MAX_ATTACHMENT:
        problems.append(f"The attachment is larger than {MAX_ATTACHMENT // (1024 * 1024)} MiB.")
    if attachment is not None and not content:
        problems.append("The attachment is empty.")
    if problems:
        raise NotificationRefused(" ".join(problems))
    digest = hashlib.sha256(content).hexdigest() if attachment else ""
    row = Notification.objects.create(
        incident=locked,
        kind=kind,
        regime=regime,
        phase=phase,
        recipient=recipient,
        channel=channel,
        sent_at=sent_at,
        count_notified=count_notified,
        reference=reference,
        summary=summary,
        attachment_name=name[:200],
        attachment_type=content_type[:100],
        attachment=content if attachment else None,
        attachment_sha256=digest,
        recorded_by=by,
    )
    if late and late_reason:
        delay_reason_record(incident=locked, regime=delay_regime, reason=late_reason, by=by)
    event = audit_append(
        action="incident.notification_recorded",
        actor=by,
        obj=row,
        incident_id=locked.public_id,
        payload={
            "kind": kind,
            "regime": regime or None,
            "phase": phase,
            "recipient": recipient,
            "channel": channel,
            "sent_at": sent_at.isoformat(),
            "count_notified": count_notified,
            "reference": reference,
            "attachment_sha256": digest,
            "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
            "deadline": deadline.verdict(sent_at),
            "delay_reason": late_reason if late and late_reason else None,
        },
    )
    row.audit_seq = event.seq
    row.save(update_fields=["audit_seq"])
    return row
