"""Item 3: the notification register — every kind of recipient, deadlines judged met or missed, notices dated
before the breach refused whole, attachments hashed, and the Art. 33(5) register of all breaches."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.services import token_issue
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.verify import verify_log
from incidents.clocks import ClockState
from incidents.compliance.models import Notification, RecipientKind
from incidents.compliance.notices import NotificationRefused, incident_notifications, notification_record
from incidents.compliance.register import breach_register
from incidents.models import Incident, Regime
from incidents.selectors import incident_board
from incidents.services import incident_declare, incident_update_facts
from incidents.services.assessments import assessment_answer
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def breach(commander: User) -> Incident:
    now = timezone.now()
    incident = incident_declare(
        title="Claims database exfiltrated", category="confidentiality", by=commander, commander=commander,
        assets=[AssetFactory.create(name="claims-db", data_classes=["phi"])], started_at=now - timedelta(days=10),
    )  # fmt: skip
    incident_update_facts(
        incident=incident,
        changes={"personal_data": True, "phi": True, "subjects_approx": 1240, "detected_at": now - timedelta(days=9),
                 "aware_at": now - timedelta(days=9), "discovered_at": now - timedelta(days=9)},
        by=commander,
    )  # fmt: skip
    incident.refresh_from_db()
    return incident


# fmt: off
def test_each_notice_is_judged_against_its_own_deadline(breach: Incident, commander: User) -> None:
    aware = breach.aware_at
    assert aware is not None
    notification_record(
        incident=breach,
        by=commander,
        kind=RecipientKind.AUTHORITY,
        recipient="CNIL",
        channel="notifications.cnil.fr",
        sent_at=aware + timedelta(hours=80),
        reference="CNIL-42",
        late_reason="The scope was confirmed by forensics only on day four.",
    )
    notification_record(
        incident=breach,
        by=commander,
        kind=RecipientKind.INDIVIDUALS,
        recipient="Affected members",
        channel="first-class mail",
        sent_at=aware + timedelta(days=5),
        count_notified=1240,
    )
    notification_record(
        incident=breach,
        by=commander,
        kind=RecipientKind.PROCESSOR_CONTROLLER,
        recipient="Acme Health (controller)",
        channel="email",
        sent_at=aware + timedelta(hours=3),
    )
    rows = {r.notification.kind: r for r in incident_notifications(incident=breach)}
    assert rows[RecipientKind.AUTHORITY].verdict == "missed"  # 80 h > 72 h
    assert rows[RecipientKind.AUTHORITY].deadline.due_at == aware + timedelta(hours=72)
    assert rows[RecipientKind.INDIVIDUALS].verdict == "met"  # HIPAA 60 days
    assert rows[RecipientKind.PROCESSOR_CONTROLLER].verdict == "no fixed deadline"
    clocks = {c.regime: c for c in incident_board(incident=breach).clocks}
    assert clocks[Regime.GDPR_33].state == ClockState.LATE
    assert clocks[Regime.HIPAA_INDIVIDUALS].state == ClockState.MET
    assert clocks[Regime.HIPAA_HHS].state == ClockState.RUNNING  # 1,240 people: HHS within 60 days, not yet filed
    event = AuditEvent.objects.get(seq=rows[RecipientKind.AUTHORITY].notification.audit_seq)
    assert event.action == "incident.notification_recorded" and event.payload["deadline"] == "missed"
    assert verify_log().ok
# fmt: on


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"sent_at_days": -11}, "before the breach began"),
        ({"sent_at_days": 2}, "dated in the future"),
        ({"recipient": ""}, "Give the recipient"),
        ({"kind": "pigeon"}, "Unknown recipient kind"),
        ({"kind": RecipientKind.INDIVIDUALS, "count_notified": None}, "how many individuals"),
    ],
)
def test_bad_notices_are_refused_with_the_reason_and_nothing_saved(
    breach: Incident, commander: User, change: dict[str, Any], says: str
) -> None:
    days = change.pop("sent_at_days", -1)
    args = {"kind": RecipientKind.AUTHORITY, "recipient": "CNIL", "channel": "portal", "count_notified": None,
            "sent_at": timezone.now() + timedelta(days=days), **change}  # fmt: skip
    before = AuditEvent.objects.count()
    with pytest.raises(NotificationRefused, match=says):
        notification_record(incident=breach, by=commander, **args)
    assert not Notification.objects.exists() and AuditEvent.objects.count() == before


def test_the_page_records_a_notice_with_its_attachment_and_shows_the_verdict(
    breach: Incident, commander: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(commander)
    letter = b"%PDF-1.4 notice to members"
    sent = (breach.aware_at or timezone.now()) + timedelta(hours=20)
    response = client.post(
        f"/incidents/{breach.public_id}/notifications/",
        {"kind": "authority", "phase": "initial", "recipient": "CNIL", "channel": "portal",
         "sent_at": sent.strftime("%Y-%m-%dT%H:%M"), "reference": "CNIL-7",
         "attachment": SimpleUploadedFile("notice.pdf", letter, content_type="application/pdf")},
    )  # fmt: skip
    assert response.status_code == 302
    row = Notification.objects.get()
    assert row.attachment_sha256 == hashlib.sha256(letter).hexdigest()
    page = client.get(f"/incidents/{breach.public_id}/").content.decode()
    assert "CNIL-7" in page and 'status-ok">met' in page
    download = client.get(f"/incidents/{breach.public_id}/notifications/{row.public_id}/attachment/")
    assert download.status_code == 200 and download.content == letter
    early = client.post(
        f"/incidents/{breach.public_id}/notifications/",
        {"kind": "hhs", "phase": "initial", "recipient": "HHS OCR", "channel": "portal",
         "sent_at": (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")}, follow=True,
    ).content.decode()  # fmt: skip
    assert "before the breach began" in early and Notification.objects.count() == 1


def test_the_api_records_and_lists_notices(breach: Incident, commander: User) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=commander, name='t', mfa_verified=False).raw}")
    url = f"/api/v1/incidents/{breach.public_id}/notifications/"
    body = {"kind": "hhs", "recipient": "HHS OCR", "channel": "breach portal", "reference": "OCR-1",
            "sent_at": timezone.now().isoformat(), "attachment_name": "hhs.txt",
            "attachment_base64": base64.b64encode(b"filed").decode()}  # fmt: skip
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    (row,) = client.get(url).json()
    assert (row["kind"], row["deadline"], row["reference"]) == ("hhs", "met", "OCR-1")
    assert row["attachment_sha256"] == hashlib.sha256(b"filed").hexdigest()
    early = client.post(url, {**body, "sent_at": "2001-01-01T00:00:00Z"}, content_type="application/json")
    assert early.status_code == 409 and "before the breach began" in early.json()["error"]["detail"]


def test_the_breach_register_lists_every_breach_notified_or_not(
    breach: Incident, commander: User, compliance: User, client_for: Callable[..., Client]
) -> None:
    quiet = incident_declare(
        title="Laptop lost (encrypted)",
        category="confidentiality",
        by=commander,
        commander=commander,
        assets=[AssetFactory.create(data_classes=["personal"])],
    )
    why = "Full-disk encryption with the key not on the device: no risk to the people."
    assessment_answer(
        incident=quiet,
        answers={"gdpr.personal_data": "yes", "gdpr.risk": "unlikely"},
        rationale={"gdpr.personal_data": why, "gdpr.risk": why},
        by=commander,
    )
    incident_declare(
        title="Cache flushed",
        category="availability",
        by=commander,
        commander=commander,
        assets=[AssetFactory.create(data_classes=["none"])],
    )
    notification_record(incident=breach, by=commander, kind=RecipientKind.AUTHORITY, recipient="CNIL",
                        channel="portal", sent_at=timezone.now(), reference="CNIL-9",
                        late_reason="The breach was confirmed only after the processor's report.")  # fmt: skip
    entries = {e.incident.title: e for e in breach_register()}
    assert set(entries) == {"Claims database exfiltrated", "Laptop lost (encrypted)"}
    assert entries["Claims database exfiltrated"].notified_reference == "CNIL-9"
    assert entries["Laptop lost (encrypted)"].notified_at is None
    assert why in entries["Laptop lost (encrypted)"].reasoning
    page = client_for(compliance).get("/compliance/breach-register/").content.decode()
    assert "Laptop lost (encrypted)" in page and "not notified" in page
    assert client_for(commander).get("/compliance/breach-register/").status_code == 403


def test_a_notice_may_be_limited_to_one_regime_its_recipient_covers(breach: Incident, commander: User) -> None:
    aware = breach.aware_at
    assert aware is not None
    common: dict[str, Any] = {"incident": breach, "by": commander, "recipient": "Members", "channel": "mail",
                              "count_notified": 10, "sent_at": aware + timedelta(days=1)}  # fmt: skip
    with pytest.raises(NotificationRefused, match=r"not HIPAA §164\.408"):
        notification_record(kind=RecipientKind.INDIVIDUALS, regime=Regime.HIPAA_HHS, **common)
    with pytest.raises(NotificationRefused, match="stops no regulatory clock"):
        notification_record(kind=RecipientKind.PROCESSOR_CONTROLLER, regime=Regime.GDPR_33, **common)
    assert not Notification.objects.filter(incident=breach).exists()
    letter = notification_record(kind=RecipientKind.INDIVIDUALS, regime=Regime.GDPR_34, **common)
    assert letter.regimes == (Regime.GDPR_34,)
    clocks = {c.regime: c.state for c in incident_board(incident=breach).clocks}
    assert clocks[Regime.HIPAA_INDIVIDUALS] != ClockState.MET  # a GDPR Art. 34 letter is not the HIPAA notice


def test_the_reports_page_links_to_the_breach_register(client_for: Callable[..., Client], admin: User) -> None:
    """The register had no link anywhere: a compliance officer could reach it only by typing its address."""
    page = client_for(admin, mfa=True).get("/reports/").content.decode()
    assert 'href="/compliance/breach-register/"' in page
