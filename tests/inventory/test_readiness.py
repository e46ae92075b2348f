"""Readiness from facts, check by check, with time frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from inventory.models import BackupStatus, PointStatus
from inventory.readiness import Level, asset_readiness, human_duration, readiness_for, rollup, worst_first
from inventory.services import asset_drill_record
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def check(asset, name: str):
    result = asset_readiness(asset=asset, now=NOW)
    matches = [c for c in result.checks if c.name == name]
    assert matches, f"no {name} check in {result.checks}"
    return max(matches, key=lambda c: c.level)


def good_asset(**policy):
    asset = AssetFactory.create(
        policy=RecoveryPolicyFactory.create(**{"rpo_minutes": 60, "drill_cadence_days": 90, **policy}),
        policy_assigned_at=NOW - timedelta(days=1),
        vault=VaultFactory.create(worm_capable=True, region="eu-west-1"),
    )
    return asset


def point(asset, age: timedelta, **fields):
    return RecoveryPointFactory.create(asset=asset, data_as_of=NOW - age, **fields)


def test_an_asset_without_policy_is_in_breach_and_says_so() -> None:
    asset = AssetFactory.create(policy=None)
    result = asset_readiness(asset=asset, now=NOW)
    assert result.level is Level.BREACH
    assert result.problems[0].reason.startswith("No recovery policy")


def test_no_backup_at_all_is_a_coverage_breach() -> None:
    asset = good_asset()
    c = check(asset, "coverage")
    assert c.level is Level.BREACH
    assert c.reason == "No good backup exists."


def test_no_vault_is_a_coverage_breach() -> None:
    asset = good_asset()
    asset.vault = None
    asset.save()
    assert "No vault" in check(asset, "coverage").reason


def test_failed_first_backup_explains_itself() -> None:
    asset = good_asset()
    BackupFactory.create(asset=asset, status=BackupStatus.FAILED, error="Source /srv/x does not exist.")
    assert (
        check(asset, "coverage").reason
        == "No good backup exists. The latest attempt failed: Source /srv/x does not exist."
    )


@pytest.mark.parametrize(
    ("age_minutes", "level", "words"),
    [
        (10, Level.OK, "within"),
        (48, Level.OK, "within"),
        (49, Level.RISK, "close to"),
        (60, Level.RISK, "close to"),
        (61, Level.BREACH, "past"),
    ],
)
def test_rpo_uses_the_newest_good_point_with_a_20_percent_margin(age_minutes: int, level: Level, words: str) -> None:
    asset = good_asset(rpo_minutes=60)
    point(asset, timedelta(minutes=age_minutes))
    c = check(asset, "rpo")
    assert c.level is level
    assert f"{words} the RPO of 1 h" in c.reason
    # Stored until the level changes: it names the data's time, and the age only as of the check.
    as_of = NOW - timedelta(minutes=age_minutes)
    age = human_duration(timedelta(minutes=age_minutes))
    assert f"holds data as of {as_of:%Y-%m-%d %H:%M} UTC ({age} old when checked)" in c.reason


def test_rpo_ignores_failed_corrupt_and_expired_points() -> None:
    asset = good_asset(rpo_minutes=60)
    point(asset, timedelta(hours=5))
    point(asset, timedelta(minutes=1), status=PointStatus.CORRUPT, verified_at=None)
    point(asset, timedelta(minutes=2), status=PointStatus.FAILED, verified_at=None, manifest_sha256="")
    assert check(asset, "rpo").level is Level.BREACH
    assert "5 h old" in check(asset, "rpo").reason


def test_latest_backup_failure_marks_an_otherwise_fresh_asset_at_risk() -> None:
    asset = good_asset()
    point(asset, timedelta(minutes=5))
    BackupFactory.create(asset=asset, status=BackupStatus.FAILED, error="Vault v is full.")
    c = check(asset, "backup")
    assert (c.level, c.reason) == (Level.RISK, "The latest backup failed: Vault v is full.")


def test_never_drilled_is_ok_at_first_then_at_risk_then_breach() -> None:
    asset = good_asset(drill_cadence_days=100)
    point(asset, timedelta(minutes=5))
    for days, level in [(10, Level.OK), (81, Level.RISK), (101, Level.BREACH)]:
        asset.policy_assigned_at = NOW - timedelta(days=days)
        asset.save()
        c = check(asset, "drill")
        assert c.level is level, days
        assert c.reason.startswith("Never drilled")


def test_a_recorded_drill_feeds_the_drill_check() -> None:
    asset = good_asset(drill_cadence_days=30)
    asset.policy_assigned_at = NOW - timedelta(days=365)
    asset.save()
    asset_drill_record(asset=asset, drilled_at=NOW - timedelta(days=3), evidence="drill run 1")
    c = check(asset, "drill")
    assert c.level is Level.OK
    assert "Last successful drill 3 d ago" in c.reason


def test_worm_breach_when_vault_cannot_lock_or_point_is_not_locked() -> None:
    asset = good_asset(worm_days=7)
    point(asset, timedelta(minutes=5), immutable_until=None)
    assert "not locked for the 7 days" in check(asset, "worm").reason
    asset.vault.worm_capable = False
    asset.vault.save()
    assert "cannot lock objects" in check(asset, "worm").reason


def test_worm_ok_when_the_newest_point_is_locked_long_enough() -> None:
    asset = good_asset(worm_days=7)
    point(asset, timedelta(minutes=5), immutable_until=NOW + timedelta(days=7))
    assert check(asset, "worm").level is Level.OK


def test_encryption_required_but_no_key_is_a_breach() -> None:
    asset = good_asset(encryption_required=True)
    point(asset, timedelta(minutes=5), key_id="")
    assert check(asset, "encryption").level is Level.BREACH
    asset.policy.encryption_required = False
    asset.policy.save()
    assert check(asset, "encryption").level is Level.OK


def test_residency_breach_names_the_vault_and_region() -> None:
    asset = good_asset(allowed_regions=["eu-west-1", "eu-central-1"])
    asset.vault.region = "us-east-1"
    asset.vault.name = "us-vault"
    asset.vault.save()
    c = check(asset, "residency")
    assert c.level is Level.BREACH
    assert c.reason == "Vault us-vault is in us-east-1, outside the allowed regions (eu-west-1, eu-central-1)."


def test_residency_breach_for_old_points_left_in_another_region() -> None:
    asset = good_asset(allowed_regions=["eu-west-1"])
    point(asset, timedelta(minutes=5), vault=VaultFactory.create(region="us-east-1"))
    point(asset, timedelta(minutes=1))
    assert "us-east-1" in check(asset, "residency").reason


def test_a_healthy_asset_is_ok_with_reasons_for_every_check() -> None:
    asset = good_asset(worm_days=7, allowed_regions=["eu-west-1"])
    point(asset, timedelta(minutes=5), immutable_until=NOW + timedelta(days=7))
    result = asset_readiness(asset=asset, now=NOW)
    assert result.level is Level.OK, result.problems
    assert {c.name for c in result.checks} == {"coverage", "rpo", "backup", "drill", "worm", "encryption", "residency"}
    assert all(c.reason for c in result.checks)


def test_rollup_by_tier_and_team_counts_each_status_worst_first() -> None:
    ok = good_asset()
    point(ok, timedelta(minutes=5))
    AssetFactory.create(policy=None, tier=0, owner_team="risk")
    items = readiness_for()
    tiers = rollup(items, by="tier")
    assert tiers[0].key == "Tier 0" and tiers[0].counts["breach"] == 1
    teams = {r.key: r.counts for r in rollup(items, by="team")}
    assert teams["ml-platform"]["ok"] == 1
    assert worst_first(items)[0].level is Level.BREACH


def test_readiness_for_many_assets_takes_a_fixed_number_of_queries(django_assert_num_queries) -> None:
    for _ in range(3):
        point(good_asset(), timedelta(minutes=5))
    with django_assert_num_queries(2):
        readiness_for()
    for _ in range(5):
        point(good_asset(), timedelta(minutes=5))
    with django_assert_num_queries(2):
        readiness_for()


def test_human_duration() -> None:
    assert human_duration(timedelta(seconds=40)) == "40 s"
    assert human_duration(timedelta(minutes=125)) == "2 h 5 min"
    assert human_duration(timedelta(days=3, hours=4, minutes=9)) == "3 d 4 h"
