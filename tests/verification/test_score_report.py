"""The readiness PDF carries each asset's score with its lost points in words, the score's trend over the period
(the shared SVG chart) and the RTO forecast, read back from the rendered file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from dr_portal.accounts.models import User
from incidents.models import ReportKind, ReportStatus
from incidents.services.reports import report_build, report_path, report_request
from inventory.models import ReadinessState
from inventory.services.readiness import readiness_refresh
from inventory.verification.forecast import asset_rto_forecast
from inventory.verification.models import EvidenceKind
from inventory.verification.samples import readiness_samples_record
from inventory.verification.services import restore_evidence_record
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory
from tests.reports.conftest import embedded_identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(settings, "REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr(settings, "AUDIT_CHECKPOINT_DIR", tmp_path / "checkpoints")
    with embedded_identity(tmp_path / "signing"):
        yield tmp_path


def pdf_text(path: Path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"(\w)- (\w)", r"\1-\2", " ".join(text.split()))


def test_the_readiness_pdf_shows_scores_with_reasons_their_trend_and_the_rto_forecast(
    report_dirs: Path, compliance: User
) -> None:
    now = timezone.now()
    today = now.date()
    policy = RecoveryPolicyFactory.create(name="tier0", rto_minutes=30, rpo_minutes=60)
    scorer = AssetFactory.create(name="fraud-model", tier=0, policy=policy, owner_team="fraud")
    bare = AssetFactory.create(name="bare-index", tier=2, owner_team="search")
    RecoveryPointFactory.create(asset=scorer, data_as_of=now - timedelta(minutes=5))
    for days_ago, rto in ((3, 600), (10, 900), (20, 1500)):
        restore_evidence_record(
            asset=scorer, kind=EvidenceKind.RESTORE_TEST, passed=True, rto_seconds=rto,
            started_at=now - timedelta(days=days_ago, seconds=rto), finished_at=now - timedelta(days=days_ago),
        )  # fmt: skip
    readiness_refresh(asset_ids=[scorer.pk, bare.pk], now=now)
    # Thirty days of history before today: the average climbs from 30 to 59 across the period.
    first = today - timedelta(days=29)
    for n in range(29):
        readiness_samples_record(
            scores={scorer.pk: 40 + 2 * n, bare.pk: 20},
            tiers={scorer.pk: 0, bare.pk: 2},
            now=now - timedelta(days=29 - n),
        )
    states = {s.asset_id: s.score for s in ReadinessState.objects.all()}
    today_avg = round((states[scorer.pk] + states[bare.pk]) / 2)

    report = report_request(kind=ReportKind.READINESS, by=compliance, period_first=first, period_last=today)
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    text = pdf_text(report_path(report))

    start = text.rindex("Readiness score, trend and RTO forecast")
    section = text[start : text.index("Asset inventory and criticality analysis", start)]
    assert f"Average readiness score now (0-100) {today_avg} over 2 assessed assets" in section
    assert f"Lowest score now {states[bare.pk]} (bare-index)" in section
    change = today_avg - 30
    assert f"Average score over the period 30 on {first} → {today_avg} on {today} (+{change})" in section
    # The chart is the shared SVG: its axis, dates and each series' newest value are text in the PDF.
    assert "Daily average of the assets' readiness scores" in section
    chart = text[text.index("0 50 80 100", start) :]
    assert chart.startswith(f"0 50 80 100 {today - timedelta(days=89):%d %b} {today:%d %b} all assets: {today_avg}")
    assert f"tier 0: {states[scorer.pk]}" in chart
    # Every point lost, in words, lowest score first.
    losses = section[section.index("Points lost, lowest score first") :]
    assert losses.index("bare-index") < losses.index("fraud-model")
    bare_parts = ReadinessState.objects.get(asset=bare).facts["score"]
    for part in bare_parts:
        if part["got"] < part["weight"]:
            assert f"{part['name']} -{part['weight'] - part['got']}: {part['reason']}" in section, part["name"]
    # Rolled up per tier and team.
    assert f"Tier 2 1 {states[bare.pk]} {states[bare.pk]}" in section and "search 1" in section
    # The forecast, as the asset page and the dry run word it.
    forecast = asset_rto_forecast(asset=scorer, now=now)
    assert forecast.runs == 3
    assert f"fraud-model 0 30 min {forecast.text}" in section
    summary = text[text.rindex("Executive summary") :]
    assert f"Readiness score (average of the assets, 0-100) {today_avg}" in summary


def test_the_readiness_pdf_carries_the_pages_rollup_and_rto_rpo_history_charts(
    report_dirs: Path, compliance: User
) -> None:
    """The same SVG code as the readiness page: roll-up per tier and team, RTO/RPO over time for the worst assets;
    an asset with no measured restore is said to be unmeasured, not left out."""
    now = timezone.now()
    policy = RecoveryPolicyFactory.create(name="tier0", rto_minutes=60, rpo_minutes=240)
    ledger = AssetFactory.create(name="ledger-db", tier=0, policy=policy, owner_team="payments")
    quiet = AssetFactory.create(name="quiet-cache", tier=1, policy=policy, owner_team="search")
    for days_ago, rto, rpo in ((30, 1800, 3600), (5, 5400, 18000)):
        restore_evidence_record(
            asset=ledger, kind=EvidenceKind.RESTORE_TEST, passed=True, rto_seconds=rto, rpo_seconds=rpo,
            started_at=now - timedelta(days=days_ago, seconds=rto), finished_at=now - timedelta(days=days_ago),
        )  # fmt: skip
    readiness_refresh(asset_ids=[ledger.pk, quiet.pk], now=now)
    report = report_request(kind=ReportKind.READINESS, by=compliance, period_first=now.date(), period_last=now.date())
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    text = pdf_text(report_path(report))

    summary = text[text.rindex("Executive summary") : text.rindex("Readiness score, trend and RTO forecast")]
    assert "Assets by readiness status, per tier" in summary and "Assets by readiness status, per team" in summary
    low = ReadinessState.objects.get(asset=quiet).score
    assert "In words: Tier 0: 1 in breach, 0 at risk, 0 ok; score" in summary
    assert f"search: 1 in breach, 0 at risk, 0 ok; score {low} avg, {low} lowest." in summary
    tests = text[text.rindex("Restore tests HIPAA") :]
    assert "ledger-db: RTO and RPO achieved against target, over time" in tests
    assert "RTO: 1 of 2 within target; newest 1h 30m against 1h 00m" in tests
    assert "RPO: 1 of 2 within target; newest 5h 00m against 4h 00m" in tests
    assert "quiet-cache has no measured restore in the last 90 days" in tests and "not the same as met" in tests
