"""SQLite through the online backup API: one read transaction, so the copy is one committed state."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.connectors._files import refuse_source_path, refuse_target_path
from inventory.connectors.base import (
    DISCOVER_LIMIT,
    DISCOVER_TIMEOUT,
    Capture,
    Connector,
    Discovery,
    Proposal,
    Snapshot,
    Verification,
    register,
    tables_text,
    utcnow,
)
from inventory.connectors.config import field_help
from inventory.connectors.errors import (
    CaptureIncomplete,
    ConfigInvalid,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
)
from inventory.paths import path_shape_refusal

FILE_NAME = "database.sqlite3"
SAMPLE_ALL_BELOW = 1000
SAMPLE_TARGET = 4096  # about this many rows per big table are hashed
HASH_SAMPLE = "hash0"


@dataclass(frozen=True)
class SqliteConfig:
    path: str = field_help("Absolute path of the SQLite database file.")
    busy_timeout: float = field_help(
        "Seconds to wait for a writer's lock before giving up.", default=10.0, limits={"minimum": 0, "maximum": 3600}
    )
    tables: tuple[str, ...] = field_help("Tables to capture (discovery lists them); empty for all.", default=())

    def check(self) -> None:
        if not self.path.startswith("/"):
            raise ConfigInvalid("path: give an absolute path.")
        why = path_shape_refusal(self.path)
        if why:
            raise ConfigInvalid(f"path: {why}")


def _open(path: str, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    if readonly and not os.path.isfile(path):
        raise Unreachable(f"The SQLite database {path} does not exist.")
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise Unreachable(f"{path} cannot be opened as a SQLite database: {exc}.") from None
    return conn


def table_names(conn: sqlite3.Connection) -> list[str]:
    query = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    return [row[0] for row in conn.execute(query)]


def _keep_only(conn: sqlite3.Connection, wanted: tuple[str, ...], path: str) -> None:
    """Drop every table of the staged copy that was not chosen (the source is never touched)."""
    present = table_names(conn)
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise CaptureIncomplete(f"The database {path} has no table {', '.join(missing)}.")
    for name in present:
        if name not in wanted:
            conn.execute('DROP TABLE "' + name.replace('"', '""') + '"')
    conn.commit()
    conn.execute("VACUUM")


def table_facts(conn: sqlite3.Connection, methods: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Per table: row count and a checksum of sampled rows (every row of small tables).

    The count and the choice of sample run inside SQLite; only sampled rows reach Python.
    A rowid table samples the rows whose rowid is a multiple of a stride (a page-for-page
    restore keeps rowids, so the same rows are picked in the copy); a WITHOUT ROWID table
    hashes every row and keeps those whose hash starts with 0 (the only method of captures
    taken before sampling by rowid: ``methods`` names, per table, the method a capture used).
    """
    methods = methods or {}
    facts: dict[str, dict[str, Any]] = {}
    rowid_tables = _rowid_tables(conn)
    for name in table_names(conn):
        quoted = '"' + name.replace('"', '""') + '"'
        count = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608 - quoted identifier
        method = methods.get(name) or (f"rowid%{_stride(count)}" if name in rowid_tables else HASH_SAMPLE)
        if method == HASH_SAMPLE:
            hashes = []
            for row in conn.execute(f"SELECT * FROM {quoted}"):  # noqa: S608
                digest = hashlib.sha256(repr(tuple(row)).encode()).hexdigest()
                if count <= SAMPLE_ALL_BELOW or digest[0] == "0":
                    hashes.append(digest)
        else:
            stride = int(method.removeprefix("rowid%"))
            try:
                rows = conn.execute(f"SELECT * FROM {quoted} WHERE rowid % ? = 0", (stride,))  # noqa: S608
                hashes = [hashlib.sha256(repr(tuple(row)).encode()).hexdigest() for row in rows]
            except sqlite3.OperationalError as exc:  # a target whose table has no rowid
                hashes = [f"unreadable: {exc}"]
        hashes.sort()
        facts[name] = {
            "rows": count,
            "sampled": len(hashes),
            "sample": method,
            "checksum": hashlib.sha256("".join(hashes).encode()).hexdigest(),
        }
    return facts


def _stride(count: int) -> int:
    """1 (every row) for small tables; else a prime near count / SAMPLE_TARGET, so ids in steps stay sampled."""
    if count <= SAMPLE_ALL_BELOW:
        return 1
    stride = max(2, count // SAMPLE_TARGET)
    while any(stride % d == 0 for d in range(2, int(stride**0.5) + 1)):
        stride += 1
    return stride


def _rowid_tables(conn: sqlite3.Connection) -> set[str]:
    listed = conn.execute("PRAGMA table_list").fetchall()  # (schema, name, type, ncol, without rowid, strict)
    return {row[1] for row in listed if row[0] == "main" and row[2] == "table" and not row[4]}


def _copy_by_backup_api(src: sqlite3.Connection, copy: Path) -> None:
    dst = sqlite3.connect(copy)
    try:
        # A staging copy is read once and deleted: no journal and no fsync (the vault makes the point durable).
        dst.execute("PRAGMA journal_mode=OFF")
        dst.execute("PRAGMA synchronous=OFF")
        # pages=-1: the whole database in one step under one read lock. A stepwise copy
        # restarts on every write and may never finish on a busy database.
        src.backup(dst, pages=-1)
    finally:
        dst.close()


def _put_in_place(staged: Path, new: str) -> None:
    """Make the restored database file ``new``: moved there when it is on the same filesystem.

    The restored file is the snapshot's copy, byte for byte (restore_tree checked its SHA-256
    and made it durable), so renaming it gives the target a backup-API copy would, without
    writing the database a second time; the restored folder is scratch. Where it cannot be
    renamed (another filesystem, a read-only staging folder) the backup API copies it, as before.
    """
    try:
        os.replace(staged, new)
        return
    except OSError:
        pass  # the restored file is untouched: copy it instead
    src, dst = sqlite3.connect(staged), sqlite3.connect(new)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _has_tables(path: str) -> bool:
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    conn = _open(path, readonly=True, timeout=1)
    try:
        return bool(conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0])
    finally:
        conn.close()


