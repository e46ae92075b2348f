"""Readiness roll-ups per tier and team (#12): moved with every stored readiness change, in its transaction,
equal to a recount, and what the readiness page, the dashboard and /metrics read instead of the states."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Asset, ReadinessGroup, ReadinessState
from inventory.readiness import Level
from inventory.selectors import readiness_counts, readiness_rollups
from inventory.services import readiness as readiness_service
from inventory.services import readiness_groups
from inventory.services.readiness import readiness_refresh, readiness_sweep
from inventory.verification.selectors import score_rollups
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db


def _asset(*, team: str = "payments", tier: int = 1, backup_age: timedelta | None = None) -> Asset:
    policy = RecoveryPolicyFactory.create(rpo_minutes=60, drill_cadence_days=90, worm_days=0)
    asset = AssetFactory.create(
        owner_team=team,
        tier=tier,
        policy=policy,
        policy_assigned_at=timezone.now() - timedelta(days=1),
        vault=VaultFactory.create(worm_capable=True),
    )
    if backup_age is not None:
        RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now() - backup_age, immutable_until=None)
    return asset


def _groups() -> Counter[tuple[int, str, int, int]]:
    """(tier, team, level, score) -> count, rows at zero left out; the no-point counts under key score -1."""
    out: Counter[tuple[int, str, int, int]] = Counter()
    for tier, team, level, score, n, bare in ReadinessGroup.objects.values_list(
        "tier", "team", "level", "score", "count", "no_point"
    ):
        out[(tier, team, level, score)] += n
        out[(tier, team, level, -1)] += bare
    return +out


def _recount() -> Counter[tuple[int, str, int, int]]:
    """The same, counted from the states and their assets' current tier and team."""
    out: Counter[tuple[int, str, int, int]] = Counter()
    rows = (
        ReadinessState.objects.filter(level__isnull=False)
        .values("asset__tier", "asset__owner_team", "level", "score")
        .annotate(n=Count("pk"), bare=Count("pk", filter=Q(ok_data_as_of__isnull=True)))
    )
    for r in rows:
        out[(r["asset__tier"], r["asset__owner_team"], r["level"], r["score"])] += r["n"]
        out[(r["asset__tier"], r["asset__owner_team"], r["level"], -1)] += r["bare"]
    return +out


def _levels(team: str) -> dict[int, int]:
    rows = ReadinessGroup.objects.filter(team=team, count__gt=0).values_list("level", "count")
    totals: Counter[int] = Counter()
    for level, n in rows:
        totals[level] += n
    return dict(totals)


def test_a_stored_readiness_change_moves_the_roll_up() -> None:
    asset = _asset(backup_age=timedelta(minutes=10))
    readiness_sweep()
    assert _levels("payments") == {Level.OK: 1}
    assert ReadinessGroup.objects.get(count=1).no_point == 0
    # Time alone: the backup ages past the RPO, the sweep reassesses it, the roll-up follows.
    readiness_sweep(now=timezone.now() + timedelta(hours=2))
    assert _levels("payments") == {Level.BREACH: 1}
    # The asset moves to another team: its next assessment moves it out of the old team's rows.
    Asset.objects.filter(pk=asset.pk).update(owner_team="risk", tier=0)
    readiness_refresh(asset_ids=[asset.pk])
    assert _levels("payments") == {} and _levels("risk") == {Level.OK: 1}
    assert readiness_rollups(by="tier")[0].key == "Tier 0"
    assert _groups() == _recount()


def test_a_rolled_back_change_leaves_the_roll_up_as_it_was() -> None:
    asset = _asset(backup_age=timedelta(minutes=10))
    readiness_sweep()
    before, state = _groups(), ReadinessState.objects.get(asset=asset)
    with pytest.raises(RuntimeError), transaction.atomic():
        readiness_sweep(now=timezone.now() + timedelta(hours=2))
        assert _levels("payments") == {Level.BREACH: 1}  # moved inside the transaction...
        raise RuntimeError("the transaction that changed the state rolls back")
    assert _groups() == before  # ...and back with it
    assert ReadinessState.objects.get(asset=asset).level == state.level == Level.OK


