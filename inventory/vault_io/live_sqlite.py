"""A folder backup that holds the portal's own live SQLite database reads it as one state.

The tier-0 `dr-portal` asset is a folder asset on VAR_DIR, where the embedded setup keeps
the portal's database in WAL mode. Reading ``db.sqlite3`` and ``db.sqlite3-wal`` as two
plain files while the web, worker and beat write is not one state (a checkpoint may be
half-way through the main file), and such a copy restores as a malformed database. So the
database is taken with SQLite's online backup API into a staging file, which is backed up
under the database's own name, and its -wal/-shm/-journal are left out (listed as skipped).

The same folder also holds the portal's working data, which is not its state: the filesystem
vaults (a backup of VAR_DIR would otherwise copy the vault into itself, growing each time),
drill targets, restore staging, the embedded broker's queue and collected static files. Those
folders are left out too, each listed once as skipped with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

from django.conf import settings

from inventory import connectors, engine
from inventory.engine.sources import Listing, SourceScan
from inventory.paths import SQLITE_SIDECARS, portal_own_paths

WORKING_DATA = "the portal's working data, not its state (vaults, drills, staging, queues)"


def _working_folders() -> list[Path]:
    """Folders of the portal that hold working data: never part of a backup of VAR_DIR."""
    from inventory.models import Vault, VaultKind

    var_dir = Path(settings.VAR_DIR)
    found = [var_dir / "drills", var_dir / "restore-staging", var_dir / "celery", Path(settings.STATIC_ROOT)]
    found += [Path(p) for p in settings.VAULT_ROOTS]
    found.append(Path(str(settings.PORTAL_BACKUP_VAULT).removeprefix("file://")))
    for config in Vault.objects.filter(kind=VaultKind.FILESYSTEM).values_list("config", flat=True):
        if isinstance(config, dict) and config.get("path"):
            found.append(Path(str(config["path"])))
    return [Path(os.path.realpath(p)) for p in found]


class _ConsistentDbSource(engine.LocalSource):
    def __init__(self, root: Path, *, db_rel: str | None, copy: Path | None, leave_out: list[str]) -> None:
        super().__init__(root)
        self.db_rel, self.copy, self.leave_out = db_rel, copy, leave_out

    def scan(self) -> SourceScan:
        scan = super().scan()
        files = []
        left_out: set[str] = set()
        for item in scan.files:
            folder = next((f for f in self.leave_out if item.path.startswith(f + "/")), None)
            if folder is not None:
                left_out.add(folder)
            elif self.db_rel is not None and self.copy is not None and item.path == self.db_rel:
                files.append(dataclasses.replace(item, size=self.copy.stat().st_size, handle=str(self.copy), stamp=""))
            elif self.db_rel is not None and item.path in {self.db_rel + sfx for sfx in SQLITE_SIDECARS if sfx}:
                reason = "the portal's live database journal; the database is taken whole through SQLite"
                scan.skipped.append({"path": item.path, "reason": reason})
            else:
                files.append(item)
        scan.files = files
        scan.skipped += [{"path": folder, "reason": WORKING_DATA} for folder in sorted(left_out)]
        return scan

    def listing(self) -> Listing:
        scan = self.scan()
        files = sorted(scan.files, key=lambda item: item.path)
        return Listing(files=lambda: iter(files), count=len(files), total_bytes=scan.total_bytes, skipped=scan.skipped)


def consistent_source(source: engine.Source, stack: contextlib.ExitStack) -> engine.Source:
    """``source`` itself, unless it is a folder holding the portal's SQLite database or working data."""
    if not isinstance(source, engine.LocalSource):
        return source
    root = Path(os.path.realpath(source.root))
    leave_out = sorted({f.relative_to(root).as_posix() for f in _working_folders() if root in f.parents})
    own = portal_own_paths()
    db = own[1] if len(own) >= 2 and own[1].is_file() and root in own[1].parents else None
    if db is None and not leave_out:
        return source
    copy = None
    if db is not None:
        copy = stack.enter_context(connectors.staging_dir()) / db.name
        live = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        target = sqlite3.connect(copy)
        try:
            live.backup(target)
        finally:
            target.close()
            live.close()
    db_rel = db.relative_to(root).as_posix() if db is not None else None
    return _ConsistentDbSource(source.root, db_rel=db_rel, copy=copy, leave_out=leave_out)
