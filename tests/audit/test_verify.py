"""audit_verify: catches every kind of tampering, at the right seq, and says so in one screen."""

from __future__ import annotations

import base64
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from dr_portal.accounts.models import User
from dr_portal.audit import checkpoints
from dr_portal.audit.models import AuditEvent, AuditVerification
from dr_portal.audit.services import audit_append, audit_erase_person
from dr_portal.audit.verify import verify_log
from tests.audit.conftest import is_postgres, raw, settle_constraints, triggers_disabled
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def append(n: int, actor: User | None = None) -> None:
    for i in range(n):
        audit_append(action="thing.happened", actor=actor, system_actor="system:test", payload={"i": i})


def run_verify(*args: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + err.getvalue() + str(exc)
    return 0, out.getvalue() + err.getvalue()


def sealed(django_capture_on_commit_callbacks) -> checkpoints.AuditCheckpoint:
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = checkpoints.checkpoint_now()
    assert checkpoint is not None
    return checkpoint


def test_empty_log_exits_zero_and_says_so() -> None:
    code, output = run_verify()
    assert code == 0
    assert "The audit log is empty" in output
    assert "INTACT" in output


def test_intact_log_without_exported_checkpoint_says_so_and_checks_the_chain(admin: User) -> None:
    append(12, admin)
    code, output = run_verify()
    assert code == 0, output
    assert "Events checked: 12 (seq 1..12)" in output
    assert "Exported checkpoints: none yet" in output
    assert AuditVerification.objects.get().ok


def test_intact_log_with_checkpoints_passes(admin: User, django_capture_on_commit_callbacks, checkpoint_dir) -> None:
    append(5, admin)
    sealed(django_capture_on_commit_callbacks)
    append(5)
    sealed(django_capture_on_commit_callbacks)
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == [
        "checkpoint-000000000005.txt",
        "checkpoint-000000000010.txt",
    ]
    code, output = run_verify()
    assert code == 0, output
    assert "newest seals seq 10" in output


def test_superuser_who_disables_triggers_and_edits_a_row_is_caught_at_that_seq(admin: User) -> None:
    append(20, admin)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET payload_json = %s WHERE seq = 13", ['{"i":999}'])
    code, output = run_verify("--no-record")
    assert code == 1
    assert "First problem: seq 13: its contents no longer match its hash" in output
    report = verify_log()
    assert report.first_problem is not None and report.first_problem.seq == 13
    assert report.problem_count == 1


def test_edit_that_also_recomputes_the_hash_is_caught_at_that_seq(admin: User) -> None:
    append(10, admin)
    from tests.audit.test_append import recompute

    event = AuditEvent.objects.get(seq=6)
    event.actor_role = "viewer"
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET actor_role = 'viewer', hash = %s WHERE seq = 6", [recompute(event)])
    report = verify_log()
    assert not report.ok
    assert report.first_problem is not None and report.first_problem.seq == 6
    assert "rewritten with a new hash" in report.first_problem.what


def test_deleting_a_middle_event_is_reported_as_a_gap(admin: User) -> None:
    append(8, admin)
    with triggers_disabled():
        raw("DELETE FROM audit_auditpersonaldata WHERE seq = 4")
        raw("DELETE FROM audit_auditevent WHERE seq = 4")
    report = verify_log()
    assert report.first_problem is not None
    assert (report.first_problem.seq, report.first_problem.what) == (4, "events 4..4 are missing")


def test_deleting_the_newest_events_and_rolling_back_is_caught_by_the_exported_checkpoint(
    admin: User, django_capture_on_commit_callbacks
) -> None:
    append(10, admin)
    sealed(django_capture_on_commit_callbacks)
    # An attacker (or a restore from an old backup) drops the newest events
    # and the checkpoint rows that mention them: what is left is a valid chain.
    with triggers_disabled():
        raw("DELETE FROM audit_auditpersonaldata WHERE seq > 7")
        raw("DELETE FROM audit_auditevent WHERE seq > 7")
        raw("DELETE FROM audit_auditcheckpoint")
    code, output = run_verify("--no-record")
    assert code == 1
    assert "the database head is seq 7 but file checkpoint-000000000010.txt seals seq 10" in output


def test_truncating_everything_is_caught_by_the_exported_checkpoint(
    admin: User, django_capture_on_commit_callbacks
) -> None:
    append(3, admin)
    sealed(django_capture_on_commit_callbacks)
    with triggers_disabled():
        raw("DELETE FROM audit_auditpersonaldata")
        raw("DELETE FROM audit_auditcheckpoint")
        raw("DELETE FROM audit_auditevent")
    code, output = run_verify("--no-record")
    assert code == 1
    assert "The audit log is empty" in output
    assert "head is seq 0" in output


def test_rewritten_history_with_a_consistent_new_chain_is_caught_by_the_checkpoint(
    admin: User, django_capture_on_commit_callbacks
) -> None:
    append(6, admin)
    sealed(django_capture_on_commit_callbacks)
    # Rebuild the whole log from a doctored copy: every hash recomputed, so
    # only the signed checkpoint outside the database can tell.
    rows = list(AuditEvent.objects.order_by("seq"))
    with triggers_disabled():
        raw("DELETE FROM audit_auditpersonaldata")
        raw("DELETE FROM audit_auditcheckpoint")
        raw("DELETE FROM audit_auditevent")
    for row in rows:
        audit_append(action=row.action, system_actor="system:test", payload={**row.public_payload, "i": 0})
    report = verify_log()
    assert not report.ok
    assert report.first_problem is not None and report.first_problem.seq == 6
    assert "sealed by exported checkpoint" in report.first_problem.what


def test_forged_signature_on_an_exported_checkpoint_is_caught(
    admin: User, django_capture_on_commit_callbacks, checkpoint_dir: Path
) -> None:
    append(4, admin)
    sealed(django_capture_on_commit_callbacks)
    path = checkpoint_dir / "checkpoint-000000000004.txt"
    forger = Ed25519PrivateKey.generate()
    body = path.read_text().rsplit("signature ", 1)[0]
    path.write_text(body + "signature " + base64.b64encode(forger.sign(body.encode())).decode() + "\n")
    code, output = run_verify("--no-record")
    assert code == 1
    assert "checkpoint-000000000004.txt: signature does not verify" in output


def test_checkpoint_whose_text_was_altered_is_caught(
    admin: User, django_capture_on_commit_callbacks, checkpoint_dir: Path
) -> None:
    append(4, admin)
    sealed(django_capture_on_commit_callbacks)
    path = checkpoint_dir / "checkpoint-000000000004.txt"
    path.write_text(path.read_text().replace("seq 4", "seq 40"))
    report = verify_log()
    assert not report.ok
    assert "signature does not verify" in str(report.first_problem)


def test_forged_signature_on_a_stored_checkpoint_is_caught(admin: User, django_capture_on_commit_callbacks) -> None:
    append(4, admin)
    checkpoint = sealed(django_capture_on_commit_callbacks)
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(b"anything")).decode()
    with triggers_disabled():
        raw("UPDATE audit_auditcheckpoint SET signature = %s WHERE seq = %s", [forged, checkpoint.seq])
    report = verify_log()
    assert not report.ok
    assert str(report.first_problem) == (
        f"seq 4: the signature of the checkpoint stored in the database does not verify (key {checkpoint.key_id})"
    )


