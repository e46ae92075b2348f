"""The plans list shows the plans people wrote; the ones scheduled restore tests keep are one click away.

Restore tests keep a `restore-test-<asset>` plan per asset: within an hour of the demo about thirty of
them filled the list, and the two plans anyone wrote were lost among them.
"""

from __future__ import annotations

import pytest

from tests.factories import RecoveryPlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans() -> None:
    RecoveryPlanFactory.create(name="payments-failover")
    RecoveryPlanFactory.create(name="ml-platform")
    for name in ("features", "fraud-model", "nas-exports"):
        RecoveryPlanFactory.create(name=f"restore-test-{name}")


def test_the_list_shows_peoples_plans_and_counts_the_automatic_ones(client_for, viewer, plans) -> None:
    page = client_for(viewer).get("/inventory/plans/").content.decode()
    assert "payments-failover" in page and "ml-platform" in page
    assert "restore-test-" not in page.split("<tbody>")[1]
    assert "Written by people (2)" in page
    assert 'href="/inventory/plans/?show=automatic"' in page
    assert "Made by restore tests (3)" in page


def test_the_automatic_plans_stay_reachable(client_for, viewer, plans, django_assert_max_num_queries) -> None:
    client = client_for(viewer)
    client.get("/")  # the session's first reads are not the page's
    with django_assert_max_num_queries(12):
        page = client.get("/inventory/plans/?show=automatic").content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 3
    assert "restore-test-nas-exports" in rows
    assert "payments-failover" not in rows


def test_no_written_plan_points_to_the_automatic_ones(client_for, viewer) -> None:
    RecoveryPlanFactory.create(name="restore-test-features")
    page = client_for(viewer).get("/inventory/plans/").content.decode()
    assert "No recovery plans written yet." in page
    assert "The 1 plan made by restore tests is under" in page
