"""An asset's source as a typed connector config: validated on save, shown to the API, migrated."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset
from tests.factories import AssetFactory

API = "/api/v1/inventory"


@pytest.mark.django_db
def test_connector_config_is_validated_by_its_connector() -> None:
    asset = AssetFactory.build(name="feature-db", connector="postgres", connector_config={"host": "db"})
    with pytest.raises(ValidationError) as caught:
        asset.full_clean()
    assert "the field dbname is required" in caught.value.message_dict["connector_config"][0]
    asset.connector_config = {"dbname": "features", "password": "hunter2-pasted"}
    with pytest.raises(ValidationError) as caught:
        asset.full_clean()
    message = caught.value.message_dict["connector_config"][0]
    assert "env:NAME" in message and "hunter2" not in message
    asset.connector = "oracle"
    with pytest.raises(ValidationError, match="Unknown connector kind 'oracle'"):
        asset.full_clean()


@pytest.mark.django_db
def test_source_connector_falls_back_to_the_source_uri() -> None:
    assert AssetFactory.build(source_uri="s3://models/fraud/v3").source_connector() == (
        "s3",
        {"bucket": "models", "prefix": "fraud/v3"},
    )
    typed = AssetFactory.build(connector="sqlite", connector_config={"path": "/srv/app.sqlite3"})
    assert typed.source_connector() == ("sqlite", {"path": "/srv/app.sqlite3"})


@pytest.mark.django_db
def test_api_creates_an_asset_with_a_connector_and_names_bad_config(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    base = {
        "name": "features",
        "kind": "dataset",
        "owner_team": "risk",
        "tier": 1,
        "region": "eu",
        "source_uri": "/srv/features",
        "connector": "redis",
    }
    bad = client.post(f"{API}/assets/", {**base, "connector_config": {"port": "six"}}, content_type="application/json")
    assert bad.status_code == 400
    assert "port: expected a whole number" in str(bad.json()["error"]["fields"]["connector_config"])
    good = {"port": 6380, "prefix": "feat:", "password": "env:FEATURE_REDIS_PASSWORD"}
    ok = client.post(f"{API}/assets/", {**base, "connector_config": good}, content_type="application/json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["connector"] == "redis" and ok.json()["connector_config"] == good
    event = AuditEvent.objects.get(action="asset.created")
    assert "env:FEATURE_REDIS_PASSWORD" in str(event.payload)  # the reference, never a value


@pytest.mark.django_db(transaction=True)
def test_migration_maps_existing_sources_to_filesystem_and_s3() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("inventory", "0003_point_chunk_stats")])
    old = executor.loader.project_state([("inventory", "0003_point_chunk_stats")]).apps
    old_asset = old.get_model("inventory", "Asset")
    common = {"kind": "model", "owner_team": "t", "tier": 1, "region": "eu"}
    old_asset.objects.create(name="weights", source_uri="/srv/models/fraud", **common)
    old_asset.objects.create(name="bucket", source_uri="s3://ml-artifacts/fraud/", **common)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    rows = {a.name: (a.connector, a.connector_config) for a in Asset.objects.all()}
    assert rows == {
        "weights": ("filesystem", {"path": "/srv/models/fraud"}),
        "bucket": ("s3", {"bucket": "ml-artifacts", "prefix": "fraud"}),
    }


@pytest.mark.django_db
def test_a_uri_connector_follows_the_source_uri() -> None:
    asset = AssetFactory.build(connector="filesystem", connector_config={"path": "/old"}, source_uri="s3://b/new")
    asset.full_clean(exclude=["policy", "vault"])
    assert (asset.connector, asset.connector_config) == ("s3", {"bucket": "b", "prefix": "new"})


@pytest.mark.django_db
def test_the_source_uri_wins_over_a_stale_uri_connector_config() -> None:
    asset = AssetFactory.create(source_uri="/srv/new", connector="filesystem", connector_config={"path": "/srv/old"})
    Asset.objects.filter(pk=asset.pk).update(connector_config={"path": "/srv/old"})
    asset.refresh_from_db()
    assert asset.source_connector() == ("filesystem", {"path": "/srv/new"})