def test_checkpoints_verify_with_a_public_key_given_on_the_command_line(
    admin: User, django_capture_on_commit_callbacks, tmp_path: Path
) -> None:
    append(3, admin)
    sealed(django_capture_on_commit_callbacks)
    right = tmp_path / "right.pem"
    right.write_text(checkpoints.public_key_pem())
    wrong = tmp_path / "wrong.pem"
    wrong.write_text(checkpoints.public_key_pem(Ed25519PrivateKey.generate().public_key()))
    assert run_verify("--public-key", str(right))[0] == 0
    code, output = run_verify("--public-key", str(wrong), "--no-record")
    assert code == 1
    assert "signed with key" in output


def test_tampered_personal_data_is_caught(admin: User) -> None:
    append(3, admin)
    with triggers_disabled():
        raw("UPDATE audit_auditpersonaldata SET data_json = %s WHERE seq = 2", ['{"actor":"mallory"}'])
    report = verify_log()
    assert str(report.first_problem) == "seq 2: its personal data does not match the digest the chain committed to"


def test_erasing_a_person_keeps_the_chain_verifiable(admin: User, oncall: User) -> None:
    audit_append(action="session.signed_in", actor=oncall, payload={"ip": "203.0.113.7", "user_agent": "curl"})
    audit_append(action="step.approved", actor=oncall, payload={"step": 1})
    audit_append(action="session.sign_in_failed", system_actor="system:auth", payload={"username": "oli"})
    audit_append(action="session.signed_in", actor=admin, payload={"ip": "198.51.100.2"})
    record = audit_erase_person(user=oncall, by=admin, reason="request #42")
    assert record.public_payload == {"events": 3, "first_seq": 1, "last_seq": 3}
    erased = {e.seq: e for e in AuditEvent.objects.select_related("personal")}
    assert [seq for seq, e in erased.items() if e.is_erased] == [1, 2, 3]
    assert erased[1].actor_label == "[erased]"
    assert erased[1].payload == {}
    assert erased[2].payload == {"step": 1}
    assert erased[4].payload == {"ip": "198.51.100.2"}  # someone else's data stays
    report = verify_log()
    assert report.ok, report.summary()
    assert report.personal_erased == 3


