"""Notifications register, contacts, and the Art. 33(5) breach-register entry."""

from __future__ import annotations

from dr_portal.accounts.models import GdprRole, HipaaRole, OrganisationProfile
from dr_portal.accounts.selectors import organisation_profile
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import person, ts
from incidents.assessments import CurrentAnswer
from incidents.compliance.models import Notification, RecipientKind
from incidents.compliance.notices import RegisterRow
from incidents.models import Incident, IncidentRole, Regime, RoleAssignment
from incidents.reports.assessed import assessed_pair
from incidents.reports.filed import notices_table
from incidents.selectors import incident_delay_reasons

REGISTER_ROWS: list[tuple[str, str]] = [
    (Regime.GDPR_33, "Supervisory authority (Art. 33): lead SA, channel, reference, phase"),
    (Regime.GDPR_34, "Data subjects (Art. 34), or the exemption invoked"),
    ("processor", "Processor → controller notice (Art. 33(2)); sub-processors"),
    (Regime.HIPAA_INDIVIDUALS, "HIPAA individuals (§164.404): method, count, template"),
    (Regime.HIPAA_MEDIA, "Media (§164.406)"),
    (Regime.HIPAA_HHS, "HHS (§164.408): OCR portal reference, or annual log"),
    ("ba_ce", "Business associate → covered entity (§164.410)"),
    ("law_enforcement", "Law-enforcement delay (§164.412)"),
    (Regime.AI_ACT, "EU AI Act Art. 73: authority, deadline class, initial and final reports"),
    (Regime.OTHER, "Customer / contractual / insurer notices"),
]


# Register rows that are not a regime: the recipient kinds that stop no clock.
KIND_ROWS: dict[str, str] = {
    RecipientKind.PROCESSOR_CONTROLLER: "processor",
    RecipientKind.BA_CE: "ba_ce",
    RecipientKind.OTHER: Regime.OTHER,
}


def register_keys(notification: Notification) -> tuple[str, ...]:
    """The rows of "Register by recipient" a notice fills: its regimes, or its recipient kind's own row."""
    if notification.kind in KIND_ROWS:
        return (KIND_ROWS[notification.kind],)
    return notification.regimes


def not_applicable_rows(profile: OrganisationProfile) -> dict[str, str]:
    """Register rows the organisation's own roles rule out, with the reason."""
    rows = {}
    if profile.gdpr_role == GdprRole.CONTROLLER:
        rows["processor"] = "not applicable — the organisation is the controller (organisation profile)"
    if profile.hipaa_role == HipaaRole.COVERED_ENTITY:
        rows["ba_ce"] = "not applicable — the organisation is a covered entity (organisation profile)"
    return rows


def notifications_section(
    incident: Incident, register: list[RegisterRow], answers: dict[str, CurrentAnswer]
) -> Section:
    """The notices themselves (one table, from the register), the same notices by recipient, the reasons for delay."""
    by_key: dict[str, list[Notification]] = {}
    for row in register:
        for key in register_keys(row.notification):
            by_key.setdefault(key, []).append(row.notification)
    rows = []
    not_applicable = not_applicable_rows(organisation_profile())
    for key, label in REGISTER_ROWS:
        mine = by_key.get(key, [])
        value = "; ".join(f"{n.get_phase_display()} {ts(n.sent_at)} to {n.recipient}" for n in mine) or None
        seqs = ", ".join(str(n.audit_seq) for n in mine if n.audit_seq) or None
        if not mine and key in not_applicable:
            value, seqs = not_applicable[key], "not applicable"
        if key == "law_enforcement":
            delay = assessed_pair(answers, "response.law_enforcement", "response.law_enforcement_details", key, label)
            value, seqs = str(delay.value) if delay.value else None, str(delay.seq) if delay.seq else None
        rows.append([label, value, seqs])
    reasons = [
        [r.get_regime_display(), r.reason, r.recorded_by.username, ts(r.recorded_at)]
        for r in incident_delay_reasons(incident=incident)
    ]
    return Section(
        "notifications",
        "Notifications register",
        tables=[
            notices_table(register),
            Table("register", "Register by recipient", ["Notice", "Recorded", "Seq"], rows),
            Table(
                "delays",
                "Reasons for delay (GDPR Art. 33(1))",
                ["Regime", "Reason", "By", "At"],
                reasons,
                empty="No reasons for delay recorded.",
            ),
        ],
    )


def contacts_section(assignments: list[RoleAssignment], profile: OrganisationProfile) -> Section:
    """The organisation profile's DPO and officers; the incident's compliance liaison when no DPO is named."""
    liaison = next((a for a in assignments if a.role == IncidentRole.COMPLIANCE and a.relieved_at is None), None)
    security = (profile.security_officer_name, profile.security_officer_email, profile.security_officer_phone)
    privacy = (profile.privacy_officer_name, profile.privacy_officer_email)
    officers = "; ".join(
        f"{title}: {', '.join(p for p in parts if p)}"
        for title, parts in (("Security", security), ("Privacy", privacy))
        if any(parts)
    )
    if profile.dpo_name:
        dpo_label = "DPO / contact point (organisation profile)"
        dpo_name: str | None = profile.dpo_name
        dpo_email = profile.dpo_email
    else:
        dpo_label = "DPO / contact point (compliance liaison)"
        dpo_name = person(liaison.user) if liaison else None
        dpo_email = liaison.user.email if liaison else ""
    return Section(
        "contacts",
        "Contacts",
        intro="GDPR Art. 33(3)(b); HIPAA §164.404(c)(1)(E).",
        fields=[
            Field("dpo_name", dpo_label, dpo_name or None),
            Field("dpo_email", "DPO email", dpo_email or None),
            Field("dpo_phone", "DPO phone", profile.dpo_phone or None),
            Field("hipaa_officer", "HIPAA Privacy / Security Officer", officers or None),
            Field(
                "public_contact",
                "Toll-free number / email / website / postal address given to individuals",
                profile.public_contact.strip() or None,
            ),
        ],
    )
