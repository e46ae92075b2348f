"""Imports grow linearly: bulk writes, one read of the graph, one cycle check, all or nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset, Dependency, ReadinessState
from inventory.porting import ImportFailed, import_file
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

HEAD = """\
vaults:
  - {name: eu-vault, kind: filesystem, region: eu-west-1, config: {path: vaults/eu}}
policies:
  - {name: gold, strategy: hot_standby, rto_minutes: 15, rpo_minutes: 5, mtd_minutes: 60,
     backup_cadence_minutes: 5, retention_days: 30, drill_cadence_days: 30}
assets:
"""


def estate(n: int, *, bad: int | None = None, cycle: bool = False) -> bytes:
    lines = [HEAD]
    for i in range(n):
        tier = 9 if i == bad else i % 4
        lines.append(
            f"  - {{name: a-{i}, kind: model, owner_team: t{i % 7}, tier: {tier}, region: eu-west-1,"
            f" source_uri: /srv/a-{i}, policy: gold, vault: eu-vault}}\n"
        )
    lines.append("dependencies:\n")
    # A chain and a skip edge per asset: about two edges per asset, no cycle.
    for i in range(1, n):
        lines.append(f"  - {{upstream: a-{i - 1}, downstream: a-{i}}}\n")
        if i >= 2:
            lines.append(f"  - {{upstream: a-{i - 2}, downstream: a-{i}}}\n")
    if cycle:
        lines.append(f"  - {{upstream: a-{n - 1}, downstream: a-0}}\n")
    return "".join(lines).encode()


def test_an_import_costs_the_same_queries_for_20_or_200_assets_with_their_dependencies() -> None:
    def queries(n: int) -> int:
        Dependency.objects.all().delete()
        Asset.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            summary = import_file(name="estate.yaml", data=estate(n), by=None)
        assert summary.created["asset"] == n and summary.created["dependency"] == 2 * n - 3
        return len(captured)

    small = queries(20)
    assert queries(200) <= small


def test_an_import_writes_readiness_rows_one_event_per_asset_and_edge_and_one_summary() -> None:
    import_file(name="estate.yaml", data=estate(30), by=None)
    assert ReadinessState.objects.count() == 30
    assert AuditEvent.objects.filter(action="asset.created").count() == 30
    assert AuditEvent.objects.filter(action="dependency.added").count() == 57
    assert AuditEvent.objects.filter(action="inventory.imported").count() == 1


def test_one_bad_row_in_a_large_import_imports_nothing_and_names_the_row() -> None:
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=estate(300, bad=250), by=None)
    assert caught.value.errors == ["line 257, field tier: Ensure this value is less than or equal to 3."]
    assert not Asset.objects.exists() and not Dependency.objects.exists() and not AuditEvent.objects.exists()


def test_a_cycle_closed_by_the_last_edge_of_a_large_import_is_named() -> None:
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=estate(50, cycle=True), by=None)
    [error] = caught.value.errors
    assert error.startswith("line 155, field upstream: This would make a cycle: a-49 → a-0 → ")
    assert error.endswith(" → a-49.")
    assert not Asset.objects.exists()


def test_a_cycle_through_edges_already_stored_is_refused() -> None:
    import_file(name="estate.yaml", data=estate(5), by=None)
    closing = HEAD.split("assets:")[0] + "dependencies:\n  - {upstream: a-4, downstream: a-0}\n"
    with pytest.raises(ImportFailed) as caught:
        import_file(name="more.yaml", data=closing.encode(), by=None)
    [error] = caught.value.errors
    assert error.startswith("line 7, field upstream: This would make a cycle: a-4 → a-0 → ") and error.endswith("a-4.")
    assert Dependency.objects.count() == 7


def test_a_name_already_taken_on_another_row_is_named() -> None:
    AssetFactory.create(name="a-3")
    data = estate(5).replace(b"  - {name: a-3, kind: model", b"  - {name: a-1, kind: model")
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=data, by=None)
    assert any("a-1 is also on another row" in e for e in caught.value.errors)
