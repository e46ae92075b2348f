"""Retention of shared chunks, and prune: mark-and-sweep that respects locks, backups and crashes."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import FilesystemVault, KeyRing, S3Config, S3Vault, delete_point, restore_tree
from inventory.engine.chunks import backup_chunked, read_manifest_v2
from inventory.engine.chunks import parent as parent_module
from inventory.engine.chunks.prune import LOCKS_DIR, prune_chunks
from inventory.engine.chunks.store import INDEX_DIR, PACKS_DIR
from inventory.engine.errors import VaultUnavailable
from inventory.engine.vaults import Vault

from .conftest import read_tree, write_tree


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cvault(tmp_path: Path, clock: Clock) -> FilesystemVault:
    return FilesystemVault(tmp_path / "vault", clock=clock)


def backup(src: Path, vault: Vault, keyring: KeyRing, point: str, clock: Clock, days: float, **kw: Any) -> Any:
    return backup_chunked(
        source=src,
        vault=vault,
        point_prefix=point,
        keyring=keyring,
        key_id="k1",
        retain_until=clock() + timedelta(days=days),
        average_chunk=64 * 1024,
        clock=clock,
        pack_size=1,  # one chunk per pack, so a sweep can free some packs and not others
        **kw,
    )


def packs(vault: FilesystemVault) -> list[str]:
    return list(vault.list(PACKS_DIR))


def data_packs(manifest: Any, keyring: KeyRing) -> list[str]:
    """The packs of a point's file chunks (its packs also hold the parts of its manifest)."""
    return sorted({ref.pack for entry in manifest.files(keyring) for ref in entry.chunks})


def part_packs(manifest: Any, keyring: KeyRing) -> list[str]:
    return sorted({ref.pack for ref in manifest.parts(keyring)})


def test_a_reused_chunk_is_kept_as_long_as_the_longest_point_using_it(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(50_000)})
    [pack] = data_packs(backup(src, cvault, keyring, "x/p1", clock, days=1), keyring)
    backup(src, cvault, keyring, "x/p2", clock, days=30)
    info = cvault.stat(pack)
    assert info is not None and info.retain_until == clock() + timedelta(days=30)
    backup(src, cvault, keyring, "x/p3", clock, days=2)  # a shorter point never shortens it
    info = cvault.stat(pack)
    assert info is not None and info.retain_until == clock() + timedelta(days=30)


def test_object_lock_retention_of_a_reused_pack_is_extended(
    tmp_path: Path, keyring: KeyRing, s3: Any, s3_server: S3Config, bucket_name: str, clock: Clock
) -> None:
    s3.create_bucket(Bucket=bucket_name, ObjectLockEnabledForBucket=True)
    vault = S3Vault(bucket_name, "dr", config=s3_server)
    clock.now = datetime.now(UTC)
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(50_000)})
    [pack] = data_packs(backup(src, vault, keyring, "x/p1", clock, days=1), keyring)
    backup(src, vault, keyring, "x/p2", clock, days=9)
    head = s3.head_object(Bucket=bucket_name, Key=f"dr/{pack}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= clock.now + timedelta(days=9) - timedelta(seconds=1)


def expire(vault: FilesystemVault, point: str, clock: Clock, days: float) -> None:
    clock.now += timedelta(days=days)
    delete_point(vault=vault, point_prefix=point)


def test_prune_deletes_only_unreferenced_expired_packs_and_reports_the_space(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock
) -> None:
    src = write_tree(tmp_path / "src", {"keep.bin": os.urandom(40_000), "drop.bin": os.urandom(60_000)})
    first = backup(src, cvault, keyring, "x/p1", clock, days=1)
    (src / "drop.bin").unlink()
    second = backup(src, cvault, keyring, "x/p2", clock, days=5)
    assert len(data_packs(first, keyring)) == 2
    live = set(data_packs(second, keyring) + part_packs(second, keyring))
    garbage = set(packs(cvault)) - live  # drop.bin's pack and the part holding p1's entries
    assert len(garbage) == 2
    report = prune_chunks(vault=cvault, keyring=keyring)
    assert report.packs_deleted == 0  # p1 still references them

    expire(cvault, "x/p1", clock, days=2)
    report = prune_chunks(vault=cvault, keyring=keyring)
    assert report.packs_deleted == 2 and report.bytes_reclaimed > 60_000
    assert "reclaimed" in report.summary()
    assert set(packs(cvault)) == live
    manifest = read_manifest_v2(vault=cvault, point="x/p2", keyring=keyring)
    restore_tree(vault=cvault, manifest=manifest, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)


def test_an_unreferenced_pack_still_retained_is_left_with_the_date_it_can_go(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(40_000)})
    backup(src, cvault, keyring, "x/p1", clock, days=1)
    # a backup that died before its manifest: its pack is referenced by nothing
    (src / "b.bin").write_bytes(os.urandom(30_000))
    with pytest.raises(RuntimeError):
        backup(src, cvault, keyring, "x/dead", clock, days=3, progress=_die_at_end)
    # p1 is gone; the dead backup reused a.bin's chunk, which extended its pack to day 3 as
    # well, and b.bin's pack and the part of its entries were written with day 3: all
    # garbage, all still retained (the part that held p1's entries was not, and goes).
    expire(cvault, "x/p1", clock, days=2)
    report = prune_chunks(vault=cvault, keyring=keyring)
    assert report.packs_deleted == 1 and len(report.kept_locked) == 3
    assert "still retained" in report.summary() and "2026-12-03T12:00:00Z" in report.summary()
    clock.now += timedelta(days=2)
    assert prune_chunks(vault=cvault, keyring=keyring).packs_deleted == 3
    assert packs(cvault) == []