def test_the_roll_up_equals_a_recount_after_a_sweep_and_the_backfill_makes_the_same() -> None:
    for i in range(24):
        age = [None, timedelta(minutes=5), timedelta(minutes=50), timedelta(hours=3)][i % 4]
        _asset(team=f"team-{i % 3}", tier=i % 4, backup_age=age)
    readiness_sweep()
    readiness_sweep(now=timezone.now() + timedelta(minutes=40))  # some move to at risk or breach
    assert _groups() == _recount()
    assert sum(readiness_counts().values()) == 24
    # The migration's backfill, from the states alone, writes the same rows.
    kept = _groups()
    ReadinessGroup.objects.all().delete()
    ReadinessState.objects.update(counted_tier=None, counted_team="")
    importlib.import_module("inventory.migrations.0011_backfill_readiness_groups").backfill(apps, None)
    assert _groups() == kept
    # Averages and the lowest score, from the roll-ups, are those of the states.
    for r in score_rollups(by="team"):
        scores = list(ReadinessState.objects.filter(asset__owner_team=r.key).values_list("score", flat=True))
        assert (r.assets, r.average, r.lowest) == (len(scores), round(sum(scores) / len(scores)), min(scores))


def _figures(url: str, response: Any) -> Any:
    """What the page shows from the roll-ups: counts per status (and per tier/team and the scores)."""
    if url == "/metrics":
        body = response.content.decode()
        return sorted(line for line in body.splitlines() if line.startswith(("drp_readiness_", "drp_assets_never")))
    if url == "/":
        return response.context["readiness"].counts
    ctx = response.context
    return (ctx["counts"], [(r.key, r.counts) for r in ctx["tiers"]], [(r.key, r.counts) for r in ctx["teams"]])


@pytest.mark.parametrize("url", ["/", "/inventory/readiness/", "/metrics"])
def test_pages_read_the_roll_ups_not_the_states(url: str, client_for: Any, commander: Any, settings: Any) -> None:
    """The same queries for 3 or 30 assets; states changed around the services (so not in the roll-ups)
    leave the figures as they were: the page reads the roll-ups, not the states."""
    settings.METRICS_TOKEN = "scrape-secret"
    client = client_for(commander)

    def page() -> tuple[int, Any]:
        client.get(url, HTTP_AUTHORIZATION="Bearer scrape-secret")
        with CaptureQueriesContext(connection) as seen:
            response = client.get(url, HTTP_AUTHORIZATION="Bearer scrape-secret")
        assert response.status_code == 200
        return len(seen), _figures(url, response)

    for _ in range(3):
        _asset(backup_age=timedelta(minutes=10))
    readiness_sweep()
    queries, _ = page()
    for _ in range(27):
        _asset(backup_age=timedelta(minutes=10))
    readiness_sweep()
    more, figures = page()
    assert more <= queries, f"{url}: {queries} queries with 3 assets, {more} with 30"
    if url == "/metrics":
        assert 'drp_readiness_assets_by_team{status="ok",team="payments"} 30.0' in figures
    else:
        assert "30" in str(figures) and readiness_counts()["ok"] == 30
    ReadinessState.objects.update(level=Level.RISK, score=7, ok_data_as_of=None)
    assert page()[1] == figures


@pytest.mark.django_db(transaction=True)
def test_two_writers_in_one_group_lose_neither_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real threads and connections: both refreshes have stored their state and wait at a barrier, then both
    move the same (tier, team) rows at once; F() increments serialise on the row and keep both."""
    first, second = _asset(backup_age=timedelta(minutes=10)), _asset(backup_age=timedelta(minutes=10))
    readiness_sweep()
    assert _levels("payments") == {Level.OK: 2}
    barrier = threading.Barrier(2)
    real = readiness_groups.readiness_groups_apply
    errors: list[BaseException] = []

    def meets_the_other_first(deltas: Any) -> None:
        # SQLite: one writer holds the file until it commits, so the other cannot arrive; go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        real(deltas)

    def refresh(asset: Asset) -> None:
        try:
            readiness_refresh(asset_ids=[asset.pk], now=timezone.now() + timedelta(hours=2))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(readiness_service, "readiness_groups_apply", meets_the_other_first)
    threads = [threading.Thread(target=refresh, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert _levels("payments") == {Level.BREACH: 2}
    assert _groups() == _recount()
