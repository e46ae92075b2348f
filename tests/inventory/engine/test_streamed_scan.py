"""A local source is listed as a stream in manifest order, never as one list of every file."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from inventory.engine.sources import LocalSource, listing


def _tree(root: Path, folders: int, per_folder: int) -> Path:
    for f in range(folders):
        folder = root / f"d{f:03d}"
        folder.mkdir(parents=True)
        for i in range(per_folder):
            (folder / f"file-{i:05d}.bin").write_bytes(b"x")
    return root


def test_the_stream_comes_in_the_order_of_whole_paths(tmp_path: Path) -> None:
    root = tmp_path / "src"
    for name in ["a-b", "a/x", "a/y/z", "a0", "a.txt", "b", "A", "é/1", "e/1"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / "link").symlink_to(root / "b")
    listed = listing(LocalSource(root))
    paths = [item.path for item in listed.files()]
    assert paths == sorted(paths) == sorted(item.path for item in LocalSource(root).scan().files)
    assert listed.count == 9 and listed.total_bytes == sum(len(p.encode()) for p in paths)
    assert listed.skipped == [{"path": "link", "reason": "symbolic link"}]


def test_listing_holds_one_folder_at_a_time_not_every_file(tmp_path: Path) -> None:
    source = LocalSource(_tree(tmp_path / "src", folders=40, per_folder=100))

    tracemalloc.start()
    whole = source.scan()
    _now, scan_peak = tracemalloc.get_traced_memory()
    del whole
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    listed = listing(source)
    count = sum(1 for _item in listed.files())
    _now, stream_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert count == listed.count == 4000
    assert stream_peak - base < scan_peak / 8, (stream_peak - base, scan_peak)