def _die_at_end(done: int, total: int) -> None:
    if total and done >= total:
        raise RuntimeError("killed")


def test_a_backup_during_a_prune_waits_and_a_prune_during_a_backup_defers(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(40_000), "b.bin": os.urandom(40_000)})
    backup(src, cvault, keyring, "x/p1", clock, days=1)
    expire(cvault, "x/p1", clock, days=2)  # every pack is now garbage

    # 1. The prune has marked (nothing is live) and a backup that would reuse every
    #    chunk starts before the sweep: it must not run against packs about to vanish.
    refused: list[Exception] = []

    def backup_now() -> None:
        try:
            backup(src, cvault, keyring, "x/p2", clock, days=5)
        except VaultUnavailable as exc:
            refused.append(exc)

    garbage = packs(cvault)
    report = prune_chunks(vault=cvault, keyring=keyring, before_sweep=backup_now)
    assert refused and "prune" in str(refused[0])
    assert report.packs_deleted == len(garbage) == 3  # a.bin's, b.bin's, and the part of p1's entries

    # 2. A backup is running (between reading the index and writing its manifest) when a
    #    prune starts: the prune defers, and the backup comes out complete.
    backup(src, cvault, keyring, "x/p3", clock, days=5)
    expire(cvault, "x/p3", clock, days=6)
    reports: list[Any] = []

    def prune_midway(done: int, total: int) -> None:
        if not reports:
            reports.append(prune_chunks(vault=cvault, keyring=keyring))

    manifest = backup(src, cvault, keyring, "x/p4", clock, days=5, progress=prune_midway, check_interval=0)
    assert reports[0].deferred and "deferred" in reports[0].summary()
    assert manifest.totals.new_chunks == 0  # it reused p3's chunks, which must still be there
    restore_tree(vault=cvault, manifest=manifest, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)
    assert list(cvault.list(LOCKS_DIR)) == []


def test_a_prune_killed_half_way_converges_when_run_again(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(40_000), "b.bin": os.urandom(40_000)})
    first = data_packs(backup(src, cvault, keyring, "x/p1", clock, days=1), keyring)[0]
    expire(cvault, "x/p1", clock, days=2)
    # What a kill leaves: one garbage pack deleted, the others and the index still there,
    # and the dead prune's lock.
    cvault.delete(first)
    stale = {"kind": "prune", "started": (clock.now - timedelta(days=1)).isoformat().replace("+00:00", "Z")}
    cvault.put(f"{LOCKS_DIR}/prune-dead", [json.dumps(stale).encode()], retain_until=None)

    # A backup is not blocked by the stale lock and does not reuse the deleted pack's chunk.
    second = backup(src, cvault, keyring, "x/p2", clock, days=1)
    assert second.totals.new_chunks == 1
    restore_tree(vault=cvault, manifest=second, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)

    expire(cvault, "x/p2", clock, days=2)
    left = packs(cvault)
    report = prune_chunks(vault=cvault, keyring=keyring)
    assert report.packs_deleted == len(left) and packs(cvault) == []
    assert report.index_deleted == 2 and list(cvault.list(INDEX_DIR)) == []


def test_a_prune_keeps_the_parts_a_live_point_shares_with_an_expired_one(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parent_module, "RACY_NS", 100_000_000)
    src = write_tree(tmp_path / "src", {f"f{i:03d}.bin": os.urandom(300) for i in range(200)})
    time.sleep(0.2)  # stamps trusted: p2's entries are p1's, line for line

    def unretained(point: str, parent: str | None) -> Any:  # no lock: only the mark protects a pack
        return backup_chunked(
            source=src,
            vault=cvault,
            point_prefix=point,
            keyring=keyring,
            key_id="k1",
            retain_until=None,
            clock=clock,
            pack_size=1,
            parent=parent,
        )

    shared = part_packs(unretained("x/p1", None), keyring)
    p2 = unretained("x/p2", "x/p1")
    assert p2.totals.manifest_parts == len(shared) > 1 and p2.totals.manifest_new_parts == 0
    assert part_packs(p2, keyring) == shared  # only p1 wrote them; no entry of p2 names them

    delete_point(vault=cvault, point_prefix="x/p1")
    report = prune_chunks(vault=cvault, keyring=keyring)
    assert report.packs_deleted == 0 and set(shared) <= set(packs(cvault))
    restore_tree(vault=cvault, manifest=p2, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)


def test_a_reused_part_is_locked_as_long_as_the_longest_point_using_it(
    tmp_path: Path, cvault: FilesystemVault, keyring: KeyRing, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parent_module, "RACY_NS", 100_000_000)
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(5000)})
    time.sleep(0.2)
    [part] = part_packs(backup(src, cvault, keyring, "x/p1", clock, days=1), keyring)
    p2 = backup(src, cvault, keyring, "x/p2", clock, days=30, parent="x/p1")
    assert part_packs(p2, keyring) == [part]
    info = cvault.stat(part)
    assert info is not None and info.retain_until == clock() + timedelta(days=30)
