"""Fixtures for the engine tests: keys, trees of real files, vaults, a loopback S3 server."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, Manifest, backup_tree

SMALL_CHUNK = 4096  # the smallest chunk size, so chunk boundaries are cheap to reach


def make_keyring(*ids: str) -> KeyRing:
    text = ",".join(f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}" for key_id in ids or ("k1",))
    return KeyRing.parse(text, origin="the test keys")


@pytest.fixture
def keyring() -> KeyRing:
    return make_keyring("k1", "k2")


@pytest.fixture
def vault(tmp_path: Path) -> FilesystemVault:
    return FilesystemVault(tmp_path / "vault")


def later(days: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def mixed_files() -> dict[str, bytes]:
    """Sizes around the chunk boundary, an empty file, nested folders and non-ASCII names."""
    return {
        "empty.bin": b"",
        "one.bin": b"\x07",
        "below.bin": os.urandom(SMALL_CHUNK - 1),
        "exact.bin": os.urandom(SMALL_CHUNK),
        "above.bin": os.urandom(SMALL_CHUNK + 1),
        "two-exact.bin": os.urandom(2 * SMALL_CHUNK),
        "models/fraud/weights.safetensors": os.urandom(5 * SMALL_CHUNK + 123),
        "models/fraud/config.json": b'{"layers": 12}',
        "données/été/模型 ☃.txt": "unicode ✓".encode(),
        "deep/a/b/c/d/e/f.txt": b"deep",
    }


@contextlib.contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """A real size-limited file system; skips the test where mounting is not allowed."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


# --- A backup of a tree with the small chunk size, and damage to a stored object -------------


def backup(source: Path, vault: FilesystemVault, keyring: KeyRing, *, point: str = "asset/p1", **kwargs) -> Manifest:
    kwargs.setdefault("retain_until", later())
    kwargs.setdefault("chunk_size", SMALL_CHUNK)
    return backup_tree(source=source, vault=vault, point_prefix=point, keyring=keyring, key_id="k1", **kwargs)


def flip_byte(path: Path, offset: int) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", mixed_files())
