"""Multi-role sign-off of an incident report: who holds each duty, signing (with MFA) or refusing with a reason.

The organisation profile names the duties a report needs. A report is final
only when the newest decision of every required duty is "signed"; a refusal
stands until the same duty signs later. Each decision is one audit event and
carries a digest of the incident's log head, so a sign-off names exactly what
was signed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from dr_portal.accounts.access import mfa_verified
from dr_portal.accounts.models import Role, SignoffDuty, User
from dr_portal.accounts.selectors import organisation_profile
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append
from incidents.compliance.models import DutyHolder, SignOff, SignoffDecision
from incidents.models import Incident, IncidentRole, IncidentStatus, RoleAssignment
from incidents.services.common import IncidentRefused, lock

REASON_MIN = 10
SIGNABLE = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


class SignoffRefused(IncidentRefused):
    """A sign-off that cannot be recorded (no such duty, no second factor, too early); nothing was saved."""

    code = "signoff_refused"


def duties_of(user: User, incident: Incident) -> set[str]:
    """The sign-off duties `user` holds for `incident`."""
    held = set(DutyHolder.objects.filter(user=user).values_list("duty", flat=True))
    if user.role == Role.COMPLIANCE_OFFICER:
        held.add(SignoffDuty.COMPLIANCE_OFFICER)
    commands = RoleAssignment.objects.filter(
        incident=incident, user=user, role=IncidentRole.COMMANDER, relieved_at__isnull=True
    ).exists()
    if commands:
        held.add(SignoffDuty.INCIDENT_COMMANDER)
    return held


def incident_digest(incident: Incident) -> str:
    """What a signature covers: the incident and the newest event of its log at that moment."""
    head = AuditEvent.objects.filter(incident_id=incident.public_id).aggregate(head=Max("seq"))["head"] or 0
    return hashlib.sha256(f"{incident.public_id}:{head}".encode()).hexdigest()


@transaction.atomic
def signoff_record(*, incident: Incident, by: User, duty: str, decision: str, reason: str = "") -> SignOff:
    locked = lock(incident)
    if duty not in SignoffDuty.values:
        raise SignoffRefused(f"Unknown duty {duty!r}; use one of {', '.join(SignoffDuty.values)}.")
    if decision not in SignoffDecision.values:
        raise SignoffRefused(f"Unknown decision {decision!r}; use signed or refused.")
    label = SignoffDuty(duty).label.lower()
    if duty not in duties_of(by, locked):
        raise SignoffRefused(f"{by.username} does not hold the duty of {label} for {locked.reference}.")
    if not mfa_verified(by):
        raise SignoffRefused("A sign-off needs a verified second factor: confirm your one-time code first.")
    if locked.status not in SIGNABLE:
        raise SignoffRefused(f"{locked.reference} is still {locked.status}; sign its report once it is resolved.")
    reason = reason.strip()
    if decision == SignoffDecision.REFUSED and len(reason) < REASON_MIN:
        raise SignoffRefused(f"Say why you refuse to sign, in a sentence (at least {REASON_MIN} characters).")
    row = SignOff.objects.create(
        incident=locked, duty=duty, user=by, decision=decision, reason=reason, digest=incident_digest(locked)
    )
    event = audit_append(
        action="incident.signed_off" if decision == SignoffDecision.SIGNED else "incident.signoff_refused",
        actor=by,
        obj=row,
        incident_id=locked.public_id,
        payload={"duty": duty, "decision": decision, "reason": reason, "digest": row.digest, "mfa": True},
    )
    row.audit_seq = event.seq
    row.save(update_fields=["audit_seq"])
    return row


@dataclass(frozen=True)
class DutyState:
    duty: str
    label: str
    required: bool
    latest: SignOff | None

    @property
    def signed(self) -> bool:
        return self.latest is not None and self.latest.decision == SignoffDecision.SIGNED


@dataclass(frozen=True)
class SignoffStatus:
    duties: list[DutyState]

    @property
    def missing(self) -> list[DutyState]:
        return [d for d in self.duties if d.required and not d.signed]

    @property
    def complete(self) -> bool:
        return not self.missing


def signoff_status(*, incident: Incident) -> SignoffStatus:
    required = set(organisation_profile().required_signoffs or [])
    newest: dict[str, SignOff] = {}
    for row in SignOff.objects.filter(incident=incident).select_related("user").order_by("signed_at", "pk"):
        newest[row.duty] = row
    return SignoffStatus(
        [
            DutyState(duty, label, duty in required, newest.get(duty))
            for duty, label in SignoffDuty.choices
            if duty in required or duty in newest
        ]
    )


def refuse_final_without_signoffs(incident: Incident) -> None:
    missing = signoff_status(incident=incident).missing
    if missing:
        names = ", ".join(d.label.lower() for d in missing)
        raise SignoffRefused(f"{incident.reference}'s report cannot be final before these sign it: {names}.")


@transaction.atomic
def duty_assign(*, user: User, duty: str, by: User) -> DutyHolder:
    if duty not in SignoffDuty.values:
        raise SignoffRefused(f"Unknown duty {duty!r}; use one of {', '.join(SignoffDuty.values)}.")
    row, created = DutyHolder.objects.get_or_create(user=user, duty=duty, defaults={"assigned_by": by})
    if created:
        audit_append(
            action="organisation.duty_assigned", actor=by, obj=user, payload={"duty": duty, "user": user.username}
        )
    return row
