"""Probabilistic RTO: a probability from measured restores, an interval that widens as they age or are few."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inventory.verification.forecast import Trial, asset_rto_forecast, rto_forecast
from inventory.verification.models import EvidenceKind
from inventory.verification.services import restore_evidence_record
from tests.factories import AssetFactory, RecoveryPolicyFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TARGET = 3600


def runs(
    n: int, *, rto: int = 600, newest_days: float = 3, spacing_days: float = 2, passed: bool = True
) -> list[Trial]:
    return [
        Trial(NOW - timedelta(days=newest_days + i * spacing_days), passed, rto if passed else None) for i in range(n)
    ]


def test_fourteen_recent_runs_within_the_rto_give_a_high_probability_in_words() -> None:
    forecast = rto_forecast(trials=runs(14), target_seconds=TARGET, now=NOW)
    assert forecast.probability is not None and forecast.probability > 0.9
    assert forecast.text.startswith(f"P(RTO met) = {forecast.probability:.2f} (based on 14 runs, newest 3 d old")


def test_the_interval_widens_when_evidence_is_scarce_or_old() -> None:
    many = rto_forecast(trials=runs(14), target_seconds=TARGET, now=NOW)
    few = rto_forecast(trials=runs(2), target_seconds=TARGET, now=NOW)
    old = rto_forecast(trials=runs(14, newest_days=200), target_seconds=TARGET, now=NOW)
    width = lambda f: f.high - f.low  # noqa: E731
    assert width(few) > width(many)
    assert width(old) > width(many)
    assert old.probability is not None and many.probability is not None and old.probability < many.probability


def test_slow_or_failed_restores_lower_the_probability_and_no_history_gives_none() -> None:
    slow = rto_forecast(trials=runs(10, rto=5000), target_seconds=TARGET, now=NOW)
    failed = rto_forecast(trials=runs(10, passed=False), target_seconds=TARGET, now=NOW)
    assert slow.probability is not None and slow.probability < 0.1
    assert failed.probability is not None and failed.probability < 0.1
    none = rto_forecast(trials=[], target_seconds=TARGET, now=NOW)
    assert none.probability is None and "unknown" in none.text


def test_a_restore_of_a_smaller_copy_is_scaled_to_todays_size() -> None:
    trial = Trial(NOW - timedelta(days=1), True, 1200, bytes_restored=1_000)
    assert rto_forecast(trials=[trial] * 5, target_seconds=TARGET, now=NOW, size_now=1_000).probability > 0.8  # type: ignore[operator]
    grown = rto_forecast(trials=[trial] * 5, target_seconds=TARGET, now=NOW, size_now=10_000)
    assert grown.probability is not None and grown.probability < 0.2


@pytest.mark.django_db
def test_the_forecast_reads_the_assets_filed_evidence_against_todays_policy() -> None:
    asset = AssetFactory.create(policy=RecoveryPolicyFactory.create(rto_minutes=30))
    for day in range(6):
        restore_evidence_record(
            asset=asset,
            kind=EvidenceKind.RESTORE_TEST,
            passed=True,
            started_at=NOW - timedelta(days=day, minutes=10),
            finished_at=NOW - timedelta(days=day),
            rto_seconds=600,
        )
    forecast = asset_rto_forecast(asset=asset, now=NOW)
    assert forecast.runs == 6 and forecast.probability is not None and forecast.probability > 0.85


@pytest.mark.django_db
def test_asset_page_and_dry_run_show_the_forecast(client_for, commander) -> None:
    from tests.factories import PlanStepFactory

    asset = AssetFactory.create(name="fraud-model", policy=RecoveryPolicyFactory.create(rto_minutes=30))
    step = PlanStepFactory.create(asset=asset)
    step.plan.assets.add(asset)
    now = datetime.now(UTC)
    for day in range(3):
        restore_evidence_record(
            asset=asset,
            kind=EvidenceKind.RESTORE_TEST,
            passed=True,
            started_at=now - timedelta(days=day + 1, minutes=10),
            finished_at=now - timedelta(days=day + 1),
            rto_seconds=300,
        )
    client = client_for(commander)
    page = client.get(f"/inventory/assets/{asset.public_id}/").content.decode()
    assert "RTO forecast:</strong> P(RTO met) = " in page and "based on 3 runs, newest 1 d old" in page
    body = client.post(
        "/api/v1/runs/dry-run/", {"plan": str(step.plan.public_id), "mode": "drill"}, content_type="application/json"
    )
    assert body.status_code == 200, body.content
    forecast = body.json()["rto_probability"][0]
    assert forecast["asset"] == "fraud-model" and forecast["runs"] == 3 and forecast["p_rto_met"] > 0.7
