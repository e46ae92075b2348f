"""Scheduled restore tests: due assets are restored into a sandbox, verified, cleaned up and filed as evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidents.restoretests.models import RestoreTest, RestoreTestState
from incidents.restoretests.services import restore_tests_tick
from incidents.runs import targets
from incidents.runs.models import RecoveryRun
from incidents.runs.services import run_cancel
from inventory.services.readiness import readiness_refresh
from inventory.verification.models import EvidenceKind, RestoreEvidence
from inventory.verification.selectors import score_facts
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_at_a_time(settings) -> None:
    settings.RESTORE_TEST_CONCURRENCY = 1
    settings.RESTORE_TEST_POINT = "newest"


def test_a_due_asset_is_restore_tested_in_a_sandbox_and_the_result_is_filed(make_asset) -> None:
    asset = make_asset("fraud-model")
    source_before = sorted(p.name for p in Path(asset.source_uri).rglob("*"))
    assert restore_tests_tick() == "started a restore test of fraud-model"
    test = RestoreTest.objects.get(asset=asset)
    assert test.state == RestoreTestState.RUNNING and test.run is not None and test.run.incident is None
    sandbox = Path(test.run.steps.get(kind="restore").target_path)
    assert sandbox != Path(asset.source_uri) and "drills" in sandbox.parts
    run = drive(test.run)
    assert run.status == "succeeded" and run.cleaned_at is not None
    assert not sandbox.exists()  # cleaned up
    assert sorted(p.name for p in Path(asset.source_uri).rglob("*")) == source_before  # the real data untouched

    assert "fraud-model: passed" in restore_tests_tick()
    test.refresh_from_db()
    assert test.state == RestoreTestState.PASSED and test.rto_seconds is not None and test.rpo_seconds is not None
    evidence = RestoreEvidence.objects.get(asset=asset, run_id=run.public_id)
    assert (
        evidence.kind == EvidenceKind.RESTORE_TEST
        and evidence.passed
        and test.point is not None
        and evidence.point_id == test.point.public_id
    )
    assert restore_tests_tick() == "no restore test due"  # tested within its cadence
    # The score sees it as a restore test, and the test's own plan is not taken for a runbook.
    facts = score_facts(asset_ids=[asset.pk])[asset.pk]
    assert facts.test_passed and not facts.has_plan
    readiness_refresh(asset_ids=[asset.pk])
    assert "A restore test passed" in str(asset.readiness_state.facts["score"])


def run_of(test: RestoreTest) -> RecoveryRun:
    assert test.run is not None
    return test.run


def test_concurrency_is_bounded_and_the_longest_untested_goes_first(make_asset, settings) -> None:
    first, second = make_asset("alpha"), make_asset("beta")
    assert restore_tests_tick() == "started a restore test of alpha"
    assert restore_tests_tick() == "no restore test due"  # one slot, taken
    drive(run_of(RestoreTest.objects.get(asset=first)))
    assert restore_tests_tick() == "alpha: passed; started a restore test of beta"
    settings.RESTORE_TEST_CONCURRENCY = 0
    drive(run_of(RestoreTest.objects.get(asset=second)))
    assert restore_tests_tick() == "beta: passed"


def test_a_real_recovery_preempts_a_test_of_the_same_asset(make_asset, commander) -> None:
    asset = make_asset("fraud-model")
    restore_tests_tick()
    test = RestoreTest.objects.get(asset=asset)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}], name="real")
    recovery = start_run(plan=plan, mode="recovery", by=commander)
    assert "pre-empted the test of fraud-model" in restore_tests_tick()
    test.refresh_from_db()
    assert test.state == RestoreTestState.PREEMPTED and test.run is not None
    test.run.refresh_from_db()
    assert test.run.status == "cancelled"
    assert restore_tests_tick() == "no restore test due"  # not while the recovery has the asset
    run_cancel(run=recovery, by=commander, reason="the drill of the drill is over")
    assert restore_tests_tick() == "started a restore test of fraud-model"  # tried again: pre-empted is not tested


def test_a_sandbox_that_is_not_empty_is_refused_and_nothing_is_written(make_asset, monkeypatch, tmp_path) -> None:
    asset = make_asset("fraud-model")
    occupied = tmp_path / "occupied"
    (occupied / asset.name).mkdir(parents=True)
    (occupied / asset.name / "someone-elses.txt").write_text("keep me")
    monkeypatch.setattr(targets, "drill_root", lambda run: occupied)
    outcome = restore_tests_tick()
    assert "fraud-model: refused (The sandbox" in outcome and "is not empty" in outcome
    test = RestoreTest.objects.get(asset=asset)
    assert test.state == RestoreTestState.REFUSED and test.run is None
    assert (occupied / asset.name / "someone-elses.txt").read_text() == "keep me"
    assert not RestoreEvidence.objects.filter(asset=asset).exists()


def test_a_point_that_expires_before_the_restore_skips_the_test_without_blaming_the_backup(make_asset) -> None:
    from inventory.services import point_expire

    asset = make_asset("fraud-model")
    restore_tests_tick()
    test = RestoreTest.objects.get(asset=asset)
    assert test.point is not None
    point_expire(point=test.point)
    run = drive(run_of(test))
    assert run.status == "failed"
    assert restore_tests_tick() == "fraud-model: point expired, skipped"
    test.refresh_from_db()
    assert test.state == RestoreTestState.SKIPPED and "expired" in test.detail
    assert not RestoreEvidence.objects.filter(asset=asset, passed=False).exists()
