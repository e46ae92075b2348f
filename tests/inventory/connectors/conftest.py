"""A real vault and key for connector round trips: snapshot → backup_tree → restore_tree → restore."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import Capture, Connector
from inventory.connectors.base import utcnow
from inventory.connectors.group import Group
from inventory.engine import FilesystemVault, KeyRing, backup_tree, generate_key_file, restore_tree
from tests.inventory.connectors.servers import mlflow_server, redis_server

REDIS_PASSWORD = "drill-pass"


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


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with redis_server(tmp_path_factory.mktemp("redis"), password=REDIS_PASSWORD) as port:
        yield port


@pytest.fixture(scope="session")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source MLflow server's folder: its database, and its artifact store under ``artifacts``."""
    return tmp_path_factory.mktemp("mlflow-source")


@pytest.fixture(scope="session")
def target_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-target")


@pytest.fixture(scope="session")
def source_url(source_dir: Path) -> Iterator[str]:
    """An MLflow server holding the registry to protect."""
    with mlflow_server(source_dir) as url:
        yield url


@pytest.fixture(scope="session")
def target_url(target_dir: Path) -> Iterator[str]:
    """A fresh MLflow server standing in for the drill registry."""
    with mlflow_server(target_dir) as url:
        yield url
