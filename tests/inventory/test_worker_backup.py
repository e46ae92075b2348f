"""A backup taken by a real Celery worker process, watched through the page's progress panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from dr_portal.audit.models import AuditEvent
from inventory.engine import generate_key_file
from inventory.models import Backup, BackupStatus, PointStatus, RecoveryPoint
from inventory.services import backup_request
from tests.factories import AssetFactory, RecoveryPolicyFactory, VaultFactory
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_real_worker_takes_a_backup_and_a_second_delivery_changes_nothing(
    tmp_path: Path, client_for, commander
) -> None:
    key_file = generate_key_file(tmp_path / "keys", key_id="worker-key")
    source = tmp_path / "source"
    (source / "shards").mkdir(parents=True)
    for i in range(3):
        (source / "shards" / f"part-{i}.bin").write_bytes(bytes([i]) * (3 * 1024 * 1024))
    vault = VaultFactory.create(name="worker-vault", config={"path": str(tmp_path / "vault")})
    asset = AssetFactory.create(
        name="worker-model", source_uri=str(source), vault=vault, policy=RecoveryPolicyFactory.create(worm_days=1)
    )
    with running_worker(
        name="backup", VAULT_KEY_FILE=str(key_file), VAULT_KEY_ID="worker-key", BACKUP_PROGRESS_SECONDS="0"
    ) as worker:
        backup = backup_request(asset=asset, by=commander)  # commits, so the message is sent
        wait_for(
            lambda: Backup.objects.filter(
                pk=backup.pk, status__in=[BackupStatus.SUCCEEDED, BackupStatus.FAILED]
            ).first(),
            timeout=60,
            what="the worker to finish the backup",
        )
        assert worker.poll() is None, (settings.VAR_DIR / "worker-backup.log").read_text()
        done = Backup.objects.get(pk=backup.pk)
        assert done.status == BackupStatus.SUCCEEDED, done.error
        # Deliver the same job again, as a broker would after a lost ack.
        from inventory.tasks import backup_run

        backup_run.apply_async(args=(backup.pk,))
        wait_for(lambda: "nothing to do" in (settings.VAR_DIR / "worker-backup.log").read_text(), what="the redelivery")
    point = RecoveryPoint.objects.get(asset=asset)
    assert point.status == PointStatus.OK and point.file_count == 3 and point.size_bytes == 9 * 1024 * 1024
    assert point.key_id == "worker-key"
    assert AuditEvent.objects.filter(action="backup.completed").count() == 1
    panel = client_for(commander).get(f"/inventory/assets/{asset.public_id}/backup/", HTTP_HX_REQUEST="true")
    assert "Succeeded" in panel.content.decode() and "every 2s" not in panel.content.decode()
