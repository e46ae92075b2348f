"""No restore, swap or clean-up may write or remove the portal's own VAR_DIR or its live SQLite database.

The demo keeps the portal's database (WAL mode) under VAR_DIR, and the tier-0 `dr-portal`
asset is a folder asset on VAR_DIR itself; these tests point restores and clean-ups at those
paths and check that they are refused with the live database (and its -wal) left intact.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import ConfigInvalid, ConnectorRefused, get_connector
from inventory.connectors._files import remove, swap_in
from inventory.paths import PathRefused, portal_overlap_refusal, portal_overlap_refuse
from inventory.vault_io import VaultIOFailure
from inventory.vault_io.restore import cleanup_restored, discard_parts
from tests.inventory.connectors.conftest import Engine


@pytest.fixture
def portal(tmp_path: Path, settings: Any) -> Iterator[tuple[Path, Path, sqlite3.Connection]]:
    """A VAR_DIR holding a live WAL-mode portal database with an open writer (so its -wal exists)."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    db = var_dir / "db.sqlite3"
    live = sqlite3.connect(db)
    live.execute("PRAGMA journal_mode=wal")
    live.execute("PRAGMA wal_autocheckpoint=0")
    live.execute("CREATE TABLE t (x INTEGER)")
    live.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    live.commit()
    settings.VAR_DIR = var_dir
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3", "NAME": str(db)},
    }
    assert Path(str(db) + "-wal").stat().st_size > 0
    yield var_dir, db, live
    live.close()


def _intact(db: Path, live: sqlite3.Connection) -> None:
    assert Path(str(db) + "-wal").exists()
    assert live.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert live.execute("SELECT count(*) FROM t").fetchone()[0] == 500


def test_overlap_rule(portal: tuple[Path, Path, sqlite3.Connection], tmp_path: Path) -> None:
    var_dir, db, _ = portal
    for bad in (var_dir, tmp_path, db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        assert portal_overlap_refusal(bad), bad
    link = tmp_path / "alias"
    link.symlink_to(var_dir)
    assert portal_overlap_refusal(link)
    assert portal_overlap_refusal(link / "db.sqlite3-wal")
    for fine in (var_dir / "drills" / "run" / "asset", var_dir / "restore-staging" / "x", tmp_path / "elsewhere"):
        assert portal_overlap_refusal(fine) is None, fine
    with pytest.raises(PathRefused):
        portal_overlap_refuse(var_dir)


def test_sqlite_cleanup_never_removes_the_portal_database(portal: tuple[Path, Path, sqlite3.Connection]) -> None:
    var_dir, db, live = portal
    conn = get_connector("sqlite", {"path": str(var_dir / "other.sqlite3")})
    # Refused as soon as the target is read (the configuration names the portal's database).
    with pytest.raises((ConfigInvalid, ConnectorRefused), match="portal's own"):
        conn.cleanup(target={"path": str(db)})
    _intact(db, live)


def test_folder_restore_never_swaps_out_var_dir(portal: tuple[Path, Path, sqlite3.Connection], engine: Engine) -> None:
    var_dir, db, live = portal
    source = engine.tmp / "files"
    source.mkdir()
    (source / "a.txt").write_text("hello")
    conn = get_connector("filesystem", {"path": str(source)})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    inode = os.stat(var_dir).st_ino
    with pytest.raises(ConnectorRefused, match="portal's own data folder"):
        conn.restore(restored=restored, capture=capture, target={"path": str(var_dir)}, replace=True)
    assert os.stat(var_dir).st_ino == inode
    assert not Path(str(var_dir) + ".drp-new").exists()
    conn.cleanup(target={"path": str(var_dir)})  # nothing recorded as made by a restore: nothing removed
    assert os.stat(var_dir).st_ino == inode
    conn.ledger.created("folder", [str(var_dir)])  # even a record naming it (it cannot be made so) is refused
    with pytest.raises(ConnectorRefused):
        conn.cleanup(target={"path": str(var_dir)})
    _intact(db, live)


def test_swap_and_remove_refuse_the_portal(portal: tuple[Path, Path, sqlite3.Connection], tmp_path: Path) -> None:
    var_dir, db, live = portal
    new = tmp_path / "new"
    new.mkdir()
    with pytest.raises(ConnectorRefused):
        swap_in(new, var_dir)
    with pytest.raises(ConnectorRefused):
        remove(Path(str(db) + "-wal"))
    assert new.is_dir()
    _intact(db, live)


def test_vector_cleanup_refuses_var_dir(portal: tuple[Path, Path, sqlite3.Connection], tmp_path: Path) -> None:
    var_dir, db, live = portal
    conn = get_connector("vector", {"uri": str(tmp_path / "lance"), "model_name": "m", "dimension": 4})
    with pytest.raises((ConfigInvalid, ConnectorRefused), match="portal's own"):
        conn.cleanup(target={**conn.config_json(), "uri": str(var_dir)})
    _intact(db, live)


def test_vault_restore_and_cleanup_refuse_var_dir(portal: tuple[Path, Path, sqlite3.Connection]) -> None:
    var_dir, db, live = portal
    manifest = {"files": [{"path": "db.sqlite3-wal", "size": 1, "sha256": "0" * 64}]}
    with pytest.raises(VaultIOFailure) as caught:
        cleanup_restored(manifest=manifest, target_dir=var_dir)
    assert caught.value.code == "portal_own_data"
    with pytest.raises(VaultIOFailure):
        discard_parts(target_dir=var_dir)
    _intact(db, live)
