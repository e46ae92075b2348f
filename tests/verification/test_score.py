"""The readiness score: full marks for fresh evidence, points lost as it ages, a reason for every lost point."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory.models import ReadinessState
from inventory.services import asset_drill_record, asset_recovery_record
from inventory.services.readiness import readiness_refresh
from inventory.verification.models import EvidenceKind, ReadinessSample, RestoreEvidence
from inventory.verification.selectors import score_rollups, score_trend
from inventory.verification.services import restore_evidence_record
from tests.factories import AssetFactory, PlanStepFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def parts(asset_pk: int) -> dict[str, dict[str, object]]:
    state = ReadinessState.objects.get(asset_id=asset_pk)
    return {p["name"]: p for p in state.facts["score"]}


@pytest.fixture
def exemplary():
    """An asset with every kind of evidence fresh at NOW."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        policy = RecoveryPolicyFactory.create(rpo_minutes=60, drill_cadence_days=30, worm_days=0)
        asset = AssetFactory.create(name="fraud-model", tier=1, policy=policy, labels={"service": "fraud"})
        PlanStepFactory.create(asset=asset)
    with time_machine.travel(NOW - timedelta(minutes=10), tick=False):
        RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now())
        asset_recovery_record(
            asset=asset, mode="drill", finished_at=timezone.now(), rto_seconds=600, rpo_seconds=60, run_id=uuid.uuid4()
        )
        restore_evidence_record(
            asset=asset,
            kind=EvidenceKind.RESTORE_TEST,
            passed=True,
            started_at=timezone.now() - timedelta(minutes=5),
            finished_at=timezone.now(),
            rto_seconds=300,
        )
    return asset


def test_fresh_evidence_of_every_kind_scores_100(exemplary) -> None:
    readiness_refresh(asset_ids=[exemplary.pk], now=NOW)
    state = ReadinessState.objects.get(asset=exemplary)
    assert state.score == 100, state.facts["score"]
    assert all(p["got"] == p["weight"] for p in state.facts["score"])


def test_the_score_decays_as_evidence_ages_and_says_why(exemplary) -> None:
    # Two hours on, the backup is past the 60-minute RPO; the drill, the test and the plan still hold.
    readiness_refresh(asset_ids=[exemplary.pk], now=NOW + timedelta(hours=2))
    backup = parts(exemplary.pk)["backup"]
    assert backup["got"] == 0 and "past" not in str(backup["reason"])
    assert "2 h 10 min old against an RPO of 1 h: 25 points lost" in str(backup["reason"])
    assert ReadinessState.objects.get(asset=exemplary).score == 75

    # 45 days on: restore test expired (cadence 14 days for tier 1), drill half-way to worthless.
    later = NOW + timedelta(days=45)
    readiness_refresh(asset_ids=[exemplary.pk], now=later)
    found = parts(exemplary.pk)
    assert 10 <= int(found["restore_test"]["got"]) < 15  # type: ignore[call-overload]
    assert "past its 14-day cadence" in str(found["restore_test"]["reason"])
    assert found["drill"]["got"] == 7 and "past the 30-day cadence: 8 points lost" in str(found["drill"]["reason"])
    score = ReadinessState.objects.get(asset=exemplary).score
    lost_in_words = sum(int(p["weight"]) - int(p["got"]) for p in found.values())  # type: ignore[call-overload]
    assert score == 100 - lost_in_words
    assert all("points lost" in str(p["reason"]) for p in found.values() if p["got"] != p["weight"])


def test_a_failed_restore_test_keeps_half_and_no_test_keeps_nothing(exemplary) -> None:
    bare = AssetFactory.create(name="bare")
    readiness_refresh(asset_ids=[bare.pk], now=NOW)
    assert parts(bare.pk)["restore_test"]["got"] == 0
    assert "Never restore-tested" in str(parts(bare.pk)["restore_test"]["reason"])
    restore_evidence_record(
        asset=exemplary,
        kind=EvidenceKind.RESTORE_TEST,
        passed=False,
        started_at=NOW - timedelta(minutes=2),
        finished_at=NOW - timedelta(minutes=1),
        rto_seconds=None,
        detail="the restored table had 0 rows",
    )
    # The drill measured at NOW-10min is older than this failed test, so the failure counts.
    readiness_refresh(asset_ids=[exemplary.pk], now=NOW)
    assert parts(exemplary.pk)["restore_test"]["got"] == 10
    assert "failed: 10 points lost" in str(parts(exemplary.pk)["restore_test"]["reason"])


