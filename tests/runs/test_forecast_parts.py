"""The RTO forecast models its parts apart: steps and checks from the asset's own restores, transfer from the
throughput of the asset's vault, and the wait for approvals from completed runs that asked. Each test seeds a
history where lumping the parts together gives the opposite answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.runs.models import Approval
from incidents.runs.services import step_approve
from incidents.runs.waits import run_approval_wait_seconds
from inventory.models import Asset
from inventory.services import plan_save
from inventory.verification.forecast import History, Trial, asset_rto_forecast, rto_forecast
from inventory.verification.models import EvidenceKind, RestoreEvidence
from inventory.verification.services import restore_evidence_record
from tests.factories import (
    AssetFactory,
    IncidentFactory,
    RecoveryPointFactory,
    RecoveryPolicyFactory,
    RecoveryRunFactory,
    StepRunFactory,
    VaultFactory,
)
from tests.runs.conftest import drive, start_run

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MiB = 1024 * 1024
TARGET = 30 * 60


def quick_tests(n: int = 6) -> list[Trial]:
    """Restore tests that took 5 min: 100 MiB at 1 MiB/s (100 s) plus 200 s of steps, nobody asked to approve."""
    return [Trial(NOW - timedelta(days=i + 1), True, 300, 100 * MiB, 1.0 * MiB, None) for i in range(n)]


def test_a_recovery_that_asks_for_approval_adds_the_measured_wait_for_people() -> None:
    waits = [2400, 2700, 3000]  # completed runs waited 40-50 minutes for their approvers
    alone = rto_forecast(trials=quick_tests(), target_seconds=TARGET, now=NOW, size_now=100 * MiB,
                         history=History(approval_waits=waits, approvals_needed=False))  # fmt: skip
    asked = rto_forecast(trials=quick_tests(), target_seconds=TARGET, now=NOW, size_now=100 * MiB,
                         history=History(approval_waits=waits, approvals_needed=True))  # fmt: skip
    assert alone.probability is not None and alone.probability > 0.85
    # The same restores, but the recovery waits for people as completed runs did: 5 min + ~45 min > 30 min.
    assert asked.probability is not None and asked.probability < 0.15
    assert asked.typical_seconds == 300 + 2700
    assert asked.parts is not None and asked.parts.approval_wait_seconds == 2700
    assert "approval wait 45 min (the median of 3 completed run(s))" in asked.parts.text
    assert "steps and checks 3 min 20 s;" in asked.parts.text
    assert "transfer 1 min 40 s (100.0 MiB at 1.0 MiB/s, the median of 6 of its own restore(s))" in asked.parts.text


def test_the_throughput_is_the_vault_the_asset_restores_from_now() -> None:
    # The asset's restores read 1 GiB from a fast vault (10 s of 60 s); it now lives in a slow one.
    fast_history = [Trial(NOW - timedelta(days=i + 1), True, 60, 1024 * MiB, 100.0 * MiB) for i in range(6)]
    lumped = rto_forecast(trials=fast_history, target_seconds=15 * 60, now=NOW, size_now=1024 * MiB)
    assert lumped.probability is not None and lumped.probability > 0.85  # its own restores say: fast
    slow = History(vault_name="cold-archive", throughputs=[0.9 * MiB, 1.0 * MiB, 1.1 * MiB])
    forecast = rto_forecast(trials=fast_history, target_seconds=15 * 60, now=NOW, size_now=1024 * MiB, history=slow)
    # 50 s of steps + 1 GiB at ~1 MiB/s (17 min) is over the 15 min RTO, whatever the asset's past said.
    assert forecast.probability is not None and forecast.probability < 0.15
    assert forecast.typical_seconds is not None and abs(forecast.typical_seconds - (50 + 1024)) <= 1
    assert forecast.parts is not None
    assert "transfer 17 min 4 s (1024.0 MiB at 1.0 MiB/s, the median of 3 restore(s) from vault cold-archive)" in (
        forecast.parts.text
    )


@pytest.mark.django_db
def test_the_asset_forecast_reads_each_part_from_its_own_filed_history() -> None:
    slow, fast = VaultFactory.create(name="cold-archive"), VaultFactory.create(name="hot-nvme")
    policy = RecoveryPolicyFactory.create(rto_minutes=15)
    asset = AssetFactory.create(name="ranker", vault=slow, policy=policy)
    other = AssetFactory.create(name="other", vault=slow)
    RecoveryPointFactory.create(asset=asset, vault=slow, size_bytes=1024 * MiB)
    # The asset's own history: quick restores from the fast vault.
    for day in range(1, 7):
        restore_evidence_record(
            asset=asset, kind=EvidenceKind.RESTORE_TEST, passed=True, rto_seconds=60, bytes_restored=1024 * MiB,
            started_at=NOW - timedelta(days=day, seconds=60), finished_at=NOW - timedelta(days=day),
            vault_id=fast.pk, throughput_bps=100.0 * MiB,
        )  # fmt: skip
    # Another asset's restores from the slow vault say how fast that vault really is.
    for day in range(1, 4):
        restore_evidence_record(
            asset=other, kind=EvidenceKind.DRILL, passed=True, rto_seconds=700, bytes_restored=600 * MiB,
            started_at=NOW - timedelta(days=day, seconds=700), finished_at=NOW - timedelta(days=day),
            vault_id=slow.pk, throughput_bps=1.0 * MiB,
        )  # fmt: skip
    forecast = asset_rto_forecast(asset=asset, now=NOW)
    assert forecast.runs == 6
    assert forecast.probability is not None and forecast.probability < 0.15
    assert forecast.parts is not None and forecast.parts.throughput_samples == 3
    assert "from vault cold-archive" in forecast.parts.text and "no approval asked" in forecast.parts.text


@pytest.mark.django_db
def test_a_runs_approval_wait_counts_overlapping_waits_once(commander: User, oncall: User, oncall2: User) -> None:
    run = RecoveryRunFactory.create()
    start = timezone.now() - timedelta(hours=1)
    first = StepRunFactory.create(run=run, kind="failover", approval_requested_at=start)
    second = StepRunFactory.create(run=run, kind="degrade", approval_requested_at=start + timedelta(minutes=5))
    for step, approver, minutes in ((first, oncall, 10), (second, oncall2, 20)):
        Approval.objects.create(step=step, approver=approver, decision="approve", comment="ok", round=1,
                                digest="0" * 64, created_at=start + timedelta(minutes=minutes),
                                expires_at=timezone.now())  # fmt: skip
    assert run_approval_wait_seconds(run) == 20 * 60  # 0-10 and 5-20 minutes: 20 minutes of waiting
    assert run_approval_wait_seconds(RecoveryRunFactory.create()) is None  # nobody was asked


@pytest.mark.django_db
def test_a_finished_run_files_its_vault_throughput_and_approval_wait(
    model: Asset, commander: User, oncall: User, oncall2: User
) -> None:
    assert model.policy is not None
    model.policy.failover_quorum = 2
    model.policy.save()
    plan = plan_save(data={"name": "failover", "steps": [
        {"key": "restore", "kind": "restore", "asset": model.name},
        {"key": "failover", "kind": "failover", "asset": model.name, "after": ["restore"]},
    ]}, by=None)  # fmt: skip
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert run.status == "waiting_approval"
    with time_machine.travel(timezone.now() + timedelta(minutes=25), tick=True):
        step = run.steps.get(key="failover")
        for person in (oncall, oncall2):
            step_approve(step=step, by=person, comment="alternate is healthy")
        run = drive(run)
    assert run.status == "succeeded", run.error
    evidence = RestoreEvidence.objects.get(asset=model, run_id=run.public_id)
    restore = run.steps.get(key="restore")
    assert restore.point is not None
    assert evidence.vault_id == restore.point.vault_id and evidence.bytes_restored == restore.point.size_bytes
    assert evidence.throughput_bps == restore.rate_bps
    assert evidence.approval_wait_seconds is not None and 25 * 60 <= evidence.approval_wait_seconds < 27 * 60


@pytest.mark.django_db
def test_the_dry_run_figure_uses_the_vault_throughput_and_the_approval_wait_and_says_so(
    client_for: object, commander: User
) -> None:
    slow = VaultFactory.create(name="cold-archive", region="eu-west-1")
    fast = VaultFactory.create(name="hot-nvme", region="eu-west-1")
    policy = RecoveryPolicyFactory.create(rto_minutes=60, failover_quorum=1)
    asset = AssetFactory.create(name="ranker", vault=slow, policy=policy, alternate_region="eu-central-1")
    RecoveryPointFactory.create(asset=asset, vault=slow, size_bytes=600 * MiB, data_as_of=timezone.now())
    other = AssetFactory.create(name="other", vault=slow)
    now = timezone.now()
    for day, (vault, rate, wait) in enumerate(
        [(slow, 2.0, 600), (slow, 2.0, 900), (slow, 2.0, 1200), (fast, 200.0, None), (fast, 200.0, None)], start=1
    ):
        restore_evidence_record(
            asset=other, kind=EvidenceKind.RECOVERY, passed=True, rto_seconds=400, bytes_restored=100 * MiB,
            started_at=now - timedelta(days=day, seconds=400), finished_at=now - timedelta(days=day),
            vault_id=vault.pk, throughput_bps=rate * MiB, approval_wait_seconds=wait,
            run_id=uuid.uuid4(),
        )  # fmt: skip
    plan = plan_save(data={"name": "ranker failover", "steps": [
        {"key": "restore", "kind": "restore", "asset": asset.name},
        {"key": "failover", "kind": "failover", "asset": asset.name, "after": ["restore"]},
    ]}, by=None)  # fmt: skip
    client: Client = client_for(commander)  # type: ignore[operator]
    body = client.post(
        "/api/v1/runs/dry-run/", {"plan": str(plan.public_id), "mode": "recovery"}, content_type="application/json"
    ).json()
    steps = {s["key"]: s["forecast_seconds"] for s in body["steps"]}
    # 600 MiB at the slow vault's 2 MiB/s (not the fast vault's, nor a global figure) plus 2 s of bookkeeping.
    assert steps["restore"] == pytest.approx(300 + 2, abs=0.2)
    # The failover waits for people: the median wait of completed runs that asked (15 min).
    assert steps["failover"] == pytest.approx(900 + 2, abs=0.2)
    assert body["forecast_seconds"] == pytest.approx(302 + 902, abs=0.5)
    assert body["approval_wait_seconds"] == 900
    basis = " ".join(body["forecast_basis"])
    assert "Transfer from vault cold-archive at 2.0 MiB/s (the median of the newest 3 restore(s) from vault " in basis
    assert "1 step(s) wait for approval: 15 min in all" in basis
    (forecast,) = body["rto_probability"]
    assert "approval wait 15 min (the median of 3 completed run(s))" in forecast["parts"]
    incident = IncidentFactory.create(kind="real", title="ranker down")
    query = {"plan": str(plan.public_id), "mode": "recovery", "incident": str(incident.public_id)}
    page = client.get("/runs/new/", query)
    text = page.content.decode()
    assert page.status_code == 200 and 'id="forecast-basis"' in text
    assert "Transfer from vault cold-archive at 2.0 MiB/s" in text
    assert "Typical restore: transfer 5 min (600.0 MiB at 2.0 MiB/s" in text and "approval wait 15 min" in text
