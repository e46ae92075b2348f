"""Let the test runner's flush empty the audit tables; keep test checkpoints out of var/.

Between transactional tests Django empties every table (TRUNCATE on
PostgreSQL, DELETE on SQLite), which the audit guards refuse. The test
database — and only it: see `dr_portal.audit.guards.is_test_database` — is
built with guards that let a delete or truncate through while a flag is set
inside the same transaction. This wraps Django's flush so that the flag is
set first and cleared last, within the flush's own transaction; no other
statement ever runs with it set.
"""

# ruff: noqa: S608 - SQL built from module constants only
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper

from dr_portal.audit.guards import GUARDED_TABLES, PG_TEST_FLUSH_SETTING, SQLITE_TEST_FLUSH_TABLE

_OPEN_CLOSE = {
    PostgresWrapper.ops_class: (
        f"SET LOCAL {PG_TEST_FLUSH_SETTING} = 'on'",
        f"SET LOCAL {PG_TEST_FLUSH_SETTING} = 'off'",
    ),
    SqliteWrapper.ops_class: (
        f"UPDATE {SQLITE_TEST_FLUSH_TABLE} SET allowed = 1",
        f"UPDATE {SQLITE_TEST_FLUSH_TABLE} SET allowed = 0",
    ),
}


def _wrap(cls: Any, open_sql: str, close_sql: str) -> Any:
    original = cls.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False):
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if statements and set(tables) & set(GUARDED_TABLES):
            return [open_sql, *statements, close_sql]
        return statements

    return sql_flush


@pytest.fixture(autouse=True, scope="session")
def audit_flush_permit() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for cls, (open_sql, close_sql) in _OPEN_CLOSE.items():
            patch.setattr(cls, "sql_flush", _wrap(cls, open_sql, close_sql))
        yield


@pytest.fixture(autouse=True, scope="session")
def audit_exports_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Checkpoints made by any test go to a throw-away directory, never var/ (audit_verify reads it)."""
    from django.conf import settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "AUDIT_CHECKPOINT_DIR", tmp_path_factory.mktemp("audit-checkpoints"))
        patch.setattr(settings, "AUDIT_CHECKPOINT_S3_BUCKET", None)
        yield
