"""A second backup after a 1 % change adds about the changed bytes, not whole chunks around them."""

from __future__ import annotations

import random
from pathlib import Path

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import ChunkedManifest, backup_chunked

from .conftest import read_tree

KiB = 1024
AVERAGE = 64 * KiB  # small chunks, so a small tree has the shape of a large one at 1 MiB chunks


def _vault_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _tree(root: Path, rng: random.Random) -> None:
    """Like the bench's: one large file, some medium ones, many small ones (7.4 MiB)."""
    (root / "models").mkdir(parents=True)
    (root / "models" / "large.safetensors").write_bytes(rng.randbytes(4096 * KiB))
    (root / "features").mkdir()
    for index in range(8):
        (root / "features" / f"part-{index}.parquet").write_bytes(rng.randbytes(256 * KiB))
    (root / "shards").mkdir()
    for index in range(48):
        (root / "shards" / f"doc-{index:03d}.json").write_bytes(rng.randbytes(rng.randint(8 * KiB, 48 * KiB)))


def _change_one_percent(root: Path, rng: random.Random) -> int:
    """Two small files rewritten, 16 KiB appended to the large file, one new 16 KiB file."""
    changed = 0
    for name in ("doc-007.json", "doc-031.json"):
        path = root / "shards" / name
        size = path.stat().st_size
        path.write_bytes(rng.randbytes(size))
        changed += size
    with open(root / "models" / "large.safetensors", "ab") as handle:
        handle.write(rng.randbytes(16 * KiB))
    (root / "features" / "part-new.parquet").write_bytes(rng.randbytes(16 * KiB))
    return changed + 32 * KiB


def test_bytes_added_by_a_second_backup_stay_within_1_3_times_the_change(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    rng = random.Random(2026)
    root = tmp_path / "src"
    _tree(root, rng)
    total = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())

    def backup(name: str, parent: str | None) -> ChunkedManifest:
        return backup_chunked(
            source=root,
            vault=vault,
            point_prefix=name,
            keyring=keyring,
            key_id="k1",
            retain_until=None,
            average_chunk=AVERAGE,
            parent=parent,
        )

    backup("asset/p1", None)
    before = _vault_bytes(vault.root)
    changed = _change_one_percent(root, rng)
    assert 0.008 < changed / total < 0.015  # about 1 %
    second = backup("asset/p2", "asset/p1")
    added = _vault_bytes(vault.root) - before

    # Only the changed bytes are new: the appended file keeps its old last chunk.
    assert second.totals.new_bytes == changed
    # Packs, the index segment and the whole manifest together: the goal is 1.3.
    assert added <= 1.3 * changed, f"added {added} bytes for {changed} changed ({added / changed:.2f}x)"
    target = tmp_path / "restored"
    restore_tree(vault=vault, manifest=second, target_dir=target, keyring=keyring)
    assert read_tree(target) == read_tree(root)