def test_policy_breaches_alert_coverage_and_plan_cost_their_points() -> None:
    policy = RecoveryPolicyFactory.create(allowed_regions=["eu-west-1"], worm_days=7)
    asset = AssetFactory.create(name="stray", policy=policy, vault__region="us-east-1", vault__worm_capable=False)
    readiness_refresh(asset_ids=[asset.pk], now=NOW)
    found = parts(asset.pk)
    assert found["residency"]["got"] == 0 and "outside the allowed regions" in str(found["residency"]["reason"])
    assert found["protection"]["got"] == 5 and "cannot lock objects" in str(found["protection"]["reason"])
    assert found["alerts"]["got"] == 0 and found["plan"]["got"] == 0


def test_each_refresh_keeps_the_days_score_and_rollups_average_per_tier_and_team(exemplary) -> None:
    other = AssetFactory.create(name="other", tier=1, owner_team="search")
    for day in range(3):
        readiness_refresh(asset_ids=[exemplary.pk, other.pk], now=NOW + timedelta(days=day))
    assert ReadinessSample.objects.filter(asset=exemplary).count() == 3
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        trend = score_trend(asset_id=exemplary.pk)
    assert [d for d, _ in trend] == [(NOW + timedelta(days=n)).date() for n in range(3)]
    assert trend[0][1] > trend[-1][1]  # the backup aged
    tier = next(r for r in score_rollups(by="tier") if r.key == "Tier 1")
    assert tier.assets == 2 and tier.lowest == ReadinessState.objects.get(asset=other).score
    teams = {r.key for r in score_rollups(by="team")}
    assert {"search", "ml-platform"} <= teams


def test_a_recovery_files_restore_evidence_once_per_run(exemplary) -> None:
    run = uuid.uuid4()
    for _ in range(2):
        asset_recovery_record(
            asset=exemplary, mode="recovery", finished_at=NOW, rto_seconds=900, rpo_seconds=120, run_id=run
        )
    evidence = RestoreEvidence.objects.filter(asset=exemplary, run_id=run)
    assert evidence.count() == 1 and evidence[0].kind == EvidenceKind.RECOVERY and evidence[0].rto_seconds == 900
    asset_drill_record(asset=exemplary, drilled_at=NOW, evidence="tabletop")  # a drill without a run files none
    assert RestoreEvidence.objects.filter(asset=exemplary).count() == 3


def test_readiness_page_shows_tier0_scores_with_reasons_forecast_and_trend(client_for, compliance, exemplary) -> None:
    portal = AssetFactory.create(name="dr-portal", tier=0)
    readiness_refresh(asset_ids=[portal.pk, exemplary.pk])
    body = client_for(compliance).get("/inventory/readiness/").content.decode()
    assert "Tier 0: score and RTO forecast" in body and "dr-portal" in body
    assert "Never restore-tested: all 20 points lost." in body
    assert "No measured restore yet: P(RTO met) unknown." in body
    assert "Average readiness score, last 90 days" in body and "<polyline" not in body  # one day: a dot
    assert "Average score" in body


def test_metrics_carry_scores_per_tier_team_and_asset(exemplary) -> None:
    from django.test import Client

    readiness_refresh(asset_ids=[exemplary.pk], now=NOW)
    text = Client().get("/metrics", {"per_asset": "1"}).content.decode()
    assert 'drp_readiness_score_avg_by_tier{tier="1"} 100.0' in text
    assert 'drp_readiness_score_min_by_team{team="ml-platform"} 100.0' in text
    assert 'drp_asset_readiness_score{asset="fraud-model",team="ml-platform",tier="1"} 100.0' in text
