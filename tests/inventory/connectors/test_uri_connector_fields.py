"""A directory or S3 source's own fields are kept and used, or refused with a reason: never dropped unsaid."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from inventory import vault_io
from inventory.engine import S3Config
from inventory.models import Asset
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inventory/assets/"
BASE = {"kind": "dataset", "owner_team": "risk", "tier": 1, "region": "eu"}


def test_an_s3_source_keeps_its_endpoint_and_credential_references(client_for: Any, admin: Any) -> None:
    api = client_for(admin, mfa=True)
    config = {
        "endpoint_url": "http://127.0.0.1:9000",
        "access_key_id": "env:FEATURES_S3_KEY",
        "secret_access_key": "env:FEATURES_S3_SECRET",
    }
    body = {
        **BASE,
        "name": "features",
        "source_uri": "s3://features/daily",
        "connector": "s3",
        "connector_config": config,
    }
    created = api.post(API, body, content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json()["connector_config"] == {"bucket": "features", "prefix": "daily", **config}
    asset = Asset.objects.get(name="features")
    assert asset.source_connector() == ("s3", {"bucket": "features", "prefix": "daily", **config})
    # A new prefix keeps the endpoint and credentials.
    moved = api.patch(
        f"{API}{asset.public_id}/", {"source_uri": "s3://features/weekly"}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["connector_config"]["access_key_id"] == "env:FEATURES_S3_KEY"
    assert moved.json()["connector_config"]["prefix"] == "weekly"


@pytest.mark.parametrize(
    ("uri", "connector", "config", "says"),
    [
        ("/srv/features", "filesystem", {"path": "/etc"}, "path: '/etc' differs from the source URI /srv/features"),
        ("s3://features/daily", "s3", {"bucket": "other"}, "bucket: 'other' differs from the source URI"),
        ("s3://features/daily", "s3", {"endpoint": "http://x"}, "Unknown s3 field(s): endpoint"),
        (
            "s3://features/daily",
            "s3",
            {"access_key_id": "AKIAPASTEDKEY"},
            "access_key_id: a secret must be a reference",
        ),
    ],
)
def test_a_uri_source_field_that_cannot_be_kept_is_a_400(
    client_for: Any, admin: Any, uri: str, connector: str, config: dict[str, Any], says: str
) -> None:
    body = {**BASE, "name": "features", "source_uri": uri, "connector": connector, "connector_config": config}
    refused = client_for(admin, mfa=True).post(API, body, content_type="application/json")
    assert refused.status_code == 400
    assert says in str(refused.json()["error"]["fields"]["connector_config"])
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    ("uri", "connector", "config", "says"),
    [
        ("/srv/flags", "s3", {"bucket": "flags"}, "The source /srv/flags is a folder, so its connector is filesystem"),
        ("s3://flags/daily", "filesystem", {"path": "/srv/flags"}, "is an S3 prefix, so its connector is s3"),
    ],
)
def test_a_config_for_the_other_uri_kind_is_a_400_not_dropped(
    client_for: Any, admin: Any, uri: str, connector: str, config: dict[str, Any], says: str
) -> None:
    """Before, the config was dropped without a word and the asset saved with the URI's own kind."""
    body = {**BASE, "name": "flags", "source_uri": uri, "connector": connector, "connector_config": config}
    refused = client_for(admin, mfa=True).post(API, body, content_type="application/json")
    assert refused.status_code == 400, refused.json()
    assert says in str(refused.json()["error"]["fields"]["connector"])
    assert not Asset.objects.exists()
    # With no config the URI decides the kind, as before.
    body = {**BASE, "name": "flags", "source_uri": uri, "connector": connector}
    assert client_for(admin, mfa=True).post(API, body, content_type="application/json").status_code == 201


def test_a_directory_source_may_repeat_its_path_and_follows_a_new_uri() -> None:
    asset = AssetFactory.create(source_uri="/srv/old", connector="filesystem", connector_config={"path": "/srv/old/"})
    asset = Asset.objects.get(pk=asset.pk)
    asset.source_uri = "/srv/new"  # the stored path is stale, not given: it follows
    asset.full_clean(exclude=["policy", "vault"])
    assert asset.connector_config == {"path": "/srv/new"}


def test_an_s3_backup_uses_the_assets_own_endpoint_and_credentials(
    keys: Path, fs_vault: Any, s3: Any, s3_server: S3Config, bucket_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("FEATURES_S3_KEY", s3_server.access_key_id or "testing")
    monkeypatch.setenv("FEATURES_S3_SECRET", s3_server.secret_access_key or "testing")
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="daily/part-0.parquet", Body=b"rows")
    config = {
        "endpoint_url": s3_server.endpoint_url,
        "region": "us-east-1",
        "access_key_id": "env:FEATURES_S3_KEY",
        "secret_access_key": "env:FEATURES_S3_SECRET",
    }
    asset = AssetFactory.create(source_uri=f"s3://{bucket_name}/daily", connector="s3", connector_config=config)
    result = vault_io.take_backup(
        asset=asset, vault=fs_vault, point_id=uuid.uuid4(), worm_days=0, progress=lambda d, t: True
    )
    assert result.file_count == 1 and result.size_bytes == 4
