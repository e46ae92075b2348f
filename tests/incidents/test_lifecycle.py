"""The incident state machine, roles and their handoffs, notes, action items: and the refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.models import ActionStatus, Incident, IncidentStatus, Note, RoleAssignment
from incidents.services import (
    IncidentRefused,
    action_item_add,
    action_item_set_status,
    incident_declare,
    incident_transition,
    incident_update_facts,
    note_add,
    pin_set,
    review_save,
    review_sign_off,
    role_assign,
    role_relieve,
    severity_suggest,
)
from tests.factories import AssetFactory, decide_mandatory_assessments

pytestmark = pytest.mark.django_db


def events(incident: Incident) -> list[str]:
    return list(
        AuditEvent.objects.filter(incident_id=incident.public_id).order_by("seq").values_list("action", flat=True)
    )


def walk(incident: Incident, by, *states: str) -> Incident:
    for state in states:
        if state == "closed":
            decide_mandatory_assessments(incident, by)
        incident = incident_transition(incident=incident, to=state, by=by)
    return incident


def test_declare_records_severity_rule_and_timeline(commander, fraud_model) -> None:
    incident = incident_declare(title="Scores drift", category="drift", assets=[fraud_model], by=commander)
    assert incident.status == IncidentStatus.DECLARED
    assert incident.severity == "SEV1"
    assert "tier 0" in incident.severity_rule
    assert events(incident) == ["incident.declared"]
    assert incident.reference == f"INC-{incident.pk}"


def test_severity_rule_raises_a_breach_touching_phi() -> None:
    records = AssetFactory.build(name="records", tier=2, data_classes=["phi"])
    assert severity_suggest(assets=[records], category="availability")[0] == "SEV3"
    severity, rule = severity_suggest(assets=[records], category="confidentiality")
    assert severity == "SEV2"
    assert "raised" in rule


def test_full_walk_through_the_states(incident, commander) -> None:
    incident = walk(incident, commander, "investigating", "mitigating", "recovering", "resolved", "closed")
    assert incident.status == IncidentStatus.CLOSED
    assert incident.resolved_at and incident.closed_at and incident.restored_at
    assert events(incident).count("incident.status_changed") == 5


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ((), "closed"),
        ((), "resolved"),
        ((), "recovering"),
        (("investigating",), "recovering"),
        (("investigating", "resolved", "closed"), "investigating"),
    ],
)
def test_illegal_status_jump_is_refused_and_changes_nothing(incident, commander, path, to) -> None:
    incident = walk(incident, commander, *path)
    before_events = events(incident)
    before = Incident.objects.get(pk=incident.pk)
    with pytest.raises(IncidentRefused, match=f"cannot go from {before.status} to {to}"):
        incident_transition(incident=incident, to=to, by=commander)
    after = Incident.objects.get(pk=incident.pk)
    assert (after.status, after.resolved_at, after.closed_at) == (before.status, before.resolved_at, before.closed_at)
    assert events(incident) == before_events


def test_cannot_leave_declared_without_a_commander(commander, oncall) -> None:
    incident = incident_declare(title="Vector index corrupt", category="integrity", by=oncall)
    with pytest.raises(IncidentRefused, match="without an incident commander"):
        incident_transition(incident=incident, to="investigating", by=commander)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.DECLARED
    role_assign(incident=incident, role="commander", user=commander, by=commander)
    assert incident_transition(incident=incident, to="investigating", by=commander).status == "investigating"


@pytest.mark.parametrize(
    ("role", "person", "why"),
    [
        ("commander", "viewer", "needs an account that may command incidents"),
        ("commander", "oncall", "needs an account that may command incidents"),
        ("scribe", "viewer", "needs an account that may respond incidents"),
        ("compliance_liaison", "oncall", "needs an account that may view reports"),
        ("security_officer", "oncall", "needs an account that may view reports"),
        ("legal", "viewer", "needs an account that may view reports"),
        ("ai_owner", "viewer", "needs an account that may respond incidents"),
    ],
)
def test_role_for_someone_without_the_permission_is_refused(request, incident, commander, role, person, why) -> None:
    user = request.getfixturevalue(person)
    before = RoleAssignment.objects.count(), events(incident)
    with pytest.raises(IncidentRefused, match=why):
        role_assign(incident=incident, role=role, user=user, by=commander)
    assert (RoleAssignment.objects.count(), events(incident)) == before


def test_handoff_keeps_the_history(incident, commander, admin, oncall, compliance) -> None:
    role_assign(incident=incident, role="ops_lead", user=oncall, by=commander)
    role_assign(incident=incident, role="compliance_liaison", user=compliance, by=commander)
    role_assign(incident=incident, role="commander", user=admin, by=commander)
    history = RoleAssignment.objects.filter(incident=incident, role="commander").order_by("assigned_at", "pk")
    first, second = list(history)
    assert first.user == commander and first.relieved_at is not None and first.relieved_by == commander
    assert second.user == admin and second.relieved_at is None and second.assigned_by == commander
    last = AuditEvent.objects.filter(incident_id=incident.public_id, action="incident.role_assigned").last()
    assert last is not None and last.payload == {
        "role": "commander",
        "user": admin.username,
        "relieved": commander.username,
    }


def test_an_active_incident_cannot_lose_its_commander(incident, commander) -> None:
    incident = walk(incident, commander, "investigating")
    with pytest.raises(IncidentRefused, match="always has a commander"):
        role_relieve(incident=incident, role="commander", by=commander)


def test_notes_are_append_only_and_corrections_point_back(incident, oncall) -> None:
    first = note_add(incident=incident, body="Rolled back to v41", by=oncall)
    fix = note_add(incident=incident, body="Rolled back to v40, not v41", by=oncall, corrects=first)
    first.refresh_from_db()
    assert first.body == "Rolled back to v41"
    assert fix.audit_seq is not None
    event = AuditEvent.objects.get(seq=fix.audit_seq)
    assert event.payload["corrects_seq"] == first.audit_seq
    assert event.incident_id == incident.public_id


def test_note_on_a_closed_incident_is_refused(incident, commander) -> None:
    incident = walk(incident, commander, "investigating", "resolved", "closed")
    before = events(incident)
    with pytest.raises(IncidentRefused, match="is closed; notes can no longer be added"):
        note_add(incident=incident, body="one more thing", by=commander)
    assert not Note.objects.filter(incident=incident).exists()
    assert events(incident) == before


def test_closing_with_open_critical_action_items_is_refused(incident, commander, oncall) -> None:
    incident = walk(incident, commander, "investigating", "resolved")
    item = action_item_add(
        incident=incident, title="Rotate the leaked key", kind="corrective", owner=oncall, by=commander, critical=True
    )
    action_item_add(incident=incident, title="Write a runbook", kind="preventive", owner=oncall, by=commander)
    decide_mandatory_assessments(incident, commander)
    with pytest.raises(IncidentRefused, match=r"open critical action item \(Rotate the leaked key\)"):
        incident_transition(incident=incident, to="closed", by=commander)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED
    action_item_set_status(item=item, status=ActionStatus.DONE, by=oncall)
    assert incident_transition(incident=incident, to="closed", by=commander).status == IncidentStatus.CLOSED


def test_review_sign_off_is_the_commanders_once_resolved(incident, commander, admin) -> None:
    review_save(incident=incident, changes={"root_cause": "A bad feature push"}, by=commander)
    with pytest.raises(IncidentRefused, match="once the incident is resolved"):
        review_sign_off(incident=incident, by=commander)
    incident = walk(incident, commander, "investigating", "resolved")
    with pytest.raises(IncidentRefused, match=r"Only the incident commander \(chris\)"):
        review_sign_off(incident=incident, by=admin)
    signed = review_sign_off(incident=incident, by=commander)
    assert signed.signed_off_by == commander
    with pytest.raises(IncidentRefused, match="signed off"):
        review_save(incident=incident, changes={"root_cause": "Something else"}, by=commander)


def test_review_needs_a_root_cause_before_sign_off(incident, commander) -> None:
    incident = walk(incident, commander, "investigating", "resolved")
    with pytest.raises(IncidentRefused, match="root cause"):
        review_sign_off(incident=incident, by=commander)


def test_facts_in_the_future_are_refused(incident, commander) -> None:
    with pytest.raises(IncidentRefused, match="in the future"):
        incident_update_facts(
            incident=incident, changes={"aware_at": timezone.now() + timedelta(hours=2)}, by=commander
        )
    assert Incident.objects.get(pk=incident.pk).aware_at is None


def test_facts_change_is_one_audit_event_with_old_and_new(incident, commander) -> None:
    moment = timezone.now() - timedelta(hours=1)
    incident_update_facts(incident=incident, changes={"personal_data": True, "aware_at": moment}, by=commander)
    event = AuditEvent.objects.filter(incident_id=incident.public_id, action="incident.facts_updated").get()
    assert event.payload["changed"]["personal_data"] == [False, True]
    assert event.payload["changed"]["aware_at"] == [None, moment.isoformat()]


def test_pins_only_entries_of_this_incident(incident, commander, oncall) -> None:
    other = incident_declare(title="Other", category="availability", by=commander)
    note = note_add(incident=incident, body="important", by=oncall)
    assert note.audit_seq is not None
    assert pin_set(incident=incident, seq=note.audit_seq, pinned=True, by=oncall) is True
    foreign = AuditEvent.objects.filter(incident_id=other.public_id).first()
    assert foreign is not None
    with pytest.raises(IncidentRefused, match="not an entry"):
        pin_set(incident=incident, seq=foreign.seq, pinned=True, by=oncall)


def test_the_security_officer_legal_and_ai_owner_roles_are_assigned_and_audited(
    incident, commander, oncall, compliance
) -> None:
    for role, user in (("security_officer", compliance), ("legal", compliance), ("ai_owner", oncall)):
        role_assign(incident=incident, role=role, user=user, by=commander)
    held = set(RoleAssignment.objects.filter(incident=incident, relieved_at__isnull=True).values_list("role", "user"))
    assert {("security_officer", compliance.pk), ("legal", compliance.pk), ("ai_owner", oncall.pk)} <= held
    roles = AuditEvent.objects.filter(incident_id=incident.public_id, action="incident.role_assigned")
    assert {"security_officer", "legal", "ai_owner"} <= {e.payload["role"] for e in roles}
