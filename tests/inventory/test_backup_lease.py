"""A backup's worker keeps its lease while one long call (a connector's snapshot) makes no progress."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from inventory import vault_io
from inventory.models import Backup, BackupStatus
from inventory.services import backup_claim, backup_request
from inventory.services.backups import backup_execute

pytestmark = pytest.mark.django_db(transaction=True)  # the worker and its lease keeper are threads


def _slow_backup(monkeypatch: pytest.MonkeyPatch, seconds: float) -> threading.Event:
    """``take_backup`` made to sit in one call, as a long ``pg_dump`` does, then fail cleanly."""
    entered = threading.Event()

    def slow(**_kwargs: Any) -> Any:
        entered.set()
        time.sleep(seconds)
        raise vault_io.VaultIOFailure("source_missing", "the test's snapshot ended here")

    monkeypatch.setattr(vault_io, "take_backup", slow)
    return entered


def _worker(backup: Backup) -> threading.Thread:
    thread = threading.Thread(target=backup_execute, kwargs={"backup_id": backup.pk})
    thread.start()
    return thread


def test_a_snapshot_longer_than_the_lease_is_not_claimed_again(backed_asset, settings, monkeypatch) -> None:
    settings.BACKUP_STALE_SECONDS = 1
    entered = _slow_backup(monkeypatch, 3.5)
    backup = backup_request(asset=backed_asset, by=None)
    worker = _worker(backup)
    assert entered.wait(10)
    time.sleep(2.5)  # well past the 1 s lease: only the keeper's renewals keep it
    assert backup_claim(backup_id=backup.pk) is None
    worker.join(20)
    backup.refresh_from_db()
    assert backup.attempts == 1 and backup.status == BackupStatus.FAILED


def test_a_snapshot_past_the_longest_backup_lets_its_lease_lapse(backed_asset, settings, monkeypatch) -> None:
    settings.BACKUP_STALE_SECONDS = 1
    settings.BACKUP_MAX_SECONDS = 1
    entered = _slow_backup(monkeypatch, 4)
    backup = backup_request(asset=backed_asset, by=None)
    worker = _worker(backup)
    assert entered.wait(10)
    time.sleep(3)  # the keeper stopped at 1 s: the reconciler may take it over as from a dead worker
    taken = backup_claim(backup_id=backup.pk)
    assert taken is not None and taken.attempts == 2
    worker.join(20)
