"""Worker liveness."""

from __future__ import annotations

from celery import Task, shared_task

from dr_portal.ops.services import heartbeat_record


@shared_task(bind=True, name="ops.heartbeat", expires=30)
def heartbeat(self: Task[[], str]) -> str:
    hostname = self.request.hostname or "unknown"
    heartbeat_record(hostname=hostname)
    return f"heartbeat from {hostname}"
