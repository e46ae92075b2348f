"""The discovery page on a real LanceDB folder and a real Redis: facts shown, bounds said, known ones marked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lancedb")

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset, AssetKind
from inventory.services import asset_create
from tests.inventory.connectors.discovery_systems import fill_features, make_lance, redis_config, redis_db

pytestmark = [pytest.mark.django_db]
__all__ = ["redis_db"]


def _find(client: Any, kind: str, **config: Any) -> str:
    fields = {f"config_{k}": v for k, v in config.items()}
    response = client.post(
        "/inventory/discover/", {"action": "find", "kind": kind, "config_kind": kind, "region": "eu-west-1", **fields}
    )
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> dict[str, str]:
    """Each proposal's name and index, from its checkbox's label (rows that cannot be added have no inputs)."""
    return {name: i for i, name in re.findall(r'name="add-(\d+)"[^>]*> Add <strong>([^<]+)</strong>', page)}


def _checkbox(page: str, i: str) -> str:
    found = re.search(rf'<input type="checkbox" name="add-{i}"[^>]*>', page)
    assert found, page
    return found.group(0)


def test_lancedb_tables_are_proposed_with_their_facts_and_one_is_added(
    tmp_path: Path, admin: Any, client_for: Any
) -> None:
    uri = make_lance(tmp_path / "lance")
    client = client_for(admin, mfa=True)
    page = _find(client, "vector", uri=str(uri))  # no model named: each table says its own
    first, folded = page.split("<summary>More settings for the proposed assets", 1)
    assert '<label for="id_config_uri">URI</label>' in first and 'id="id_config_golden_queries"' in folded
    rows = _rows(page)
    assert set(rows) == {"support-kb-index", "lance-cases", "lance-bare", "lance-noid"}
    assert "<dt>Dimension</dt><dd>16</dd>" in page and "<dt>Model</dt><dd>minilm-support@r3</dd>" in page
    assert "<dt>Model from</dt><dd>table metadata</dd>" in page
    kb, bare = rows["support-kb-index"], rows["lance-bare"]
    assert f'name="team-{kb}" value="support-ml"' in page
    assert re.search(rf'name="tier-{kb}">.*?<option value="1" selected>', page, re.S)
    assert "disabled" in _checkbox(page, bare) and "does not record its embedding model" in page
    token = re.search(r'name="proposals" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    # A row that cannot be added is refused even when a crafted form ticks it; nothing is added.
    forged = client.post("/inventory/discover/", {"action": "confirm", "proposals": token, f"add-{bare}": "1",
                                                  f"add-{kb}": "1"})  # fmt: skip
    assert "Nothing was added." in forged.content.decode() and not Asset.objects.exists()

    added = client.post("/inventory/discover/", {"action": "confirm", "proposals": token, f"add-{kb}": "1",
                                                 f"name-{kb}": "support-kb-index", f"title-{kb}": "Support index",
                                                 f"team-{kb}": "support-ml", f"tier-{kb}": "1"})  # fmt: skip
    assert added.status_code == 302
    asset = Asset.objects.get(name="support-kb-index")
    assert (asset.kind, asset.connector, asset.tier, asset.source_uri) == (
        AssetKind.VECTOR_INDEX,
        "vector",
        1,
        str(uri / "kb.lance"),
    )
    assert asset.connector_config["model_name"] == "minilm-support" and asset.connector_config["tables"] == ["kb"]
    assert AuditEvent.objects.get(action="asset.discovery_confirmed").payload["added"] == ["support-kb-index"]

    again = _find(client, "vector", uri=str(uri))
    assert "Already in the inventory as" in again and "disabled" in _checkbox(again, _rows(again)["support-kb-index"])


def test_a_folder_outside_the_source_roots_is_not_looked_into(
    tmp_path: Path, admin: Any, client_for: Any, settings: Any
) -> None:
    uri = make_lance(tmp_path / "lance")
    settings.SOURCE_ROOTS = [tmp_path / "elsewhere"]
    page = _find(client_for(admin, mfa=True), "vector", uri=str(uri))
    assert "is outside the allowed folders" in page and "Discovery reads only where backups may read." in page
    assert 'name="proposals"' not in page


def test_a_missing_folder_is_said_on_its_field(tmp_path: Path, admin: Any, client_for: Any) -> None:
    page = _find(client_for(admin, mfa=True), "vector", uri=str(tmp_path / "gone"))
    assert f"The LanceDB directory {tmp_path / 'gone'} does not exist." in page and 'name="proposals"' not in page
    relative = _find(client_for(admin, mfa=True), "vector", uri="lance")
    assert "give the absolute path of the LanceDB directory" in relative and 'name="proposals"' not in relative


@pytest.mark.servers
def test_redis_prefixes_on_the_page_with_the_bound_said_and_known_ones_marked(
    redis_db: Any, admin: Any, client_for: Any, monkeypatch: Any
) -> None:
    fill_features(redis_db)
    cfg = redis_config()
    asset_create(by=admin, fields={"name": "fraud-online-features", "title": "Fraud features", "kind": "feature_store",
                                   "owner_team": "risk-ml", "tier": 1, "data_classes": ["none"], "region": "eu-west-1",
                                   "environment": "production", "source_uri": "/discovered/redis", "connector": "redis",
                                   "connector_config": {**cfg, "prefix": "fraud:"}})  # fmt: skip
    client = client_for(admin, mfa=True)
    page = _find(client, "redis", **cfg)
    db = cfg["db"]
    rows = {name: i for name, i in _rows(page).items() if name == f"redis-db{db}" or name.startswith(f"redis-db{db}-")}
    assert set(rows) == {f"redis-db{db}", f"redis-db{db}-churn", f"redis-db{db}-fraud"}
    assert "<dt>Keys</dt><dd>350</dd>" in page and "<dt>Types</dt><dd>hash 300, string 50</dd>" in page
    fraud = rows[f"redis-db{db}-fraud"]
    assert "Already in the inventory:" in page and "disabled" in _checkbox(page, fraud)  # same prefix, same db
    assert f"2 keys in db {db} have no &#x27;:&#x27; after their start" in page

    monkeypatch.setattr("inventory.connectors.redis_discover.SCAN_LIMIT", 100)
    bounded = _find(client, "redis", **cfg)
    assert "Showing what the first " in bounded and f"of the 372 keys in db {db}" in bounded
    assert "<dt>Keys</dt><dd>at least " in bounded


def test_an_unreachable_or_forbidden_redis_is_said_on_the_page(admin: Any, client_for: Any) -> None:
    from tests.inventory.conftest import free_port

    client = client_for(admin, mfa=True)
    page = _find(client, "redis", host="127.0.0.1", port=free_port(), db=6)
    assert "cannot be reached" in page and 'name="proposals"' not in page
    # The connectors' outbound rule holds for a look too: nothing is sent to a link-local address.
    metadata = _find(client, "redis", host="169.254.169.254", port=6379, db=0)
    assert "is refused" in metadata and "link-local" in metadata and 'name="proposals"' not in metadata


@pytest.mark.servers
def test_postgres_tables_bounded_and_marked_as_part_of_a_wider_asset(
    admin: Any, client_for: Any, monkeypatch: Any
) -> None:
    import uuid

    import psycopg

    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    dbname = f"dr_disc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{dbname}", autocommit=True) as conn:
            conn.execute("CREATE SCHEMA ledger")
            conn.execute("CREATE TABLE ledger.entry AS SELECT g AS id FROM generate_series(1, 3) g")
            conn.execute("CREATE TABLE public.card AS SELECT g AS id FROM generate_series(1, 5) g")
            conn.execute("CREATE TABLE public.merchant (id int)")
        whole = {"dbname": dbname, "host": "127.0.0.1", "port": 5432}
        asset_create(by=admin, fields={"name": "ledger-db", "title": "Ledger", "kind": "dataset", "owner_team": "fin",
                                       "tier": 1, "data_classes": ["none"], "region": "eu-west-1",
                                       "environment": "production", "source_uri": "/discovered/postgres",
                                       "connector": "postgres", "connector_config": whole})  # fmt: skip
        monkeypatch.setattr("inventory.views_discover.LIMIT", 2)
        page = _find(client_for(admin, mfa=True), "postgres", **whole)
        rows = _rows(page)
        assert set(rows) == {f"{dbname.replace('_', '-')}-ledger-entry", f"{dbname.replace('_', '-')}-card"}
        assert "Showing the first 2 of 3 tables." in page and "<dt>Rows</dt><dd>3</dd>" in page
        assert page.count("Already captured as part of") == 2  # the whole database is an asset already
        assert all("disabled" not in _checkbox(page, i) for i in rows.values())  # each may still be added alone

        # A table over the exact-count size shows the planner's estimate instead of being read through.
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{dbname}", autocommit=True) as conn:
            conn.execute("ANALYZE")
        monkeypatch.setattr("inventory.connectors.postgres.EXACT_COUNT_BYTES", -1)
        from inventory.connectors import get_connector

        found = {p.labels["table"]: p.labels["rows"] for p in get_connector("postgres", whole).discover().proposals}
        assert found["ledger.entry"] == "about 3" and found["public.card"] == "about 5"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
