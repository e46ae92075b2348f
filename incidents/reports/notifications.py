"""Notifications register, contacts, and the Art. 33(5) breach-register entry."""

from __future__ import annotations

from dr_portal.accounts.models import OrganisationProfile
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import person, ts
from incidents.clocks import ClockBoard
from incidents.models import Filing, Incident, IncidentRole, Regime, RoleAssignment
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


def notifications_section(incident: Incident, filings: list[Filing], board: ClockBoard) -> Section:
    due = {c.regime: c for c in board.clocks}
    rows = []
    for f in filings:
        clock = due.get(f.regime)
        within = None
        if clock is not None and clock.due_at is not None:
            within = "yes" if f.filed_at <= clock.due_at else "no"
        rows.append(
            [
                f.get_regime_display(),
                f.get_phase_display(),
                f.recipient,
                f.channel or None,
                f.reference or None,
                ts(f.filed_at),
                within,
                f.summary or None,
            ]
        )
    register = []
    for key, label in REGISTER_ROWS:
        mine = [f for f in filings if f.regime == key]
        value = "; ".join(f"{f.get_phase_display()} {ts(f.filed_at)} to {f.recipient}" for f in mine) or None
        register.append([label, value])
    reasons = [
        [r.get_regime_display(), r.reason, r.recorded_by.username, ts(r.recorded_at)]
        for r in incident_delay_reasons(incident=incident)
    ]
    return Section(
        "notifications",
        "Notifications register",
        tables=[
            Table(
                "filings",
                "Filings",
                [
                    "Regime",
                    "Phase",
                    "Recipient",
                    "Channel",
                    "Reference",
                    "Submitted",
                    "Within deadline",
                    "Content summary",
                ],
                rows,
                empty="Nothing was filed.",
            ),
            Table("register", "Register by recipient", ["Notice", "Recorded"], register),
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
