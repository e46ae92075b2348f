"""The organisation profile: admins keep it (page and API), every change is one audit event, bad input saves nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from dr_portal.accounts.models import Counterparty, OrganisationProfile, ProcessorRelationship, User
from dr_portal.accounts.services import OrganisationRefused, organisation_update, processor_add
from dr_portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_admin_fills_in_the_profile_and_one_event_records_the_change(
    admin: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(admin, mfa=True)
    assert "Organisation profile" in client.get("/accounts/organisation/").content.decode()
    response = client.post(
        "/accounts/organisation/",
        {"legal_name": "Acme Health SAS", "dpo_name": "Dana Protect", "dpo_phone": "+33 1 23 45 67 89",
         "gdpr_role": "controller", "lead_supervisory_authority": "CNIL",
         "required_signoffs": ["incident_commander", "compliance_officer"]},
    )  # fmt: skip
    assert response.status_code == 302
    profile = OrganisationProfile.objects.get()
    assert (profile.legal_name, profile.dpo_phone) == ("Acme Health SAS", "+33 1 23 45 67 89")
    assert profile.updated_by == admin
    (event,) = AuditEvent.objects.filter(action="organisation.updated")
    assert event.actor_id == admin.pk
    assert event.payload["changed"]["legal_name"] == {"from": "", "to": "Acme Health SAS"}
    assert set(event.payload["changed"]) == {
        "legal_name", "dpo_name", "dpo_phone", "gdpr_role", "lead_supervisory_authority"
    }  # fmt: skip
    page = client.get("/accounts/organisation/").content.decode()
    assert "Acme Health SAS" in page and "by " + admin.get_full_name() in page


def test_saving_the_same_values_records_nothing(admin: User) -> None:
    organisation_update(changes={"legal_name": "Acme"}, by=admin)
    organisation_update(changes={"legal_name": " Acme "}, by=admin)
    assert AuditEvent.objects.filter(action="organisation.updated").count() == 1


def test_a_bad_email_is_refused_with_the_reason_and_nothing_is_saved(
    admin: User, client_for: Callable[..., Client]
) -> None:
    organisation_update(changes={"legal_name": "Acme"}, by=admin)
    response = client_for(admin, mfa=True).post(
        "/accounts/organisation/", {"legal_name": "Renamed", "dpo_email": "not-an-email"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        organisation_update(changes={"legal_name": "Renamed", "gdpr_role": "overlord"}, by=admin)
    assert "gdpr_role" in refused.value.message_dict
    assert OrganisationProfile.objects.get().legal_name == "Acme"
    assert AuditEvent.objects.filter(action="organisation.updated").count() == 1


def test_unknown_fields_are_refused(admin: User) -> None:
    with pytest.raises(OrganisationRefused, match="Not a profile field: updated_by"):
        organisation_update(changes={"updated_by": None}, by=admin)
    assert not OrganisationProfile.objects.exists()


def test_only_admins_see_the_settings_page(
    compliance: User, commander: User, client_for: Callable[..., Client]
) -> None:
    for person in (compliance, commander):
        assert client_for(person).get("/accounts/organisation/").status_code == 403
        response = client_for(person).post("/accounts/organisation/", {"legal_name": "Mine now"})
        assert response.status_code == 403
    assert not OrganisationProfile.objects.exists()


def test_relationships_are_added_and_removed_through_the_page(admin: User, client_for: Callable[..., Client]) -> None:
    client = client_for(admin, mfa=True)
    form = {"name": "CloudBackup Ltd", "kind": Counterparty.PROCESSOR, "agreement_reference": "DPA-7",
            "breach_contact": "security@cloudbackup.example", "notice_hours": "24"}  # fmt: skip
    assert client.post("/accounts/organisation/processors/", form).status_code == 302
    again = client.post("/accounts/organisation/processors/", form)
    assert again.status_code == 400 and "already exists" in again.content.decode()
    relationship = ProcessorRelationship.objects.get()
    assert relationship.notice_hours == 24
    assert client.post(f"/accounts/organisation/processors/{relationship.public_id}/delete/").status_code == 302
    assert not ProcessorRelationship.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="organisation.").values_list("action", flat=True))
    assert actions == ["organisation.processor_added", "organisation.processor_removed"]


def test_a_relationship_needs_a_known_kind(admin: User) -> None:
    with pytest.raises(ValidationError) as refused:
        processor_add(name="Someone", kind="friend", by=admin)
    assert "kind" in refused.value.message_dict
    assert not ProcessorRelationship.objects.exists()


# --- the API ----------------------------------------------------------------------------


def test_compliance_reads_the_profile_and_admins_change_it_over_the_api(
    admin: User, compliance: User, client_for: Callable[..., Client]
) -> None:
    organisation_update(changes={"legal_name": "Acme", "dpo_email": "dpo@acme.example"}, by=admin)
    body = client_for(compliance).get("/api/v1/organisation/").json()
    assert body["legal_name"] == "Acme" and body["dpo_email"] == "dpo@acme.example" and body["processors"] == []
    denied = client_for(compliance).patch(
        "/api/v1/organisation/", json.dumps({"legal_name": "Mine"}), content_type="application/json"
    )
    assert denied.status_code == 404
    api = client_for(admin, mfa=True)
    bad = api.patch("/api/v1/organisation/", json.dumps({"dpo_email": "nope", "legal_name": "Acme 2"}),
                    content_type="application/json")  # fmt: skip
    assert bad.status_code == 400
    assert "dpo_email" in bad.json()["error"]["fields"]
    assert OrganisationProfile.objects.get().legal_name == "Acme"
    good = api.patch("/api/v1/organisation/", json.dumps({"hipaa_role": "covered_entity"}),
                     content_type="application/json")  # fmt: skip
    assert good.status_code == 200
    assert good.json()["hipaa_role"] == "covered_entity" and good.json()["legal_name"] == "Acme"
    assert AuditEvent.objects.filter(action="organisation.updated").count() == 2


def test_relationships_over_the_api(admin: User, client_for: Callable[..., Client]) -> None:
    api = client_for(admin, mfa=True)
    body = {"name": "Clinic Partners LLC", "kind": "covered_entity", "notice_hours": 48}
    created = api.post("/api/v1/organisation/processors/", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["kind_label"].startswith("A covered entity")
    duplicate = api.post("/api/v1/organisation/processors/", body, content_type="application/json")
    assert duplicate.status_code == 400
    negative = api.post("/api/v1/organisation/processors/", {**body, "name": "X", "notice_hours": -1},
                        content_type="application/json")  # fmt: skip
    assert negative.status_code == 400 and "notice_hours" in negative.json()["error"]["fields"]
    assert ProcessorRelationship.objects.count() == 1
    gone = api.delete(f"/api/v1/organisation/processors/{created.json()['id']}/")
    assert gone.status_code == 204
    assert api.delete(f"/api/v1/organisation/processors/{created.json()['id']}/").status_code == 404
