"""Real files, a real filesystem vault and a real key for backup tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.engine import generate_key_file
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
