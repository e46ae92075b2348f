"""Answering an incident's breach assessment: validated as a whole, one audit event per changed answer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from incidents.assessments import BY_KEY, NOT_ASSESSED, Question, incident_assessment
from incidents.models import AssessmentAnswer, Incident
from incidents.services.common import IncidentRefused, lock

MAX_TEXT = 4000
# Before this an assessment date is a typo (year 0001 was accepted and printed in the HHS export).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class AssessmentRefused(IncidentRefused):
    """An answer that cannot be recorded; the message names every problem, and nothing was saved."""

    code = "assessment_refused"


def _parse(question: Question, raw: Any) -> tuple[Any, str]:
    """The stored value for `raw`, or a problem in words."""
    if raw is None or raw == "":
        return (NOT_ASSESSED if question.is_determination else None), ""
    if question.kind in ("determination", "choice"):
        allowed = [key for key, _ in question.choices]
        if raw not in allowed:
            return None, f"{question.label}: choose one of {', '.join(allowed)}."
        return raw, ""
    if question.kind == "number":
        try:
            number = int(str(raw).strip())
        except ValueError:
            return None, f"{question.label}: give a whole number."
        if number < 0 or number > 10**12:
            return None, f"{question.label}: give a number between 0 and 1,000,000,000,000."
        return number, ""
    if question.kind == "datetime":
        moment = raw if isinstance(raw, datetime) else parse_datetime(str(raw).strip())
        if moment is None:
            return None, f"{question.label}: give a date and time such as 2026-11-30T14:05Z."
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        if moment > timezone.now():
            return None, f"{question.label}: that moment is in the future."
        if moment < EARLIEST:
            return None, f"{question.label}: {moment.date().isoformat()} is before 1970; check the year."
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z"), ""
    text = str(raw).strip()
    if "\x00" in text:
        return None, f"{question.label}: remove the NUL character (it cannot be stored)."
    if len(text) > MAX_TEXT:
        return None, f"{question.label}: at most {MAX_TEXT} characters."
    return text or None, ""


@transaction.atomic
def assessment_answer(
    *, incident: Incident, answers: Mapping[str, Any], rationale: Mapping[str, str], by: User
) -> list[AssessmentAnswer]:
    """Record answers (question key → value) with their rationale; determinations need one.

    Everything is checked before anything is written: one bad answer refuses them all, saying
    what is wrong with each. Unchanged answers (same value and rationale) record nothing.
    """
    locked = lock(incident)
    if locked.is_closed:
        raise AssessmentRefused(f"{locked.reference} is closed; its assessments are final.")
    current = {a.question.key: a for a in incident_assessment(incident=locked)}
    problems: list[str] = []
    parsed: dict[str, tuple[Any, str]] = {}
    for key, raw in answers.items():
        question = BY_KEY.get(key)
        if question is None:
            problems.append(f"{key}: not a question of these assessments.")
            continue
        value, problem = _parse(question, raw)
        why = str(rationale.get(key) or "").strip()
        if problem:
            problems.append(problem)
        elif question.is_determination and value != current[key].value and not why:
            problems.append(f"{question.label}: say why (a rationale is required for every determination).")
        elif len(why) > MAX_TEXT:
            problems.append(f"{question.label}: the rationale is longer than {MAX_TEXT} characters.")
        elif "\x00" in why:
            problems.append(f"{question.label}: remove the NUL character from the rationale.")
        parsed[key] = (value, why)
    unknown_rationale = sorted(set(rationale) - set(answers))
    if unknown_rationale:
        problems.append(f"A rationale was given without an answer: {', '.join(unknown_rationale)}.")
    if problems:
        raise AssessmentRefused(" ".join(problems))
    recorded: list[AssessmentAnswer] = []
    now = timezone.now()
    for key, (value, why) in parsed.items():
        before = current[key]
        if value == before.value and why == before.rationale:
            continue
        question = BY_KEY[key]
        row = AssessmentAnswer.objects.create(
            incident=locked, regime=question.regime, question=key, value=value, rationale=why, answered_by=by,
            answered_at=now,
        )  # fmt: skip
        event = audit_append(
            action="incident.assessment_answered",
            actor=by,
            obj=locked,
            incident_id=locked.public_id,
            payload={"regime": question.regime, "question": key, "from": before.value, "to": value, "rationale": why},
        )
        row.audit_seq = event.seq
        row.save(update_fields=["audit_seq"])
        recorded.append(row)
    return recorded
