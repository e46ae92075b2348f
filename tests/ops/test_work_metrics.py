"""The aggregate work figures at /metrics (#11 item 15) against rows made here, read with Prometheus' own parser."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from incidents.models import Delivery
from incidents.runs.models import ApprovalWait
from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory, BackupFactory, IncidentFactory, RecoveryRunFactory, StepRunFactory

pytestmark = pytest.mark.django_db


def scrape(settings: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    settings.METRICS_TOKEN = "scrape-secret"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_backups_and_assets_never_backed_up(settings) -> None:
    now = timezone.now()
    asset = AssetFactory.create(name="fraud", tier=0)
    BackupFactory.create(asset=asset, started_at=now - timedelta(seconds=30), finished_at=now, bytes_done=1000)
    BackupFactory.create(asset=asset, started_at=now - timedelta(seconds=10), finished_at=now, bytes_done=500)
    BackupFactory.create(
        asset=asset,
        status="failed",
        error="disk full",
        started_at=now - timedelta(seconds=4),
        finished_at=now,
        bytes_done=7,
    )
    BackupFactory.create(asset=asset, status="queued", finished_at=None)
    AssetFactory.create(name="never", tier=0)
    AssetFactory.create(name="never-either", tier=2)
    readiness_sweep()
    got = scrape(settings)
    assert got[("drp_backups", (("status", "succeeded"),))] == 2
    assert got[("drp_backups", (("status", "failed"),))] == 1
    assert got[("drp_backups", (("status", "queued"),))] == 1
    assert got[("drp_backup_duration_seconds_count", (("status", "succeeded"),))] == 2
    assert got[("drp_backup_duration_seconds_sum", (("status", "succeeded"),))] == pytest.approx(40)
    assert got[("drp_backup_duration_seconds_sum", (("status", "failed"),))] == pytest.approx(4)
    assert ("drp_backup_duration_seconds_count", (("status", "queued"),)) not in got  # not finished
    assert got[("drp_backup_bytes", (("status", "succeeded"),))] == 1500
    # No good point for any of the three (the backups above made none): counted per tier.
    assert got[("drp_assets_never_backed_up", (("tier", "0"),))] == 2
    assert got[("drp_assets_never_backed_up", (("tier", "2"),))] == 1


def test_runs_steps_restores_and_approval_waits(settings) -> None:
    now = timezone.now()
    run = RecoveryRunFactory.create(status="succeeded", started_at=now - timedelta(seconds=120), finished_at=now)
    RecoveryRunFactory.create(status="running", started_at=now - timedelta(seconds=5))
    StepRunFactory.create(
        run=run, state="succeeded", started_at=now - timedelta(seconds=60), finished_at=now, bytes_done=4096
    )
    StepRunFactory.create(
        run=run,
        state="failed",
        error="vault unreachable",
        started_at=now - timedelta(seconds=6),
        finished_at=now,
        bytes_done=100,
    )
    StepRunFactory.create(
        run=run, kind="verify", state="succeeded", started_at=now - timedelta(seconds=3), finished_at=now
    )
    StepRunFactory.create(
        run=run, kind="failover", state="waiting_approval", approval_requested_at=now - timedelta(seconds=300)
    )
    got = scrape(settings)
    assert got[("drp_runs", (("status", "succeeded"),))] == 1
    assert got[("drp_runs", (("status", "running"),))] == 1
    assert got[("drp_run_duration_seconds_sum", (("status", "succeeded"),))] == pytest.approx(120)
    assert got[("drp_run_duration_seconds_count", (("status", "succeeded"),))] == 1
    assert got[("drp_step_duration_seconds_sum", (("kind", "restore"),))] == pytest.approx(66)
    assert got[("drp_step_duration_seconds_count", (("kind", "verify"),))] == 1
    assert got[("drp_restores", (("state", "succeeded"),))] == 1
    assert got[("drp_restores", (("state", "failed"),))] == 1
    assert got[("drp_restore_duration_seconds_sum", (("state", "succeeded"),))] == pytest.approx(60)
    assert got[("drp_restore_bytes", (("state", "succeeded"),))] == 4096
    assert got[("drp_steps_waiting_approval", ())] == 1
    assert 300 <= got[("drp_approval_wait_seconds", ())] < 330


def test_open_incidents_by_severity_and_deliveries(settings) -> None:
    IncidentFactory.create(severity="SEV1")
    IncidentFactory.create(severity="SEV1")
    IncidentFactory.create(severity="SEV3")
    IncidentFactory.create(severity="SEV2", status="closed", closed_at=timezone.now())
    for status in ("pending", "pending", "failed", "sent"):
        Delivery.objects.create(event="declared", channel="email", status=status)
    got = scrape(settings)
    assert got[("drp_incidents_open", (("severity", "SEV1"),))] == 2
    assert got[("drp_incidents_open", (("severity", "SEV3"),))] == 1
    assert ("drp_incidents_open", (("severity", "SEV2"),)) not in got
    assert got[("drp_notification_deliveries", (("status", "pending"),))] == 2
    assert got[("drp_notification_deliveries", (("status", "failed"),))] == 1


def test_a_scrape_costs_the_same_queries_whatever_the_rows(settings) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            scrape(settings)
        return len(seen)

    before = queries()
    now = timezone.now()
    for n in range(5):
        run = RecoveryRunFactory.create(status="failed", started_at=now, finished_at=now)
        StepRunFactory.create(run=run, state="failed", error="lost", started_at=now, finished_at=now)
        BackupFactory.create(started_at=now)
        IncidentFactory.create(severity=f"SEV{n % 4 + 1}")
        ApprovalWait.objects.create(
            step=StepRunFactory.create(run=run), round=1, outcome="approved", requested_at=now, decided_at=now
        )
    assert queries() == before


def test_queue_depth_per_queue_only_when_asked(settings, broker_queue) -> None:
    from dr_portal.queue import send_now
    from incidents.runs.tasks import run_advance
    from inventory.tasks import backup_run

    send_now(backup_run, args=(1,))
    send_now(backup_run, args=(2,))
    send_now(run_advance, args=(3,))
    assert not any(name == "drp_queue_depth" for name, _ in scrape(settings))  # the default scrape skips the broker
    response = Client().get("/metrics", {"queues": "1"}, HTTP_AUTHORIZATION="Bearer scrape-secret")
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(response.content.decode())
        for s in f.samples
    }
    assert got[("drp_queue_depth_up", ())] == 1
    assert got[("drp_queue_depth", (("queue", "backups"),))] == 2
    assert got[("drp_queue_depth", (("queue", "restores"),))] == 1
    assert got[("drp_queue_depth", (("queue", "reports"),))] == 0


def test_queue_depth_says_so_when_the_broker_does_not_answer(settings, closed_broker) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    response = Client().get("/metrics", {"queues": "1"}, HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    text = response.content.decode()
    assert "drp_queue_depth_up 0.0" in text and "drp_queue_depth{" not in text
    assert "drp_runs" in text or "drp_backups" in text or "drp_users" in text


def _families(settings: Any) -> dict[str, Any]:
    settings.METRICS_TOKEN = "scrape-secret"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def _histogram(family: Any, labels: dict[str, str]) -> tuple[list[tuple[float, float]], float, float]:
    """(cumulative buckets as (le, count), sum, count) of one labelled series, checked for consistency."""
    assert family.type == "histogram", f"{family.name} is a {family.type}"
    mine = [s for s in family.samples if {k: v for k, v in s.labels.items() if k != "le"} == labels]
    buckets = [(float(s.labels["le"]), s.value) for s in mine if s.name.endswith("_bucket")]
    total = next(s.value for s in mine if s.name.endswith("_sum"))
    count = next(s.value for s in mine if s.name.endswith("_count"))
    assert [le for le, _ in buckets] == sorted(le for le, _ in buckets) and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets)), "buckets are cumulative"
    assert buckets[-1][1] == count
    return buckets, total, count


def _in_bucket(buckets: list[tuple[float, float]], le: float) -> float:
    return next(n for bound, n in buckets if bound == le)


def test_durations_are_histograms_with_buckets_sum_and_count(settings) -> None:
    now = timezone.now()
    asset = AssetFactory.create(name="fraud")
    for seconds in (3, 30, 4000):
        BackupFactory.create(asset=asset, started_at=now - timedelta(seconds=seconds), finished_at=now)
    run = RecoveryRunFactory.create(status="succeeded", started_at=now - timedelta(seconds=700), finished_at=now)
    StepRunFactory.create(run=run, state="succeeded", started_at=now - timedelta(seconds=45), finished_at=now)
    families = _families(settings)
    buckets, total, count = _histogram(families["drp_backup_duration_seconds"], {"status": "succeeded"})
    assert count == 3 and total == pytest.approx(4033)
    assert _in_bucket(buckets, 1) == 0 and _in_bucket(buckets, 5) == 1
    assert _in_bucket(buckets, 15) == 1 and _in_bucket(buckets, 30) == 2  # a bound is inclusive (le)
    assert _in_bucket(buckets, 3600) == 2 and _in_bucket(buckets, 7200) == 3
    for name, labels in (
        ("drp_run_duration_seconds", {"status": "succeeded"}),
        ("drp_step_duration_seconds", {"kind": "restore"}),
        ("drp_restore_duration_seconds", {"state": "succeeded"}),
    ):
        buckets, _total, count = _histogram(families[name], labels)
        assert count == 1 and _in_bucket(buckets, 1) == 0, name


def test_completed_approval_waits_are_a_histogram_per_outcome(settings, oncall) -> None:
    from incidents.runs.services.approvals import approvals_expire, step_approve, step_reject

    now = timezone.now()
    run = RecoveryRunFactory.create(status="waiting_approval", started_at=now - timedelta(hours=3))

    def waiting(seconds: int) -> Any:
        return StepRunFactory.create(
            run=run,
            kind="failover",
            state="waiting_approval",
            requires_approval=True,
            approval_role="oncall_engineer",
            approval_quorum=1,
            approval_round=1,
            approval_requested_at=now - timedelta(seconds=seconds),
        )

    step_approve(step=waiting(400), by=oncall, comment="checked the target")
    step_reject(step=waiting(90), by=oncall, comment="wrong region")
    waiting(2 * 3600)
    assert approvals_expire()
    waiting(50)  # still waiting: not a completed wait
    family = _families(settings)["drp_approval_decision_wait_seconds"]
    approved, approved_sum, _ = _histogram(family, {"outcome": "approved"})
    assert _in_bucket(approved, 300) == 0 and _in_bucket(approved, 600) == 1 and 400 <= approved_sum < 430
    rejected, _, _ = _histogram(family, {"outcome": "rejected"})
    assert _in_bucket(rejected, 60) == 0 and _in_bucket(rejected, 120) == 1
    expired, _, count = _histogram(family, {"outcome": "expired"})
    assert count == 1 and _in_bucket(expired, 7200) == 0 and _in_bucket(expired, 14400) == 1
    # The longest current wait is still there, beside the history.
    got = scrape(settings)
    assert got[("drp_steps_waiting_approval", ())] == 1 and 50 <= got[("drp_approval_wait_seconds", ())] < 80
