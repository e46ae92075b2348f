"""Guided breach assessments: not yet assessed until someone decides, a rationale for every determination,
one audit event per changed answer, and bad input refused whole."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.assessments import NOT_ASSESSED, incident_assessment
from incidents.models import AssessmentAnswer, Incident
from incidents.services.assessments import AssessmentRefused, assessment_answer

pytestmark = pytest.mark.django_db


def answers_of(incident: Incident) -> dict[str, object]:
    return {a.question.key: a.value for a in incident_assessment(incident=incident)}


def test_determinations_start_as_not_yet_assessed_never_no(incident: Incident) -> None:
    current = answers_of(incident)
    for key in ("gdpr.personal_data", "gdpr.risk", "gdpr.art34", "hipaa.outcome", "ai_act.serious"):
        assert current[key] == NOT_ASSESSED
    assert current["gdpr.subjects_approx"] is None  # a fact nobody gave is simply not recorded


def test_answers_are_attributed_timestamped_and_audited_one_event_each(incident: Incident, commander: User) -> None:
    assessment_answer(
        incident=incident,
        answers={"gdpr.personal_data": "yes", "gdpr.subjects_approx": "1200", "hipaa.outcome": "breach"},
        rationale={"gdpr.personal_data": "Customer emails were in the exposed table.",
                   "hipaa.outcome": "No assessment shows a low probability of compromise."},
        by=commander,
    )  # fmt: skip
    events = list(AuditEvent.objects.filter(action="incident.assessment_answered").order_by("seq"))
    assert [e.payload["question"] for e in events] == ["gdpr.personal_data", "gdpr.subjects_approx", "hipaa.outcome"]
    assert events[0].payload["from"] == NOT_ASSESSED and events[0].payload["to"] == "yes"
    assert all(e.actor_id == commander.pk and e.incident_id == incident.public_id for e in events)
    current = {a.question.key: a for a in incident_assessment(incident=incident)}
    personal = current["gdpr.personal_data"]
    assert (personal.value, personal.answered_by, personal.seq) == ("yes", commander.username, events[0].seq)
    assert personal.answered_at is not None and current["gdpr.subjects_approx"].value == 1200
    # The same answer again changes nothing and records nothing.
    assessment_answer(incident=incident, answers={"gdpr.subjects_approx": 1200}, rationale={}, by=commander)
    assert AuditEvent.objects.filter(action="incident.assessment_answered").count() == 3


def test_a_determination_without_rationale_is_refused_and_nothing_is_saved(incident: Incident, commander: User) -> None:
    with pytest.raises(AssessmentRefused) as refused:
        assessment_answer(
            incident=incident,
            answers={"gdpr.subjects_approx": 40, "gdpr.risk": "high", "gdpr.started_at": "yesterday"},
            rationale={},
            by=commander,
        )
    message = str(refused.value)
    assert "Risk to data subjects: say why" in message
    assert "Breach started (UTC): give a date and time" in message
    assert not AssessmentAnswer.objects.exists()
    assert not AuditEvent.objects.filter(action="incident.assessment_answered").exists()
    assert answers_of(incident)["gdpr.risk"] == NOT_ASSESSED


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        ({"gdpr.art34": "maybe"}, "choose one of"),
        ({"gdpr.records_approx": "-5"}, "between 0 and"),
        ({"gdpr.records_approx": "lots"}, "whole number"),
        ({"gdpr.ended_at": "2999-01-01T00:00Z"}, "in the future"),
        # Typed into the forms by a tester: year 0001 was stored and printed in the HHS export, and a NUL
        # character (which PostgreSQL cannot store) went through to the database.
        ({"hipaa.notice_hhs_at": "0001-01-01T00:00"}, "0001-01-01 is before 1970; check the year"),
        ({"gdpr.vector": "phishing\x00mail"}, "remove the NUL character"),
        ({"gdpr.phased": "no"}, "NUL character from the rationale"),
        ({"gdpr.unknown": "x"}, "not a question"),
    ],
)
def test_bad_answers_are_refused_with_the_reason(
    incident: Incident, commander: User, answers: dict[str, str], says: str
) -> None:
    why = "because\x00" if "rationale" in says else "because"
    with pytest.raises(AssessmentRefused, match=says):
        assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, why), by=commander)
    assert not AssessmentAnswer.objects.exists()


def test_the_api_reads_and_records_answers_and_refuses_without_rationale(
    incident: Incident, commander: User, viewer: User, client_for: Callable[..., Client]
) -> None:
    url = f"/api/v1/incidents/{incident.public_id}/assessments/"
    listed = client_for(viewer).get(url).json()
    ai = next(a for a in listed if a["question"] == "ai_act.serious")
    assert ai["value"] == NOT_ASSESSED and ai["value_label"] == "Not yet assessed" and ai["answered_by"] is None
    assert (
        client_for(viewer).post(url, {"answers": {"ai_act.system": "x"}}, content_type="application/json").status_code
        == 404
    )
    api = client_for(commander)
    refused = api.post(url, {"answers": {"ai_act.serious": "yes"}}, content_type="application/json")
    assert refused.status_code == 409
    assert "say why" in refused.json()["error"]["detail"]
    empty = api.post(url, {"answers": {}}, content_type="application/json")
    assert empty.status_code == 400
    done = api.post(url, {"answers": {"ai_act.serious": "yes", "ai_act.category": "other"},
                          "rationale": {"ai_act.serious": "Wrong scores denied credit.", "ai_act.category": "No death, "
                                        "not widespread."}}, content_type="application/json")  # fmt: skip
    assert done.status_code == 200
    serious = next(a for a in done.json() if a["question"] == "ai_act.serious")
    assert serious["value"] == "yes" and serious["answered_by"] == commander.username and serious["seq"]


def test_the_page_records_an_assessment_and_refuses_a_determination_without_rationale(
    incident: Incident, commander: User, viewer: User, client_for: Callable[..., Client]
) -> None:
    url = f"/incidents/{incident.public_id}/assessments/hipaa/"
    assert "Not yet assessed" in client_for(viewer).get(url).content.decode()
    assert client_for(viewer).post(url, {"hipaa.phi": "yes"}).status_code == 404
    client = client_for(commander)
    refused = client.post(url, {"hipaa.phi": "yes", "why-hipaa.phi": ""})
    assert refused.status_code == 400 and "say why" in refused.content.decode()
    assert not AssessmentAnswer.objects.exists()
    saved = client.post(url, {"hipaa.phi": "yes", "why-hipaa.phi": "Lab results were in the bucket.",
                              "hipaa.phi_types": "lab results"})  # fmt: skip
    assert saved.status_code == 302
    # Submitting the same form again (as a browser does) records nothing new.
    page = client.get(url).content.decode()
    assert "Lab results were in the bucket." in page and f"Answered by {commander.username}" in page
    again = client.post(url, {"hipaa.phi": "yes", "why-hipaa.phi": "Lab results were in the bucket.",
                              "hipaa.phi_types": "lab results"})  # fmt: skip
    assert again.status_code == 302
    assert AssessmentAnswer.objects.count() == 2
    assert client.get(f"/incidents/{incident.public_id}/assessments/nis2/").status_code == 404


RESPONSE_DETERMINATIONS = ("response.backups_affected", "response.break_glass", "response.emergency_mode",
                           "response.legal_hold", "response.law_enforcement")  # fmt: skip


def test_the_response_record_is_not_yet_assessed_needs_reasons_and_is_printed(
    incident: Incident, commander: User, client_for: Callable[..., Client]
) -> None:
    """Legal hold, law-enforcement delay, break-glass, emergency mode: determinations like the breach's own."""
    assert {answers_of(incident)[k] for k in RESPONSE_DETERMINATIONS} == {NOT_ASSESSED}
    with pytest.raises(AssessmentRefused, match="Legal hold on this incident's records\\?: say why"):
        assessment_answer(incident=incident, answers={"response.legal_hold": "hold"}, rationale={}, by=commander)
    url = f"/api/v1/incidents/{incident.public_id}/assessments/"
    done = client_for(commander).post(
        url,
        {"answers": {"response.legal_hold": "hold", "response.law_enforcement": "delayed",
                     "response.law_enforcement_details": "FBI field office, 30 days from 2026-11-02, letter ref 7"},
         "rationale": {"response.legal_hold": "Counsel: litigation expected.",
                       "response.law_enforcement": "A written request under §164.412(a)."}},
        content_type="application/json",
    )  # fmt: skip
    assert done.status_code == 200
    from incidents.reports.assessed import assessed_pair, assessed_text

    current = {a.question.key: a for a in incident_assessment(incident=incident)}
    assert assessed_text(current, "response.legal_hold") == "On hold — Counsel: litigation expected."
    delay = assessed_pair(current, "response.law_enforcement", "response.law_enforcement_details", "le", "LE")
    assert delay.value == "Delay requested: FBI field office, 30 days from 2026-11-02, letter ref 7" and delay.seq
    assert assessed_text(current, "response.break_glass") == "not yet assessed"
    page = client_for(commander).get(f"/incidents/{incident.public_id}/assessments/response/")
    assert page.status_code == 200 and b"Break-glass" in page.content
