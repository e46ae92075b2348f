"""Regulator exports: the GDPR breach notification as JSON and the HHS OCR breach-portal fields as CSV.

Both read the facts the incident audit report reads: the breach assessments, the incident's
recorded times and data facts, the notification register and the organisation profile.
Each export's fields are listed once here (`GDPR_FIELDS`, `HHS_FIELDS`), with the type
each value has; a value nobody has given yet is one of the `PLACEHOLDERS`, never missing
and never "no". GDPR names follow the EDPB / common breach-notification template where it
names a field; HHS headers are the breach portal's own labels.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, can
from dr_portal.accounts.models import GdprRole, HipaaRole, OrganisationProfile, User
from dr_portal.audit.services import audit_append
from incidents.access import access_incident_by_id
from incidents.assessments import NOT_ASSESSED, CurrentAnswer, incident_assessment
from incidents.compliance.models import Notification, RecipientKind
from incidents.models import Incident, Regime
from incidents.selectors import incident_delay_reasons

NOT_YET_ASSESSED = "not yet assessed"
NOT_RECORDED = "not recorded"
NOT_YET_NOTIFIED = "not yet notified"
PLACEHOLDERS = frozenset({NOT_YET_ASSESSED, NOT_RECORDED, NOT_YET_NOTIFIED})

# Value types: "text", "integer", "boolean", "datetime" (ISO 8601 UTC), "date" (YYYY-MM-DD), "list" (of text).


@dataclass(frozen=True)
class ExportField:
    name: str
    type: str
    source: str  # where the value comes from, for the reader of the export


GDPR_FIELDS: tuple[ExportField, ...] = (
    ExportField("incident_reference", "text", "incident reference"),
    ExportField("generated_at", "datetime", "time of this export"),
    ExportField("controller_name", "text", "organisation profile: legal name"),
    ExportField("controller_registration_numbers", "list", "organisation profile"),
    ExportField("controller_address", "text", "organisation profile: postal address"),
    ExportField("controller_role", "text", "organisation profile: GDPR role"),
    ExportField("dpo_name", "text", "organisation profile: DPO or contact point"),
    ExportField("dpo_email", "text", "organisation profile"),
    ExportField("dpo_phone", "text", "organisation profile"),
    ExportField("lead_supervisory_authority", "text", "assessment gdpr.lead_sa, else the profile's default"),
    ExportField("member_states_concerned", "list", "assessment gdpr.member_states"),
    ExportField("cross_border", "boolean", "more than one Member State concerned"),
    ExportField("nature_of_breach", "text", "assessment gdpr.nature"),
    ExportField("cause_of_breach", "text", "assessment gdpr.cause"),
    ExportField("how_breach_occurred", "text", "assessment gdpr.vector"),
    ExportField("categories_of_data_subjects", "text", "assessment gdpr.subject_categories, else incident facts"),
    ExportField("approximate_number_of_data_subjects", "integer", "assessment gdpr.subjects_approx, else facts"),
    ExportField("categories_of_personal_data_records", "text", "assessment gdpr.record_categories, else facts"),
    ExportField("approximate_number_of_personal_data_records", "integer", "assessment gdpr.records_approx"),
    ExportField("special_categories_of_data", "boolean", "incident facts (Art. 9)"),
    ExportField("data_unintelligible", "boolean", "incident facts: encrypted, keys not compromised"),
    ExportField("likely_consequences", "text", "assessment gdpr.consequences"),
    ExportField("risk_to_data_subjects", "text", "assessment gdpr.risk"),
    ExportField("measures_taken_or_proposed", "text", "assessment gdpr.measures_taken"),
    ExportField("measures_for_data_subjects", "text", "assessment gdpr.measures_individuals"),
    ExportField("communication_to_data_subjects", "text", "assessment gdpr.art34"),
    ExportField("data_subjects_notified_at", "datetime", "notification register: individuals"),
    ExportField("breach_start", "datetime", "assessment gdpr.started_at, else incident start"),
    ExportField("breach_end", "datetime", "assessment gdpr.ended_at"),
    ExportField("awareness_time", "datetime", "incident facts: GDPR became aware"),
    ExportField("notification_time", "datetime", "notification register: first notice to the authority"),
    ExportField("reasons_for_delay", "list", "reasons recorded for a late Art. 33 notice"),
    ExportField("phased_notification", "text", "assessment gdpr.phased"),
    ExportField("notification_phase", "text", "notification register: phase of the latest authority notice"),
)

HHS_FIELDS: tuple[ExportField, ...] = (
    ExportField("Covered Entity Name", "text", "organisation profile: legal name"),
    ExportField("Covered Entity Type", "text", "organisation profile: HIPAA role"),
    ExportField("Street Address", "text", "organisation profile: postal address"),
    ExportField("Contact Name", "text", "organisation profile: HIPAA privacy (else security) officer"),
    ExportField("Contact Email", "text", "organisation profile"),
    ExportField("Contact Phone", "text", "organisation profile"),
    ExportField("Business Associate Involved", "boolean", "profile role, or a BA → CE notice"),
    ExportField("Breach Start Date", "date", "assessment gdpr.started_at, else incident start"),
    ExportField("Breach End Date", "date", "assessment gdpr.ended_at"),
    ExportField("Discovery Date", "date", "incident facts: HIPAA discovered"),
    ExportField("Approximate Number of Individuals Affected", "integer", "assessment subjects_approx, else facts"),
    ExportField("Type of Breach", "text", "assessment hipaa.breach_type"),
    ExportField("Location of Breached Information", "text", "assessment hipaa.location"),
    ExportField("Type of Protected Health Information Involved", "text", "assessment hipaa.phi_types"),
    ExportField("Safeguards in Place Prior to Breach", "text", "assessment hipaa.safeguards"),
    ExportField("Individual Notice Provided Date", "date", "register: individuals, else hipaa.notice_individuals_at"),
    ExportField("Media Notice Provided Date", "date", "register: media, else hipaa.notice_media_at"),
    ExportField("HHS Notice Date", "date", "register: HHS, else hipaa.notice_hhs_at"),
    ExportField("Actions Taken in Response to Breach", "text", "assessment gdpr.measures_taken"),
)


class _Facts:
    """The incident's assessment answers, notices and profile, read once for both exports."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.answers: dict[str, CurrentAnswer] = {a.question.key: a for a in incident_assessment(incident=incident)}
        self.notices = list(Notification.objects.filter(incident=incident).order_by("sent_at", "pk"))
        self.profile = OrganisationProfile.objects.filter(pk=1).first() or OrganisationProfile()

    def answer(self, key: str) -> Any:
        """The answer's label (choices) or value, or "not yet assessed"."""
        current = self.answers[key]
        if current.value is None or current.value == "" or current.value == NOT_ASSESSED:
            return NOT_YET_ASSESSED
        if current.question.kind in ("determination", "choice"):
            return current.label
        return current.value

    def answer_or(self, key: str, fallback: Any) -> Any:
        value = self.answer(key)
        if value == NOT_YET_ASSESSED and fallback not in (None, ""):
            return fallback
        return value

    def notice(self, kind: str, *, last: bool = False) -> Notification | None:
        mine = [n for n in self.notices if n.kind == kind]
        return (mine[-1] if last else mine[0]) if mine else None


