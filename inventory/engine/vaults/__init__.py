"""Vault backends: where sealed objects are kept, write-once, with retention.

``protocol`` says what a vault must do; ``filesystem`` and ``s3`` are the two backends.
"""

from __future__ import annotations

from pathlib import Path

from inventory.engine.vaults.filesystem import FilesystemVault
from inventory.engine.vaults.protocol import LimitedReader, ObjectInfo, Vault, check_key, utcnow
from inventory.engine.vaults.s3 import S3Config, S3Vault, parse_s3_uri

__all__ = [
    "FilesystemVault",
    "LimitedReader",
    "ObjectInfo",
    "S3Config",
    "S3Vault",
    "Vault",
    "check_key",
    "parse_s3_uri",
    "utcnow",
    "vault_from_uri",
]


def vault_from_uri(uri: str, *, s3: S3Config | None = None, reserve_bytes: int = 0) -> Vault:
    """A vault from ``s3://bucket/prefix``, ``file:///path`` or a plain directory path."""
    if uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(uri)
        return S3Vault(bucket, prefix, config=s3)
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    return FilesystemVault(Path(uri), reserve_bytes=reserve_bytes)
