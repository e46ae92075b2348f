"""The incident page at a large estate: its cost does not grow with the timeline or with the graph below its assets."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dr_portal.audit.services import EventSpec, audit_append_many
from incidents.models import Incident, IncidentAsset
from inventory.blast import blast_radius, downstream_edges, downstream_nearest
from inventory.models import Asset, Dependency
from tests.factories import AssetFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def events_for(incident: Incident, user: Any, n: int) -> None:
    """`n` timeline events of the kinds a busy incident has: notes, run and step progress, alerts."""
    actions = ["incident.note_added", "step.started", "step.succeeded", "run.started", "alert.fired"]
    audit_append_many(
        events=[
            EventSpec(
                action=actions[k % len(actions)],
                actor=user if k % len(actions) == 0 else None,
                system_actor="" if k % len(actions) == 0 else "system:worker",
                obj=incident,
                incident_id=incident.public_id,
                payload={"note": f"entry {k}", "step": f"s{k % 7}", "fingerprint": f"f{k % 3}", "name": "a"},
            )
            for k in range(n)
        ]
    )


def star(root: Asset, n: int) -> None:
    """`n` assets below `root`, and a chain among them every fifth one (as the bench's estate has)."""
    below = AssetFactory.create_batch(n)
    Dependency.objects.bulk_create(
        [Dependency(upstream=root, downstream=b) for b in below]
        + [Dependency(upstream=below[k - 1], downstream=below[k]) for k in range(5, n, 5)]
    )


def page(client: Any, incident: Incident) -> tuple[int, str]:
    url = f"/incidents/{incident.public_id}/"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_thousands_of_timeline_events_cost_the_same_queries_as_a_few(client_for: Any, commander: Any) -> None:
    incident = IncidentFactory.create()
    client = client_for(commander)
    events_for(incident, commander, 20)
    page(client, incident)
    few, _ = page(client, incident)
    events_for(incident, commander, 3000)
    many, body = page(client, incident)
    assert many == few
    assert len(re.findall(r'class="seq" href="#e(\d+)"', body)) <= 50
    assert "Show older entries" in body


def test_a_large_blast_radius_is_counted_not_listed(client_for: Any, commander: Any) -> None:
    root = AssetFactory.create(name="feature-store")
    incident = IncidentFactory.create()
    IncidentAsset.objects.create(incident=incident, asset=root)
    client = client_for(commander)
    star(root, 3)
    page(client, incident)
    _, small = page(client, incident)
    assert small.count('name="assets" value=') == 3 and "more downstream" not in small
    star(root, 30)
    few, _ = page(client, incident)
    star(root, 300)
    many, body = page(client, incident)
    assert many == few
    assert body.count('name="assets" value=') == 25
    assert "333 assets, the 25 nearest shown" in body and "and 308 more downstream" in body


def test_the_blast_radius_suggests_the_nearest_assets_first(client_for: Any, commander: Any) -> None:
    """A direct dependent leads, even when thirty assets further down come before it by name."""
    root = AssetFactory.create(name="feature-store")
    incident = IncidentFactory.create()
    IncidentAsset.objects.create(incident=incident, asset=root)
    direct = AssetFactory.create(name="zz-direct")
    middle = AssetFactory.create(name="mid-tier")
    deep = [AssetFactory.create(name=f"aa-deep-{k:02}") for k in range(30)]
    Dependency.objects.bulk_create(
        [Dependency(upstream=root, downstream=direct), Dependency(upstream=root, downstream=middle)]
        + [Dependency(upstream=middle, downstream=d) for d in deep]
    )
    _, body = page(client_for(commander), incident)
    shown = re.findall(r'name="assets" value="\d+" checked> ([\w-]+)', body)
    assert shown == ["mid-tier", "zz-direct", *[d.name for d in deep[:23]]]
    assert "32 assets, the 25 nearest shown" in body and "and 7 more downstream" in body


def test_the_blast_radius_count_stops_at_its_cap(
    client_for: Any, commander: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap the page says "more than" and walks no further: its cost follows the cap, not the estate."""
    monkeypatch.setattr("incidents.suggestions.SUGGESTIONS_COUNTED", 40)
    root = AssetFactory.create(name="feature-store")
    incident = IncidentFactory.create()
    IncidentAsset.objects.create(incident=incident, asset=root)
    client = client_for(commander)
    star(root, 40)
    page(client, incident)
    _, exactly = page(client, incident)
    assert "40 assets, the 25 nearest shown" in exactly and "more than 40" not in exactly
    star(root, 1)
    _, over = page(client, incident)
    assert "more than 40 assets, the 25 nearest shown" in over and "and more than 15 more downstream" in over


def test_the_nearest_walk_reads_no_further_than_its_cap() -> None:
    root, other = AssetFactory.create_batch(2)
    chain = AssetFactory.create_batch(30)
    Dependency.objects.bulk_create(
        [Dependency(upstream=root, downstream=chain[0]), Dependency(upstream=other, downstream=chain[3])]
        + [Dependency(upstream=a, downstream=b) for a, b in itertools.pairwise(chain)]
    )
    found = downstream_nearest([root.pk], cap=10)
    assert found.ids == [a.pk for a in chain[:10]] and not found.complete
    everything = downstream_nearest([root.pk], cap=30)
    assert everything.ids == [a.pk for a in chain] and everything.complete
    # Two seeds: each asset at its level below the nearest one; the seeds themselves are never suggested.
    both = downstream_nearest([root.pk, other.pk, chain[1].pk], cap=100)
    assert set(both.ids[:3]) == {chain[0].pk, chain[2].pk, chain[3].pk}
    assert chain[1].pk not in both.ids and len(both.ids) == 29


def test_blast_radius_reads_only_the_graph_below_in_a_constant_number_of_queries() -> None:
    chain = AssetFactory.create_batch(4)
    Dependency.objects.bulk_create([Dependency(upstream=a, downstream=b) for a, b in itertools.pairwise(chain)])
    elsewhere = AssetFactory.create_batch(50)
    Dependency.objects.bulk_create([Dependency(upstream=elsewhere[0], downstream=b) for b in elsewhere[1:]])
    with CaptureQueriesContext(connection) as short:
        result = blast_radius(failed=[chain[0]])
    assert [[a.pk for a in g] for g in result.restore_groups] == [[a.pk] for a in chain]
    assert sorted(downstream_edges([chain[0].pk])) == sorted((a.pk, b.pk) for a, b in itertools.pairwise(chain))
    longer = AssetFactory.create_batch(200)
    Dependency.objects.bulk_create(
        [Dependency(upstream=a, downstream=b) for a, b in zip([chain[-1], *longer], longer, strict=False)]
    )
    with CaptureQueriesContext(connection) as deep:
        result = blast_radius(failed=[chain[0]])
    assert len(deep) == len(short)
    assert len(result.restore_groups) == 204 and result.restore_groups[-1] == [longer[-1]]


def test_a_damaged_graph_with_a_cycle_still_ends() -> None:
    a, b, c = AssetFactory.create_batch(3)
    # dependency_add refuses cycles; a damaged database might still hold one.
    Dependency.objects.bulk_create(
        [
            Dependency(upstream=a, downstream=b),
            Dependency(upstream=b, downstream=c),
            Dependency(upstream=c, downstream=b),
        ]
    )
    result = blast_radius(failed=[a])
    assert {x.pk for x in result.impacted} == {b.pk, c.pk}
    assert set(downstream_nearest([a.pk], cap=10).ids) == {b.pk, c.pk}
    assert result.restore_groups[0] == [a] and {x.pk for x in result.restore_groups[1]} == {b.pk, c.pk}


def test_an_older_page_of_the_timeline_links_back_and_does_not_poll(client_for: Any, commander: Any) -> None:
    """Polling from an old page would stack the newest entries on top of old ones, with hundreds missing between."""
    incident = IncidentFactory.create()
    events_for(incident, commander, 120)
    client = client_for(commander)
    _, newest = page(client, incident)
    assert "?after=" in newest and "back to the newest" not in newest
    oldest_shown = min(int(seq) for seq in re.findall(r'class="seq" href="#e(\d+)"', newest))
    older = client.get(f"/incidents/{incident.public_id}/?before={oldest_shown}").content.decode()
    assert "?after=" not in older and "back to the newest" in older
    assert max(int(seq) for seq in re.findall(r'class="seq" href="#e(\d+)"', older)) < oldest_shown
