"""Readiness as stored state: facts change it, time changes it through the sweep, and races lose nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Asset, BackupStatus, ReadinessState, RecoveryPoint
from inventory.readiness import Level, _point_region_rows
from inventory.services import asset_create, asset_drill_record, backup_request, policy_update
from inventory.services import readiness as readiness_service
from inventory.services.readiness import readiness_refresh, readiness_sweep
from inventory.tasks import backup_run
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stored(asset: Asset) -> ReadinessState:
    return ReadinessState.objects.get(asset=asset)


def check_level(state: ReadinessState, name: str) -> int:
    return max(c["level"] for c in state.checks if c["name"] == name)


def covered_asset(*, rpo_minutes: int = 60, backup_age: timedelta | None = None, **fields: Any) -> Asset:
    policy = RecoveryPolicyFactory.create(rpo_minutes=rpo_minutes, drill_cadence_days=90, worm_days=0)
    asset = AssetFactory.create(
        policy=policy,
        policy_assigned_at=timezone.now() - timedelta(days=1),
        vault=VaultFactory.create(worm_capable=True),
        **fields,
    )
    if backup_age is not None:
        RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now() - backup_age, immutable_until=None)
    return asset


# --- facts change the stored state -----------------------------------------------------


def test_a_new_asset_is_assessed_when_its_creation_commits(django_capture_on_commit_callbacks, admin) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        asset = asset_create(
            by=admin,
            fields={"name": "fraud-model", "kind": "model", "owner_team": "risk", "tier": 1, "region": "eu-west-1"}
            | {"source_uri": "/srv/models/fraud"},
        )
    state = stored(asset)
    assert state.level == Level.BREACH and state.assessed_at is not None
    assert state.checks[0]["reason"].startswith("No recovery policy")


def test_a_finished_backup_updates_the_stored_readiness(
    backed_asset: Asset, fs_vault: Any, django_capture_on_commit_callbacks
) -> None:
    readiness_sweep()
    before = stored(backed_asset)
    assert check_level(before, "coverage") == Level.BREACH and before.ok_data_as_of is None
    with django_capture_on_commit_callbacks(execute=True):
        backup = backup_request(asset=backed_asset, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        backup_run(backup.pk)
    after = stored(backed_asset)
    point = RecoveryPoint.objects.get(asset=backed_asset)
    assert after.ok_data_as_of == point.data_as_of
    assert check_level(after, "coverage") == Level.OK and check_level(after, "rpo") == Level.OK
    assert after.facts["last_backup_status"] == BackupStatus.SUCCEEDED
    assert after.version > before.version


def test_a_recorded_drill_and_a_policy_edit_update_the_stored_readiness(django_capture_on_commit_callbacks) -> None:
    asset = covered_asset(backup_age=timedelta(minutes=10))
    AssetFactory.create(policy=asset.policy)  # a second asset on the same policy
    asset.policy_assigned_at = timezone.now() - timedelta(days=200)
    asset.save()
    readiness_sweep()
    assert check_level(stored(asset), "drill") == Level.BREACH
    with django_capture_on_commit_callbacks(execute=True):
        asset_drill_record(asset=asset, drilled_at=timezone.now(), evidence="drill run 1")
    assert check_level(stored(asset), "drill") == Level.OK
    assert stored(asset).level == Level.OK
    with django_capture_on_commit_callbacks(execute=True):
        policy_update(policy=asset.policy, by=None, fields={"rpo_minutes": 5})  # type: ignore[arg-type]
    state = stored(asset)
    assert state.level == Level.BREACH and "past the RPO of 5 min" in state.checks[0]["reason"]
    assert state.rpo_seconds == 300


# --- time changes it, through a sweep that touches only what is due -----------------------


def test_the_sweep_moves_an_ageing_backup_to_at_risk_and_then_breach_at_its_thresholds() -> None:
    with time_machine.travel(NOW, tick=False):
        asset = covered_asset(rpo_minutes=60, backup_age=timedelta(minutes=30))
        other = covered_asset(rpo_minutes=600, backup_age=timedelta(minutes=30))
        assert readiness_sweep() == 2
        state = stored(asset)
        assert state.level == Level.OK
        assert state.next_change_at == NOW + timedelta(minutes=18, seconds=1)  # 80 % of the RPO, just passed
        assert readiness_sweep() == 0  # nothing is due: nothing is touched
    with time_machine.travel(NOW + timedelta(minutes=19), tick=False):
        assert readiness_sweep() == 1  # only the asset whose threshold passed
        assert stored(asset).level == Level.RISK and check_level(stored(asset), "rpo") == Level.RISK
        assert stored(other).assessed_at == NOW
    with time_machine.travel(NOW + timedelta(minutes=31), tick=False):
        readiness_sweep()
        state = stored(asset)
        assert state.level == Level.BREACH and "past the RPO of 1 h" in state.checks[0]["reason"]


def test_every_row_is_reassessed_at_least_hourly_so_quoted_ages_stay_true() -> None:
    with time_machine.travel(NOW, tick=False):
        asset = covered_asset(rpo_minutes=60 * 24 * 30, backup_age=timedelta(minutes=1))
        readiness_sweep()
        assert stored(asset).next_change_at == NOW + timedelta(hours=1, seconds=1)


def test_assets_made_outside_the_services_get_a_row_from_the_sweep() -> None:
    assets = AssetFactory.create_batch(3)
    assert not ReadinessState.objects.exists()
    assert readiness_sweep() == 3
    assert set(ReadinessState.objects.filter(level__isnull=False).values_list("asset_id", flat=True)) == {
        a.pk for a in assets
    }


# --- the races the issue names ------------------------------------------------------------------


def test_a_fact_change_committed_while_the_sweep_assesses_is_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    asset = covered_asset(backup_age=timedelta(minutes=10))
    asset.policy_assigned_at = timezone.now() - timedelta(days=200)
    asset.save()
    real = readiness_service.readiness_for
    changed: list[Asset] = []

    def facts_read_then_a_drill_lands(*args: Any, **kwargs: Any) -> Any:
        items = real(*args, **kwargs)  # the sweep has read the old facts...
        if not changed:  # ...when a drill run records its success (its own refresh not run yet)
            changed.append(asset_drill_record(asset=asset, drilled_at=timezone.now(), evidence="drill run 7"))
        return items

    monkeypatch.setattr(readiness_service, "readiness_for", facts_read_then_a_drill_lands)
    readiness_sweep()
    state = stored(asset)
    # The stale assessment (drill overdue) was not written over the newer fact: the row is still due.
    assert state.level is None and state.next_change_at is not None and state.next_change_at <= timezone.now()
    monkeypatch.setattr(readiness_service, "readiness_for", real)
    readiness_sweep()
    state = stored(asset)
    assert check_level(state, "drill") == Level.OK and state.level == Level.OK


def test_an_interrupted_sweep_resumes_without_missing_an_asset(monkeypatch: pytest.MonkeyPatch) -> None:
    assets = [covered_asset(backup_age=timedelta(minutes=5)) for _ in range(5)]
    calls: list[Any] = []
    real = readiness_service.readiness_refresh

    def dies_on_the_second_batch(**kwargs: Any) -> int:
        calls.append(kwargs["asset_ids"])
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(readiness_service, "readiness_refresh", dies_on_the_second_batch)
    with pytest.raises(RuntimeError):
        readiness_sweep(batch=2)
    assert ReadinessState.objects.filter(level__isnull=False).count() == 2  # the first batch committed
    monkeypatch.setattr(readiness_service, "readiness_refresh", real)
    assert readiness_sweep(batch=2) == 3
    assert all(stored(a).level == Level.OK for a in assets)


def test_a_refresh_that_read_an_older_version_writes_nothing() -> None:
    asset = covered_asset(backup_age=timedelta(minutes=5))
    readiness_refresh(asset_ids=[asset.pk])
    first = stored(asset)
    ReadinessState.objects.filter(asset=asset).update(version=first.version + 1, next_change_at=timezone.now())
    real = readiness_service.readiness_for
    assert real is not None
    # A refresh reads the version before the facts, so a bump in between makes its write miss.
    with pytest.MonkeyPatch.context() as patch:

        def bump_between(*args: Any, **kwargs: Any) -> Any:
            ReadinessState.objects.filter(asset=asset).update(version=first.version + 2)
            return real(*args, **kwargs)

        patch.setattr(readiness_service, "readiness_for", bump_between)
        assert readiness_refresh(asset_ids=[asset.pk]) == 0
    assert readiness_refresh(asset_ids=[asset.pk]) == 1


# --- the point-regions query ------------------------------------------------------------------------


def test_point_regions_are_one_row_per_asset_and_region_whatever_the_ordering() -> None:
    asset = covered_asset()
    east = VaultFactory.create(region="us-east-1")
    for hours in range(4):
        RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now() - timedelta(hours=hours))
    RecoveryPointFactory.create(asset=asset, vault=east)
    rows = list(_point_region_rows([asset.pk]))
    assert sorted(rows) == sorted({(asset.pk, asset.vault.region), (asset.pk, "us-east-1")})  # type: ignore[union-attr]


# --- what reads it ----------------------------------------------------------------------------------


def test_the_readiness_api_pages_filters_and_sorts_the_stored_state(client_for: Any, viewer: Any) -> None:
    for i in range(3):
        covered_asset(name=f"ok-{i}", tier=2, owner_team="ml", backup_age=timedelta(minutes=5))
    AssetFactory.create(name="bare", tier=0, owner_team="risk", policy=None)
    readiness_sweep()
    api = client_for(viewer)
    first = api.get("/api/v1/inventory/readiness/").json()
    assert first["count"] == 4 and first["results"][0]["asset"] == "bare"  # worst first by default
    breach = api.get("/api/v1/inventory/readiness/", {"status": "breach"}).json()
    assert [r["asset"] for r in breach["results"]] == ["bare"]
    tier2 = api.get("/api/v1/inventory/readiness/", {"tier": 2, "team": "ml", "sort": "-name"}).json()
    assert [r["asset"] for r in tier2["results"]] == ["ok-2", "ok-1", "ok-0"]
    assert tier2["results"][0]["assessed_at"] is not None
    summary = api.get("/api/v1/inventory/readiness/summary/").json()
    assert summary["counts"] == {"ok": 3, "at_risk": 0, "breach": 1}
    assert summary["by_tier"][0] == {"key": "Tier 0", "worst": "breach", "counts": {"ok": 0, "at_risk": 0, "breach": 1}}
    bad = api.get("/api/v1/inventory/readiness/", {"status": "fine", "tier": "x"})
    assert bad.status_code == 400 and {"status", "tier"} <= set(bad.json()["error"]["fields"])


@pytest.mark.parametrize("url", ["/", "/inventory/", "/inventory/readiness/", "/api/v1/inventory/readiness/"])
def test_pages_that_show_readiness_cost_the_same_queries_for_3_or_30_assets(
    url: str, client_for: Any, commander: Any
) -> None:
    def estate(n: int) -> int:
        for _ in range(n):
            covered_asset(backup_age=timedelta(hours=2))  # in breach: every one is on the worst lists
        readiness_sweep()
        client = client_for(commander)
        client.get(url)  # warm the session and caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = estate(3)
    large = estate(27)
    assert large <= small, f"{url}: {small} queries with 3 assets, {large} with 30"
