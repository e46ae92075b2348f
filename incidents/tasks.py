"""Celery tasks: each takes ids, calls a service and returns a short line."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from incidents.services import deadlines_scan, deliveries_reconcile, delivery_attempt, drills_open_due
from incidents.services.point_alerts import point_suspicious_alert
from incidents.services.reports import report_build, reports_reconcile


# The row counts attempts and gives up after WEBHOOK_MAX_ATTEMPTS, so Celery's own limit is off. It must be
# off on the task: `retry(max_retries=None)` means "the task's limit", which defaults to 3.
@shared_task(name="incidents.delivery_send", bind=True, max_retries=None)
def delivery_send(self: Any, delivery_id: int) -> str:
    attempt = delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in)
    return attempt.summary


@shared_task(name="incidents.deliveries_reconcile", expires=100)
def deliveries_reconcile_task() -> str:
    done = deliveries_reconcile()
    return f"re-queued {len(done)} deliveries"


@shared_task(name="incidents.deadlines_scan", expires=250)
def deadlines_scan_task() -> str:
    sent = deadlines_scan()
    return "; ".join(sent) or "no deadline warnings due"


@shared_task(name="incidents.drills_schedule", expires=3000)
def drills_schedule() -> str:
    opened = drills_open_due()
    return f"opened {len(opened)} scheduled drills"


@shared_task(name="incidents.report_build")
def report_build_task(report_id: int) -> str:
    return report_build(report_id=report_id)


@shared_task(name="incidents.reports_reconcile", expires=250)
def reports_reconcile_task() -> str:
    done = reports_reconcile()
    return "; ".join(done) or "no report build stuck"


@shared_task(name="incidents.point_suspicious_alert")
def point_suspicious_alert_task(point_id: int) -> str:
    result = point_suspicious_alert(point_id=point_id)
    if result is None:
        return f"point {point_id}: not suspicious, no alert"
    return f"point {point_id}: alert on incident {result.incident.reference if result.incident else '(inbox)'}"
