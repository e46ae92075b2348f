"""Compliance reports: request, claim, build, complete or fail; download; reconcile.

A `GeneratedReport` row moves queued → running → succeeded | failed through the
services here; the worker carries only its id. Building seals the audit log
with a checkpoint, renders and signs the PDF, stores it under REPORTS_DIR,
then — in one transaction — records its SHA-256 as `report.generated` and takes
the checkpoint that seals that event.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from dr_portal.queue import send_now, send_on_commit
from incidents.compliance.signoffs import refuse_final_without_signoffs, signoff_status
from incidents.models import GeneratedReport, Incident, ReportKind, ReportStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
QUEUED_STALE = timedelta(minutes=2)
MAX_PERIOD_DAYS = 3 * 366


class ReportRefused(Refused):
    """A report cannot be requested as asked; the message says why."""

    code = "report_refused"


def reports_dir() -> Path:
    path = Path(settings.REPORTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_path(report: GeneratedReport) -> Path:
    return Path(settings.REPORTS_DIR) / report.file_name


def _enqueue(report: GeneratedReport) -> None:
    from incidents.tasks import report_build_task

    send_on_commit(report_build_task, args=(report.pk,), task_id=report.celery_task_id)


def _subject_payload(report: GeneratedReport) -> dict[str, Any]:
    if report.incident is not None:
        return {"incident": str(report.incident.public_id), "reference": report.incident.reference}
    return {"period_first": str(report.period_first), "period_last": str(report.period_last)}


@transaction.atomic
def report_request(
    *,
    kind: str,
    by: User,
    incident: Incident | None = None,
    period_first: date | None = None,
    period_last: date | None = None,
    final: bool = False,
) -> GeneratedReport:
    """Queue a report. The caller has checked that `by` may see `incident` (access layer).

    An incident report is a draft until the incident is closed and every sign-off the
    organisation requires is present; asking for `final` before then is refused.
    """
    now = timezone.now()
    signed = True  # only incident reports need sign-offs
    if kind == ReportKind.INCIDENT:
        if incident is None:
            raise ReportRefused("Choose the incident to report on.")
        # Versions count per incident; the row lock keeps two requests from taking the same number.
        incident = Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)
        version = GeneratedReport.objects.filter(incident=incident).count() + 1
        period_first = period_last = None
        signed = signoff_status(incident=incident).complete
        if final and not incident.is_closed:
            raise ReportRefused(f"{incident.reference} is not closed; its report can only be a draft.")
        if final:
            refuse_final_without_signoffs(incident)
    elif kind == ReportKind.READINESS:
        if period_first is None or period_last is None:
            raise ReportRefused("Give the first and last day of the period.")
        if period_last < period_first:
            raise ReportRefused("The period ends before it starts.")
        if period_first > now.date():
            raise ReportRefused("The period starts in the future; there is nothing to report yet.")
        if (period_last - period_first).days > MAX_PERIOD_DAYS:
            raise ReportRefused("A readiness report covers at most three years; choose a shorter period.")
        incident = None
        version = (
            GeneratedReport.objects.filter(kind=kind, period_first=period_first, period_last=period_last).count() + 1
        )
    else:
        raise ReportRefused(f"Unknown report kind {kind!r}.")
    public_id = uuid.uuid4()
    report = GeneratedReport.objects.create(
        public_id=public_id,
        report_id=f"RPT-{now:%Y%m%d}-{public_id.hex[:8].upper()}",
        kind=kind,
        incident=incident,
        period_first=period_first,
        period_last=period_last,
        version=version,
        draft=bool(incident is not None and not (incident.is_closed and signed)),
        requested_by=by,
        requested_at=now,
        stage="waiting for a worker",
        celery_task_id=str(uuid.uuid4()),
    )
    audit_append(
        action="report.requested",
        actor=by,
        obj=report,
        incident_id=incident.public_id if incident else None,
        payload={"report": report.report_id, "kind": kind, "version": version, **_subject_payload(report)},
    )
    _enqueue(report)
    return report


@transaction.atomic
def report_claim(*, report_id: int) -> GeneratedReport | None:
    """queued → running; a running build silent past REPORT_STALE_SECONDS is taken over. None: nothing to do."""
    report = GeneratedReport.objects.select_for_update(no_key=True).filter(pk=report_id).first()
    if report is None or not report.is_active:
        return None
    now = timezone.now()
    if (
        report.status == ReportStatus.RUNNING
        and report.progress_at is not None
        and (now - report.progress_at).total_seconds() < settings.REPORT_STALE_SECONDS
    ):
        return None
    report.status = ReportStatus.RUNNING
    report.attempts += 1
    report.started_at = report.progress_at = now
    report.progress, report.stage = 2, "starting"
    report.save(update_fields=["status", "attempts", "started_at", "progress_at", "progress", "stage"])
    return report


def report_progress(*, report: GeneratedReport, percent: int, stage: str) -> bool:
    """Save progress; False once this attempt no longer owns the build."""
    updated = GeneratedReport.objects.filter(
        pk=report.pk, status=ReportStatus.RUNNING, attempts=report.attempts
    ).update(progress=percent, stage=stage[:100], progress_at=timezone.now())
    return updated == 1


def _store(report: GeneratedReport, data: bytes) -> str:
    """Write atomically (temp file, fsync, rename): a reader never sees half a report."""
    name = f"{report.public_id}.pdf"
    target = reports_dir() / name
    part = target.with_name(f".{name}.{os.getpid()}.part")
    with open(part, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, target)
    return name


def _page_count(data: bytes) -> int | None:
    try:
        from pypdf import PdfReader

        return len(PdfReader(BytesIO(data)).pages)
    except Exception:  # a count is a nicety; the file is what matters
        return None


@transaction.atomic
def report_complete(
    *, report: GeneratedReport, data: bytes, file_name: str, anchor_seq: int | None
) -> GeneratedReport | None:
    """Mark the report ready, record its SHA-256 (report.generated) and seal that event with a checkpoint."""
    from dr_portal.audit.checkpoints import checkpoint_now

    locked = (
        GeneratedReport.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident")
        .get(pk=report.pk)
    )
    if locked.status != ReportStatus.RUNNING or locked.attempts != report.attempts:
        return None
    now = timezone.now()
    locked.status = ReportStatus.SUCCEEDED
    locked.progress, locked.stage = 100, "ready"
    locked.finished_at = locked.progress_at = now
    locked.file_name = file_name
    locked.size_bytes = len(data)
    locked.sha256 = hashlib.sha256(data).hexdigest()
    locked.pages = _page_count(data)
    locked.anchor_seq = anchor_seq
    event = audit_append(
        action="report.generated",
        system_actor="system:reports",
        obj=locked,
        incident_id=locked.incident.public_id if locked.incident else None,
        payload={
            "report": locked.report_id,
            "kind": locked.kind,
            "version": locked.version,
            "status": "draft" if locked.draft else "final",
            "sha256": locked.sha256,
            "size": locked.size_bytes,
            "pages": locked.pages,
            "anchor_seq": anchor_seq,
            "requested_by": locked.requested_by_id,
            **_subject_payload(locked),
        },
    )
    locked.audit_seq = event.seq
    locked.save(
        update_fields=[
            "status",
            "progress",
            "stage",
            "finished_at",
            "progress_at",
            "file_name",
            "size_bytes",
            "sha256",
            "pages",
            "anchor_seq",
            "audit_seq",
        ]
    )
    checkpoint_now()  # seals report.generated: the hash is anchored as soon as the row says ready
    return locked


@transaction.atomic
def report_fail(*, report: GeneratedReport, reason: str, only_attempt: int | None = None) -> GeneratedReport | None:
    locked = (
        GeneratedReport.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident")
        .get(pk=report.pk)
    )
    if not locked.is_active or (only_attempt is not None and locked.attempts != only_attempt):
        return None
    locked.status = ReportStatus.FAILED
    locked.error = reason.strip()[:2000] or "The build failed without a reason."
    locked.stage = "failed"
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "error", "stage", "finished_at"])
    audit_append(
        action="report.failed",
        system_actor="system:reports",
        obj=locked,
        incident_id=locked.incident.public_id if locked.incident else None,
        payload={"report": locked.report_id, "reason": locked.error, "attempts": locked.attempts},
    )
    return locked


def report_document(*, report: GeneratedReport, now: datetime) -> tuple[Any, str]:
    """The report's data (sealing the log first) and the template that renders it."""
    from incidents.reports import (
        incident_report_document,
        period_drills_section,
        period_incidents_section,
        period_recovery_runs,
    )
    from inventory.reports import Period, readiness_report_document

    if report.kind == ReportKind.INCIDENT:
        assert report.incident is not None
        doc = incident_report_document(
            incident=report.incident,
            report_id=report.report_id,
            version=report.version,
            by=report.requested_by,
            now=now,
        )
        return doc, "reports/incident_report.html"
    assert report.period_first is not None and report.period_last is not None
    period = Period(report.period_first, report.period_last)
    doc = readiness_report_document(
        period=period,
        report_id=report.report_id,
        version=report.version,
        by=report.requested_by,
        now=now,
        drills=period_drills_section(start=period.start, end=period.end, now=now),
        incidents=period_incidents_section(start=period.start, end=period.end, now=now),
        runs=period_recovery_runs(start=period.start, end=period.end),
    )
    return doc, "reports/readiness_report.html"


