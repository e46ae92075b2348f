"""sqlite connector: the restored file becomes the target database, moved rather than copied where it can be."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from inventory.connectors import get_connector
from tests.inventory.connectors.conftest import Engine


@pytest.fixture
def wal_db(tmp_path: Path) -> Path:
    path = tmp_path / "features.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO customer VALUES (?, ?)", [(i, f"c{i}") for i in range(2500)])
    return path


def test_the_restored_file_is_moved_into_place_not_written_again(engine: Engine, wal_db: Path, tmp_path: Path) -> None:
    conn = get_connector("sqlite", {"path": str(wal_db)})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    staged = restored / "database.sqlite3"
    inode, content = staged.stat().st_ino, staged.read_bytes()
    target = tmp_path / "drill" / "restored.sqlite3"

    conn.restore(restored=restored, capture=capture, target={"path": str(target)})

    assert not staged.exists()
    assert target.stat().st_ino == inode  # the same file: its bytes were not copied a second time
    assert conn.verify(capture=capture, target={"path": str(target)}).ok
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM customer").fetchone() == (2500,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # as the source, as the backup API gave it
    assert not Path(f"{target}.drp-new").exists()
    assert len(content) == target.stat().st_size


def test_a_leftover_wal_beside_the_new_file_is_removed_before_the_move(
    engine: Engine, wal_db: Path, tmp_path: Path
) -> None:
    """A write-ahead log left by another database under the staging name would be replayed into
    the restored one when it is first opened; it is removed first."""
    conn = get_connector("sqlite", {"path": str(wal_db)})
    capture, manifest = engine.backup(conn)
    target = tmp_path / "restored.sqlite3"
    other = tmp_path / "other" / f"{target.name}.drp-new"
    other.parent.mkdir()
    writer = sqlite3.connect(other)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)")
    writer.executemany("INSERT INTO customer VALUES (?, ?)", [(i, "stale") for i in range(3000)])
    writer.commit()
    shutil.copy(f"{other}-wal", f"{target}.drp-new-wal")  # a log with committed frames, never checkpointed
    writer.close()
    assert os.path.getsize(f"{target}.drp-new-wal") > 0

    conn.restore(restored=engine.restore_files(manifest), capture=capture, target={"path": str(target)})

    assert conn.verify(capture=capture, target={"path": str(target)}).ok
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*), min(name) FROM customer").fetchone() == (2500, "c0")


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.EROFS, errno.EACCES])  # another disk, read-only, no right
def test_where_it_cannot_be_moved_the_backup_api_copies_it(
    engine: Engine, wal_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int
) -> None:
    conn = get_connector("sqlite", {"path": str(wal_db)})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    rename = os.replace

    def other_filesystem(src: str | Path, dst: str | Path) -> None:
        if Path(src).parent == restored:  # what rename(2) answers when it cannot move the restored file
            raise OSError(refusal, os.strerror(refusal))
        rename(src, dst)

    monkeypatch.setattr("inventory.connectors.sqlite.os.replace", other_filesystem)
    target = {"path": str(tmp_path / "restored.sqlite3")}
    conn.restore(restored=restored, capture=capture, target=target)
    assert (restored / "database.sqlite3").exists()  # copied, not moved
    assert conn.verify(capture=capture, target=target).ok
