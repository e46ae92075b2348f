"""Generated compliance reports: one row per signed PDF, its build state and retention."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.incident import Incident


class ReportKind(models.TextChoices):
    INCIDENT = "incident", "Incident audit report"
    READINESS = "readiness", "DR readiness report"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Building"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


ACTIVE_REPORT = [ReportStatus.QUEUED, ReportStatus.RUNNING]


class GeneratedReport(models.Model):
    """One signed PDF report: requested by a person, built by a worker, stored under REPORTS_DIR."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report_id = models.CharField(
        max_length=40, unique=True, help_text="Printed on every page, e.g. RPT-20261124-1A2B3C4D."
    )
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    period_first = models.DateField(null=True, blank=True)
    period_last = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    draft = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True, help_text="Relative to REPORTS_DIR.")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="The report.generated event.")
    anchor_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="Checkpoint the evidence cites.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReportKind.values), name="report_kind_known"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_known"),
            models.CheckConstraint(
                condition=(Q(kind=ReportKind.INCIDENT) & Q(incident__isnull=False) & Q(period_first__isnull=True))
                | (
                    Q(kind=ReportKind.READINESS)
                    & Q(incident__isnull=True)
                    & Q(period_first__isnull=False)
                    & Q(period_last__gte=models.F("period_first"))
                ),
                name="report_subject_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.SUCCEEDED) | ~Q(sha256=""), name="report_ready_has_hash"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.FAILED) | ~Q(error=""), name="report_failure_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"]), models.Index(fields=["sha256"])]

    def __str__(self) -> str:
        return f"{self.report_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REPORT

    @property
    def subject_label(self) -> str:
        if self.incident is not None:
            return f"{self.incident.reference} {self.incident.title}"
        return f"{self.period_first} to {self.period_last}"

    @property
    def download_name(self) -> str:
        return f"{self.report_id}.pdf"
