"""The database itself refuses to change or remove audit rows, whoever asks and however."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from dr_portal.accounts.models import User
from dr_portal.audit.checkpoints import checkpoint_now
from dr_portal.audit.models import AuditCheckpoint, AuditEvent, AuditPersonalData
from dr_portal.audit.services import audit_append
from tests.audit.conftest import is_postgres, raw, settle_constraints

pytestmark = pytest.mark.django_db

REFUSED = pytest.raises(DatabaseError, match=r"append-only|only be erased")


@pytest.fixture
def events(admin: User) -> list[AuditEvent]:
    made = [audit_append(action="thing.happened", actor=admin, payload={"n": n}) for n in range(3)]
    checkpoint_now()
    return made


def assert_untouched(events: list[AuditEvent]) -> None:
    stored = list(AuditEvent.objects.order_by("seq").values_list("seq", "action", "payload_json", "hash"))
    assert stored == [(e.seq, e.action, e.payload_json, e.hash) for e in events]
    assert AuditPersonalData.objects.filter(data_json__isnull=False).count() == 3
    assert AuditCheckpoint.objects.count() == 1


def test_orm_save_of_an_existing_event_is_refused(events: list[AuditEvent]) -> None:
    event = AuditEvent.objects.get(seq=2)
    event.action = "thing.rewritten"
    with REFUSED, transaction.atomic():
        event.save()
    assert_untouched(events)


def test_orm_delete_is_refused(events: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.get(seq=3).delete()
    assert_untouched(events)


def test_queryset_update_is_refused(events: list[AuditEvent]) -> None:
    with REFUSED, transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="thing.rewritten")
    assert_untouched(events)


def test_queryset_delete_is_refused(events: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq__gte=2).delete()
    with REFUSED, transaction.atomic():
        AuditEvent.objects.filter(seq__gte=2)._raw_delete(AuditEvent.objects.db)
    assert_untouched(events)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'thing.rewritten' WHERE seq = 2",
        "UPDATE audit_auditevent SET hash = prev_hash",
        "DELETE FROM audit_auditevent WHERE seq = 3",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditcheckpoint SET head_hash = 'x'",
        "DELETE FROM audit_auditcheckpoint",
        "DELETE FROM audit_auditpersonaldata",
        'UPDATE audit_auditpersonaldata SET data_json = \'{"actor":"mallory"}\'',
        "UPDATE audit_auditpersonaldata SET salt = ''",
    ],
)
def test_raw_sql_update_and_delete_are_refused(events: list[AuditEvent], sql: str) -> None:
    with REFUSED, transaction.atomic():
        raw(sql)
    assert_untouched(events)


@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditpersonaldata", "audit_auditcheckpoint"])
def test_truncate_is_refused(events: list[AuditEvent], table: str) -> None:
    if not is_postgres():
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is refused above")
    settle_constraints()
    with REFUSED, transaction.atomic():
        raw(f"TRUNCATE {table} CASCADE")
    assert_untouched(events)


def test_replica_session_role_does_not_silence_the_guards(events: list[AuditEvent]) -> None:
    if not is_postgres():
        pytest.skip("session_replication_role is PostgreSQL's")
    settle_constraints()
    with REFUSED, transaction.atomic():
        raw("SET LOCAL session_replication_role = replica")
        raw("DELETE FROM audit_auditevent WHERE seq = 3")
    with REFUSED, transaction.atomic():
        raw("SET LOCAL session_replication_role = replica")
        raw("TRUNCATE audit_auditevent CASCADE")
    assert_untouched(events)


def test_personal_data_can_be_erased_but_not_half_erased(events: list[AuditEvent]) -> None:
    with REFUSED, transaction.atomic():  # keeping the salt would let the digest be tested against guesses
        AuditPersonalData.objects.filter(event_id=1).update(data_json=None, redacted_at="2026-01-01T00:00Z")
    AuditPersonalData.objects.filter(event_id=1).update(
        data_json=None, salt="", redacted_at="2026-01-01T00:00Z", redaction_seq=3
    )
    with REFUSED, transaction.atomic():  # and erased data cannot be put back
        AuditPersonalData.objects.filter(event_id=1).update(data_json='{"actor":"ada"}')


def test_only_the_test_database_gets_the_flush_permit(settings) -> None:
    from django.db import connection

    from dr_portal.audit import guards

    assert guards.is_test_database(connection)  # this run's database
    production_sql = "\n".join(guards.postgresql_install(test_permit=False) + guards.sqlite_install(test_permit=False))
    assert "test_flush" not in production_sql
    assert guards.SQLITE_TEST_FLUSH_TABLE not in production_sql
    settings.TESTING = False
    assert not guards.is_test_database(connection)


def test_every_guard_is_in_place_after_all_migrations() -> None:
    # A later migration that rebuilds an audit table (SQLite does for AlterField) must put the guards back.
    from django.db import connection

    from dr_portal.audit.guards import guard_problems

    assert guard_problems(connection) == []
