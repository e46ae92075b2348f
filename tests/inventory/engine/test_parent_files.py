"""A backup with a parent point reads only files whose size or change stamp moved (the files cache)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import backup_chunked
from inventory.engine.chunks import parent as parent_module
from inventory.engine.chunks.parent import stamp_to_record
from inventory.engine.crypto import Readable
from inventory.engine.sources import LocalSource, SourceFile

from .conftest import read_tree, write_tree


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # ctime cannot be set back, so files a test just wrote are always "recent": shrink the
    # window in which a stamp is not trusted to 0.3 s (whatever the file system's clock) and
    # wait it out instead, so a loaded machine cannot make these tests flaky.
    monkeypatch.setattr(parent_module, "RACY_NS", 300_000_000)
    monkeypatch.setattr(parent_module, "RACY_FINE_NS", 300_000_000)


def settle() -> None:
    time.sleep(0.4)


class CountingSource(LocalSource):
    """The real local source, counting which files the backup opened."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened: list[str] = []

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        self.opened.append(item.path)
        with super().open(item) as stream:
            yield stream


def _backup(source: LocalSource, vault: FilesystemVault, keyring: KeyRing, name: str, parent: str | None = None):
    return backup_chunked(
        source=source, vault=vault, point_prefix=name, keyring=keyring, key_id="k1", retain_until=None, parent=parent
    )


def test_unchanged_files_are_not_read_and_changed_ones_are(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    root = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(50_000) for i in range(6)})
    settle()
    first = _backup(CountingSource(root), vault, keyring, "a/p1")
    assert first.totals.files_unread == 0

    (root / "f1.bin").write_bytes(os.urandom(50_000))  # same size, new content
    with open(root / "f2.bin", "ab") as handle:
        handle.write(b"appended")
    data = (root / "f3.bin").read_bytes()
    stat = (root / "f3.bin").stat()
    (root / "f3.bin").write_bytes(data[::-1])  # same size, and the old mtime put back:
    os.utime(root / "f3.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only ctime tells
    settle()
    source = CountingSource(root)
    second = _backup(source, vault, keyring, "a/p2", parent="a/p1")

    assert sorted(source.opened) == ["f1.bin", "f2.bin", "f3.bin"]
    assert second.totals.files_unread == 3 and second.totals.files == 6
    target = tmp_path / "restored"
    restore_tree(vault=vault, manifest=second, target_dir=target, keyring=keyring)
    assert read_tree(target) == read_tree(root)


def test_a_file_written_just_before_a_backup_is_read_again_next_time(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    root = write_tree(tmp_path / "src", {"cold.bin": os.urandom(10_000)})
    settle()
    write_tree(root, {"hot.bin": os.urandom(10_000)})
    _backup(CountingSource(root), vault, keyring, "a/p1")  # hot.bin changed within the racy window
    settle()
    source = CountingSource(root)
    _backup(source, vault, keyring, "a/p2", parent="a/p1")
    assert source.opened == ["hot.bin"]


def test_without_a_usable_parent_everything_is_read(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    root = write_tree(tmp_path / "src", {"a.bin": os.urandom(10_000)})
    settle()
    _backup(CountingSource(root), vault, keyring, "a/p1")
    source = CountingSource(root)
    _backup(source, vault, keyring, "a/p2", parent="a/missing")
    assert source.opened == ["a.bin"]


def _stamped(mtime_ns: int, ctime_ns: int) -> SourceFile:
    return SourceFile("f.bin", 1, 0o644, "f.bin", f"{mtime_ns}:{ctime_ns}:42")


@pytest.mark.parametrize(
    ("age_ms", "coarse", "kept"),
    [
        (150, False, True),  # nanosecond stamps: a change 0.15 s before the read is far past the clock's tick
        (50, False, False),  # ... but not 0.05 s: that is within the window
        (150, True, False),  # whole-second stamps: 0.15 s is within the clock's tick, not trusted
        (2500, True, True),
    ],
)
def test_how_recent_a_stamp_may_be_depends_on_the_clock_it_shows(
    monkeypatch: pytest.MonkeyPatch, age_ms: int, coarse: bool, kept: bool
) -> None:
    monkeypatch.setattr(parent_module, "RACY_NS", 2_000_000_000)
    monkeypatch.setattr(parent_module, "RACY_FINE_NS", 100_000_000)
    read_ns = 1_700_000_000_000_000_000
    changed = read_ns - age_ms * 1_000_000
    changed = changed - changed % 1_000_000_000 if coarse else changed + 123_457
    item = _stamped(changed, changed)
    assert stamp_to_record(item, read_ns=read_ns) == (item.stamp if kept else "")


def test_a_stamp_is_judged_against_the_time_its_file_was_opened_not_the_backup_start(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(tmp_path / "src", {"a.bin": os.urandom(10_000), "b.bin": os.urandom(10_000)})

    class SlowSource(CountingSource):
        @contextlib.contextmanager
        def open(self, item: SourceFile) -> Iterator[Readable]:
            with super().open(item) as stream:
                yield stream
            time.sleep(0.4)  # so b.bin is opened well after its last change (and after the start)

    _backup(SlowSource(root), vault, keyring, "a/p1")  # started right after the files were written
    source = CountingSource(root)
    second = _backup(source, vault, keyring, "a/p2", parent="a/p1")
    assert source.opened == ["a.bin"]  # opened within the window of its change, so read again
    assert second.totals.files_unread == 1


def test_a_parent_sealed_under_another_key_is_not_leaned_on(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    root = write_tree(tmp_path / "src", {"a.bin": os.urandom(10_000), "b.bin": os.urandom(10_000)})
    settle()
    _backup(CountingSource(root), vault, keyring, "a/p1")
    source = CountingSource(root)
    second = backup_chunked(
        source=source, vault=vault, point_prefix="a/p2", keyring=keyring, key_id="k2", retain_until=None, parent="a/p1"
    )
    assert source.opened == ["a.bin", "b.bin"] and second.totals.files_unread == 0
    target = tmp_path / "restored"
    restore_tree(vault=vault, manifest=second, target_dir=target, keyring=keyring)
    assert read_tree(target) == read_tree(root)


def test_an_unchanged_file_whose_pack_is_gone_is_read_again(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    root = write_tree(tmp_path / "src", {"a.bin": os.urandom(10_000)})
    settle()
    first = _backup(CountingSource(root), vault, keyring, "a/p1")
    (pack,) = {ref.pack for entry in first.files(keyring) for ref in entry.chunks}
    vault.delete(pack)  # as a prune would, had no point kept it
    source = CountingSource(root)
    second = _backup(source, vault, keyring, "a/p2", parent="a/p1")
    assert source.opened == ["a.bin"] and second.totals.new_chunks == 1
    target = tmp_path / "restored"
    restore_tree(vault=vault, manifest=second, target_dir=target, keyring=keyring)
    assert read_tree(target) == read_tree(root)
