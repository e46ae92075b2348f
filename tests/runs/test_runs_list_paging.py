"""The runs page at a large history: a page of runs at a time, every run reachable, a constant number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.runs.models import RecoveryRun, StepState
from incidents.runs.selectors import RUN_PAGE
from tests.factories import RecoveryRunFactory, StepRunFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def runs(n: int, *, start: datetime = T0) -> list[RecoveryRun]:
    """`n` runs a minute apart, newest first, every third one with two steps (one finished)."""
    made = [RecoveryRunFactory.create(created_at=start - timedelta(minutes=k)) for k in range(n)]
    for run in made[::3]:
        StepRunFactory.create(run=run, state=StepState.SUCCEEDED)
        StepRunFactory.create(run=run, state=StepState.PENDING)
    return made


def shown(body: str) -> list[str]:
    return re.findall(r'href="/runs/([0-9a-f-]{36})/"', body)


def test_every_run_is_reached_page_by_page_newest_first(client_for: Any, commander: Any) -> None:
    made = runs(RUN_PAGE * 2 + 3)
    # Two runs at the same moment across a page boundary: only the id orders them.
    made[RUN_PAGE].created_at = made[RUN_PAGE - 1].created_at
    made[RUN_PAGE].save(update_fields=["created_at"])
    expected = [str(r.public_id) for r in sorted(made, key=lambda r: (-r.created_at.timestamp(), -r.pk))]
    client = client_for(commander)
    seen: list[str] = []
    url: str | None = "/runs/"
    while url:
        body = client.get(url).content.decode()
        seen += shown(body)
        older = re.search(r'href="\?before=([0-9a-f-]{36})">Older', body)
        url = f"/runs/?before={older.group(1)}" if older else None
        assert len(seen) <= len(made)
    assert seen == expected
    assert "← Newest" in body


def test_a_page_shows_each_runs_step_counts(client_for: Any, commander: Any) -> None:
    newest = runs(3)[0]
    body = client_for(commander).get("/runs/").content.decode()
    row = body[body.index(str(newest.public_id)) :]
    assert re.search(r'data-label="Steps">1 / 2<', row[: row.index("</tr>")])


def test_the_runs_page_costs_the_same_queries_however_many_runs(client_for: Any, commander: Any) -> None:
    client = client_for(commander)
    runs(5)
    client.get("/runs/")

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = count("/runs/")
    made = runs(RUN_PAGE * 3, start=T0 + timedelta(days=1))
    assert count("/runs/") == few
    assert count(f"/runs/?before={made[RUN_PAGE].public_id}") == few + 1  # the run it pages from


def test_a_before_that_names_no_run_shows_the_newest(client_for: Any, commander: Any) -> None:
    newest = runs(2)[0]
    client = client_for(commander)
    for before in ("not-a-run", "00000000-0000-0000-0000-000000000000"):
        response = client.get("/runs/", {"before": before})
        assert response.status_code == 200 and str(newest.public_id) in response.content.decode()
