"""Database triggers that keep the audit tables append-only; migration 0002 installs them.

PostgreSQL: statement-level triggers reject UPDATE, DELETE and TRUNCATE on
the event and checkpoint tables; a row trigger on the personal-data table
allows exactly one change (erasure); an insert trigger rejects an event that
does not extend the current head. All are `ENABLE ALWAYS`, so a session with
`session_replication_role = replica` still fires them. Only the table owner
or a superuser can switch them off — `audit_verify` then catches the edit.

SQLite: the same rules as `RAISE(ABORT)` triggers.

The test database alone gets a permit: Django's test flush (TRUNCATE on
PostgreSQL, DELETE on SQLite) empties every table between transactional
tests. There, and only there, the delete/truncate guards let a flush through
while a flag is set inside the flush's own transaction — on PostgreSQL the
transaction-local setting `dr_portal.test_flush`, on SQLite a row in the
table `audit_test_flush_permit`. `tests/audit/flush.py` sets it. A database
built outside a test run never contains the clause, so no setting can open it.
"""

# ruff: noqa: S608 - every statement here is built from module constants, never from input
from __future__ import annotations

import os

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

EVENT_TABLE = "audit_auditevent"
PERSONAL_TABLE = "audit_auditpersonaldata"
CHECKPOINT_TABLE = "audit_auditcheckpoint"
APPEND_ONLY_TABLES = (EVENT_TABLE, CHECKPOINT_TABLE)
GUARDED_TABLES = (EVENT_TABLE, PERSONAL_TABLE, CHECKPOINT_TABLE)

PG_TEST_FLUSH_SETTING = "dr_portal.test_flush"
SQLITE_TEST_FLUSH_TABLE = "audit_test_flush_permit"

_GENESIS = "0" * 64


def is_test_database(connection: BaseDatabaseWrapper) -> bool:
    """True only while pytest builds its throw-away copy of the database."""
    if not getattr(settings, "TESTING", False):
        return False
    name = str(connection.settings_dict.get("NAME") or "")
    test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
    return name == str(test_name) or os.path.basename(name).startswith("test")


# --- PostgreSQL ---------------------------------------------------------------------

_PG_PERMIT = f"""
  IF TG_OP IN ('DELETE', 'TRUNCATE') AND current_setting('{PG_TEST_FLUSH_SETTING}', true) = 'on' THEN
    IF TG_LEVEL = 'ROW' THEN RETURN OLD; END IF;
    RETURN NULL;
  END IF;"""


def postgresql_install(*, test_permit: bool) -> list[str]:
    permit = _PG_PERMIT if test_permit else ""
    statements = [
        f"""
CREATE OR REPLACE FUNCTION audit_guard_reject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{permit}
  RAISE EXCEPTION 'audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'raise_exception', HINT = 'Corrections are new events.';
END $$""",
        """
CREATE OR REPLACE FUNCTION audit_guard_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.seq = NEW.seq AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
     AND NEW.redaction_seq IS NOT NULL AND NEW.data_json IS NULL AND NEW.salt = '' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit personal data can only be erased, not changed'
    USING ERRCODE = 'raise_exception';
END $$""",
        f"""
CREATE OR REPLACE FUNCTION audit_guard_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash varchar(64);
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM {EVENT_TABLE} ORDER BY seq DESC LIMIT 1;
  IF head_seq IS NULL THEN
    head_seq := 0;
    head_hash := '{_GENESIS}';
  END IF;
  IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
    RAISE EXCEPTION 'audit chain: event % does not extend the head (seq %)', NEW.seq, head_seq
      USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$""",
    ]
    # Not a guard but the appenders' entry: take the chain lock, then read the
    # head with a snapshot taken after the lock was granted, in one round trip.
    statements.append(f"""
CREATE OR REPLACE FUNCTION audit_lock_head(lock_key bigint, OUT head_seq bigint, OUT head_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  SELECT seq, hash INTO head_seq, head_hash FROM {EVENT_TABLE} ORDER BY seq DESC LIMIT 1;
END $$""")
    for table in APPEND_ONLY_TABLES:
        statements += [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_guard_reject()",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only",
        ]
    statements += [
        f"CREATE TRIGGER {EVENT_TABLE}_chain BEFORE INSERT ON {EVENT_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION audit_guard_chain()",
        f"ALTER TABLE {EVENT_TABLE} ENABLE ALWAYS TRIGGER {EVENT_TABLE}_chain",
        f"CREATE TRIGGER {PERSONAL_TABLE}_erase_only BEFORE UPDATE ON {PERSONAL_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION audit_guard_erase_only()",
        f"ALTER TABLE {PERSONAL_TABLE} ENABLE ALWAYS TRIGGER {PERSONAL_TABLE}_erase_only",
        f"CREATE TRIGGER {PERSONAL_TABLE}_no_delete BEFORE DELETE OR TRUNCATE ON {PERSONAL_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_guard_reject()",
        f"ALTER TABLE {PERSONAL_TABLE} ENABLE ALWAYS TRIGGER {PERSONAL_TABLE}_no_delete",
    ]
    return statements