def _text(value: str) -> str:
    return value.strip() or NOT_RECORDED


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _date(value: Any) -> str:
    """A date for the portal from an ISO datetime string, or the placeholder passed through."""
    return value if isinstance(value, str) and value in PLACEHOLDERS else str(value)[:10]


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", value) if part.strip()]


def gdpr_export(incident: Incident, *, at: datetime | None = None) -> dict[str, Any]:
    """The GDPR Art. 33 notification facts, keyed exactly as `GDPR_FIELDS`; `at` is the export's time (now)."""
    facts = _Facts(incident)
    profile = facts.profile
    states = facts.answer("gdpr.member_states")
    member_states = _split(states) if states != NOT_YET_ASSESSED else NOT_YET_ASSESSED
    authority = facts.notice(RecipientKind.AUTHORITY)
    latest = facts.notice(RecipientKind.AUTHORITY, last=True)
    individuals = facts.notice(RecipientKind.INDIVIDUALS)
    reasons = [r.reason for r in incident_delay_reasons(incident=incident) if r.regime == Regime.GDPR_33]
    values: dict[str, Any] = {
        "incident_reference": incident.reference,
        "generated_at": _iso(at or timezone.now()),
        "controller_name": _text(profile.legal_name),
        "controller_registration_numbers": _split(profile.registration_numbers) or NOT_RECORDED,
        "controller_address": _text(profile.postal_address),
        "controller_role": GdprRole(profile.gdpr_role).label if profile.gdpr_role else NOT_RECORDED,
        "dpo_name": _text(profile.dpo_name),
        "dpo_email": _text(profile.dpo_email),
        "dpo_phone": _text(profile.dpo_phone),
        "lead_supervisory_authority": facts.answer_or("gdpr.lead_sa", profile.lead_supervisory_authority.strip()),
        "member_states_concerned": member_states,
        "cross_border": len(member_states) > 1 if isinstance(member_states, list) else NOT_YET_ASSESSED,
        "nature_of_breach": facts.answer("gdpr.nature"),
        "cause_of_breach": facts.answer("gdpr.cause"),
        "how_breach_occurred": facts.answer("gdpr.vector"),
        "categories_of_data_subjects": facts.answer_or("gdpr.subject_categories", incident.subject_categories),
        "approximate_number_of_data_subjects": facts.answer_or("gdpr.subjects_approx", incident.subjects_approx),
        "categories_of_personal_data_records": facts.answer_or("gdpr.record_categories", incident.record_categories),
        "approximate_number_of_personal_data_records": facts.answer_or("gdpr.records_approx", incident.records_approx),
        "special_categories_of_data": incident.special_categories,
        "data_unintelligible": incident.data_encrypted,
        "likely_consequences": facts.answer("gdpr.consequences"),
        "risk_to_data_subjects": facts.answer("gdpr.risk"),
        "measures_taken_or_proposed": facts.answer("gdpr.measures_taken"),
        "measures_for_data_subjects": facts.answer("gdpr.measures_individuals"),
        "communication_to_data_subjects": facts.answer("gdpr.art34"),
        "data_subjects_notified_at": _iso(individuals.sent_at) if individuals else NOT_YET_NOTIFIED,
        "breach_start": facts.answer_or("gdpr.started_at", _iso(incident.started_at)),
        "breach_end": facts.answer("gdpr.ended_at"),
        "awareness_time": _iso(incident.aware_at) or NOT_RECORDED,
        "notification_time": _iso(authority.sent_at) if authority else NOT_YET_NOTIFIED,
        "reasons_for_delay": reasons,
        "phased_notification": facts.answer("gdpr.phased"),
        "notification_phase": latest.get_phase_display() if latest else NOT_YET_NOTIFIED,
    }
    return {f.name: values[f.name] for f in GDPR_FIELDS}


