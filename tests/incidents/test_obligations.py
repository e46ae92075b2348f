"""Item 1: assets with personal data or PHI make assessments mandatory; contradicting times are flagged;
assessment answers drive the regulatory clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.clocks import ClockState
from incidents.compliance.obligations import assessment_obligations, time_flags
from incidents.models import Incident, IncidentStatus, Regime
from incidents.selectors import incident_board
from incidents.services import IncidentRefused, incident_declare, incident_transition, incident_update_facts
from incidents.services.assessments import assessment_answer
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

WHY = "Decided from the access logs of the exposed table."


def declare(commander: User, *classes: str, title: str = "Patient records exposed") -> Incident:
    assets = [AssetFactory.create(name=f"store-{c}", data_classes=[c]) for c in classes]
    return incident_declare(title=title, category="confidentiality", assets=assets, by=commander, commander=commander)


def test_a_phi_asset_makes_both_assessments_mandatory_and_a_plain_asset_none(commander: User) -> None:
    phi = declare(commander, "phi")
    owed = {o.regime: o for o in assessment_obligations(phi)}
    assert set(owed) == {"gdpr", "hipaa"}
    assert "store-phi holds protected health information" in owed["hipaa"].because
    assert owed["hipaa"].outstanding == ("PHI involved?", "Outcome of the four-factor assessment (§164.402(2))")
    assert assessment_obligations(declare(commander, "none", title="Cache flushed")) == []


def test_closing_is_refused_until_the_mandatory_determinations_are_decided(commander: User) -> None:
    incident = declare(commander, "personal")
    for to in ("investigating", "resolved"):
        incident = incident_transition(incident=incident, to=to, by=commander)
    with pytest.raises(IncidentRefused, match="mandatory assessments: GDPR breach assessment"):
        incident_transition(incident=incident, to="closed", by=commander)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED
    answers = {"gdpr.personal_data": "yes", "gdpr.risk": "risk", "gdpr.art34": "not_high_risk"}
    assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, WHY), by=commander)
    assert assessment_obligations(incident)[0].done
    assert incident_transition(incident=incident, to="closed", by=commander).status == IncidentStatus.CLOSED


def test_the_dashboard_and_the_incident_page_say_which_assessment_is_owed(
    commander: User, client_for: Callable[..., Client]
) -> None:
    incident = declare(commander, "phi")
    client = client_for(commander)
    dashboard = client.get("/").content.decode()
    assert "Mandatory assessments not decided" in dashboard and incident.reference in dashboard
    assert "HIPAA breach risk assessment" in dashboard
    page = client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "HIPAA breach risk assessment</strong> is mandatory" in page and "still to decide" in page
    answers = {"gdpr.personal_data": "yes", "gdpr.risk": "risk", "gdpr.art34": "notify", "hipaa.phi": "yes",
               "hipaa.outcome": "breach"}  # fmt: skip
    assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, WHY), by=commander)
    assert "Mandatory assessments not decided" not in client.get("/").content.decode()


def test_became_aware_before_detected_is_flagged_on_the_page_and_in_the_api(
    commander: User, client_for: Callable[..., Client]
) -> None:
    incident = declare(commander, "personal")
    now = timezone.now()
    incident_update_facts(
        incident=incident, changes={"detected_at": now - timedelta(hours=2), "aware_at": now - timedelta(hours=5)},
        by=commander,
    )  # fmt: skip
    incident.refresh_from_db()
    assert [f.field for f in time_flags(incident)] == ["aware_at"]
    client = client_for(commander)
    assert "is earlier than &#x27;detected&#x27;" in client.get(f"/incidents/{incident.public_id}/").content.decode()
    flags = client.get(f"/api/v1/incidents/{incident.public_id}/obligations/").json()["time_flags"]
    assert flags[0]["field"] == "aware_at"
    incident_update_facts(incident=incident, changes={"aware_at": now - timedelta(hours=1)}, by=commander)
    incident.refresh_from_db()
    assert time_flags(incident) == []


def test_assessment_answers_start_and_stop_the_clocks(commander: User) -> None:
    incident = declare(commander, "none", title="Bucket made public")
    now = timezone.now()
    incident_update_facts(
        incident=incident, changes={"aware_at": now - timedelta(hours=1), "discovered_at": now - timedelta(hours=1)},
        by=commander,
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident_board(incident=incident).clocks == []  # no flag set on the incident itself
    answers = {"gdpr.personal_data": "yes", "hipaa.phi": "yes", "hipaa.by_state": "CA=320; NY=100"}
    assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, WHY), by=commander)
    board = incident_board(incident=incident)
    regimes = {c.regime: c for c in board.clocks}
    assert set(regimes) == {Regime.GDPR_33, Regime.HIPAA_INDIVIDUALS, Regime.HIPAA_HHS}
    assert regimes[Regime.GDPR_33].state == ClockState.RUNNING
    # 420 people (from the per-state counts): HHS goes in the yearly log, not within 60 days.
    assert "yearly log" in regimes[Regime.HIPAA_HHS].rule
    stop = {"gdpr.risk": "unlikely", "hipaa.outcome": "low_probability"}
    assessment_answer(incident=incident, answers=stop, rationale=dict.fromkeys(stop, WHY), by=commander)
    board = incident_board(incident=incident)
    assert board.clocks == []
    assert any("Art. 33(5) register" in note for note in board.notes)
    assert any("low probability of compromise" in note for note in board.notes)


def test_the_ai_act_category_sets_the_window(commander: User) -> None:
    incident = declare(commander, "none", title="Model misrouted ambulances")
    incident_update_facts(incident=incident, changes={"ai_aware_at": timezone.now()}, by=commander)
    answers = {"ai_act.serious": "yes", "ai_act.category": "widespread"}
    assessment_answer(incident=incident, answers=answers, rationale=dict.fromkeys(answers, WHY), by=commander)
    incident.refresh_from_db()
    (clock,) = incident_board(incident=incident).clocks
    assert clock.window == timedelta(days=2) and "Art. 73(3)" in clock.rule
