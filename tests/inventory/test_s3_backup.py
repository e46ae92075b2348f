"""The Django side of an S3 vault, end to end against a real S3-compatible server on loopback.

The backup runs through `backup_execute`, the service the Celery task calls,
into a bucket with versioning and Object Lock, as a configured `Vault` row.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from inventory import engine, vault_io
from inventory.engine import S3Config
from inventory.models import BackupStatus, PointStatus, RecoveryPoint, VaultKind
from inventory.services import backup_execute, backup_request, point_verify
from tests.factories import AssetFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _format_1_points(settings):
    """These tests look inside format-1 manifests and objects, which old points keep."""
    settings.BACKUP_FORMAT = "files"


@pytest.fixture
def s3_vault(s3: Any, s3_server: S3Config, bucket_name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Credentials reach the vault the way they do in production: the AWS variables.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id or "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key or "testing")
    s3.create_bucket(Bucket=bucket_name, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=bucket_name)["Status"] == "Enabled"
    return VaultFactory.create(
        name="s3-eu",
        kind=VaultKind.S3,
        region="us-east-1",
        worm_capable=True,
        config={"bucket": bucket_name, "prefix": "dr/points", "endpoint_url": s3_server.endpoint_url},
    )


def test_a_backup_into_an_s3_vault_is_locked_versioned_and_restores(
    keys: Path, source: Path, s3_vault: Any, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    policy = RecoveryPolicyFactory.create(worm_days=2, retention_days=7)
    asset = AssetFactory.create(name="fraud-model", source_uri=str(source), vault=s3_vault, policy=policy)

    backup = backup_request(asset=asset, by=None)
    assert backup_execute(backup_id=backup.pk).endswith("ok, point " + str(RecoveryPoint.objects.get().public_id))

    backup.refresh_from_db()
    assert backup.status == BackupStatus.SUCCEEDED, backup.error
    point = RecoveryPoint.objects.get(asset=asset)
    assert point.status == PointStatus.OK and point.vault == s3_vault
    assert point.immutable_until is not None and point.immutable_until > timezone.now() + timedelta(days=1)

    files = point.manifest["files"]
    assert {f["path"] for f in files} == {"weights/model.bin", "config.json"}
    assert all(f.get("version") for f in files), "each object's version is pinned in the manifest"
    for entry in files:
        key = f"dr/points/{entry['object']}"
        head = s3.head_object(Bucket=bucket_name, Key=key, VersionId=entry["version"])
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= point.immutable_until.replace(microsecond=0)
        # The store itself refuses to remove a locked version before its date...
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket_name, Key=key, VersionId=entry["version"])
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # ...and so does retention through the Django side.
    with pytest.raises(vault_io.VaultIOFailure) as early:
        vault_io.delete_point(vault=s3_vault, asset_id=asset.public_id, point_id=point.public_id, now=timezone.now())
    assert early.value.code == "object_locked"

    # The point verifies in place and restores byte for byte.
    assert point_verify(point_id=point.pk) is not None
    point.refresh_from_db()
    assert point.status == PointStatus.OK
    target = tmp_path / "restored"
    engine.restore_tree(
        vault=vault_io.open_vault(s3_vault),
        manifest=engine.Manifest.from_json(point.manifest),
        target_dir=target,
        keyring=vault_io.keyring(),
    )
    assert (target / "weights" / "model.bin").read_bytes() == (source / "weights" / "model.bin").read_bytes()
    assert (target / "config.json").read_text() == '{"threshold": 0.82}'