def hhs_export(incident: Incident) -> dict[str, Any]:
    """The HHS OCR breach-portal fields, keyed exactly as `HHS_FIELDS` (dates as YYYY-MM-DD)."""
    facts = _Facts(incident)
    profile = facts.profile
    contact_name = profile.privacy_officer_name or profile.security_officer_name
    contact_email = profile.privacy_officer_email or profile.security_officer_email

    def notice_date(kind: str, question: str) -> str:
        notice = facts.notice(kind)
        if notice is not None:
            return notice.sent_at.astimezone(UTC).date().isoformat()
        answered = facts.answer(question)
        return NOT_YET_NOTIFIED if answered == NOT_YET_ASSESSED else _date(answered)

    ba_role = profile.hipaa_role in (HipaaRole.BUSINESS_ASSOCIATE, HipaaRole.BOTH)
    values: dict[str, Any] = {
        "Covered Entity Name": _text(profile.legal_name),
        "Covered Entity Type": HipaaRole(profile.hipaa_role).label if profile.hipaa_role else NOT_RECORDED,
        "Street Address": _text(profile.postal_address),
        "Contact Name": _text(contact_name),
        "Contact Email": _text(contact_email),
        "Contact Phone": _text(profile.security_officer_phone),
        "Business Associate Involved": ba_role or facts.notice(RecipientKind.BA_CE) is not None,
        "Breach Start Date": _date(facts.answer_or("gdpr.started_at", _iso(incident.started_at))),
        "Breach End Date": _date(facts.answer("gdpr.ended_at")),
        "Discovery Date": _date(_iso(incident.discovered_at) or NOT_RECORDED),
        "Approximate Number of Individuals Affected": facts.answer_or("gdpr.subjects_approx", incident.subjects_approx),
        "Type of Breach": facts.answer("hipaa.breach_type"),
        "Location of Breached Information": facts.answer("hipaa.location"),
        "Type of Protected Health Information Involved": facts.answer("hipaa.phi_types"),
        "Safeguards in Place Prior to Breach": facts.answer("hipaa.safeguards"),
        "Individual Notice Provided Date": notice_date(RecipientKind.INDIVIDUALS, "hipaa.notice_individuals_at"),
        "Media Notice Provided Date": notice_date(RecipientKind.MEDIA, "hipaa.notice_media_at"),
        "HHS Notice Date": notice_date(RecipientKind.HHS, "hipaa.notice_hhs_at"),
        "Actions Taken in Response to Breach": facts.answer("gdpr.measures_taken"),
    }
    return {f.name: values[f.name] for f in HHS_FIELDS}


def gdpr_json(incident: Incident, *, at: datetime | None = None) -> str:
    return json.dumps(gdpr_export(incident, at=at), indent=2, ensure_ascii=False) + "\n"


def hhs_csv(incident: Incident) -> str:
    row = hhs_export(incident)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.name for f in HHS_FIELDS])
    writer.writerow(["Yes" if v is True else "No" if v is False else v for v in (row[f.name] for f in HHS_FIELDS)])
    return out.getvalue()


EXPORTS: dict[str, tuple[str, Callable[[Incident], str]]] = {
    "gdpr.json": ("application/json", gdpr_json),
    "hhs.csv": ("text/csv; charset=utf-8", hhs_csv),
}


def export_download(*, incident: Incident, name: str, by: User, via: str = "web") -> tuple[str, str]:
    """Build one export, record its download (incident.export_downloaded) and return (content type, body)."""
    content_type, build = EXPORTS[name]
    body = build(incident)
    audit_append(
        action="incident.export_downloaded",
        actor=by,
        obj=incident,
        incident_id=incident.public_id,
        payload={"export": name, "sha256": hashlib.sha256(body.encode()).hexdigest(), "via": via},
    )
    return content_type, body


def access_incident_exports(user: Any, incident_id: Any) -> Incident:
    """The incident, if `user` may see it and read reports (compliance, admin) or command incidents; else a 404."""
    incident = access_incident_by_id(user, incident_id)
    if not (can(user, Perm.VIEW_REPORTS) or can(user, Perm.COMMAND_INCIDENTS)):
        raise NotFoundOrForbidden
    return incident
