"""History lists in the API page by keyset: stable under concurrent writes, a 400 on a bad cursor, constant queries."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dr_portal.api_keyset import decode_cursor, encode_cursor
from inventory.models import Asset
from tests.factories import AssetFactory, BackupFactory, IncidentFactory, RecoveryPointFactory, RecoveryRunFactory

pytestmark = pytest.mark.django_db

POINTS = "/api/v1/inventory/recovery-points/"
BACKUPS = "/api/v1/inventory/backups/"
RUNS = "/api/v1/runs/"
INCIDENTS = "/api/v1/incidents/"

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_point(asset: Asset, at: datetime) -> Any:
    return RecoveryPointFactory.create(asset=asset, data_as_of=at)


def make_backup(asset: Asset, at: datetime) -> Any:
    return BackupFactory.create(asset=asset, created_at=at)


def make_run(asset: Asset, at: datetime) -> Any:
    return RecoveryRunFactory.create(created_at=at)


def make_incident(asset: Asset, at: datetime) -> Any:
    return IncidentFactory.create(declared_at=at)


LISTS = [
    pytest.param(POINTS, make_point, "viewer", id="recovery-points"),
    pytest.param(BACKUPS, make_backup, "viewer", id="backups"),
    pytest.param(RUNS, make_run, "commander", id="runs"),
    pytest.param(INCIDENTS, make_incident, "commander", id="incidents"),
]


def walk(client: Client, url: str, *, between: Callable[[int], None] = lambda n: None) -> list[str]:
    """Every id of the list, following `next`; `between(n)` runs after page n is read."""
    seen: list[str] = []
    next_url: str | None = url + "?page_size=3"
    pages = 0
    while next_url:
        body = client.get(next_url).json()
        assert set(body) == {"next", "results"}
        seen += [row["id"] for row in body["results"]]
        next_url = body["next"]
        pages += 1
        between(pages)
        assert pages < 50
    return seen


@pytest.mark.parametrize(("url", "make", "persona"), LISTS)
def test_paging_through_while_rows_are_written_never_repeats_or_skips(
    url: str, make: Callable[[Asset, datetime], Any], persona: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    asset = AssetFactory.create()
    # Ties on the timestamp, across page boundaries: only the id orders them.
    stamps = [T0, T0, T0, T0 - timedelta(minutes=1), T0 - timedelta(minutes=1), T0 - timedelta(hours=1), T0]
    rows = [make(asset, at) for at in stamps]
    expected = [str(r.public_id) for r in sorted(rows, key=lambda r: (-stamps[rows.index(r)].timestamp(), -r.pk))]
    written: list[Any] = []

    def write(page: int) -> None:
        if page == 1:
            # Newer rows, and one at the tied timestamp with a higher id: all before the cursor.
            written.append(make(asset, T0 + timedelta(minutes=5)))
            written.append(make(asset, T0))
        if page == 2:
            written.append(make(asset, T0 - timedelta(days=2)))  # older than every row: after the cursor

    seen = walk(client_for(request.getfixturevalue(persona)), url, between=write)
    assert len(seen) == len(set(seen)), "a row was served twice"
    assert seen == [*expected, str(written[2].public_id)]


@pytest.mark.parametrize(("url", "make", "persona"), LISTS)
def test_a_cursor_the_list_did_not_give_out_is_a_400(
    url: str, make: Callable[[Asset, datetime], Any], persona: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    client = client_for(request.getfixturevalue(persona))

    def b64(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    bad = [
        "not-base64!",
        "x" * 300,
        b64("a string"),
        b64({"v": 2, "at": T0.isoformat(), "id": 1}),
        b64({"v": 1, "at": "yesterday", "id": 1}),
        b64({"v": 1, "at": "2026-03-01T12:00:00", "id": 1}),  # no time zone
        b64({"v": 1, "at": T0.isoformat(), "id": "1"}),
        b64({"v": 1, "at": T0.isoformat(), "id": 0}),
        b64({"v": 1, "at": T0.isoformat(), "id": True}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for cursor in bad:
        response = client.get(url, {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "bad_cursor"
    for size in ("0", "201", "-1", "ten"):
        response = client.get(url, {"page_size": size})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_page_size"
    assert client.get(url, {"cursor": encode_cursor(T0, 5)}).status_code == 200


def test_a_cursor_round_trips_and_reveals_no_plain_text() -> None:
    cursor = encode_cursor(T0, 42)
    assert decode_cursor(cursor) == (T0, 42)
    assert "2026" not in cursor and "=" not in cursor


@pytest.mark.parametrize(("url", "make", "persona"), LISTS)
def test_a_page_costs_the_same_queries_however_long_the_history(
    url: str, make: Callable[[Asset, datetime], Any], persona: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    client = client_for(request.getfixturevalue(persona))
    asset = AssetFactory.create()

    def queries_for_second_page() -> int:
        first = client.get(url, {"page_size": 5}).json()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(first["next"]).status_code == 200
        return len(captured)

    for n in range(11):
        make(AssetFactory.create() if n % 2 else asset, T0 - timedelta(minutes=n))
    few = queries_for_second_page()
    for n in range(40):
        make(AssetFactory.create() if n % 2 else asset, T0 - timedelta(hours=1, minutes=n))
    assert queries_for_second_page() == few


def test_the_schema_declares_the_cursor_and_the_page_shape(viewer: Any, client_for: Any) -> None:
    schema = client_for(viewer).get("/api/schema/?format=json").json()
    for path in (POINTS, BACKUPS, RUNS, INCIDENTS):
        operation = schema["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["cursor"]["schema"]["type"] == "string"
        assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
        assert "page" not in params
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert page["required"] == ["next", "results"] and "count" not in page["properties"]
        assert "400" in operation["responses"]
