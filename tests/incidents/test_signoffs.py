"""Item 4: multi-role sign-off — only duty holders, only with a second factor, refusals need a reason, each
decision an audit event, and a report is final only with the organisation's required sign-offs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dr_portal.accounts.models import OrganisationProfile, User
from dr_portal.audit.models import AuditEvent
from dr_portal.errors import Refused
from incidents.compliance.models import DutyHolder, SignOff
from incidents.compliance.signoffs import SignoffRefused, signoff_record, signoff_status
from incidents.models import Incident
from incidents.services import incident_transition
from incidents.services.reports import report_request
from tests.factories import UserFactory, decide_mandatory_assessments

pytestmark = pytest.mark.django_db


def verified(user: User) -> User:
    user.is_verified = lambda: True  # type: ignore[attr-defined]  # what django-otp sets after a checked code
    return user


@pytest.fixture
def closed(incident: Incident, commander: User) -> Incident:
    decide_mandatory_assessments(incident, commander)
    for to in ("investigating", "resolved", "closed"):
        incident = incident_transition(incident=incident, to=to, by=commander)
    OrganisationProfile.objects.create(required_signoffs=["incident_commander", "compliance_officer", "dpo"])
    return incident


def test_a_report_is_final_only_once_every_required_duty_has_signed(
    closed: Incident, commander: User, compliance: User, admin: User
) -> None:
    dpo = UserFactory.create(username="dana-dpo")
    DutyHolder.objects.create(user=dpo, duty="dpo", assigned_by=admin)
    with pytest.raises(Refused, match="before these sign it: incident commander, data protection officer, compliance"):
        report_request(kind="incident", incident=closed, by=compliance, final=True)
    assert report_request(kind="incident", incident=closed, by=compliance).draft  # a draft may always be built
    signoff_record(incident=closed, by=verified(commander), duty="incident_commander", decision="signed")
    signoff_record(incident=closed, by=verified(compliance), duty="compliance_officer", decision="signed")
    refusal = signoff_record(incident=closed, by=verified(dpo), duty="dpo", decision="refused",
                             reason="The Art. 34 rationale does not mention the unencrypted backups.")  # fmt: skip
    assert [d.duty for d in signoff_status(incident=closed).missing] == ["dpo"]
    event = AuditEvent.objects.get(seq=refusal.audit_seq)
    assert event.action == "incident.signoff_refused" and "unencrypted backups" in event.payload["reason"]
    signoff_record(incident=closed, by=dpo, duty="dpo", decision="signed")
    assert signoff_status(incident=closed).complete
    final = report_request(kind="incident", incident=closed, by=compliance, final=True)
    assert final.draft is False
    signed = AuditEvent.objects.filter(action="incident.signed_off").order_by("seq")
    assert [e.payload["duty"] for e in signed] == ["incident_commander", "compliance_officer", "dpo"]


@pytest.mark.parametrize(
    ("who", "duty", "decision", "reason", "says"),
    [
        ("oncall", "incident_commander", "signed", "", "does not hold the duty of incident commander"),
        ("compliance", "legal", "signed", "", "does not hold the duty of legal"),
        ("compliance_unverified", "compliance_officer", "signed", "", "needs a verified second factor"),
        ("compliance", "compliance_officer", "refused", "no", "Say why you refuse"),
        ("compliance", "auditor", "signed", "", "Unknown duty"),
    ],
)
def test_bad_sign_offs_are_refused_with_the_reason_and_nothing_saved(
    closed: Incident, oncall: User, compliance: User, who: str, duty: str, decision: str, reason: str, says: str
) -> None:
    person = {"oncall": oncall, "compliance": compliance, "compliance_unverified": compliance}[who]
    if who != "compliance_unverified":
        verified(person)
    before = AuditEvent.objects.count()
    with pytest.raises(SignoffRefused, match=says):
        signoff_record(incident=closed, by=person, duty=duty, decision=decision, reason=reason)
    assert not SignOff.objects.exists() and AuditEvent.objects.count() == before


def test_an_open_incident_cannot_be_signed(incident: Incident, commander: User) -> None:
    with pytest.raises(SignoffRefused, match="sign its report once it is resolved"):
        signoff_record(incident=incident, by=verified(commander), duty="incident_commander", decision="signed")


def test_signing_from_the_page_needs_the_second_factor(
    closed: Incident, compliance: User, client_for: Callable[..., Client]
) -> None:
    url = f"/incidents/{closed.public_id}/sign-offs/"
    body = {"duty": "compliance_officer", "decision": "signed"}
    refused = client_for(compliance).post(url, body, follow=True).content.decode()
    assert "needs a verified second factor" in refused and not SignOff.objects.exists()
    client = client_for(compliance, mfa=True)
    client.post(url, body)
    (row,) = SignOff.objects.all()
    assert (row.user, row.duty, row.decision) == (compliance, "compliance_officer", "signed")
    page = client.get(f"/incidents/{closed.public_id}/").content.decode()
    assert "signed by " + compliance.username in page


def test_the_sign_off_form_offers_only_the_duties_the_person_holds(
    closed: Incident, compliance: User, client_for: Callable[..., Client]
) -> None:
    """A compliance officer was offered "Incident commander" first, and signing it was refused."""
    page = client_for(compliance, mfa=True).get(f"/incidents/{closed.public_id}/").content.decode()
    form = page.split('id="sign-offs"')[1].split("</form>")[0]
    assert 'value="compliance_officer"' in form
    assert 'value="incident_commander"' not in form and 'value="dpo"' not in form
