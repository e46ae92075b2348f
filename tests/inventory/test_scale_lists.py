"""Every list is paged and served by an index; the newest good point is a pointer, not a history scan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append
from inventory.models import Asset, Backup, PointStatus, RecoveryPoint
from inventory.services import backup_request, point_expire, point_release
from inventory.tasks import backup_run
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory

pytestmark = pytest.mark.django_db


def index_names(model: Any) -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name for name, info in found.items() if info["index"]}


def test_the_indexes_the_lists_and_periodic_tasks_need_exist() -> None:
    assert {
        "asset_kind_name",
        "asset_tier_name",
        "asset_team_name",
        "asset_region_name",
        "asset_next_backup",
    } <= index_names(Asset)
    assert {"point_asset_newest", "point_newest", "point_unexpired_age"} <= index_names(RecoveryPoint)
    assert {"backup_asset_newest", "backup_newest", "backup_status_newest"} <= index_names(Backup)
    assert {
        "audit_action_newest",
        "audit_system_actor_newest",
        "audit_actor_newest",
        "audit_object_newest",
        "audit_incident_newest",
    } <= index_names(AuditEvent)


def _run(asset: Asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    backup_run(backup.pk)
    return RecoveryPoint.objects.get(backup=backup)


def newest_of(asset: Asset) -> int | None:
    pointer: int | None = Asset.objects.values_list("newest_point_id", flat=True).get(pk=asset.pk)
    return pointer


def test_the_newest_point_pointer_follows_backups_and_expiry(backed_asset: Asset, settings: Any) -> None:
    settings.BACKUP_FORMAT = "files"
    assert newest_of(backed_asset) is None
    first = _run(backed_asset)
    assert newest_of(backed_asset) == first.pk
    second = _run(backed_asset)
    assert newest_of(backed_asset) == second.pk
    with time_machine.travel(timezone.now() + timedelta(days=8)):  # past WORM (2 days)
        point_expire(point=second)
    assert newest_of(backed_asset) == first.pk


def test_releasing_a_suspicious_point_makes_it_the_newest(admin: Any) -> None:
    asset = AssetFactory.create()
    older = RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now() - timedelta(hours=2))
    suspicious = RecoveryPointFactory.create(asset=asset, status=PointStatus.SUSPICIOUS, note="entropy")
    assert newest_of(asset) == older.pk
    point_release(point_id=suspicious.pk, by=admin, reason="checked by hand: a planned re-encoding")
    assert newest_of(asset) == suspicious.pk


def _history(asset: Asset, points: int, backups: int) -> None:
    start = timezone.now() - timedelta(days=365)
    for n in range(points):
        RecoveryPointFactory.create(asset=asset, data_as_of=start + timedelta(hours=n))
    Backup.objects.bulk_create(
        [
            BackupFactory.build(asset=asset, vault=asset.vault, created_at=start + timedelta(hours=n))
            for n in range(backups)
        ]
    )


def test_the_history_page_pages_points_and_backups_newest_first(client_for: Any, viewer: Any) -> None:
    asset = AssetFactory.create()
    _history(asset, points=30, backups=60)
    client = client_for(viewer)
    url = f"/inventory/assets/{asset.public_id}/history/"
    first = client.get(url)
    assert first.status_code == 200
    shown = list(first.context["points"])
    assert len(shown) == 25 and shown[0].data_as_of > shown[-1].data_as_of
    assert first.context["points"].paginator.num_pages == 2
    older = client.get(url, {"points": 2, "backups": 3})
    assert len(older.context["points"]) == 5 and len(older.context["backups"]) == 10
    assert "Older →" in first.content.decode()


def test_the_history_page_costs_the_same_queries_for_a_short_or_long_history(client_for: Any, viewer: Any) -> None:
    client = client_for(viewer)

    def queries(points: int, backups: int) -> int:
        asset = AssetFactory.create()
        _history(asset, points=points, backups=backups)
        url = f"/inventory/assets/{asset.public_id}/history/"
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"points": 2, "backups": 2}).status_code == 200
        return len(captured)

    assert queries(points=30, backups=30) >= queries(points=300, backups=300)


def test_the_asset_page_costs_the_same_queries_for_a_short_or_long_history(client_for: Any, viewer: Any) -> None:
    client = client_for(viewer)

    def queries(points: int) -> int:
        asset = AssetFactory.create()
        _history(asset, points=points, backups=points)
        url = f"/inventory/assets/{asset.public_id}/"
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(3) >= queries(120)


def test_the_audit_actor_filter_finds_system_and_people_by_their_own_column(
    client_for: Any, compliance: Any, commander: Any
) -> None:
    for n in range(5):
        audit_append(action="asset.created", system_actor="system:import", object_type="asset", object_id=str(n))
    audit_append(action="incident.declared", actor=commander, object_type="incident", object_id="x")
    client = client_for(compliance)
    by_system = client.get("/api/v1/audit/events/", {"actor": "system:import"}).json()
    assert {e["action"] for e in by_system["results"]} == {"asset.created"} and len(by_system["results"]) == 5
    by_person = client.get("/api/v1/audit/events/", {"actor": commander.username}).json()
    assert [e["action"] for e in by_person["results"]] == ["incident.declared"]
    assert client.get("/api/v1/audit/events/", {"actor": "nobody-at-all"}).json()["results"] == []


@pytest.mark.parametrize(
    "params", [{"actor": "system:import"}, {"action": "asset."}, {"object_type": "asset", "object_id": "3"}]
)
def test_a_filtered_audit_page_costs_the_same_queries_for_a_short_or_long_log(
    params: dict[str, str], client_for: Any, compliance: Any
) -> None:
    client = client_for(compliance)

    def queries(events: int) -> int:
        for n in range(events):
            audit_append(action="asset.created", system_actor="system:import", object_type="asset", object_id=str(n))
        client.get("/audit/", params)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/audit/", params).status_code == 200
        return len(captured)

    assert queries(5) >= queries(120)


@pytest.mark.parametrize(
    "url", ["/inventory/?sort=status", "/api/v1/inventory/readiness/?sort=status", "/inventory/readiness/", "/"]
)
def test_lists_sort_and_page_the_ids_alone_then_fetch_the_page(url: str, client_for: Any, commander: Any) -> None:
    """A deferred join: the query that sorts every asset carries only the sort keys and the id, not whole
    joined rows (policy, vault, stored state); the page's own rows come by id, in the sorted order. The
    same for the readiness page's and the dashboard's worst and nearest-to-RPO lists."""
    from inventory.selectors import AssetFilters, asset_list
    from inventory.services.readiness import readiness_sweep
    from tests.factories import RecoveryPolicyFactory

    policy = RecoveryPolicyFactory.create()
    for i in range(30):
        AssetFactory.create(name=f"a-{i:02}", tier=i % 4, policy=None if i % 3 else policy)
    readiness_sweep()
    client = client_for(commander)
    client.get(url)
    with CaptureQueriesContext(connection) as seen:
        body = client.get(url).content.decode()
    # Sorts across the asset and its stored state (no index serves them: every row is sorted).
    sorting = [q["sql"] for q in seen if "inventory_readinessstate" in q["sql"].partition("ORDER BY")[2]]
    assert sorting, "the list sorts its assets on their stored state in the database"
    for sql in sorting:
        selected = sql.split(" FROM ", 1)[0]
        assert '"inventory_asset"."name"' not in selected and "inventory_recoverypolicy" not in selected, sql
    if "sort=status" not in url:
        return
    # The page shows the first rows of the same sort over whole rows, in that order.
    expected = list(asset_list(filters=AssetFilters(sort="status")).values_list("name", flat=True)[:20])
    at = [body.index(f'{name}"') if url.startswith("/api") else body.index(f">{name}<") for name in expected]
    assert at == sorted(at)
