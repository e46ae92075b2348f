"""Guided breach assessments (GDPR, HIPAA, EU AI Act Art. 73): the questions, and reading the current answers.

Answers are append-only `AssessmentAnswer` rows written by `incidents.services.assessments`;
the newest per question holds. A determination nobody answered is "not yet assessed",
never "no".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.models import AssessmentAnswer, AssessmentRegime, Incident

NOT_ASSESSED = "not_assessed"
YES_NO = ((NOT_ASSESSED, "Not yet assessed"), ("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class Question:
    key: str
    regime: str
    label: str
    kind: str  # "determination" (a choice that needs a rationale), "choice", "text", "number", "datetime"
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""

    @property
    def is_determination(self) -> bool:
        return self.kind == "determination"

    def choice_label(self, value: Any) -> str:
        return next((label for key, label in self.choices if key == value), str(value))


def _q(
    regime: str, key: str, label: str, kind: str, choices: tuple[tuple[str, str], ...] = (), help: str = ""
) -> Question:
    return Question(f"{regime}.{key}", regime, label, kind, choices, help)


G, H, A = AssessmentRegime.GDPR, AssessmentRegime.HIPAA, AssessmentRegime.AI_ACT
R = AssessmentRegime.RESPONSE
QUESTIONS: tuple[Question, ...] = (
    _q(G, "personal_data", "Personal data involved?", "determination", YES_NO),
    _q(G, "subject_categories", "Categories of data subjects", "text"),
    _q(G, "subjects_approx", "Approximate number of data subjects", "number"),
    _q(G, "record_categories", "Categories of personal data records", "text"),
    _q(G, "records_approx", "Approximate number of records", "number"),
    _q(G, "nature", "Nature of the breach", "choice",
       (("confidentiality", "Confidentiality"), ("integrity", "Integrity"), ("availability", "Availability"),
        ("several", "More than one of these"))),
    _q(G, "cause", "Cause", "choice",
       (("malicious", "Malicious"), ("accidental", "Accidental"), ("unknown", "Unknown"))),
    _q(G, "vector", "How it happened (vector)", "text"),
    _q(G, "started_at", "Breach started (UTC)", "datetime"),
    _q(G, "ended_at", "Breach ended (UTC)", "datetime"),
    _q(G, "consequences", "Likely consequences for data subjects", "text"),
    _q(G, "measures_taken", "Measures taken and proposed", "text"),
    _q(G, "measures_individuals", "Measures for individuals (and steps they should take)", "text"),
    _q(G, "risk", "Risk to data subjects", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("unlikely", "Unlikely to result in a risk"), ("risk", "Risk"),
        ("high", "High risk"))),
    _q(G, "art34", "Art. 34: communicate to data subjects?", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("notify", "Yes, communicate"), ("not_high_risk", "No: not high risk"),
        ("exempt_a", "Exempt, Art. 34(3)(a): data unintelligible"),
        ("exempt_b", "Exempt, Art. 34(3)(b): risk no longer likely"),
        ("exempt_c", "Exempt, Art. 34(3)(c): disproportionate effort (public notice instead)"))),
    _q(G, "member_states", "Member States concerned", "text"),
    _q(G, "lead_sa", "Lead supervisory authority", "text", help="Defaults to the organisation profile's."),
    _q(G, "phased", "Filed in phases (Art. 33(4))?", "determination", YES_NO),
    _q(H, "phi", "PHI involved?", "determination", YES_NO),
    _q(H, "phi_types", "Types of PHI (name, SSN, DOB, diagnosis…)", "text"),
    _q(H, "factor_1", "Factor 1: nature and extent of the PHI", "text"),
    _q(H, "factor_2", "Factor 2: the unauthorised person who used or received it", "text"),
    _q(H, "factor_3", "Factor 3: was it actually acquired or viewed?", "text"),
    _q(H, "factor_4", "Factor 4: extent to which the risk was mitigated", "text"),
    _q(H, "outcome", "Outcome of the four-factor assessment (§164.402(2))", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("breach", "Breach (presumed unless shown otherwise)"),
        ("low_probability", "Low probability of compromise: not a breach"))),
    _q(H, "breach_type", "Type of breach", "choice",
       (("hacking", "Hacking / IT incident"), ("unauthorized", "Unauthorised access or disclosure"), ("theft", "Theft"),
        ("loss", "Loss"), ("disposal", "Improper disposal"), ("other", "Other"))),
    _q(H, "location", "Location of the breached PHI", "text"),
    _q(H, "safeguards", "Safeguards in place before the breach", "text"),
    _q(H, "by_state", "Individuals affected per state (e.g. CA=620; NY=40)", "text"),
    _q(H, "notice_individuals_at", "Individuals notified (UTC)", "datetime"),
    _q(H, "notice_media_at", "Media notified (UTC)", "datetime"),
    _q(H, "notice_hhs_at", "HHS notified (UTC)", "datetime"),
    _q(A, "serious", "Serious incident (Art. 3(49))?", "determination", YES_NO),
    _q(A, "category", "Category that sets the deadline (Art. 73(2)-(4))", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("death", "Death of a person: 10 days"),
        ("widespread", "Widespread infringement or critical-infrastructure disruption: 2 days"),
        ("other", "Other serious incident: 15 days"))),
    _q(A, "system", "The AI system concerned", "text"),
    _q(A, "evidence_preserved", "Evidence preserved before altering the system", "text"),
    # The response record: facts of how the incident was handled that no other record holds.
    _q(R, "other_obligations", "Contractual / other obligations (NIS2, state laws, contracts)", "text"),
    _q(R, "backups_affected", "Were backups themselves affected?", "determination", YES_NO,
       help="Ransomware and deletion often reach the backups too."),
    _q(R, "transfers", "Third-country transfers involved (Art. 30(1)(e))", "text"),
    _q(R, "consequences_org", "Likely consequences for the organisation", "text"),
    _q(R, "consequences_ai", "AI-specific harms (wrong outputs acted on, fundamental rights)", "text"),
    _q(R, "steps_individuals", "Steps individuals should take", "text"),
    _q(R, "break_glass", "Break-glass / emergency access used?", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("not_used", "Not used"), ("used", "Used"))),
    _q(R, "break_glass_details", "Break-glass: who, when granted, why, when revoked", "text"),
    _q(R, "emergency_mode", "Emergency-mode operation (§164.308(a)(7)(ii)(C))?", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("not_activated", "Not activated"), ("activated", "Activated"))),
    _q(R, "emergency_details", "Emergency mode: activated / deactivated, what ran degraded, ePHI safeguards", "text"),
    _q(R, "legal_hold", "Legal hold on this incident's records?", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("none", "No hold"), ("hold", "On hold"))),
    _q(R, "law_enforcement", "Law-enforcement delay of notices (§164.412; GDPR recital 88)?", "determination",
       ((NOT_ASSESSED, "Not yet assessed"), ("none", "No delay requested"), ("delayed", "Delay requested"))),
    _q(R, "law_enforcement_details", "Law-enforcement delay: requested by, period, documentation", "text"),
    _q(R, "ai_rollback", "Model / config version rolled back to; evidence snapshot hash", "text"),
    _q(R, "ai_validation", "Validation after restore (eval results), when no run checked golden outputs", "text"),
    _q(R, "evidence_location", "WORM storage location of the evidence (URI and version id)", "text"),
    _q(R, "plan_revisions", "Plan / policy / runbook revisions (document, new version, date, approver)", "text"),
    _q(R, "risk_analysis", "Updates to the risk analysis and criticality analysis (version, date)", "text"),
)  # fmt: skip
BY_KEY = {q.key: q for q in QUESTIONS}


@dataclass(frozen=True)
class CurrentAnswer:
    question: Question
    value: Any  # NOT_ASSESSED for an unanswered determination, None for an unanswered fact
    rationale: str
    answered_by: str | None
    answered_at: datetime | None
    seq: int | None

    @property
    def label(self) -> str | None:
        if self.value is None or self.value == "":
            return None
        if self.question.kind in ("determination", "choice"):
            return self.question.choice_label(self.value)
        return str(self.value)


def incident_assessment(*, incident: Incident, regime: str | None = None) -> list[CurrentAnswer]:
    """Every question (of one regime, or all), with its newest answer; unanswered determinations are not assessed."""
    newest: dict[str, AssessmentAnswer] = {}
    rows = (
        AssessmentAnswer.objects.filter(incident=incident).select_related("answered_by").order_by("answered_at", "pk")
    )
    for row in rows:
        newest[row.question] = row
    result = []
    for q in QUESTIONS:
        if regime is not None and q.regime != regime:
            continue
        latest = newest.get(q.key)
        default = NOT_ASSESSED if q.is_determination else None
        result.append(
            CurrentAnswer(
                question=q,
                value=latest.value if latest else default,
                rationale=latest.rationale if latest else "",
                answered_by=latest.answered_by.username if latest else None,
                answered_at=latest.answered_at if latest else None,
                seq=latest.audit_seq if latest else None,
            )
        )
    return result


def answer_values(rows: Iterable[AssessmentAnswer]) -> dict[str, Any]:
    """Question key → newest value, from rows in any order (a prefetched `incident.assessment_answers.all()`)."""
    ordered = sorted(rows, key=lambda row: (row.answered_at, row.pk))
    return {row.question: row.value for row in ordered}
