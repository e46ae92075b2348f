"""FilesystemVault: write-once objects, retention, atomic writes and clear errors on real disks."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory.engine import (
    FilesystemVault,
    InvalidKey,
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    VaultFull,
    VaultReadOnly,
)
from tests.inventory.engine.conftest import later, tmpfs


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def all_names(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_put_then_read_back(vault: FilesystemVault) -> None:
    info = vault.put("p/objects/1", [b"hello ", b"world"], retain_until=None)
    assert info.size == 11
    with vault.open("p/objects/1") as stream:
        assert stream.read() == b"hello world"
    assert vault.stat("p/objects/1") == info
    assert list(vault.list("p")) == ["p/objects/1"]


def test_objects_and_retention_records_are_read_only_files(vault: FilesystemVault) -> None:
    until = later()
    vault.put("p/o", [b"x"], retain_until=until)
    path = vault.path_of("p/o")
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    record = path.with_name(".o.retention")
    assert stat.S_IMODE(record.stat().st_mode) == 0o444
    stored = vault.stat("p/o")
    assert stored is not None and stored.retain_until is not None
    assert abs((stored.retain_until - until).total_seconds()) < 0.001


def test_an_existing_object_is_never_overwritten(vault: FilesystemVault) -> None:
    vault.put("a", [b"first"], retain_until=None)
    with pytest.raises(ObjectExists):
        vault.put("a", [b"second"], retain_until=None)
    vault.put("b", [b"first"], retain_until=later())
    with pytest.raises(ObjectLocked, match="retained until"):
        vault.put("b", [b"second"], retain_until=None)
    with vault.open("a") as stream:
        assert stream.read() == b"first"
    with vault.open("b") as stream:
        assert stream.read() == b"first"


def test_delete_is_refused_before_retain_until_and_allowed_after(tmp_path: Path) -> None:
    clock = Clock()
    vault = FilesystemVault(tmp_path / "v", clock=clock)
    vault.put("p/o", [b"x"], retain_until=clock.now + timedelta(days=30))
    with pytest.raises(ObjectLocked, match="cannot be deleted"):
        vault.delete("p/o")
    assert vault.stat("p/o") is not None
    clock.now += timedelta(days=30, seconds=1)
    vault.delete("p/o")
    assert vault.stat("p/o") is None
    assert all_names(tmp_path / "v") == []


def test_an_object_whose_retention_record_is_gone_stays_locked(vault: FilesystemVault) -> None:
    vault.put("o", [b"x"], retain_until=None)
    vault.path_of("o").with_name(".o.retention").unlink()
    with pytest.raises(ObjectLocked):
        vault.delete("o")


def test_a_failing_stream_leaves_no_object_and_no_part(vault: FilesystemVault) -> None:
    def broken() -> Iterator[bytes]:
        yield b"some bytes"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        vault.put("p/o", broken(), retain_until=later())
    assert vault.stat("p/o") is None
    assert [name for name in all_names(vault.root) if not name.endswith(("p", "p/"))] == []
    # and the key is still free for a clean retry
    vault.put("p/o", [b"ok"], retain_until=later())


def test_a_retention_record_left_by_a_crash_does_not_block_the_retry(vault: FilesystemVault) -> None:
    orphan = vault.root / "p" / ".o.retention"
    orphan.parent.mkdir(parents=True)
    orphan.write_text('{"retain_until": null}')
    vault.put("p/o", [b"ok"], retain_until=later())
    info = vault.stat("p/o")
    assert info is not None and info.retain_until is not None


def test_durable_false_then_sync(vault: FilesystemVault) -> None:
    for index in range(5):
        vault.put(f"p/o{index}", [b"x" * index], retain_until=None, durable=False)
    vault.sync()
    assert len(list(vault.list("p"))) == 5


def test_missing_object(vault: FilesystemVault) -> None:
    with pytest.raises(ObjectMissing), vault.open("nope"):
        pass
    assert vault.stat("nope") is None
    with pytest.raises(ObjectMissing):
        vault.delete("nope")


@pytest.mark.parametrize(
    "key", ["", "/abs", "../up", "a/../b", "a//b", ".hidden", "a/.hidden", "x.part", "x.retention", "a\\b", "é"]
)
def test_unsafe_keys_are_refused(vault: FilesystemVault, key: str) -> None:
    with pytest.raises(InvalidKey):
        vault.put(key, [b"x"], retain_until=None)


def test_list_skips_parts_and_retention_records(vault: FilesystemVault) -> None:
    vault.put("p/a", [b"1"], retain_until=None)
    (vault.root / "p" / ".b.123.part").write_bytes(b"half")
    assert list(vault.list()) == ["p/a"]


def test_reserve_bytes_reduces_reported_free_space(tmp_path: Path) -> None:
    plain = FilesystemVault(tmp_path / "v")
    free = plain.free_bytes()
    assert free is not None
    # A terabyte of slack: other processes free disk space between the two readings on a busy machine.
    reserved = FilesystemVault(tmp_path / "v", reserve_bytes=free + (1 << 40))
    assert reserved.free_bytes() == 0


def test_a_full_disk_is_a_vault_full_error_and_leaves_nothing(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        with pytest.raises(VaultFull, match="full"):
            vault.put("big", (os.urandom(256 * 1024) for _ in range(8)), retain_until=None)
        assert vault.stat("big") is None
        assert all_names(mount / "vault") == []


def test_a_read_only_file_system_is_a_vault_read_only_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        vault.put("kept", [b"earlier"], retain_until=None)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        with pytest.raises(VaultReadOnly, match="read-only"):
            vault.check_writable()
        with pytest.raises(VaultReadOnly, match="read-only"):
            vault.put("new", [b"x"], retain_until=None)
        with vault.open("kept") as stream:
            assert stream.read() == b"earlier"


def test_a_vault_folder_without_write_permission_is_read_only(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions; the read-only mount test covers this")
    root = tmp_path / "v"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(VaultReadOnly, match="permission denied"):
            FilesystemVault(root).check_writable()
    finally:
        root.chmod(0o755)


def test_many_deferred_objects_are_flushed_in_one_go(vault: FilesystemVault) -> None:
    for index in range(200):  # above the batch threshold, so one syncfs covers them all
        vault.put(f"p/{index // 50}/o{index}", [os.urandom(100)], retain_until=None, durable=False)
    vault.sync()
    assert len(list(vault.list("p"))) == 200
    assert vault._pending_files == []


def test_a_byte_range_of_an_object(vault: FilesystemVault) -> None:
    vault.put("pack", [b"aaaa", b"bbbbbb", b"cc"], retain_until=None)
    with vault.open("pack", offset=4, length=6) as stream:
        assert stream.read() == b"bbbbbb"
    with vault.open("pack", offset=10) as stream:
        assert stream.read() == b"cc"