def test_from_and_to_check_only_that_range(admin: User) -> None:
    append(30, admin)
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'x.y' WHERE seq = 25")
    assert run_verify("--from", "1", "--to", "20")[0] == 0
    code, output = run_verify("--from", "21", "--to", "30")
    assert code == 1
    assert "Events checked: 10 (seq 21..30)" in output
    assert "seq 25" in output
    assert run_verify("--from", "0")[0] != 0


def test_disabled_guard_is_reported(admin: User) -> None:
    if not is_postgres():
        pytest.skip("PostgreSQL triggers can be disabled; SQLite ones can only be dropped (covered below)")
    append(2, admin)
    settle_constraints()
    raw("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
    report = verify_log()
    assert "guard trigger audit_auditevent_append_only is not ENABLE ALWAYS" in report.summary()
    raw("ALTER TABLE audit_auditevent ENABLE REPLICA TRIGGER audit_auditevent_append_only")
    assert not verify_log().ok


def test_dropped_guard_is_reported(admin: User) -> None:
    append(2, admin)
    settle_constraints()
    raw("DROP TRIGGER audit_auditevent_chain" + (" ON audit_auditevent" if is_postgres() else ""))
    report = verify_log()
    assert not report.ok
    assert "guard trigger audit_auditevent_chain is missing" in report.summary()


def test_verify_is_recorded_for_the_audit_page(admin: User) -> None:
    append(2, admin)
    run_verify()
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'x.y' WHERE seq = 1")
    run_verify()
    latest, older = AuditVerification.objects.order_by("-finished_at")[:2]
    assert older.ok and not latest.ok
    assert latest.first_bad_seq == 1


def test_verify_with_many_people_and_chunks(monkeypatch) -> None:
    from dr_portal.audit import verify

    monkeypatch.setattr(verify, "CHUNK", 7)  # several chunks of both streams
    people = [UserFactory(username=f"p{n}") for n in range(3)]
    for n in range(40):
        audit_append(action="thing.happened", actor=people[n % 3] if n % 4 else None, payload={"n": n})
    report = verify_log()
    assert report.ok, report.summary()
    assert report.events_checked == 40
    assert report.personal_present == 30


def test_missing_or_orphaned_personal_data_is_caught(admin: User) -> None:
    append(4, admin)
    append(1)  # seq 5, a system event with no personal data
    with triggers_disabled():
        raw("DELETE FROM audit_auditpersonaldata WHERE seq = 2")
        raw("INSERT INTO audit_auditpersonaldata (seq, salt, data_json) VALUES (5, '00', '{}')")
        raw("UPDATE audit_auditpersonaldata SET salt = 'zz' WHERE seq = 3")
    report = verify_log()
    problems = sorted(str(p) for p in report.problems)
    assert problems == [
        "seq 2: its personal data row is missing",
        "seq 3: its personal data does not match the digest the chain committed to",
        "seq 5: personal data is kept for an event that committed to none"
        + (", or does not exist" if is_postgres() else ""),
    ]
