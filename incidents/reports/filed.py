"""Report sections fed by the filing records: notices given, the sign-off block, the Art. 33(5) entry, time flags."""

from __future__ import annotations

from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import person, ts, yes_no
from incidents.compliance.models import Notification, RecipientKind
from incidents.compliance.notices import RegisterRow
from incidents.compliance.obligations import time_flags
from incidents.compliance.register import BreachEntry
from incidents.compliance.signoffs import SignoffStatus
from incidents.models import ActionItem, Incident, Review


def people_notified(notification: Notification) -> int | str | None:
    """The count for notices to people (None: not recorded); a regulator, outlet or firm is not counted."""
    if notification.count_notified is not None:
        return notification.count_notified
    if notification.kind in (RecipientKind.INDIVIDUALS, RecipientKind.HHS):
        return None
    return "not applicable — not a notice to individuals"


def notices_table(rows: list[RegisterRow]) -> Table:
    return Table(
        "notices",
        "Notices given (notification register)",
        ["Recipient kind", "Phase", "Recipient", "Channel", "Sent", "People", "Reference", "Deadline", "Met?",
         "Attachment SHA-256"],
        [
            [
                r.notification.get_kind_display(),
                r.notification.get_phase_display(),
                r.notification.recipient,
                r.notification.channel,
                ts(r.notification.sent_at),
                people_notified(r.notification),
                r.notification.reference or None,
                f"{r.deadline.rule}" + (f", due {ts(r.deadline.due_at)}" if r.deadline.due_at else ""),
                r.verdict,
                r.notification.attachment_sha256[:16] + "…" if r.notification.attachment_sha256 else "none attached",
            ]
            for r in rows
        ],
        empty="No notice recorded in the register.",
        note="Each notice is an audit event (incident.notification_recorded, carrying its deadline verdict; "
        "incident.filing_recorded for a notice from the former filings register).",
    )  # fmt: skip


def time_flags_table(incident: Incident) -> Table:
    return Table(
        "time_flags",
        "Time consistency checks",
        ["Field", "Finding"],
        [[f.field, f.message] for f in time_flags(incident)],
        empty="No recorded time contradicts another (aware / discovered not before detected; start not after it).",
    )


def signoff_section(review: Review | None, status: SignoffStatus, review_seq: int | None = None) -> Section:
    signed = review is not None and review.is_signed_off
    rows: list[list[object]] = [
        [
            "Incident commander (post-incident review)",
            person(review.signed_off_by) if signed and review else None,
            ts(review.signed_off_at) if signed and review else None,
            "review signed off" if signed else "review not signed off",
            review_seq if signed else "not applicable — not signed",
        ]
    ]
    for duty in status.duties:
        latest = duty.latest
        rows.append(
            [
                duty.label + (" (required)" if duty.required else ""),
                person(latest.user) if latest else None,
                ts(latest.signed_at) if latest else None,
                (f"{latest.get_decision_display()} with MFA; digest {latest.digest[:16]}…"
                 + (f"; reason: {latest.reason}" if latest.reason else "")) if latest else "not signed",
                latest.audit_seq if latest else None,
            ]
        )  # fmt: skip
    missing = ", ".join(d.label.lower() for d in status.missing)
    return Section(
        "signoff",
        "Sign-off",
        intro=(
            "Every sign-off the organisation requires is present."
            if status.complete
            else f"Required sign-offs missing ({missing}): this report cannot be final."
        ),
        tables=[Table("signoff", "Sign-off", ["Duty", "Name", "Date", "Decision", "Seq"], rows)],
    )


def register_section(incident: Incident, entry: BreachEntry | None, items: list[ActionItem]) -> Section:
    if entry is None:
        return Section(
            "register",
            "Art. 33(5) breach-register entry",
            fields=[
                Field("register_facts", "Facts", incident.summary or incident.title),
                Field("register_breach", "Personal-data breach", "no"),
                Field(
                    "register_notified", "Notified to the supervisory authority", "not applicable — no personal data"
                ),
                Field("register_reasoning", "Reasoning for not notifying", "not applicable — no personal data"),
            ],
        )
    remedial = entry.remedial or "; ".join(i.title for i in items) or None
    return Section(
        "register",
        "Art. 33(5) breach-register entry",
        intro="The same entry appears in the organisation's breach register, notified or not.",
        fields=[
            Field("register_facts", "Facts", entry.facts),
            Field("register_breach", "Personal-data breach", "yes"),
            Field("register_effects", "Effects", entry.effects or None),
            Field("register_remedial", "Remedial action", remedial),
            Field("register_risk", "Risk determination", entry.risk),
            Field(
                "register_notified",
                "Notified to the supervisory authority",
                f"{yes_no(True)}, {ts(entry.notified_at)}"
                + (f", ref. {entry.notified_reference}" if entry.notified_reference else "")
                if entry.notified_at
                else "no",
            ),
            Field("register_reasoning", "Reasoning", entry.reasoning),
        ],
    )
