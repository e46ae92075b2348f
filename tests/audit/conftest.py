"""Fixtures for the audit tests: a private checkpoint directory, helpers to tamper like an attacker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from dr_portal.audit import checkpoints
from dr_portal.audit.guards import GUARDED_TABLES, POSTGRESQL_TRIGGERS


@pytest.fixture(autouse=True)
def checkpoint_dir(settings: Any, tmp_path: Path) -> Path:
    """Each test exports checkpoints into its own empty directory, and never to S3."""
    directory = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_DIR = directory
    settings.AUDIT_CHECKPOINT_S3_BUCKET = None
    return directory


@pytest.fixture(autouse=True)
def fresh_signing_key() -> Iterator[None]:
    checkpoints.signing_key.cache_clear()
    yield
    checkpoints.signing_key.cache_clear()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def triggers_disabled() -> Iterator[None]:
    """What a database superuser can do: switch the guards off, then back on."""
    with connection.cursor() as cursor:
        if is_postgres():
            # Django's foreign keys are deferred; ALTER TABLE wants none pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in GUARDED_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                yield
            finally:
                for table in GUARDED_TABLES:
                    for name in POSTGRESQL_TRIGGERS:
                        if name.startswith(table):
                            cursor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            saved = cursor.fetchall()
            for name, _ in saved:
                cursor.execute(f"DROP TRIGGER {name}")
            try:
                yield
            finally:
                for _, sql in saved:
                    cursor.execute(sql)


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def settle_constraints() -> None:
    """PostgreSQL refuses ALTER TABLE and TRUNCATE while deferred foreign-key checks are pending."""
    if is_postgres():
        raw("SET CONSTRAINTS ALL IMMEDIATE")