def postgresql_uninstall() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in APPEND_ONLY_TABLES]
    statements += [
        f"DROP TRIGGER IF EXISTS {EVENT_TABLE}_chain ON {EVENT_TABLE}",
        f"DROP TRIGGER IF EXISTS {PERSONAL_TABLE}_erase_only ON {PERSONAL_TABLE}",
        f"DROP TRIGGER IF EXISTS {PERSONAL_TABLE}_no_delete ON {PERSONAL_TABLE}",
        "DROP FUNCTION IF EXISTS audit_guard_reject()",
        "DROP FUNCTION IF EXISTS audit_guard_erase_only()",
        "DROP FUNCTION IF EXISTS audit_guard_chain()",
        "DROP FUNCTION IF EXISTS audit_lock_head(bigint)",
    ]
    return statements


# The triggers audit_verify expects, with pg_trigger.tgenabled = 'A' (always).
POSTGRESQL_TRIGGERS = (
    f"{EVENT_TABLE}_append_only",
    f"{CHECKPOINT_TABLE}_append_only",
    f"{EVENT_TABLE}_chain",
    f"{PERSONAL_TABLE}_erase_only",
    f"{PERSONAL_TABLE}_no_delete",
)


# --- SQLite -------------------------------------------------------------------------


def _sqlite_reject(name: str, when: str, table: str, message: str) -> str:
    condition = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER {name} BEFORE {table}{condition} BEGIN SELECT RAISE(ABORT, '{message}'); END"


def sqlite_install(*, test_permit: bool) -> list[str]:
    permit = f"NOT EXISTS (SELECT 1 FROM {SQLITE_TEST_FLUSH_TABLE} WHERE allowed = 1)" if test_permit else ""
    statements = []
    if test_permit:
        statements += [
            f"CREATE TABLE {SQLITE_TEST_FLUSH_TABLE} (allowed integer NOT NULL)",
            f"INSERT INTO {SQLITE_TEST_FLUSH_TABLE} (allowed) VALUES (0)",
        ]
    for table in APPEND_ONLY_TABLES:
        statements += [
            _sqlite_reject(
                f"{table}_no_update", "", f"UPDATE ON {table}", f"audit log is append-only: UPDATE on {table}"
            ),
            _sqlite_reject(
                f"{table}_no_delete", permit, f"DELETE ON {table}", f"audit log is append-only: DELETE on {table}"
            ),
        ]
    erase_only = (
        "NOT (OLD.seq = NEW.seq AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
        "AND NEW.redaction_seq IS NOT NULL AND NEW.data_json IS NULL AND NEW.salt = '')"
    )
    statements += [
        _sqlite_reject(
            f"{PERSONAL_TABLE}_erase_only",
            erase_only,
            f"UPDATE ON {PERSONAL_TABLE}",
            "audit personal data can only be erased, not changed",
        ),
        _sqlite_reject(
            f"{PERSONAL_TABLE}_no_delete",
            permit,
            f"DELETE ON {PERSONAL_TABLE}",
            f"audit log is append-only: DELETE on {PERSONAL_TABLE}",
        ),
        _sqlite_reject(
            f"{EVENT_TABLE}_chain",
            f"NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM {EVENT_TABLE}) "
            f"OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM {EVENT_TABLE} ORDER BY seq DESC LIMIT 1), "
            f"'{_GENESIS}')",
            f"INSERT ON {EVENT_TABLE}",
            "audit chain: the event does not extend the head",
        ),
    ]
    return statements


SQLITE_TRIGGERS = (
    f"{EVENT_TABLE}_no_update",
    f"{EVENT_TABLE}_no_delete",
    f"{CHECKPOINT_TABLE}_no_update",
    f"{CHECKPOINT_TABLE}_no_delete",
    f"{PERSONAL_TABLE}_erase_only",
    f"{PERSONAL_TABLE}_no_delete",
    f"{EVENT_TABLE}_chain",
)


def sqlite_uninstall() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + [
        f"DROP TABLE IF EXISTS {SQLITE_TEST_FLUSH_TABLE}"
    ]


def install(connection: BaseDatabaseWrapper) -> list[str]:
    permit = is_test_database(connection)
    if connection.vendor == "postgresql":
        return postgresql_install(test_permit=permit)
    if connection.vendor == "sqlite":
        return sqlite_install(test_permit=permit)
    raise NotImplementedError(f"no audit guards for {connection.vendor}")


def uninstall(connection: BaseDatabaseWrapper) -> list[str]:
    return postgresql_uninstall() if connection.vendor == "postgresql" else sqlite_uninstall()


def guard_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """Guards that are missing or switched off, for audit_verify to report."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE tgname = ANY(%s) AND NOT tgisinternal",
                [list(POSTGRESQL_TRIGGERS)],
            )
            found = {name: str(state) for name, state in cursor.fetchall()}
            problems = [f"guard trigger {name} is missing" for name in POSTGRESQL_TRIGGERS if name not in found]
            problems += [
                f"guard trigger {name} is not ENABLE ALWAYS (state {state!r})"
                for name, state in sorted(found.items())
                if state != "A"
            ]
            return problems
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        return [f"guard trigger {name} is missing" for name in SQLITE_TRIGGERS if name not in present]
