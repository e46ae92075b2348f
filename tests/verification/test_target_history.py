"""RTO and RPO achieved against target per asset over time, on the readiness page: each restore a dot as a share
of the target, the chart named and described in words, drawn wide and narrow; no restore is said, not drawn."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import time_machine

from dr_portal.target_chart import Reading, TargetSeries, target_history_chart
from inventory.services.readiness import readiness_refresh
from inventory.verification.models import RestoreEvidence
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def _restore(asset, *, days_ago: int, rto_min: int, rpo_min: int) -> None:
    at = NOW - timedelta(days=days_ago)
    RestoreEvidence.objects.create(
        asset=asset,
        kind="restore_test",
        passed=True,
        started_at=at - timedelta(minutes=rto_min),
        finished_at=at,
        rto_seconds=rto_min * 60,
        rpo_seconds=rpo_min * 60,
    )


def _svgs(body: str, title: str) -> list[ElementTree.Element]:
    found = re.findall(r"<svg [^>]*>.*?</svg>", body, flags=re.S)
    trees = [ElementTree.fromstring(s) for s in found]  # noqa: S314 - our own markup
    return [t for t in trees if t.findtext(f"{SVG}title") == title]


def test_each_restore_is_a_dot_against_the_target_wide_and_narrow(client_for, compliance) -> None:
    policy = RecoveryPolicyFactory.create(rto_minutes=60, rpo_minutes=240, mtd_minutes=600)
    asset = AssetFactory.create(name="ledger-db", tier=0, policy=policy)
    _restore(asset, days_ago=40, rto_min=30, rpo_min=120)  # both met
    _restore(asset, days_ago=10, rto_min=90, rpo_min=300)  # both missed
    _restore(asset, days_ago=200, rto_min=10, rpo_min=10)  # outside the 90 days
    with time_machine.travel(NOW, tick=False):
        body = client_for(compliance).get(f"/inventory/readiness/?history={asset.public_id}").content.decode()
    title = "ledger-db: RTO and RPO achieved as a share of target, last 90 days"
    charts = _svgs(body, title)
    assert [c.get("class") for c in charts] == ["chart chart-wide", "chart chart-narrow"]
    wide = charts[0]
    dots = [c for c in wide.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    tips = sorted(c.findtext(f"{SVG}title") or "" for c in dots)
    assert tips == [
        "RPO 2026-01-21: 2h 00m against 4h 00m (50 % of target)",
        "RPO 2026-02-20: 5h 00m against 4h 00m (125 % of target)",
        "RTO 2026-01-21: 30m against 1h 00m (50 % of target)",
        "RTO 2026-02-20: 1h 30m against 1h 00m (150 % of target)",
    ]
    assert sorted(c.get("class") or "" for c in dots) == ["met", "met", "missed", "missed"]
    desc = wide.findtext(f"{SVG}desc")
    assert desc is not None and "RTO: 1 of 2 within target; newest 1h 30m against 1h 00m on 2026-02-20" in desc
    assert "worst 150 % of target on 2026-02-20" in desc
    # The caption says it too, for people who do not get the SVG's description.
    assert "RPO: 1 of 2 within target" in body.split(title)[-1].split("</figcaption>")[0]


def test_no_restore_is_said_not_drawn_and_worst_assets_are_the_default(client_for, compliance) -> None:
    policy = RecoveryPolicyFactory.create(rpo_minutes=240)
    asset = AssetFactory.create(name="never-restored", tier=0, policy=policy)
    readiness_refresh(asset_ids=[asset.pk], now=NOW)  # no backup: in breach, so among the worst
    with time_machine.travel(NOW, tick=False):
        body = client_for(compliance).get("/inventory/readiness/").content.decode()
    section = body.split('id="rto-rpo-history"')[1].split("</section>")[0]
    assert "<svg" not in section
    assert "never-restored has no measured restore in the last 90 days" in section
    assert "not the same as met" in section


def test_an_unknown_asset_id_is_refused_in_words(client_for, compliance) -> None:
    body = client_for(compliance).get("/inventory/readiness/?history=not-an-id").content.decode()
    assert "No asset with id &#x27;not-an-id&#x27;; showing the worst assets instead." in body


def test_nothing_in_the_window_draws_nothing() -> None:
    old = Reading(NOW - timedelta(days=100), timedelta(minutes=5), timedelta(minutes=10))
    assert target_history_chart([TargetSeries("RTO", [old])], title="t", end=NOW) is None
    assert target_history_chart([TargetSeries("RTO", [])], title="t", end=NOW) is None
