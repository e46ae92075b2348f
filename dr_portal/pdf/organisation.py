"""Who is reporting and whom to contact: both reports print it in document control, from the organisation profile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dr_portal.accounts.models import OrganisationProfile, ProcessorRelationship
from dr_portal.pdf.document import Field, Table


def _text(value: str) -> str | None:
    return value.strip() or None


def _contact(*parts: str) -> str | None:
    return ", ".join(p.strip() for p in parts if p.strip()) or None


def organisation_fields(profile: OrganisationProfile) -> list[Field]:
    """Identity, registration numbers, role under each regime, lead authority and officers (blank: not recorded)."""
    return [
        Field("org_legal_name", "Controller / covered entity", _text(profile.legal_name)),
        Field("org_registration", "Registration numbers", _text(profile.registration_numbers)),
        Field("org_address", "Postal address", _text(profile.postal_address)),
        Field("org_gdpr_role", "GDPR role", profile.get_gdpr_role_display() or None),
        Field("org_hipaa_role", "HIPAA role", profile.get_hipaa_role_display() or None),
        Field("org_lead_sa", "Lead supervisory authority (default)", _text(profile.lead_supervisory_authority)),
        Field("org_dpo", "Data protection officer", _contact(profile.dpo_name, profile.dpo_email, profile.dpo_phone)),
        Field(
            "org_security_officer",
            "HIPAA security officer",
            _contact(profile.security_officer_name, profile.security_officer_email, profile.security_officer_phone),
        ),
        Field(
            "org_privacy_officer",
            "HIPAA privacy officer",
            _contact(profile.privacy_officer_name, profile.privacy_officer_email),
        ),
        Field("org_public_contact", "Contact given to individuals", _text(profile.public_contact)),
    ]


def processors_table(relationships: Sequence[ProcessorRelationship]) -> Table:
    rows: list[list[Any]] = [
        [r.name, r.get_kind_display(), r.agreement_reference or None, r.breach_contact or None, r.notice_hours]
        for r in relationships
    ]
    return Table(
        "processors",
        "Processor and business-associate relationships (organisation profile)",
        ["Party", "Relationship", "DPA / BAA", "Breach contact", "Notice within (h)"],
        rows,
        empty="No processor or business-associate relationship is recorded.",
    )
