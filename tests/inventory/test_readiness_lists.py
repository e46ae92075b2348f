"""The readiness page's "worst first" and "nearest to its RPO" lists (#12): their order, kept right through
renames and policy changes, and served on PostgreSQL by an index on the stored state alone (no sort of
every asset)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Asset, ReadinessState
from inventory.selectors import readiness_nearest_rpo, readiness_worst
from inventory.services import asset_update
from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db


def _asset(name: str, *, tier: int = 1, policy: bool = True, data_as_of: Any = None) -> Asset:
    asset = AssetFactory.create(
        name=name,
        tier=tier,
        policy=RecoveryPolicyFactory.create(rpo_minutes=60, drill_cadence_days=90, worm_days=0) if policy else None,
        policy_assigned_at=timezone.now() - timedelta(days=1),
        vault=VaultFactory.create(worm_capable=True),
    )
    if data_as_of is not None:
        RecoveryPointFactory.create(asset=asset, data_as_of=data_as_of, immutable_until=None)
    return asset


def _names(items: list[Any]) -> list[str]:
    return [item.asset.name for item in items]


@pytest.fixture
def estate() -> dict[str, Asset]:
    now = timezone.now()
    same = now - timedelta(minutes=30)
    made = {
        "c-none": _asset("c-none"),  # a policy, no good point: first, by name
        "a-none": _asset("a-none"),
        "b-old": _asset("b-old", data_as_of=now - timedelta(minutes=50)),  # passes its RPO in 10 minutes
        "d-new": _asset("d-new", data_as_of=now - timedelta(minutes=5)),
        "f-tie": _asset("f-tie", data_as_of=same),  # two passing the RPO at the same moment: by name
        "e-tie": _asset("e-tie", data_as_of=same),
        "z-bare": _asset("z-bare", policy=False),  # no policy: nothing to be near
    }
    readiness_sweep()
    made["n-new"] = _asset("n-new")  # never assessed yet: on neither list
    return made


def test_nearest_to_rpo_puts_assets_without_a_good_point_first_then_by_breach_time_then_by_name(
    estate: dict[str, Asset],
) -> None:
    assert _names(readiness_nearest_rpo(limit=10)) == ["a-none", "c-none", "b-old", "e-tie", "f-tie", "d-new"]
    assert _names(readiness_nearest_rpo(limit=3)) == ["a-none", "c-none", "b-old"]


def test_nearest_to_rpo_follows_a_rename_and_a_policy_removed(
    estate: dict[str, Asset], django_capture_on_commit_callbacks: Any, admin: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        asset_update(asset=estate["f-tie"], by=admin, fields={"name": "0-tie"})
    with django_capture_on_commit_callbacks(execute=True):
        asset_update(asset=estate["a-none"], by=admin, fields={"policy": None})
    assert _names(readiness_nearest_rpo(limit=10)) == ["c-none", "b-old", "0-tie", "e-tie", "d-new"]


def test_worst_first_is_level_then_tier_then_name(estate: dict[str, Asset]) -> None:
    rows = ReadinessState.objects.filter(level__isnull=False).values_list("asset__name", "level")
    levels = {name: level or 0 for name, level in rows}
    worst = _names(readiness_worst(limit=20))
    expected = sorted(
        (name for name, level in levels.items() if level),
        key=lambda name: (-levels[name], Asset.objects.get(name=name).tier, name),
    )
    assert worst == expected and "n-new" not in worst
    Asset.objects.filter(name="z-bare").update(tier=0)  # a tier change counts from the next assessment
    ReadinessState.objects.filter(asset__name="z-bare").update(next_change_at=timezone.now())
    readiness_sweep()
    assert _names(readiness_worst(limit=20))[0] == "z-bare"


def test_the_migration_fills_the_sort_keys_from_the_assets(estate: dict[str, Asset]) -> None:
    ReadinessState.objects.update(asset_name="", has_policy=False)
    importlib.import_module("inventory.migrations.0012_readiness_sort_keys").backfill(apps, None)
    rows = dict(ReadinessState.objects.values_list("asset__name", "asset_name"))
    assert all(stored == name for name, stored in rows.items())
    bare = ReadinessState.objects.filter(has_policy=False).values_list("asset__name", flat=True)
    assert set(bare) == {"z-bare"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("read", [readiness_nearest_rpo, readiness_worst])
def test_the_lists_are_read_from_an_index_without_sorting_every_asset(read: Any, estate: dict[str, Asset]) -> None:
    """With sorts priced out, the ids still come in order from one partial index on the stored state."""
    with CaptureQueriesContext(connection) as seen:
        read(limit=5)
    sorts = [q["sql"] for q in seen if q["sql"].startswith('SELECT "inventory_readinessstate"."asset_id"')]
    assert sorts and all(" LIMIT " in sql for sql in sorts), sorts
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        for sql in sorts:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Sort" not in plan and "Index Scan using readiness_" in plan and "inventory_asset" not in plan, plan
