"""The shape every compliance report shares: sections of labelled facts and tables, cited audit
events, the checkpoint the report is anchored to and the audit_verify result for its range.

A report builder (the `reports` packages of incidents/ and inventory/) fills a `ReportDocument`;
`document_evidence()` turns it into the evidence.json attached to the PDF and
`document_pdf()` renders and signs it. The same data, two encodings: what the
PDF shows is what the JSON carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.safestring import SafeString

from dr_portal.audit.models import AuditCheckpoint, AuditEvent
from dr_portal.pdf.citations import citation_refs
from dr_portal.pdf.formatting import ts
from dr_portal.pdf.render import Attachment, ReportMetadata, render_pdf, render_report_html
from dr_portal.pdf.signing import sign_pdf
from dr_portal.pdf.timeline import TimelineRow, timeline_rows
from dr_portal.pdf.timestamping import signature_profile, timestamp_label, tsa_fields
from dr_portal.pdf.trust import AUDIT_KEY_URL, CERTIFICATE_URL, audit_key_fingerprint, certificate_fingerprint

EVIDENCE_SCHEMA = "drp.report-evidence/1"
TEMPLATE_VERSION = "2026.11-1"
TIMELINE_CHUNK = 40  # rows per timeline table; small tables keep WeasyPrint's layout cost linear

Value = str | int | float | None


@dataclass(frozen=True)
class Field:
    """One labelled fact. `value` None prints NOT_RECORDED (dr_portal.pdf.wording); `seq` ties it to an audit event."""

    key: str
    label: str
    value: Value
    seq: int | None = None
    note: str = ""


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    empty: str = "None recorded."
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    fields: list[Field] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # keys of ReportDocument.charts
    timeline: bool = False  # render ReportDocument.events here


@dataclass(frozen=True)
class EventRef:
    """An audit event the report cites: enough to find it and to re-check its hash."""

    seq: int
    hash: str
    prev_hash: str
    recorded_at: str
    actor: str
    action: str
    object: str
    summary: str

    @property
    def object_label(self) -> str:
        """Short enough for a timeline cell: the model name and the first 8 characters of the id."""
        kind, _, ident = self.object.partition(":")
        return f"{kind.rsplit('.', 1)[-1]} {ident[:8]}".strip()


@dataclass(frozen=True)
class Anchor:
    """The signed checkpoint sealing every event the report cites."""

    origin: str
    seq: int
    head_hash: str
    signed_at: str
    key_id: str
    signature: str
    text: str


@dataclass(frozen=True)
class Verification:
    """What audit_verify found for the range the report covers."""

    tool: str
    ran_at: str
    seconds: float
    ok: bool
    first_seq: int | None
    last_seq: int | None
    events_checked: int
    problems: int
    first_problem: str
    unanchored_tail: int
    summary: str


@dataclass(frozen=True)
class Control:
    report_id: str
    kind: str  # "incident" or "readiness"
    title: str
    subtitle: str
    version: int
    status: str  # draft, final
    generated_at: datetime
    generated_by: str
    generated_by_id: int | None
    classification: str
    distribution: str
    retention_until: str
    legal_hold: str | None
    template_version: str = TEMPLATE_VERSION
    period: str = ""

    @property
    def draft(self) -> bool:
        return self.status == "draft"


@dataclass
class ReportDocument:
    control: Control
    sections: list[Section]
    events: list[EventRef] = field(default_factory=list)
    anchor: Anchor | None = None
    verification: Verification | None = None
    subject: dict[str, Any] = field(default_factory=dict)  # what the report is about (incident id, period)
    # key -> (svg, caption, title); PDF only. The title prints above the chart, the caption below.
    charts: dict[str, tuple[SafeString, str, str]] = field(default_factory=dict)
    files: list[Attachment] = field(default_factory=list)  # embedded beside evidence.json, listed with digests
    citations: list[dict[str, Any]] = field(default_factory=list)  # cited events outside the timeline (citations.py)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def timeline_rows(self) -> list[TimelineRow]:
        return timeline_rows(self.events)

    @property
    def timeline_chunks(self) -> list[list[TimelineRow]]:
        rows = self.timeline_rows
        return [rows[i : i + TIMELINE_CHUNK] for i in range(0, len(rows), TIMELINE_CHUNK)]


# --- Audit log: cited events, anchor, verification ---------------------------------


def event_ref(event: AuditEvent, *, summary: str = "") -> EventRef:
    obj = f"{event.object_type}:{event.object_id}" if event.object_type else ""
    actor = event.actor_label if event.actor_id is None else f"{event.actor_label} (#{event.actor_id})"
    return EventRef(
        seq=event.seq,
        hash=event.hash,
        prev_hash=event.prev_hash,
        recorded_at=ts(event.recorded_at) or "",
        actor=actor,
        action=event.action,
        object=obj,
        summary=summary,
    )


def anchor_of(checkpoint: AuditCheckpoint) -> Anchor:
    from dr_portal.audit.chain import utc_text
    from dr_portal.audit.checkpoints import checkpoint_text

    return Anchor(
        origin=checkpoint.origin,
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        signed_at=utc_text(checkpoint.signed_at),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        text=checkpoint_text(checkpoint),
    )


def anchor_and_verify(*, first_seq: int | None) -> tuple[Anchor | None, Verification | None]:
    """Seal the log as it stands (a checkpoint), then verify from `first_seq` up to that checkpoint.

    Called outside any transaction so audit_verify reads one consistent snapshot.
    """
    from dr_portal.audit.checkpoints import checkpoint_now
    from dr_portal.audit.verify import verify_log

    checkpoint = checkpoint_now()
    if checkpoint is None:
        return None, None
    start = min(first_seq or checkpoint.seq, checkpoint.seq)
    result = verify_log(from_seq=start, to_seq=checkpoint.seq)
    first = result.first_problem
    verification = Verification(
        tool="dr_portal.audit.verify.verify_log (audit_verify), chain v1",
        ran_at=ts(result.started_at) or "",
        seconds=round(result.seconds, 3),
        ok=result.ok,
        first_seq=result.first_seq,
        last_seq=result.last_seq,
        events_checked=result.events_checked,
        problems=result.problem_count,
        first_problem=str(first) if first else "",
        unanchored_tail=max(0, result.head_seq - checkpoint.seq),
        summary=result.summary(),
    )
    return anchor_of(checkpoint), verification


def _trusted(fingerprint: Callable[[], str]) -> str | None:
    try:
        return fingerprint()
    except ImproperlyConfigured:
        return None  # no signing identity configured: printed as not recorded


def integrity_fields(doc: ReportDocument) -> list[Field]:
    """Document control and integrity: the same list for both reports (COMPLIANCE.md §1)."""
    c, a, v = doc.control, doc.anchor, doc.verification
    verified = None
    if v is not None:
        verified = "PASS" if v.ok else f"FAIL ({v.problems} problems; first: {v.first_problem})"
    return [
        Field("report_id", "Report ID", c.report_id),
        Field("version", "Version", c.version),
        Field("status", "Status", c.status),
        Field("generated_at", "Generated at", ts(c.generated_at)),
        Field(
            "generated_by",
            "Generated by (user id)",
            f"{c.generated_by} (#{c.generated_by_id})" if c.generated_by_id else c.generated_by,
        ),
        Field("template_version", "Template version", c.template_version),
        Field("classification", "Classification", c.classification),
        Field("distribution", "Distribution", c.distribution),
        Field("log_origin", "Audit-log origin", a.origin if a else None),
        Field("checkpoint_seq", "Checkpoint tree size (seq)", a.seq if a else None),
        Field(
            "checkpoint_head",
            "Checkpoint head hash (hash-chain head; the log is a chain, not a Merkle tree)",
            a.head_hash if a else None,
        ),
        Field("checkpoint_time", "Checkpoint signed at", a.signed_at if a else None),
        Field("checkpoint_key", "Checkpoint key id (Ed25519)", a.key_id if a else None),
        Field("checkpoint_signature", "Checkpoint signature", a.signature if a else None),
        Field("rfc3161_time", "RFC 3161 time-stamp", timestamp_label()),
        Field("verify_tool", "Verification tool", v.tool if v else None),
        Field("verify_ran_at", "Verification run at", v.ran_at if v else None),
        Field("verify_result", "Verification result", verified),
        Field(
            "verify_range",
            "Range verified",
            f"seq {v.first_seq}..{v.last_seq} ({v.events_checked} events)" if v and v.first_seq else None,
        ),
        Field(
            "unanchored_tail", "Events after the anchoring checkpoint at verification", v.unanchored_tail if v else None
        ),
        Field(
            "report_sha256",
            "Report SHA-256",
            "computed after signing and recorded in the audit log (event report.generated); "
            "a file cannot contain its own hash",
        ),
        Field("signature", "Signature", f"{signature_profile()} (certification, no changes permitted), this file"),
        Field(
            "signing_certificate_sha256",
            f"Signing certificate SHA-256 (public, {CERTIFICATE_URL})",
            _trusted(certificate_fingerprint),
        ),
        Field(
            "audit_key_sha256",
            f"Audit-log public key SHA-256 (public, {AUDIT_KEY_URL})",
            _trusted(audit_key_fingerprint),
        ),
        *tsa_fields(),
        Field("retention_until", "Retain until", c.retention_until),
        Field("legal_hold", "Legal hold", c.legal_hold),
    ]


# --- Encoding -------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def document_evidence(doc: ReportDocument) -> dict[str, Any]:
    """evidence.json: the whole report as data (charts excepted: they are drawn from these numbers)."""
    control = asdict(doc.control)
    control["draft"] = doc.control.draft
    return {
        "schema": EVIDENCE_SCHEMA,
        "report": control,
        "subject": doc.subject,
        "sections": [asdict(s) for s in doc.sections],
        "signature": {"profile": signature_profile(), "time_stamp": timestamp_label()},
        "attachments": [attachment_entry(a) for a in doc.files],
        "audit": {
            "events": [asdict(e) for e in doc.events],
            "citations": doc.citations,
            "anchor": asdict(doc.anchor) if doc.anchor else None,
            "verification": asdict(doc.verification) if doc.verification else None,
            "public_key": "published on the portal's Audit page, by the key id of the anchor",
        },
    }


def attachment_entry(attachment: Attachment) -> dict[str, Any]:
    """How evidence.json lists a file embedded beside it: report_verify checks the file against this."""
    return {
        "name": attachment.filename,
        "sha256": hashlib.sha256(attachment.data).hexdigest(),
        "size": len(attachment.data),
        "media_type": attachment.mime_type,
        "relationship": attachment.relationship,
        "description": attachment.description,
    }


def evidence_bytes(doc: ReportDocument) -> bytes:
    return json.dumps(document_evidence(doc), default=_json_default, indent=1, sort_keys=True).encode()


def document_pdf(doc: ReportDocument, *, template: str, progress: Callable[[int, str], None] | None = None) -> bytes:
    """Render the document with `template` (extending reports/base_report.html), attach its evidence, sign."""
    step = progress or (lambda percent, stage: None)
    c = doc.control
    kind_label = "Incident audit report" if c.kind == "incident" else "DR readiness report"
    context = {
        "report": {
            "id": c.report_id,
            "title": c.title,
            "kind": kind_label,
            "subtitle": c.subtitle,
            "classification": c.classification,
            "version": c.version,
            "status": c.status,
            "generated_at": c.generated_at,
            "generated_by": c.generated_by,
            "draft": c.draft,
            "period": c.period,
        },
        "doc": doc,
    }
    doc.citations = citation_refs(doc)
    step(45, "laying out pages")
    html = render_report_html(template, context)
    attachment = Attachment(
        "evidence.json", evidence_bytes(doc), description="The data this report shows, with the audit events it cites"
    )
    metadata = ReportMetadata(
        title=c.title,
        report_id=c.report_id,
        subject=c.subtitle,
        keywords=(c.kind, c.status),
        created=c.generated_at,
    )
    unsigned = render_pdf(html=html, attachments=[attachment, *doc.files], metadata=metadata)
    step(85, "signing")
    return sign_pdf(unsigned, reason=f"DR Portal {kind_label} {c.report_id}")


def retention_until(generated_at: datetime) -> str:
    years = settings.REPORT_RETENTION_YEARS
    try:
        until = generated_at.replace(year=generated_at.year + years)
    except ValueError:  # 29 February
        until = generated_at.replace(year=generated_at.year + years, day=28)
    return until.astimezone(UTC).date().isoformat()
