"""The GDPR Art. 33(5) internal breach register: every personal-data breach, notified or not.

Art. 33(5) asks the controller to document any personal data breach — the
facts, its effects and the remedial action taken — so the authority can check
compliance; for a breach not notified, the reasoning is what it checks. Rows
come from the incident, its assessment and its notification register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from incidents.assessments import BY_KEY, NOT_ASSESSED, answer_values
from incidents.compliance.models import RecipientKind
from incidents.models import AssessmentAnswer, Incident, IncidentKind


@dataclass(frozen=True)
class BreachEntry:
    incident: Incident
    facts: str
    began_at: datetime | None
    aware_at: datetime | None
    subjects: int | None
    effects: str
    remedial: str
    risk: str
    notified_at: datetime | None
    notified_reference: str
    reasoning: str  # why it was (not) notified, in the assessor's words


def _breach_candidates() -> QuerySet[Incident]:
    return (
        Incident.objects.filter(kind=IncidentKind.REAL)
        .prefetch_related("assessment_answers", "notifications")
        .order_by("-declared_at", "-pk")
    )


def _rationale(incident: Incident, key: str) -> str:
    rows: list[AssessmentAnswer] = sorted(
        (a for a in incident.assessment_answers.all() if a.question == key), key=lambda a: (a.answered_at, a.pk)
    )
    return rows[-1].rationale if rows else ""


def breach_register() -> list[BreachEntry]:
    """Every real incident that involved personal data (or PHI), newest first."""
    return [entry for incident in _breach_candidates() if (entry := breach_entry(incident)) is not None]


def breach_entry(incident: Incident) -> BreachEntry | None:
    """The incident's register entry, or None when it involved no personal data (or is a drill)."""
    if incident.kind != IncidentKind.REAL:
        return None
    said = answer_values(incident.assessment_answers.all())
    personal = (
        incident.personal_data
        or incident.special_categories
        or incident.phi
        or said.get("gdpr.personal_data") == "yes"
        or said.get("hipaa.phi") == "yes"
    )
    if not personal or (said.get("gdpr.personal_data") == "no" and not incident.personal_data):
        return None
    authority = [n for n in incident.notifications.all() if n.kind == RecipientKind.AUTHORITY]
    first = min(authority, key=lambda n: n.sent_at, default=None)
    risk = said.get("gdpr.risk", NOT_ASSESSED)
    risk_label = BY_KEY["gdpr.risk"].choice_label(risk)
    if first is not None:
        reasoning = f"Notified: {_rationale(incident, 'gdpr.risk') or risk_label}"
    elif risk == "unlikely":
        reasoning = f"Not notified, unlikely to result in a risk: {_rationale(incident, 'gdpr.risk')}"
    else:
        reasoning = "Not notified yet; the risk is " + risk_label.lower()
    return BreachEntry(
        incident=incident,
        facts=incident.summary or incident.title,
        began_at=incident.started_at,
        aware_at=incident.aware_at,
        subjects=incident.subjects_approx or _int(said.get("gdpr.subjects_approx")),
        effects=str(said.get("gdpr.consequences") or ""),
        remedial=str(said.get("gdpr.measures_taken") or ""),
        risk=risk_label,
        notified_at=first.sent_at if first else None,
        notified_reference=first.reference if first else "",
        reasoning=reasoning,
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None
