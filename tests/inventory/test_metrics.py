"""Readiness figures at /metrics match the computed readiness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory, RecoveryPointFactory

pytestmark = pytest.mark.django_db


def test_metrics_carry_readiness_per_asset_and_rollups() -> None:
    fresh = AssetFactory.create(name="fresh", tier=1, owner_team="ml")
    RecoveryPointFactory.create(asset=fresh, data_as_of=timezone.now() - timedelta(minutes=5))
    AssetFactory.create(name="bare", tier=0, owner_team="ml", policy=None)
    readiness_sweep()
    default = Client().get("/metrics").content.decode()
    assert 'drp_readiness_assets_by_tier{status="breach",tier="0"} 1.0' in default
    assert 'drp_readiness_assets_by_team{status="ok",team="ml"} 1.0' in default
    assert "drp_asset_readiness{" not in default  # per-asset series only when asked for
    text = Client().get("/metrics", {"per_asset": "1"}).content.decode()
    assert 'drp_asset_readiness{asset="fresh",team="ml",tier="1"} 0.0' in text
    assert 'drp_asset_readiness{asset="bare",team="ml",tier="0"} 2.0' in text
    assert 'drp_asset_check{asset="bare",check="coverage"} 2.0' in text
    assert 'drp_asset_rpo_seconds{asset="fresh"} 3600.0' in text
    assert 'drp_readiness_assets_by_tier{status="breach",tier="0"} 1.0' in text


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("per_asset=abc", "per_asset must be 1, true, yes, 0, false or no"),
        ("per_asset=1&per_asset=0", "give per_asset once"),
        ("per_assets=1", "unknown parameter 'per_assets'"),
    ],
)
def test_a_scrape_option_that_cannot_be_read_is_refused_not_ignored(query: str, reason: str) -> None:
    response = Client().get(f"/metrics?{query}")
    assert response.status_code == 400 and reason in response.content.decode()


def test_a_scrape_option_can_be_turned_off_in_words() -> None:
    AssetFactory.create(name="bare", tier=0, policy=None)
    readiness_sweep()
    assert "drp_asset_readiness{" not in Client().get("/metrics?per_asset=false").content.decode()
    assert "drp_asset_readiness{" in Client().get("/metrics?per_asset=yes").content.decode()
