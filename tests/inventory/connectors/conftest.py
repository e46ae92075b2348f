"""A real vault and key for connector round trips: snapshot → backup_tree → restore_tree → restore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import Capture, Connector
from inventory.connectors.base import utcnow
from inventory.connectors.group import Group
from inventory.engine import FilesystemVault, KeyRing, backup_tree, generate_key_file, restore_tree
from tests.inventory.connectors.servers import REDIS_PASSWORD

__all__ = ["REDIS_PASSWORD", "Engine"]


@dataclass
class Engine:
    vault: FilesystemVault
    keyring: KeyRing
    tmp: Path
    count: int = 0

    def backup(self, connector: Connector[Any] | Group) -> tuple[Capture, Any]:
        """Snapshot through the connector and store it as a point; returns the capture and manifest."""
        self.count += 1
        staging = self.tmp / f"staging-{self.count}"
        staging.mkdir()
        snap = connector.snapshot(staging)
        manifest = backup_tree(
            source=snap.source,
            vault=self.vault,
            point_prefix=f"points/p{self.count}",
            keyring=self.keyring,
            key_id="k1",
            retain_until=utcnow() + timedelta(days=1),
            data_as_of=snap.capture.data_as_of,
            extra={"capture": snap.capture.to_json()},
        )
        return Capture.from_json(manifest.extra["capture"]), manifest

    def restore_files(self, manifest: Any) -> Path:
        self.count += 1
        target = self.tmp / f"restored-{self.count}"
        restore_tree(vault=self.vault, manifest=manifest, target_dir=target, keyring=self.keyring)
        return target


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    key_file = generate_key_file(tmp_path / "keys", key_id="k1")
    return Engine(FilesystemVault(tmp_path / "vault"), KeyRing.from_file(key_file), tmp_path)