@register
class SqliteConnector(Connector[SqliteConfig]):
    kind = "sqlite"
    label = "SQLite database"
    config_class = SqliteConfig
    system_fields = ("path",)
    scope_field = "tables"

    def source_paths(self) -> list[str]:
        return [self.config.path]

    def snapshot(self, staging: Path) -> Snapshot:
        refuse_source_path(self.config.path, field="path")
        src = _open(self.config.path, readonly=True, timeout=self.config.busy_timeout)
        copy = staging / FILE_NAME
        try:
            started = utcnow()
            _copy_by_backup_api(src, copy)
        except sqlite3.OperationalError as exc:
            raise SourceChanged(f"The database {self.config.path} could not be read consistently: {exc}.") from None
        finally:
            src.close()
        dst = sqlite3.connect(copy)
        try:
            if self.config.tables:
                _keep_only(dst, self.config.tables, self.config.path)
            facts = table_facts(dst)
        finally:
            dst.close()
        capture = Capture(self.kind, started, {"path": self.config.path, "tables": facts})
        return Snapshot(source=self.staged(staging), capture=capture)

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: SqliteConfig = self.parse(target)
        refuse_target_path(cfg.path)
        if not replace:
            self.refuse_full_target(cfg, capture)
        staged = restored / FILE_NAME
        if not staged.is_file():
            raise RestoreFailed(f"The restored point has no {FILE_NAME}.")
        new = cfg.path + ".drp-new"
        if not replace:  # the restored database and its staging copy are this run's to remove
            self.ledger.created("file", [cfg.path, new])
        Path(cfg.path).parent.mkdir(parents=True, exist_ok=True)
        for leftover in (new, new + "-journal", new + "-wal", new + "-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        _put_in_place(staged, new)
        if replace:
            # The old database stays in place until the new one has been checked. A fresh
            # target has nothing to protect: its copy (the capture's bytes, SHA-256 checked by
            # the read from the vault) goes straight in, and verify() is its one full check.
            self.say("checking the restored copy before it goes in")
            dst = sqlite3.connect(new)
            try:
                report = self._check(capture, dst)
            finally:
                dst.close()
            if not report.ok:
                os.unlink(new)
                raise RestoreFailed(f"The restored database does not match the capture: {report.summary()}")
        self.say("swapping in the restored copy" if replace else "putting the restored copy in place")
        os.replace(new, cfg.path)

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: SqliteConfig = self.parse(target)
        if _has_tables(cfg.path):
            self.ledger.found_before("file", cfg.path, "it held tables before this run")
            raise TargetNotEmpty(f"The database {cfg.path} already holds tables; restore there only with replace.")

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: SqliteConfig = self.parse(target)
        refuse_target_path(cfg.path)
        conn = _open(cfg.path, readonly=True, timeout=cfg.busy_timeout)
        try:
            return self._check(capture, conn)
        finally:
            conn.close()

    def _check(self, capture: Capture, conn: sqlite3.Connection) -> Verification:
        report = Verification(self.kind)
        report.add("integrity_check", "ok", conn.execute("PRAGMA integrity_check").fetchone()[0])
        expected = capture.details.get("tables", {})
        found = table_facts(conn, {name: facts.get("sample", HASH_SAMPLE) for name, facts in expected.items()})
        report.add_tables(expected, found)
        return report

    def cleanup(self, *, target: object) -> None:
        cfg: SqliteConfig = self.parse(target)
        refuse_target_path(cfg.path)
        for path in self.ledger.names("file"):  # only files this restore created
            for suffix in ("", "-journal", "-wal", "-shm", ".drp-new"):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)
            self.ledger.removed("file", path)

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any]:
        return {**self.config_json(), "path": str(root / FILE_NAME)}

    def target_label(self, config: Any) -> str:
        return f"SQLite {self.parse(config).path}"

    def target_paths(self, config: Any) -> list[Path]:
        return [Path(self.parse(config).path)]

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """One proposal per table (the first ``limit`` by name), with its row count."""
        refuse_source_path(self.config.path, field="path")
        conn = _open(self.config.path, readonly=True, timeout=min(self.config.busy_timeout, DISCOVER_TIMEOUT))
        try:
            names = table_names(conn)
            quoted = {name: '"' + name.replace('"', '""') + '"' for name in names[:limit]}
            rows = {name: conn.execute(f"SELECT count(*) FROM {q}").fetchone()[0] for name, q in quoted.items()}  # noqa: S608
        finally:
            conn.close()
        stem = Path(self.config.path).stem
        found = [
            Proposal(
                name=f"{stem}-{name}".lower().replace("_", "-")[:100],
                kind=self.kind,
                config={**self.config_json(), "tables": [name]},
                labels={"table": name, "rows": str(count)},
            )
            for name, count in rows.items()
        ]
        return Discovery.first(found, limit=limit, total=len(names), things="tables")

    def describe(self, capture: Capture) -> str:
        tables = capture.details.get("tables", {})
        rows = sum(t["rows"] for t in tables.values())
        head = f"{len(tables)} table{'s' if len(tables) != 1 else ''}, {rows:,} rows"
        return f"{head}: {tables_text(tables)}" if tables else head