def report_build(*, report_id: int) -> str:
    """Build one report end to end. Safe to run twice: a second call finds nothing to claim."""
    from dr_portal.pdf.document import document_pdf

    report = report_claim(report_id=report_id)
    if report is None:
        return f"report {report_id}: nothing to do"
    report = GeneratedReport.objects.select_related("incident", "requested_by").get(pk=report.pk)

    def progress(percent: int, stage: str) -> None:
        if not report_progress(report=report, percent=percent, stage=stage):
            raise _Superseded

    try:
        progress(10, "reading the record and checking the audit log")
        doc, template = report_document(report=report, now=timezone.now())
        progress(40, "rendering")
        data = document_pdf(doc, template=template, progress=progress)
        progress(95, "storing")
        name = _store(report, data)
    except _Superseded:
        return f"report {report.report_id}: taken over by another attempt"
    except Exception as exc:
        log.exception("report %s failed", report.report_id)
        report_fail(report=report, reason=f"{type(exc).__name__}: {exc}", only_attempt=report.attempts)
        return f"report {report.report_id}: failed"
    done = report_complete(report=report, data=data, file_name=name, anchor_seq=doc.anchor.seq if doc.anchor else None)
    if done is None:
        return f"report {report.report_id}: finished elsewhere"
    return f"report {done.report_id}: {done.size_bytes} bytes, sha256 {done.sha256[:12]}"


