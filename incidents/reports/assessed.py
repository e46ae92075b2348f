"""Report fields drawn from the incident's breach assessments: the answer, who gave it, when, why, and its seq."""

from __future__ import annotations

from dr_portal.pdf.document import Field
from dr_portal.pdf.formatting import ts
from incidents.assessments import NOT_ASSESSED, CurrentAnswer

NOT_YET_ASSESSED = "not yet assessed"


def assessed_field(answers: dict[str, CurrentAnswer], question: str, key: str, label: str, hint: str = "") -> Field:
    """A determination or fact as the assessment holds it; an open determination says so, never "no".

    `hint` is what the incident's own flags suggest, printed beside an open determination.
    """
    answer = answers[question]
    if answer.question.is_determination and answer.value == NOT_ASSESSED:
        note = f"the incident's facts suggest: {hint}" if hint else ""
        return Field(key, label, NOT_YET_ASSESSED, None, note)
    if answer.label is None:
        return Field(key, label, None)
    decided = f"by {answer.answered_by} at {ts(answer.answered_at)}"
    note = f"decided {decided}; rationale: {answer.rationale}" if answer.rationale else f"recorded {decided}"
    return Field(key, label, answer.label, answer.seq, note)


def assessed_text(answers: dict[str, CurrentAnswer], question: str) -> str | None:
    """One answer as a sentence for a field that holds it inline: the answer, then why; None when nobody gave it."""
    answer = answers[question]
    if answer.question.is_determination and answer.value == NOT_ASSESSED:
        return NOT_YET_ASSESSED
    if answer.label is None:
        return None
    return f"{answer.label} — {answer.rationale}" if answer.rationale else answer.label


def assessed_pair(answers: dict[str, CurrentAnswer], decision: str, details: str, key: str, label: str) -> Field:
    """A determination and the facts behind it ("Used" + who/when/why) in one field, cited by the decision's seq."""
    field = assessed_field(answers, decision, key, label)
    more = answers[details].label
    if more and field.value != NOT_YET_ASSESSED:
        return Field(field.key, field.label, f"{field.value}: {more}", field.seq, field.note)
    return field
