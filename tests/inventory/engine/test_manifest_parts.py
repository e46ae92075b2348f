"""Incremental manifests: a point's entries are parts in the chunk store, shared with its parent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree, verify_point
from inventory.engine.catalog import list_points, open_point
from inventory.engine.chunks import ChunkedManifest, backup_chunked, read_manifest_v2
from inventory.engine.chunks import parent as parent_module
from inventory.engine.chunks.entries import MAX_PART, EntryParts, entry_line
from inventory.engine.chunks.manifest import MANIFEST_V2, manifest_v2_key
from inventory.engine.chunks.prune import prune_chunks
from inventory.engine.chunks.store import ChunkStore, MacLines, read_mac_lines
from inventory.engine.errors import CorruptObject, DataMissing, IntegrityError, ManifestInvalid
from inventory.engine.manifest import MANIFEST_FORMAT
from inventory.engine.vaults import Vault

from .conftest import later, read_tree, write_tree


@pytest.fixture(autouse=True)
def _trusted_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    # A file's stamp is kept once it is 0.1 s old (whatever the file system's clock), so a
    # tree left alone for 0.2 s has the same manifest lines in every backup.
    monkeypatch.setattr(parent_module, "RACY_NS", 100_000_000)
    monkeypatch.setattr(parent_module, "RACY_FINE_NS", 100_000_000)


def backup(src: Path, vault: Vault, keyring: KeyRing, point: str, parent: str | None = None) -> ChunkedManifest:
    return backup_chunked(
        source=src,
        vault=vault,
        point_prefix=point,
        keyring=keyring,
        key_id="k1",
        retain_until=later(),
        average_chunk=64 * 1024,
        parent=parent,
    )


def vault_bytes(vault: FilesystemVault) -> int:
    return sum(p.stat().st_size for p in vault.root.rglob("*") if p.is_file())


def many_files(root: Path, count: int) -> Path:
    return write_tree(root, {f"d{i // 100:03d}/f{i:05d}.json": os.urandom(40 + i % 200) for i in range(count)})


def test_a_backup_of_a_mostly_unchanged_tree_writes_only_the_parts_that_changed(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = many_files(tmp_path / "src", 3000)
    time.sleep(0.2)
    first = backup(src, vault, keyring, "a/p1")
    assert first.totals.manifest_parts >= 20 and first.totals.manifest_new_parts == first.totals.manifest_parts
    entries_bytes = first.totals.manifest_stored_new_bytes
    before = vault_bytes(vault)

    (src / "d010/f01000.json").write_bytes(b"changed")  # one file changed
    (src / "d020/f02000-new.json").write_bytes(b"added")  # one added
    (src / "d025/f02500.json").unlink()  # one removed
    time.sleep(0.2)
    second = backup(src, vault, keyring, "a/p2", parent="a/p1")
    added = vault_bytes(vault) - before

    assert second.totals.files_unread == 2998  # all but the changed, added and removed
    assert second.totals.manifest_parts >= 20 and second.totals.manifest_new_parts <= 4
    # All a second backup wrote (new chunks, their parts, index segment, point object)
    # is a small share of what the entries took the first time: they were not rewritten.
    assert added < 0.25 * entries_bytes
    restore_tree(vault=vault, manifest=second, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)
    assert verify_point(vault=vault, manifest=second, keyring=keyring, decrypt=True).ok


def test_parts_are_cut_by_their_lines_so_an_insertion_changes_only_its_own_part(
    vault: FilesystemVault, keyring: KeyRing
) -> None:
    store = ChunkStore(vault=vault, keyring=keyring, key_id="k1")

    def cut(lines: list[bytes]) -> list[str]:
        parts = EntryParts(store, retain_until=None)
        for line in lines:
            parts.add(line)
        parts.end()
        return [ref.chunk_id for ref in parts.ready()]

    lines = [entry_line({"path": f"f{i:05d}", "sha256": os.urandom(32).hex()}) for i in range(5000)]
    before = cut(lines)
    after = cut([*lines[:2500], entry_line({"path": "f02500-new", "sha256": "0" * 64}), *lines[2500:]])
    assert len(before) > 10 and len(set(after) - set(before)) <= 2
    # a line longer than a part's limit is a part of its own, never split
    huge = entry_line({"path": "big", "chunks": ["x" * 100] * (MAX_PART // 50)})
    assert len(cut([huge])) == 1
    store.close()


@pytest.mark.parametrize("damage", ["missing", "flip", "truncate"])
def test_a_damaged_part_fails_the_point_naming_its_manifest_and_leaves_the_target_alone(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, damage: str
) -> None:
    src = write_tree(tmp_path / "src", {"only.bin": os.urandom(30_000)})
    manifest = backup(src, vault, keyring, "asset/p1")
    [part] = list(manifest.parts(keyring))
    path = vault.path_of(part.pack)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    if damage == "missing":
        path.unlink()
    elif damage == "flip":
        data[part.offset + part.stored // 2] ^= 1
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(bytes(data[: part.offset + part.stored - 5]))
    target = write_tree(tmp_path / "target", {"only.bin": b"previous content"})
    expected = DataMissing if damage == "missing" else CorruptObject
    with pytest.raises(expected, match=r"asset/p1/manifest\.v2: .*part") as caught:
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert isinstance(caught.value, IntegrityError)
    assert read_tree(target) == {"only.bin": b"previous content"}
    report = verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True)
    assert not report.ok and "part" in report.point_problem
    with pytest.raises(IntegrityError):
        read_manifest_v2(vault=vault, point="asset/p1", keyring=keyring)  # a full read checks every part


def test_a_point_object_listing_its_files_inline_and_in_parts_is_refused(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(1000)})
    manifest = backup(src, vault, keyring, "asset/p1")
    entry = next(iter(manifest.files(keyring)))
    lines = MacLines(keyring, "k1")
    with vault.open(manifest_v2_key("asset/p1")) as stream:
        header, *parts, totals = read_mac_lines(stream, keyring=keyring, key_id_of=None, what="p1")
    for record in [{**header, "point": "asset/p2"}, *parts]:
        lines.write(record)
    lines.write(entry.to_json())  # correctly signed, but a layout-3 point has no inline entries
    vault.put(manifest_v2_key("asset/p2"), lines.finish(totals), retain_until=None)
    with pytest.raises(ManifestInvalid, match="inline and in parts"):
        read_manifest_v2(vault=vault, point="asset/p2", keyring=keyring, entries=False)


def write_layout_2(vault: Vault, keyring: KeyRing, model: ChunkedManifest, point: str) -> None:
    """A point as the engine wrote them before manifests were incremental: every entry inline."""
    lines = MacLines(keyring, model.key_id)
    lines.write(
        {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_V2,
            "point": point,
            "source": model.source,
            "cipher": "AES-256-GCM",
            "key_id": model.key_id,
            "salt": model.salt,
            "average_chunk": 64 * 1024,
            "created_at": "2026-11-01T00:00:00Z",
            "data_as_of": "2026-11-01T00:00:00Z",
            "retain_until": None,
            "extra": {},
            "fresh_chain": False,
        }
    )
    for entry in model.files(keyring):
        lines.write(entry.to_json())
    old_totals = {k: v for k, v in model.totals.to_json().items() if not k.startswith("manifest_")}
    vault.put(manifest_v2_key(point), lines.finish({"totals": old_totals, "screening": {}}), retain_until=None)


def test_points_with_inline_entries_still_list_verify_restore_and_hold_their_chunks(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", {"a.bin": os.urandom(200_000), "b/c.txt": b"text " * 5000})
    time.sleep(0.2)
    model = backup_chunked(
        source=src, vault=vault, point_prefix="asset/new", keyring=keyring, key_id="k1", retain_until=None
    )
    write_layout_2(vault, keyring, model, "asset/old")
    old_bytes = vault.path_of(manifest_v2_key("asset/old")).read_bytes()

    listed = {info.point: info for info in list_points(vault=vault, keyring=keyring)}
    assert listed["asset/old"].files == 2 and not listed["asset/old"].problem
    old = open_point(vault=vault, point="asset/old", keyring=keyring)
    assert isinstance(old, ChunkedManifest) and old.version == MANIFEST_V2 and list(old.parts(keyring)) == []
    assert verify_point(vault=vault, manifest=old, keyring=keyring, decrypt=True).ok

    # With only the old point left, a prune keeps every chunk it names and rewrites nothing.
    vault.delete(manifest_v2_key("asset/new"))
    report = prune_chunks(vault=vault, keyring=keyring)
    assert report.points == 1 and report.packs_deleted == 1  # the part that held the new point's entries
    restore_tree(vault=vault, manifest=old, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)
    assert vault.path_of(manifest_v2_key("asset/old")).read_bytes() == old_bytes

    # A new backup with the old point as parent reads nothing again and writes layout 3.
    new = backup(src, vault, keyring, "asset/next", parent="asset/old")
    assert new.totals.files_unread == 2 and new.version == 3 and new.totals.manifest_parts == 1
