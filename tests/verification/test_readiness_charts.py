"""Readiness page charts: score trend and per-tier / per-team status bars, each with a title, a description
in words and a text alternative, drawn narrow for phones; an empty chart says it is not a good result."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from dr_portal.rollup_chart import StackRow, status_stack_chart
from inventory.models import Asset, ReadinessState
from inventory.services.readiness import readiness_refresh
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _described(body: str, title: str) -> str:
    """The <desc> of the chart titled `title`, checking the svg points at its title and desc by id."""
    found = re.search(
        r'<svg [^>]*aria-labelledby="(\w+)-t" aria-describedby="(\w+)-d"[^>]*><title id="\1-t">'
        + re.escape(title)
        + r'</title><desc id="\2-d">([^<]*)</desc>',
        body,
    )
    assert found is not None, f"no described chart titled {title!r}"
    return found.group(3)


@pytest.fixture
def estate() -> None:
    """Tier 0 with a fresh backup (ok or at risk); tier 1 with none (breach), in two teams."""
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        policy = RecoveryPolicyFactory.create(rpo_minutes=240)
        portal = AssetFactory.create(name="dr-portal", tier=0, owner_team="platform", policy=policy)
        RecoveryPointFactory.create(asset=portal, data_as_of=NOW - timedelta(hours=1))
        for name in ("fraud-model", "feature-store"):
            AssetFactory.create(name=name, tier=1, owner_team="ml-platform", policy=policy)
    ids = list(Asset.objects.values_list("pk", flat=True))
    for day in (2, 1, 0):
        readiness_refresh(asset_ids=ids, now=NOW - timedelta(days=day))


def test_tier_and_team_charts_say_in_words_what_they_draw(client_for, compliance, estate) -> None:
    with time_machine.travel(NOW, tick=False):
        body = client_for(compliance).get("/inventory/readiness/").content.decode()
    states = {s.asset.name: s for s in ReadinessState.objects.select_related("asset")}
    tiers = _described(body, "Assets by readiness status, per tier")
    fraud, store = states["fraud-model"], states["feature-store"]
    assert fraud.level == store.level == 2, "no backup: breach"
    low = min(fraud.score, store.score)
    assert (
        f"Tier 1: 2 in breach, 0 at risk, 0 ok; score {round((fraud.score + store.score) / 2)} avg, {low} lowest"
        in (tiers)
    )
    assert tiers.startswith("Tier 0: ") and "Tier 1: " in tiers
    teams = _described(body, "Assets by readiness status, per team")
    assert "ml-platform: 2 in breach, 0 at risk, 0 ok" in teams and "platform: " in teams
    assert 'href="/inventory/?tier=1"' in body and 'href="/inventory/?team=ml-platform"' in body


def test_the_trend_is_drawn_wide_and_narrow_and_captioned_in_words(client_for, compliance, estate) -> None:
    with time_machine.travel(NOW, tick=False):
        body = client_for(compliance).get("/inventory/readiness/").content.decode()
    assert body.count('class="chart chart-wide"') == 2 and body.count('class="chart chart-narrow"') == 2
    desc = _described(body, "Average readiness score, last 90 days")
    assert re.search(r"All assets: \d+ on 2026-03-02 \(\d+ on 2026-02-28; lowest \d+ on 2026-0[23]-\d\d\)", desc)
    assert "Tier 0: " in desc
    assert desc in body.split("<figcaption", 1)[1], "the same words are visible under the chart"


def test_with_nothing_assessed_the_charts_say_so_instead_of_looking_fine(client_for, compliance) -> None:
    body = client_for(compliance).get("/inventory/readiness/").content.decode()
    assert "No daily score samples yet" in body and body.count("This is not a good result") == 4
    assert "No backup finished in the last 30 days" in body
    assert "so no RTO or RPO is measured against a target" in body
    assert body.count("No asset has been assessed yet: nothing to chart.") == 2
    assert "<svg" not in body.split("<main", 1)[1]


def test_the_backup_success_rate_per_team_is_drawn_and_said(client_for, compliance) -> None:
    store = AssetFactory.create(name="feature-store", owner_team="ml-platform")
    BackupFactory.create(asset=store, status="succeeded")
    BackupFactory.create(asset=store, status="failed", error="vault full")
    BackupFactory.create(asset=store, status="running", finished_at=None)  # not finished: not counted
    body = client_for(compliance).get("/inventory/readiness/").content.decode()
    assert _described(body, "Backup success rate, last 30 days (%)") == "ml-platform: 50 % (1 of 2 succeeded)."


def test_a_stack_chart_leaves_out_empty_groups_and_draws_nothing_for_none() -> None:
    assert status_stack_chart([StackRow("Tier 3", {"breach": 0, "at_risk": 0, "ok": 0})], title="x") is None
    chart = str(status_stack_chart([StackRow("Tier 0", {"breach": 1, "ok": 3}), StackRow("Tier 2", {})], title="t"))
    assert "Tier 2" not in chart and "<title>1 in breach</title>" in chart and "<title>3 ok</title>" in chart
