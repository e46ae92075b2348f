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
