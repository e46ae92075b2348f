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
from inventory.blast import blast_radius, downstream_edges
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
    assert "333 assets, the first 25 by name shown" in body and "and 308 more downstream" in body


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
    assert result.restore_groups[0] == [a] and {x.pk for x in result.restore_groups[1]} == {b.pk, c.pk}