class _Superseded(Exception):
    """Another attempt owns the build now (this worker was presumed dead)."""


@transaction.atomic
def report_download(*, report: GeneratedReport, by: User, via: str = "web") -> Path:
    """Record the download (report.downloaded) and return the file to send."""
    audit_append(
        action="report.downloaded",
        actor=by,
        obj=report,
        incident_id=report.incident.public_id if report.incident_id and report.incident else None,
        payload={"report": report.report_id, "sha256": report.sha256, "via": via},
    )
    return report_path(report)


def reports_reconcile(*, now: datetime | None = None) -> list[str]:
    """Re-dispatch builds whose message was lost or whose worker died; fail those out of attempts."""
    from incidents.tasks import report_build_task

    now = now or timezone.now()
    done = []
    stale = GeneratedReport.objects.filter(status=ReportStatus.QUEUED, requested_at__lt=now - QUEUED_STALE)
    silent = GeneratedReport.objects.filter(
        status=ReportStatus.RUNNING, progress_at__lt=now - timedelta(seconds=settings.REPORT_STALE_SECONDS)
    )
    for report in list(stale) + list(silent):
        if report.status == ReportStatus.RUNNING and report.attempts >= MAX_ATTEMPTS:
            report_fail(report=report, reason=f"The build was lost with its worker {report.attempts} times.")
            done.append(f"{report.report_id}: failed after {report.attempts} attempts")
            continue
        send_now(report_build_task, args=(report.pk,))
        done.append(f"{report.report_id}: re-dispatched")
    return done
