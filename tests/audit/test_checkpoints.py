"""Checkpoints: signed, exported outside the database, checkable with the public key alone."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from dr_portal.audit import checkpoints
from dr_portal.audit.models import AuditCheckpoint
from dr_portal.audit.services import audit_append
from dr_portal.audit.tasks import audit_checkpoint
from dr_portal.audit.verify import verify_log

pytestmark = pytest.mark.django_db


def append(n: int) -> None:
    for i in range(n):
        audit_append(action="thing.happened", system_actor="system:test", payload={"i": i})


def test_empty_log_has_nothing_to_checkpoint() -> None:
    assert checkpoints.checkpoint_now() is None


def test_checkpoint_is_exported_on_commit_and_not_repeated_for_the_same_head(
    django_capture_on_commit_callbacks, checkpoint_dir: Path
) -> None:
    append(3)
    with django_capture_on_commit_callbacks(execute=True):
        first = checkpoints.checkpoint_now()
        again = checkpoints.checkpoint_now()
    assert first is not None and again is not None and first.seq == again.seq == 3
    assert AuditCheckpoint.objects.count() == 1
    assert [p.name for p in checkpoint_dir.iterdir()] == ["checkpoint-000000000003.txt"]


def test_a_rolled_back_checkpoint_is_not_exported(django_capture_on_commit_callbacks, checkpoint_dir: Path) -> None:
    append(2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        checkpoints.checkpoint_now()
    assert callbacks  # export waits for the commit
    assert not checkpoint_dir.exists()


def test_checkpoint_text_verifies_with_openssl_and_the_published_public_key(
    client: Client, django_capture_on_commit_callbacks, checkpoint_dir: Path, tmp_path: Path
) -> None:
    """What a third party does, with no code of ours (docs/audit.md)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    append(4)
    with django_capture_on_commit_callbacks(execute=True):
        checkpoints.checkpoint_now()
    response = client.get("/audit/pubkey")
    assert response.status_code == 200
    (tmp_path / "pub.pem").write_bytes(response.content)
    text = (checkpoint_dir / "checkpoint-000000000004.txt").read_text()
    body, signature = text.split("signature ")
    (tmp_path / "body.txt").write_text(body)
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(signature))
    command = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "body.txt"]
    good = subprocess.run([*command, "-sigfile", "sig.bin"], cwd=tmp_path, capture_output=True, check=False)
    assert good.returncode == 0, good.stderr
    (tmp_path / "body.txt").write_text(body.replace("seq 4", "seq 5"))
    bad = subprocess.run([*command, "-sigfile", "sig.bin"], cwd=tmp_path, capture_output=True, check=False)
    assert bad.returncode != 0


def test_text_format_is_as_documented(django_capture_on_commit_callbacks) -> None:
    append(1)
    checkpoint = checkpoints.checkpoint_now()
    assert checkpoint is not None
    lines = checkpoints.checkpoint_text(checkpoint).splitlines()
    assert lines[0] == "DR Portal audit checkpoint v1"
    assert [line.split(" ", 1)[0] for line in lines[1:]] == ["origin", "seq", "head", "time", "key", "signature"]
    assert lines[2] == "seq 1"
    assert lines[5] == f"key {checkpoints.key_id()}"


def test_signing_key_comes_from_the_environment_setting(settings: Any, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    settings.AUDIT_SIGNING_KEY = base64.b64encode(raw).decode()
    assert checkpoints.key_id() == checkpoints.key_id(key.public_key())
    checkpoints.signing_key.cache_clear()
    pem_file = tmp_path / "key.pem"
    pem_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.AUDIT_SIGNING_KEY = None
    settings.AUDIT_SIGNING_KEY_FILE = str(pem_file)
    assert checkpoints.key_id() == checkpoints.key_id(key.public_key())
    checkpoints.signing_key.cache_clear()
    settings.AUDIT_SIGNING_KEY = "not a key"
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        checkpoints.signing_key()


def test_embedded_key_is_generated_under_var_with_a_warning(settings: Any, tmp_path: Path, caplog) -> None:
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = None
    settings.VAR_DIR = tmp_path
    first = checkpoints.key_id()
    assert (tmp_path / "audit" / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    assert "generated under var/" in caplog.text
    checkpoints.signing_key.cache_clear()
    assert checkpoints.key_id() == first  # the same key on the next start


def test_every_nth_event_asks_a_worker_for_a_checkpoint(
    settings: Any, django_capture_on_commit_callbacks, broker_queue
) -> None:
    settings.AUDIT_CHECKPOINT_EVERY = 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        append(2)
    assert callbacks == [] and broker_queue.sent() == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        append(1)
    assert len(callbacks) == 1
    assert broker_queue.sent() == [("audit.checkpoint", [])]


def test_beat_task_checkpoints_and_reexports_a_lost_file(checkpoint_dir: Path) -> None:
    append(2)
    assert audit_checkpoint() == "checkpoint at seq 2; 1 file(s) re-exported"  # no commit in this test
    (checkpoint_dir / "checkpoint-000000000002.txt").unlink()
    assert audit_checkpoint() == "checkpoint at seq 2; 1 file(s) re-exported"
    assert (checkpoint_dir / "checkpoint-000000000002.txt").exists()


@pytest.fixture
def s3_bucket(settings: Any, monkeypatch) -> Any:
    """A real S3 API (moto's server on loopback) with an Object Lock bucket."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    settings.AUDIT_CHECKPOINT_S3_BUCKET = "audit-checkpoints"
    settings.AUDIT_CHECKPOINT_S3_ENDPOINT_URL = f"http://{host}:{port}"
    settings.AUDIT_CHECKPOINT_S3_REGION = "us-east-1"
    client = checkpoints.s3_client()
    client.create_bucket(Bucket="audit-checkpoints", ObjectLockEnabledForBucket=True)
    yield client
    server.stop()


def test_checkpoint_goes_to_s3_under_object_lock_and_verify_reads_it(s3_bucket: Any, checkpoint_dir: Path) -> None:
    append(5)
    checkpoint = checkpoints.checkpoint_now()
    assert checkpoint is not None
    key = checkpoints.export_to_s3(checkpoint=checkpoint)
    assert checkpoints.export_to_s3(checkpoint=checkpoint) == key  # idempotent
    head = s3_bucket.head_object(Bucket="audit-checkpoints", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC)
    versions = s3_bucket.list_object_versions(Bucket="audit-checkpoints")["Versions"]
    with pytest.raises(ClientError, match=r"AccessDenied"):
        s3_bucket.delete_object(Bucket="audit-checkpoints", Key=key, VersionId=versions[0]["VersionId"])
    report = verify_log()  # no file in the directory: the S3 copy alone seals seq 5
    assert report.ok, report.summary()
    assert report.newest_exported is not None and report.newest_exported.source.startswith("s3://")


def test_beat_verify_task_stores_its_result() -> None:
    from dr_portal.audit.models import AuditVerification
    from dr_portal.audit.tasks import audit_verify

    append(3)
    assert audit_verify() == "audit log intact: 3 events"
    result = AuditVerification.objects.get()
    assert result.ok and result.source == "beat" and result.last_seq == 3
