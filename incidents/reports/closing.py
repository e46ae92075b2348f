"""How the report closes: evidence and chain of custody, lessons learned and CAPA, sign-off."""

from __future__ import annotations

import hashlib
from typing import Any

from dr_portal.pdf.document import EventRef, Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import day, ts, yes_no
from incidents.assessments import CurrentAnswer
from incidents.models import ActionItem, IncidentAsset, Review
from incidents.reports.assessed import assessed_field


def evidence_section(
    links: list[IncidentAsset], refs: list[EventRef], doc: ReportDocument, answers: dict[str, CurrentAnswer]
) -> Section:
    rows: list[list[Any]] = [
        [
            "evidence.json (attached)",
            "in the audit log with this report's SHA-256",
            "DR Portal",
            ts(doc.control.generated_at),
            "embedded in this PDF",
        ],
    ]
    for attached in doc.files:
        rows.append(
            [
                f"{attached.filename} (attached)",
                hashlib.sha256(attached.data).hexdigest(),
                "DR Portal",
                ts(doc.control.generated_at),
                "embedded in this PDF; listed in evidence.json",
            ]
        )
    if doc.anchor:
        rows.append(
            [
                f"audit checkpoint seq {doc.anchor.seq}",
                doc.anchor.head_hash,
                "DR Portal",
                doc.anchor.signed_at,
                # By number and public identity: a report names no server path (#17 item 5).
                f"checkpoint {doc.anchor.seq} of the audit log {doc.anchor.origin}, signed with key "
                f"{doc.anchor.key_id}; on the portal's Audit page and in the checkpoint export",
            ]
        )
    for link in links:
        if link.drill_evidence:
            rows.append(
                [
                    f"drill evidence: {link.asset.name}",
                    None,
                    None,
                    ts(link.drill_recorded_at),
                    link.drill_evidence[:200],
                ]
            )
    return Section(
        "evidence",
        "Evidence and chain of custody",
        tables=[
            Table("artefacts", "Evidence list", ["Artefact", "SHA-256", "Collected by", "Collected at", "Where"], rows)
        ],
        fields=[
            Field("events_cited", "Audit events cited (hashes in evidence.json)", len(refs)),
            Field(
                "verification_output",
                "Audit-log verification output",
                doc.verification.summary if doc.verification else None,
            ),
            Field(
                "checkpoint_note",
                "Checkpoint note (verifiable with the public key on the portal's Audit page)",
                doc.anchor.text if doc.anchor else None,
            ),
            assessed_field(
                answers,
                "response.evidence_location",
                "worm_uri",
                "WORM storage location of the evidence (URI and version id)",
            ),
            Field("access_log", "Access log", "downloads are audit events report.downloaded"),
        ],
    )


def lessons_section(review: Review | None, items: list[ActionItem], answers: dict[str, CurrentAnswer]) -> Section:
    return Section(
        "lessons",
        "Lessons learned and CAPA",
        fields=[
            Field(
                "root_cause_summary", "Root-cause summary", review.root_cause if review and review.root_cause else None
            ),
            Field("went_well", "What went well", review.went_well if review and review.went_well else None),
            Field("went_badly", "What went badly", review.went_badly if review and review.went_badly else None),
            assessed_field(
                answers,
                "response.plan_revisions",
                "plan_revisions",
                "Plan / policy / runbook revisions (§164.308(a)(7)(ii)(D))",
            ),
            assessed_field(
                answers,
                "response.risk_analysis",
                "risk_analysis",
                "Updates to the risk analysis and criticality analysis",
            ),
        ],
        tables=[
            Table(
                "capa",
                "CAPA items",
                ["Item", "Kind", "Critical", "Owner", "Due", "Status", "Closed"],
                [
                    [
                        i.title,
                        i.get_kind_display(),
                        yes_no(i.critical),
                        i.owner.username,
                        day(i.due_on),
                        i.get_status_display(),
                        ts(i.closed_at) if i.closed_at else "still open",
                    ]
                    for i in items
                ],
                empty="No CAPA items.",
            )
        ],
    )
