"""Separate queues: backups, restores and reports each have their own, routed by task name."""

from __future__ import annotations

import pytest
from django.conf import settings

from dr_portal.celery import app
from dr_portal.ops.tasks import heartbeat
from dr_portal.queue import send_now
from incidents.tasks import report_build_task as report_build
from inventory.tasks import backup_run
from tests.broker import BrokerQueue
from tests.workers import running_worker, wait_for

EXPECTED = {
    "inventory.backup_run": "backups",
    "inventory.point_verify": "backups",
    "inventory.portal_backup": "backups",
    "runs.advance": "restores",
    "runs.step": "restores",
    "runs.verify": "restores",
    "runs.cleanup": "restores",
    "incidents.report_build": "reports",
    "inventory.backups_schedule": "celery",
    "ops.heartbeat": "celery",
}


def queue_of(name: str) -> str:
    route = app.amqp.router.route({}, name)
    return str(route["queue"].name)


def test_every_task_is_routed_to_a_declared_queue() -> None:
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert len(ours) >= 19
    declared = {q.name for q in app.conf.task_queues}
    assert declared == set(settings.TASK_QUEUE_NAMES)
    assert {name: queue_of(name) for name in EXPECTED} == EXPECTED
    assert all(queue_of(name) in declared for name in ours)
    # Every task that carries a run forward (its restores above all) is on `restores`; only the reconciler,
    # beat's housekeeping, runs on the default queue.
    run_tasks = {name: queue_of(name) for name in ours if name.startswith("runs.") and name != "runs.reconcile"}
    assert set(run_tasks.values()) == {"restores"}, run_tasks
    # Nothing names a queue the table does not declare: a worker without -Q would never see it.
    assert {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()} <= declared


@pytest.mark.django_db
def test_sends_land_on_their_queue(broker_queue: BrokerQueue) -> None:
    assert send_now(backup_run, args=(0,)) and send_now(report_build, args=(0,)) and send_now(heartbeat, args=())
    assert broker_queue.sent_to("backups") == ["inventory.backup_run"]
    assert broker_queue.sent_to("reports") == ["incidents.report_build"]
    assert broker_queue.sent_to("celery") == ["ops.heartbeat"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_worker_on_the_backups_queue_leaves_reports_waiting(broker_queue: BrokerQueue) -> None:
    assert send_now(report_build, args=(0,)) and send_now(backup_run, args=(0,))
    with running_worker(name="backups-only", queues="backups"):
        wait_for(lambda: not broker_queue.sent_to("backups"), what="the backup task to be taken")
    assert broker_queue.sent_to("reports") == ["incidents.report_build"]
