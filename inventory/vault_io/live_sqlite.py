"""A folder backup that holds the portal's own live SQLite database reads it as one state.

The tier-0 `dr-portal` asset is a folder asset on VAR_DIR, where the embedded setup keeps
the portal's database in WAL mode. Reading ``db.sqlite3`` and ``db.sqlite3-wal`` as two
plain files while the web, worker and beat write is not one state (a checkpoint may be
half-way through the main file), and such a copy restores as a malformed database. So the
database is taken with SQLite's online backup API into a staging file, which is backed up
under the database's own name, and its -wal/-shm/-journal are left out (listed as skipped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

from inventory import connectors, engine
from inventory.engine.sources import Listing, SourceScan
from inventory.paths import SQLITE_SIDECARS, portal_own_paths


class _ConsistentDbSource(engine.LocalSource):
    def __init__(self, root: Path, *, db_rel: str, copy: Path) -> None:
        super().__init__(root)
        self.db_rel, self.copy = db_rel, copy

    def scan(self) -> SourceScan:
        scan = super().scan()
        files = []
        for item in scan.files:
            if item.path == self.db_rel:
                files.append(dataclasses.replace(item, size=self.copy.stat().st_size, handle=str(self.copy), stamp=""))
            elif item.path in {self.db_rel + suffix for suffix in SQLITE_SIDECARS if suffix}:
                reason = "the portal's live database journal; the database is taken whole through SQLite"
                scan.skipped.append({"path": item.path, "reason": reason})
            else:
                files.append(item)
        scan.files = files
        return scan

    def listing(self) -> Listing:
        scan = self.scan()
        files = sorted(scan.files, key=lambda item: item.path)
        return Listing(files=lambda: iter(files), count=len(files), total_bytes=scan.total_bytes, skipped=scan.skipped)


def consistent_source(source: engine.Source, stack: contextlib.ExitStack) -> engine.Source:
    """``source`` itself, unless it is a folder holding the portal's SQLite database (see above)."""
    own = portal_own_paths()
    if not isinstance(source, engine.LocalSource) or len(own) < 2 or not own[1].is_file():
        return source
    root, db = Path(os.path.realpath(source.root)), own[1]
    if root not in db.parents:
        return source
    copy = stack.enter_context(connectors.staging_dir()) / db.name
    live = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(copy)
    try:
        live.backup(target)
    finally:
        target.close()
        live.close()
    return _ConsistentDbSource(source.root, db_rel=db.relative_to(root).as_posix(), copy=copy)
