"""Item 7: the GDPR notification (JSON) and HHS breach-portal fields (CSV), from the facts the report uses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import OrganisationProfile, User
from dr_portal.audit.models import AuditEvent
from incidents.compliance.exports import (
    GDPR_FIELDS,
    HHS_FIELDS,
    NOT_YET_ASSESSED,
    NOT_YET_NOTIFIED,
    PLACEHOLDERS,
    ExportField,
    gdpr_export,
    hhs_export,
)
from incidents.compliance.models import RecipientKind
from incidents.compliance.notices import notification_record
from incidents.models import Incident
from incidents.services import incident_declare, incident_update_facts
from incidents.services.assessments import assessment_answer
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def breach(commander: User) -> Incident:
    now = timezone.now().replace(microsecond=0)
    incident = incident_declare(
        title="Claims database exfiltrated", category="confidentiality", by=commander, commander=commander,
        assets=[AssetFactory.create(name="claims-db", data_classes=["phi"])], started_at=now - timedelta(days=10),
    )  # fmt: skip
    incident_update_facts(
        incident=incident,
        changes={"personal_data": True, "phi": True, "special_categories": True, "subjects_approx": 1240,
                 "aware_at": now - timedelta(days=9), "discovered_at": now - timedelta(days=8)},
        by=commander,
    )  # fmt: skip
    incident.refresh_from_db()
    return incident


def _typed(field: ExportField, value: Any, *, csv_cell: bool = False) -> bool:
    """The value has the field's declared type, or is one of the explicit placeholders."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        return True
    if csv_cell:
        checks: dict[str, Callable[[str], object]] = {
            "integer": int, "date": date.fromisoformat, "text": str,
            "boolean": lambda v: {"Yes": True, "No": False}[v],
        }  # fmt: skip
        try:
            checks[field.type](value)
        except (ValueError, KeyError):
            return False
        return bool(value)
    if field.type == "datetime":
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    return {
        "text": isinstance(value, str) and value != "",
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[field.type]


def _download(client: Client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    return response.status_code, response.content


def test_an_unassessed_incident_says_not_yet_assessed_never_missing_or_no(
    breach: Incident, compliance: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(compliance)
    status, body = _download(client, f"/api/v1/incidents/{breach.public_id}/exports/gdpr.json")
    assert status == 200
    data = json.loads(body)
    assert list(data) == [f.name for f in GDPR_FIELDS]
    for field in GDPR_FIELDS:
        assert _typed(field, data[field.name]), field.name
    for key in (
        "nature_of_breach",
        "likely_consequences",
        "risk_to_data_subjects",
        "breach_end",
        "communication_to_data_subjects",
        "phased_notification",
        "member_states_concerned",
        "cross_border",
    ):
        assert data[key] == NOT_YET_ASSESSED, key  # fmt: skip
    assert "no" not in {str(v).lower() for v in data.values()}
    assert data["notification_time"] == NOT_YET_NOTIFIED
    # Facts recorded on the incident fill what the assessment has not answered.
    assert data["approximate_number_of_data_subjects"] == 1240
    assert data["special_categories_of_data"] is True


def test_exports_carry_the_assessed_facts_and_the_register(
    breach: Incident, commander: User, compliance: User, client_for: Callable[..., Client]
) -> None:
    OrganisationProfile.objects.update_or_create(
        pk=1,
        defaults={"legal_name": "Acme Health Ltd", "postal_address": "1 Main St", "gdpr_role": "controller",
                  "hipaa_role": "covered_entity", "dpo_name": "Dana Pro", "dpo_email": "dpo@acme.test",
                  "privacy_officer_name": "Pat Privacy", "privacy_officer_email": "privacy@acme.test",
                  "lead_supervisory_authority": "CNIL"},
    )  # fmt: skip
    started = breach.started_at
    assert started is not None and breach.aware_at is not None and breach.discovered_at is not None
    assessment_answer(
        incident=breach,
        answers={"gdpr.nature": "confidentiality", "gdpr.cause": "malicious", "gdpr.vector": "stolen VPN credentials",
                 "gdpr.subjects_approx": 1300, "gdpr.records_approx": 5200, "gdpr.subject_categories": "patients",
                 "gdpr.record_categories": "claims, diagnoses", "gdpr.consequences": "identity theft",
                 "gdpr.measures_taken": "credentials revoked; database restored", "gdpr.risk": "high",
                 "gdpr.member_states": "FR, DE", "gdpr.phased": "yes", "gdpr.ended_at": "2026-01-05T10:00:00Z",
                 "hipaa.breach_type": "hacking", "hipaa.location": "network server", "hipaa.phi_types": "name, DOB",
                 "hipaa.safeguards": "firewalls, encryption at rest", "hipaa.notice_media_at": "2026-01-20T09:00:00Z"},
        rationale={"gdpr.risk": "diagnoses exposed", "gdpr.phased": "facts still being gathered"},
        by=commander,
    )  # fmt: skip
    sent = breach.aware_at + timedelta(hours=60)
    notification_record(incident=breach, by=commander, kind=RecipientKind.AUTHORITY, recipient="CNIL",
                        channel="portal", sent_at=sent)  # fmt: skip
    notification_record(incident=breach, by=commander, kind=RecipientKind.INDIVIDUALS, recipient="patients",
                        channel="mail", sent_at=sent + timedelta(days=1), count_notified=1300)  # fmt: skip

    gdpr = gdpr_export(breach)
    assert list(gdpr) == [f.name for f in GDPR_FIELDS]
    assert all(_typed(f, gdpr[f.name]) for f in GDPR_FIELDS)
    assert gdpr["controller_name"] == "Acme Health Ltd"
    assert gdpr["controller_role"] == "Controller"
    assert gdpr["dpo_email"] == "dpo@acme.test"
    assert gdpr["lead_supervisory_authority"] == "CNIL"
    assert gdpr["member_states_concerned"] == ["FR", "DE"]
    assert gdpr["cross_border"] is True
    assert gdpr["nature_of_breach"] == "Confidentiality"
    assert gdpr["approximate_number_of_data_subjects"] == 1300  # the assessment's answer wins
    assert gdpr["approximate_number_of_personal_data_records"] == 5200
    assert gdpr["risk_to_data_subjects"] == "High risk"
    assert gdpr["phased_notification"] == "Yes"
    assert gdpr["breach_end"] == "2026-01-05T10:00:00Z"
    assert datetime.fromisoformat(gdpr["breach_start"]) == started
    assert datetime.fromisoformat(gdpr["awareness_time"]) == breach.aware_at
    assert datetime.fromisoformat(gdpr["notification_time"]) == sent
    assert datetime.fromisoformat(gdpr["data_subjects_notified_at"]) == sent + timedelta(days=1)
    assert gdpr["notification_phase"] == "Initial"
    assert gdpr["communication_to_data_subjects"] == NOT_YET_ASSESSED

    client = client_for(compliance)
    status, body = _download(client, f"/api/v1/incidents/{breach.public_id}/exports/hhs.csv")
    assert status == 200
    header, row, *rest = list(csv.reader(io.StringIO(body.decode())))
    assert header == [f.name for f in HHS_FIELDS] and rest == []
    cells = dict(zip(header, row, strict=True))
    assert all(_typed(f, cells[f.name], csv_cell=True) for f in HHS_FIELDS)
    assert cells == {
        **cells,
        "Covered Entity Name": "Acme Health Ltd",
        "Covered Entity Type": "Covered entity",
        "Contact Name": "Pat Privacy",
        "Business Associate Involved": "No",
        "Breach Start Date": started.date().isoformat(),
        "Breach End Date": "2026-01-05",
        "Discovery Date": breach.discovered_at.date().isoformat(),
        "Approximate Number of Individuals Affected": "1300",
        "Type of Breach": "Hacking / IT incident",
        "Location of Breached Information": "network server",
        "Safeguards in Place Prior to Breach": "firewalls, encryption at rest",
        "Individual Notice Provided Date": (sent + timedelta(days=1)).date().isoformat(),
        "Media Notice Provided Date": "2026-01-20",
        "HHS Notice Date": NOT_YET_NOTIFIED,
        "Actions Taken in Response to Breach": "credentials revoked; database restored",
    }
    assert hhs_export(breach)["Approximate Number of Individuals Affected"] == 1300


def test_each_download_is_audited_and_viewers_get_nothing(
    breach: Incident, commander: User, viewer: User, client_for: Callable[..., Client]
) -> None:
    before = AuditEvent.objects.filter(action="incident.export_downloaded").count()
    mine = client_for(commander)
    assert mine.get(f"/incidents/{breach.public_id}/exports/gdpr.json").status_code == 200
    assert mine.get(f"/api/v1/incidents/{breach.public_id}/exports/hhs.csv").status_code == 200
    events = list(AuditEvent.objects.filter(action="incident.export_downloaded").order_by("seq"))[before:]
    assert [(e.payload["export"], e.payload["via"]) for e in events] == [("gdpr.json", "web"), ("hhs.csv", "api")]
    assert all(len(e.payload["sha256"]) == 64 and e.incident_id == breach.public_id for e in events)
    page = mine.get(f"/incidents/{breach.public_id}/").content.decode()
    assert f"/incidents/{breach.public_id}/exports/hhs.csv" in page

    theirs = client_for(viewer)
    assert theirs.get(f"/incidents/{breach.public_id}/exports/gdpr.json").status_code == 404
    assert theirs.get(f"/api/v1/incidents/{breach.public_id}/exports/gdpr.json").status_code == 404
    assert "/exports/" not in theirs.get(f"/incidents/{breach.public_id}/").content.decode()
    assert AuditEvent.objects.filter(action="incident.export_downloaded").count() == before + 2


def test_the_incident_page_offers_both_exports_as_downloads_after_the_sign_off(
    breach: Incident, compliance: User, client_for: Callable[..., Client]
) -> None:
    import re

    page = client_for(compliance).get(f"/incidents/{breach.public_id}/").content.decode()
    card = page[page.index('id="sign-offs"') :]
    card = card[: card.index("</section>")]
    for name in ("gdpr.json", "hhs.csv"):
        link = re.search(rf'<a [^>]*href="/incidents/{breach.public_id}/exports/{re.escape(name)}"[^>]*>', card)
        assert link and " download" in link.group(0) and 'hx-boost="false"' in link.group(0), name
    # The exports come after the sign-off decision, under their own heading, not inside its sentences.
    assert card.index("Regulator exports") > card.index("The report stays a draft") or "Every required" in card
