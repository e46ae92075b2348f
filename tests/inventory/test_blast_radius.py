"""Blast radius and restore order over the dependency graph."""

from __future__ import annotations

import pytest

from inventory.selectors import blast_radius
from inventory.services import dependency_add
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def names(rows) -> list[str]:
    return [a.name for a in rows]


@pytest.fixture
def estate():
    # features → model → endpoint-eu, endpoint-us; dataset → model; index → rag → endpoint-eu
    a = {
        n: AssetFactory.create(name=n)
        for n in ["features", "dataset", "model", "endpoint-eu", "endpoint-us", "index", "rag"]
    }
    for up, down in [
        ("features", "model"),
        ("dataset", "model"),
        ("model", "endpoint-eu"),
        ("model", "endpoint-us"),
        ("index", "rag"),
        ("rag", "endpoint-eu"),
    ]:
        dependency_add(upstream=a[up], downstream=a[down], by=None)
    return a


def test_downstream_closure_of_one_failed_asset(estate) -> None:
    result = blast_radius(failed=[estate["features"]])
    assert names(result.failed) == ["features"]
    assert names(result.impacted) == ["endpoint-eu", "endpoint-us", "model"]


def test_restore_order_is_upstream_first_in_parallel_groups(estate) -> None:
    result = blast_radius(failed=[estate["features"], estate["index"]])
    assert [names(g) for g in result.restore_groups] == [
        ["features", "index"],
        ["model", "rag"],
        ["endpoint-eu", "endpoint-us"],
    ]


def test_a_leaf_failure_touches_nothing_else(estate) -> None:
    result = blast_radius(failed=[estate["endpoint-us"]])
    assert names(result.impacted) == []
    assert [names(g) for g in result.restore_groups] == [["endpoint-us"]]


def test_healthy_upstreams_are_not_in_the_restore_order(estate) -> None:
    result = blast_radius(failed=[estate["model"]])
    assert names(result.affected) == ["model", "endpoint-eu", "endpoint-us"]
    assert [names(g) for g in result.restore_groups] == [["model"], ["endpoint-eu", "endpoint-us"]]
