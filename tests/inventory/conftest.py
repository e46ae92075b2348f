"""Real files, a real filesystem vault, a real key and a loopback S3 server for backup tests."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import S3Config, generate_key_file
from inventory.models import Asset, Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory, VaultFactory


@pytest.fixture
def keys(tmp_path: Path, settings) -> Path:
    settings.VAULT_KEY_FILE = generate_key_file(tmp_path / "keys", key_id="test-key")
    settings.VAULT_KEY_ID = "test-key"
    settings.BACKUP_PROGRESS_SECONDS = 0
    return settings.VAULT_KEY_FILE


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "source"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "model.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (root / "config.json").write_text('{"threshold": 0.82}')
    return root


@pytest.fixture
def fs_vault(tmp_path: Path) -> Vault:
    return VaultFactory.create(name="local", config={"path": str(tmp_path / "vault")}, worm_capable=True)


@pytest.fixture
def backed_asset(keys: Path, source: Path, fs_vault: Vault) -> Asset:
    policy = RecoveryPolicyFactory.create(worm_days=2, retention_days=7)
    return AssetFactory.create(name="fraud-model", source_uri=str(source), vault=fs_vault, policy=policy)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Config]:
    """moto's S3 server on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Config(
            endpoint_url=f"http://127.0.0.1:{port}",
            region="us-east-1",
            access_key_id="testing",
            secret_access_key="testing",
        )
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: S3Config) -> Any:
    return s3_server.client()


@pytest.fixture
def bucket_name() -> str:
    return f"b-{uuid.uuid4().hex[:12]}"
