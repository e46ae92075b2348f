"""What an incident still owes: mandatory assessments its assets' data make due, and times that contradict.

Pure functions over rows already loaded (prefetch `asset_links__asset` and
`assessment_answers` for lists), so the dashboard checks many incidents without
a query each.

An asset classified personal or special-category data makes the GDPR
assessment mandatory; PHI makes the HIPAA one mandatory. "Mandatory" means
its determinations must be decided (not "not yet assessed") before the
incident can close.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from incidents.assessments import BY_KEY, NOT_ASSESSED, answer_values
from incidents.models import AssessmentRegime, Incident, IncidentAsset, IncidentKind
from inventory.models import DataClass

# The determinations each mandatory assessment must settle.
MANDATORY_QUESTIONS: dict[str, tuple[str, ...]] = {
    AssessmentRegime.GDPR: ("gdpr.personal_data", "gdpr.risk", "gdpr.art34"),
    AssessmentRegime.HIPAA: ("hipaa.phi", "hipaa.outcome"),
}
# What `assessment_obligations` and the dashboard's list of owed assessments read of an incident.
NEEDED_COLUMNS = ("public_id", "kind", "title", "declared_at", "personal_data", "special_categories", "phi")
TRIGGERS: dict[str, tuple[str, ...]] = {
    AssessmentRegime.GDPR: (DataClass.PERSONAL, DataClass.SPECIAL, DataClass.PHI),
    AssessmentRegime.HIPAA: (DataClass.PHI,),
}


@dataclass(frozen=True)
class Obligation:
    regime: str
    label: str
    because: str  # "asset billing-db holds PHI", in words
    outstanding: tuple[str, ...]  # labels of the determinations still not assessed

    @property
    def done(self) -> bool:
        return not self.outstanding


def assessment_obligations(incident: Incident, answers: Mapping[str, Any] | None = None) -> list[Obligation]:
    """The assessments this incident must complete, and what each still lacks."""
    if incident.kind == IncidentKind.DRILL:
        return []  # a drill breaches nothing
    said = answer_values(incident.assessment_answers.all()) if answers is None else answers
    reasons: dict[str, list[str]] = {AssessmentRegime.GDPR: [], AssessmentRegime.HIPAA: []}
    for link in incident.asset_links.all():
        classes = set(link.asset.data_classes or [])
        for regime, triggers in TRIGGERS.items():
            hits = [DataClass(c).label[0].lower() + DataClass(c).label[1:] for c in triggers if c in classes]
            if hits:
                reasons[regime].append(f"asset {link.asset.name} holds {hits[0]}")
    if incident.personal_data or incident.special_categories:
        reasons[AssessmentRegime.GDPR].append("the incident records personal data")
    if incident.phi:
        reasons[AssessmentRegime.HIPAA].append("the incident records PHI")
    result = []
    for regime, why in reasons.items():
        if not why:
            continue
        outstanding = tuple(
            BY_KEY[key].label for key in MANDATORY_QUESTIONS[regime] if said.get(key, NOT_ASSESSED) == NOT_ASSESSED
        )
        result.append(Obligation(regime, AssessmentRegime(regime).label, "; ".join(why), outstanding))
    return result


def outstanding_obligations(incident: Incident) -> list[Obligation]:
    return [o for o in assessment_obligations(incident) if not o.done]


@dataclass(frozen=True)
class TimeFlag:
    field: str
    message: str


def time_flags(incident: Incident) -> list[TimeFlag]:
    """Recorded times that contradict each other: each is a likely typo a regulator would query."""
    flags = []
    detected = incident.detected_at
    if detected and incident.aware_at and incident.aware_at < detected:
        flags.append(
            TimeFlag(
                "aware_at",
                f"GDPR 'became aware' ({incident.aware_at:%Y-%m-%d %H:%M} UTC) is earlier than 'detected'"
                f" ({detected:%Y-%m-%d %H:%M} UTC): the 72-hour clock may have started earlier than recorded,"
                " or one time is wrong.",
            )
        )
    if detected and incident.discovered_at and incident.discovered_at < detected:
        flags.append(
            TimeFlag(
                "discovered_at",
                f"HIPAA 'discovered' ({incident.discovered_at:%Y-%m-%d %H:%M} UTC) is earlier than 'detected'"
                f" ({detected:%Y-%m-%d %H:%M} UTC): check both times.",
            )
        )
    if incident.started_at and detected and incident.started_at > detected:
        flags.append(
            TimeFlag("started_at", "The estimated start is after the incident was detected: check both times.")
        )
    return flags


def needing_assessment(incidents: Iterable[Incident]) -> list[tuple[Incident, list[Obligation]]]:
    """Incidents with a mandatory assessment still open, for the dashboard."""
    rows = []
    for incident in incidents:
        owed = outstanding_obligations(incident)
        if owed:
            rows.append((incident, owed))
    return rows


def refuse_close_while_assessments_owed(incident: Incident) -> None:
    """A breach of personal data or PHI cannot be closed before someone decided whether it must be notified."""
    from incidents.services.common import IncidentRefused

    owed = outstanding_obligations(incident)
    if owed:
        parts = [f"{o.label} ({o.because}): {', '.join(o.outstanding)}" for o in owed]
        raise IncidentRefused(
            f"{incident.reference} cannot close before its mandatory assessments: {'; '.join(parts)}."
        )


def active_needing_assessment(limit: int = 50) -> list[Incident]:
    """Not-closed incidents with what `needing_assessment` reads, prefetched (three queries whatever the count).

    Only the columns the obligations and the dashboard's list read, of the incidents and their assets.
    """
    links = IncidentAsset.objects.select_related("asset").only(
        "incident_id", "asset_id", "asset__name", "asset__data_classes"
    )
    return list(
        Incident.objects.not_closed()
        .only(*NEEDED_COLUMNS)
        .prefetch_related(Prefetch("asset_links", queryset=links), "assessment_answers")
        .order_by("-declared_at", "-pk")[:limit]
    )


def obligations_settle(*, incident: Incident, decisions: Mapping[str, Mapping[str, str]], why: str, by: Any) -> None:
    """Answer the determinations still owed, per regime from ``decisions``, each with ``why`` as rationale."""
    from incidents.services.assessments import assessment_answer

    answers: dict[str, str] = {}
    for owed in outstanding_obligations(incident):
        answers.update(decisions[owed.regime])
    if answers:
        assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, why), by=by)
