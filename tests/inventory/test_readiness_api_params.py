"""The readiness list's query parameters: each bad one is a clear 400, never a 404 or a silent default."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/inventory/readiness/"


@pytest.fixture
def api(client_for: Any, viewer: Any) -> Any:
    for i in range(5):
        AssetFactory.create(name=f"asset-{i}", tier=i % 4, policy=None)
    readiness_sweep()
    return client_for(viewer)


def error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content[:300]
    return dict(response.json()["error"])


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "²"])
def test_a_page_that_is_not_a_whole_number_from_1_is_a_400(api: Any, page: str) -> None:
    body = error(api.get(f"{URL}?page={page}"))
    assert body["code"] == "invalid_page" and "page must be a whole number from 1" in body["detail"]


def test_a_page_past_the_end_is_empty_and_still_gives_the_count(api: Any) -> None:
    body = api.get(URL, {"page": 99999, "page_size": 2}).json()
    assert body["count"] == 5 and body["results"] == [] and body["next"] is None
    assert "page=3" in body["previous"]  # back to the last page


def test_page_size_sizes_the_page_within_bounds(api: Any) -> None:
    first = api.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["count"] == 5 and "page=2" in first["next"]
    third = api.get(URL, {"page_size": 2, "page": 3}).json()
    assert len(third["results"]) == 1 and third["next"] is None
    for bad in ("0", "201", "many", "²"):
        assert error(api.get(URL, {"page_size": bad}))["code"] == "invalid_page_size"


@pytest.mark.parametrize("query", ["status=breach&status=ok", "tier=1&tier=2", "sort=name&sort=-name"])
def test_a_repeated_one_value_filter_is_refused_not_half_read(api: Any, query: str) -> None:
    name = query.split("=")[0]
    body = error(api.get(f"{URL}?{query}"))
    assert body["fields"][name] == [f"Give {name} once; it takes one value."]


def test_a_repeated_page_is_refused(api: Any) -> None:
    assert error(api.get(f"{URL}?page=1&page=2"))["code"] == "repeated_parameter"


def test_the_asset_list_pages_the_same_way(api: Any) -> None:
    assert error(api.get("/api/v1/inventory/assets/?page=0"))["code"] == "invalid_page"
    past = api.get("/api/v1/inventory/assets/", {"page": 50}).json()
    assert past["count"] == 5 and past["results"] == []
    assert len(api.get("/api/v1/inventory/assets/", {"page_size": 3}).json()["results"]) == 3
