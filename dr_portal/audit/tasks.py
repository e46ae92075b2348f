"""Beat and worker jobs for the audit log: checkpoints, their export, verification."""

from __future__ import annotations

from celery import shared_task

from dr_portal.audit import checkpoints
from dr_portal.audit.models import AuditCheckpoint
from dr_portal.audit.verify import verify_and_record


@shared_task(name="audit.checkpoint", expires=600)
def audit_checkpoint() -> str:
    """Sign the head if it moved (every N events and on beat), and re-export any missed file."""
    checkpoint = checkpoints.checkpoint_now()
    rewritten = checkpoints.export_missing()
    if checkpoint is None:
        return "audit log empty: no checkpoint"
    return f"checkpoint at seq {checkpoint.seq}; {rewritten} file(s) re-exported"


@shared_task(
    name="audit.checkpoint_export",
    autoretry_for=(OSError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def audit_checkpoint_export(seq: int) -> str:
    """Upload one checkpoint to the Object Lock bucket; safe to run twice."""
    checkpoint = AuditCheckpoint.objects.get(seq=seq)
    checkpoints.export_to_directory(checkpoint=checkpoint)
    key = checkpoints.export_to_s3(checkpoint=checkpoint)
    return f"checkpoint {seq} exported to {key}"


@shared_task(name="audit.verify", expires=3600)
def audit_verify() -> str:
    result = verify_and_record(source="beat")
    return f"audit log {'intact' if result.ok else 'FAILED'}: {result.events_checked} events"


@shared_task(name="audit.verify_requested", expires=3600)
def audit_verify_requested() -> str:
    """A check someone asked for from the Audit page ("verify now")."""
    result = verify_and_record(source="page")
    return f"audit log {'intact' if result.ok else 'FAILED'}: {result.events_checked} events"
