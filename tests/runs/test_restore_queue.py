"""A tier-0 recovery runs on the restores queue alone: a report waiting on its own queue cannot hold it up.

docs/scaling.md gives restores workers of their own; that only helps if every task of a run (the
restore steps themselves included) is routed to `restores`. A worker consuming nothing else must
carry a whole recovery to the end while the report waits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from dr_portal.queue import send_now
from incidents.runs.models import RUN_FINISHED, RecoveryRun, StepRun
from incidents.tasks import report_build_task
from inventory.models import Asset
from tests.broker import BrokerQueue
from tests.runs.conftest import make_plan, start_run
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_a_worker_on_the_restores_queue_alone_carries_a_tier0_recovery_while_a_report_waits(
    keys: Path, make_asset: Callable[..., Asset], commander, broker_queue: BrokerQueue
) -> None:
    asset = make_asset("payments-db", tier=0, alternate_region="eu-central-1")
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": asset.name, "target": "alternate"},
            {"key": "verify", "kind": "verify", "asset": asset.name, "after": ["restore"]},
        ]
    )
    broker_queue.clear()
    # A report build is queued first: the reports worker is busy with a 10,000-event report, say.
    assert send_now(report_build_task, args=(0,))
    with running_worker(
        name="restores-only",
        queues="restores",
        VAULT_KEY_FILE=str(keys),
        VAULT_KEY_ID=settings.VAULT_KEY_ID,
        RUN_PROGRESS_SECONDS="0",
    ):
        run = start_run(plan=plan, mode="recovery", by=commander)
        finished = RecoveryRun.objects.filter(pk=run.pk, status__in=RUN_FINISHED, cleaned_at__isnull=False)
        wait_for(finished.first, timeout=90, what="the restores worker to carry the run to the end")
    run.refresh_from_db()
    log = (settings.VAR_DIR / "worker-restores-only.log").read_text(errors="replace")
    assert run.status == "succeeded", (run.error, log)
    restore = StepRun.objects.get(run=run, key="restore")
    assert restore.state == "succeeded" and restore.attempt == 1
    assert digests(Path(restore.target_path)) == digests(Path(asset.source_uri))
    # The report is still where it was: the run never needed a worker that consumes `reports`.
    assert broker_queue.sent_to("reports") == ["incidents.report_build"]
