"""What a pinned Lance version's file list takes, on a real LanceDB table."""

from __future__ import annotations

from pathlib import Path

import pytest

lancedb = pytest.importorskip("lancedb")

from inventory.connectors.vector_files import link_version  # noqa: E402


def test_files_a_concurrent_writer_has_not_finished_are_left_out(tmp_path: Path) -> None:
    live = tmp_path / "kb.lance"
    table = lancedb.connect(str(tmp_path)).create_table("kb", data=[{"id": 1, "v": [0.0, 1.0]}])
    table.add([{"id": 2, "v": [1.0, 0.0]}])
    version = table.version
    # What a write in flight leaves for an instant: a temporary about to be renamed into
    # place, an object-store staging file, and the transaction of a later version.
    (live / "_transactions" / ".tmpQ1w2e3").write_bytes(b"half")
    (live / "data" / "next.lance#1").write_bytes(b"half")
    (live / "_transactions" / f"{version}-later.txn").write_bytes(b"later")
    copy = tmp_path / "copy" / "kb.lance"
    link_version(live, copy, version)
    taken = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    assert not any(".tmp" in name or "#" in name or "-later" in name for name in taken)
    assert any(name.startswith("_transactions/") for name in taken)
    pinned = lancedb.connect(str(copy.parent)).open_table("kb")
    assert pinned.version == version
    assert pinned.count_rows() == 2
