"""A consistent copy of the portal's own database, and loading one back (SQLite and PostgreSQL).

SQLite uses the online backup API (a page-level copy under one read lock). PostgreSQL
exports a snapshot from a REPEATABLE READ transaction and runs ``pg_dump --snapshot``
inside it, so the head of the audit log read here is exactly the one in the dump.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

from dr_portal.audit.guards import EVENT_TABLE
from dr_portal.errors import Refused

SQLITE_FILE = "portal.sqlite3"
PG_FILE = "portal.pgdump"
_GENESIS = "0" * 64


class DatabaseToolMissing(Refused):
    code = "portal_db_tool_missing"


class DatabaseCopyFailed(Refused):
    code = "portal_db_copy_failed"


@dataclass(frozen=True)
class Snapshot:
    engine: str  # "sqlite" or "postgresql"
    file: Path
    head_seq: int
    head_hash: str


def _pg_env() -> dict[str, str]:
    params = connection.settings_dict
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if params.get(key):
            env[var] = str(params[key])
    env["PGDATABASE"] = str(params["NAME"])
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DatabaseToolMissing(
            f"{name} is not installed; the PostgreSQL client tools are needed to copy the database."
        )
    return found


def _head(cursor: object) -> tuple[int, str]:
    cursor.execute(f"SELECT seq, hash FROM {EVENT_TABLE} ORDER BY seq DESC LIMIT 1")  # type: ignore[attr-defined]  # noqa: S608
    row = cursor.fetchone()  # type: ignore[attr-defined]
    return (int(row[0]), str(row[1])) if row else (0, _GENESIS)


def snapshot_database(*, directory: Path) -> Snapshot:
    """Write a consistent copy of the database into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        target_path = directory / SQLITE_FILE
        connection.ensure_connection()
        target = sqlite3.connect(target_path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        copy = sqlite3.connect(target_path)
        try:
            head = _head(copy.cursor())
        finally:
            copy.close()
        return Snapshot("sqlite", target_path, *head)
    if connection.vendor != "postgresql":
        raise DatabaseCopyFailed(f"Backing up a {connection.vendor} database is not supported.")
    target_path = directory / PG_FILE
    pg_dump = _tool("pg_dump")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot_id = cursor.fetchone()[0]
        head = _head(cursor)
        done = subprocess.run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                "--file",
                str(target_path),
            ],
            env=_pg_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise DatabaseCopyFailed(f"pg_dump failed: {done.stderr.strip()[:500]}")
    return Snapshot("postgresql", target_path, *head)


def database_holds_data() -> bool:
    """True when the database has audit events or accounts: something a restore would lose."""
    tables = set(connection.introspection.table_names())
    if EVENT_TABLE not in tables:
        return bool(tables - {"django_migrations"})  # tables of something else: never ours to overwrite
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {EVENT_TABLE})")  # noqa: S608
        if cursor.fetchone()[0]:
            return True
        cursor.execute("SELECT EXISTS (SELECT 1 FROM accounts_user)")
        return bool(cursor.fetchone()[0])


def load_database(*, engine: str, file: Path) -> None:
    """Replace the whole database with the copy in ``file`` (the caller decided it may)."""
    if engine != connection.vendor:
        raise DatabaseCopyFailed(
            f"The backup holds a {engine} database but this portal is configured for {connection.vendor}; "
            "set DATABASE_URL to a database of the same kind."
        )
    if engine == "sqlite":
        source = sqlite3.connect(file)
        try:
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()
        connection.close()
        return
    pg_restore = _tool("pg_restore")
    with connection.cursor() as cursor:
        # The audit guards refuse TRUNCATE and DELETE, not dropping the schema that holds them.
        cursor.execute("DROP SCHEMA IF EXISTS public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()
    done = subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            str(connection.settings_dict["NAME"]),
            str(file),
        ],
        env=_pg_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DatabaseCopyFailed(f"pg_restore failed: {done.stderr.strip()[:500]}")
