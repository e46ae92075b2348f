"""The native restore baselines of the connector bench: each system's own tool putting back its own export.

Each function makes the native backup's output first (untimed) and returns the restore to
time: the SHA-256 recorded at backup checked first, as an operator checks a dump against the
hash the backup pipeline printed (``sha256sum -c``), then the system's own restore into a fresh
target:

- SQLite: the backup API (what the ``sqlite3`` shell's ``.restore`` runs) from the native backup
  file into a new database file, with SQLite's default journal and fsync, as the connector writes
  its target;
- PostgreSQL: ``CREATE DATABASE`` and ``pg_restore`` of the ``pg_dump -Fc`` file with the flags
  the connector uses (``PG_RESTORE_FLAGS``);
- LanceDB ``export``: the Arrow IPC file memory-mapped and written into a new LanceDB table;
  ``copy``: the folder copy copied back into a new folder, every file's hash checked.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

HEADER = f" {'native restore MiB/s':>20} {'restore ratio':>13} {'restore cpu ratio':>17}"


def columns(mib: float, native: float | None, restore: float) -> str:
    """Native restore MiB/s, native seconds / restore seconds, and the same in CPU (``cpu`` of each, as
    connector_bench times them); dashes for a kind with no native restore."""
    if native is None:
        return f" {'-':>20} {'-':>13} {'-':>17}"
    native_cpu, restore_cpu = getattr(native, "cpu", 0.0), getattr(restore, "cpu", 0.0)
    cpu = f"{native_cpu / restore_cpu:.2f}" if restore_cpu > 0 else "-"
    return f" {mib / native:>20.1f} {native / restore:>13.2f} {cpu:>17}"


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _check(path: Path, recorded: str) -> None:
    if _sha256(path) != recorded:
        raise SystemExit(f"{path.name}: the native backup does not match its recorded SHA-256")


def sqlite(root: Path, source: Path) -> Callable[[], None]:
    backup, fresh = root / "native-backup.sqlite3", root / "native-restored.sqlite3"
    src, dst = sqlite3.connect(source), sqlite3.connect(backup)
    src.backup(dst, pages=-1)
    src.close()
    dst.close()
    recorded = _sha256(backup)

    def restore() -> None:
        _check(backup, recorded)
        src, dst = sqlite3.connect(backup), sqlite3.connect(fresh)
        src.backup(dst, pages=-1)
        src.close()
        dst.close()

    return restore


def postgres(root: Path, source: str, fresh: str) -> Callable[[], None]:
    """``fresh`` is created by the restore; the caller drops it."""
    import psycopg

    from inventory.connectors.postgres import PG_RESTORE_FLAGS

    dump = root / "native.pgdump"
    server = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["pg_dump", "-Fc", *server, "-d", source, "-f", str(dump)], check=True)
    recorded = _sha256(dump)

    def restore() -> None:
        _check(dump, recorded)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{fresh}"')
        subprocess.run(["pg_restore", *PG_RESTORE_FLAGS, *server, "-d", fresh, str(dump)], check=True)

    return restore


def vector(root: Path, uri: Path, table: str) -> dict[str, Callable[[], None]]:
    """Restores for both native backup rows: ``copy`` and ``export``."""
    import lancedb
    import pyarrow as pa

    copy = root / "native-lance-copy"
    shutil.copytree(uri, copy)
    hashes = {item.relative_to(copy): _sha256(item) for item in sorted(copy.rglob("*")) if item.is_file()}
    export = root / "native-export.arrow"
    data = lancedb.connect(str(uri)).open_table(table).to_arrow()
    with pa.OSFile(str(export), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data)
    del data
    recorded = _sha256(export)

    def copy_back() -> None:
        back = root / "native-lance-copied-back"
        shutil.copytree(copy, back)
        for rel, digest in hashes.items():
            _check(back / rel, digest)

    def import_export() -> None:
        _check(export, recorded)
        with pa.memory_map(str(export)) as source:
            loaded = pa.ipc.open_file(source).read_all()
            lancedb.connect(str(root / "native-lance-imported")).create_table(table, data=loaded)

    return {"copy": copy_back, "export": import_export}
