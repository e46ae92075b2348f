"""Verifying the log: every hash and link, every checkpoint signature, the head against exports.

It streams the events through a server-side cursor (PostgreSQL) in one
repeatable-read snapshot, so memory stays flat however long the log is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from dr_portal.audit import checkpoints, guards
from dr_portal.audit.chain import GENESIS_HASH, HASHED_COLUMNS, personal_digest, row_hash, utc_text
from dr_portal.audit.models import AuditCheckpoint, AuditEvent, AuditPersonalData, AuditVerification

CHUNK = 5000
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class VerifyReport:
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float = 0.0
    first_seq: int | None = None
    last_seq: int | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    events_checked: int = 0
    personal_present: int = 0
    personal_erased: int = 0
    db_checkpoints: int = 0
    exported_checkpoints: int = 0
    newest_exported: checkpoints.ParsedCheckpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        """The problem at the lowest seq (problems without a seq come last)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.seq is None, p.seq or 0))

    def add(self, seq: int | None, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(seq, what))

    def summary(self) -> str:
        lines = [f"Audit log: {'INTACT' if self.ok else 'FAILED'}"]
        if self.head_seq == 0:
            lines.append("The audit log is empty: there are no events to check.")
        else:
            lines.append(
                f"Events checked: {self.events_checked:,} (seq {self.first_seq}..{self.last_seq}) "
                f"of {self.head_seq:,} in {self.seconds:.1f} s"
            )
            lines.append(f"Head: seq {self.head_seq}, hash {self.head_hash}")
            lines.append(f"Personal data: {self.personal_present:,} events hold some, {self.personal_erased:,} erased")
        lines.append(f"Signed checkpoints in the database (in range): {self.db_checkpoints:,}")
        if self.newest_exported is None:
            lines.append(
                "Exported checkpoints: none yet, so truncation or rollback of the newest events cannot be ruled out"
            )
        else:
            cp = self.newest_exported
            lines.append(
                f"Exported checkpoints: {self.exported_checkpoints:,}; "
                f"newest seals seq {cp.seq} at {cp.time} ({cp.source})"
            )
        lines += [f"Note: {note}" for note in self.notes]
        first = self.first_problem
        if first is not None:
            lines.append(f"First problem: {first}")
            if self.problem_count > 1:
                lines.append(f"{self.problem_count} problems in all; the first {len(self.problems)}:")
                lines += [f"  - {p}" for p in sorted(self.problems, key=lambda p: (p.seq is None, p.seq or 0))]
        return "\n".join(lines)


def _personal_rows(start: int, end: int) -> Iterator[tuple[int, str, str | None, datetime | None]]:
    rows = (
        AuditPersonalData.objects.filter(event_id__gte=start, event_id__lte=end)
        .order_by("event_id")
        .values_list("event_id", "salt", "data_json", "redacted_at")
    )
    yield from rows.iterator(chunk_size=CHUNK)


def _check_exports(report: VerifyReport, key: Ed25519PublicKey, start: int, end: int) -> dict[int, tuple[str, str]]:
    """Check every exported checkpoint's signature and the database head against the newest one."""
    exported = checkpoints.exported_checkpoints(key=key)
    report.exported_checkpoints = len(exported)
    expected: dict[int, tuple[str, str]] = {}
    for cp in exported:
        if not cp.signature_ok:
            report.add(cp.seq or None, f"exported checkpoint {cp.source}: {cp.problem}")
            continue
        if start <= cp.seq <= end:
            expected[cp.seq] = (cp.head_hash, f"exported checkpoint {cp.source}")
    valid = [cp for cp in exported if cp.signature_ok]
    if not valid:
        return expected
    newest = report.newest_exported = valid[-1]
    if newest.seq > report.head_seq:
        report.add(
            newest.seq,
            f"the database head is seq {report.head_seq} but {newest.source} seals seq {newest.seq}: "
            "events were deleted or the database was rolled back to an older copy",
        )
    elif not (start <= newest.seq <= end):
        stored = AuditEvent.objects.filter(seq=newest.seq).values_list("hash", flat=True).first()
        if stored != newest.head_hash:
            report.add(newest.seq, f"hash differs from the one sealed by {newest.source}: the log was rewritten")
    return expected


def verify_log(
    *, from_seq: int | None = None, to_seq: int | None = None, key: Ed25519PublicKey | None = None
) -> VerifyReport:
    """Check the log (or seq from_seq..to_seq) and return what was found; never raises on tampering."""
    report = VerifyReport(started_at=timezone.now())
    clock = time.monotonic()
    key = key or checkpoints.public_key()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for the whole run, and a cursor that streams
            # (not one WITH HOLD, which PostgreSQL materialises in full).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for problem in guards.guard_problems(connection):
            report.add(None, problem)
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        report.head_seq, report.head_hash = head if head else (0, GENESIS_HASH)
        start = max(from_seq or 1, 1)
        end = min(to_seq if to_seq is not None else report.head_seq, report.head_seq)
        expected = _check_exports(report, key, start, end)
        for cp in AuditCheckpoint.objects.filter(seq__gte=start, seq__lte=end).order_by("seq"):
            report.db_checkpoints += 1
            if not checkpoints.checkpoint_signature_ok(cp, key=key):
                report.add(
                    cp.seq, f"the signature of the checkpoint stored in the database does not verify (key {cp.key_id})"
                )
            elif cp.seq in expected and expected[cp.seq][0] != cp.head_hash:
                report.add(cp.seq, f"the checkpoint in the database differs from {expected[cp.seq][1]}")
            else:
                expected.setdefault(cp.seq, (cp.head_hash, "the checkpoint in the database"))
        if start <= end:
            _walk(report, start, end, expected)
    report.finished_at = timezone.now()
    report.seconds = time.monotonic() - clock
    return report


# Where _walk finds these in a row of values_list(*HASHED_COLUMNS, "hash").
_DIGEST = HASHED_COLUMNS.index("personal_digest")
_PREV = HASHED_COLUMNS.index("prev_hash")
_HASH = len(HASHED_COLUMNS)


def _walk(report: VerifyReport, start: int, end: int, expected: dict[int, tuple[str, str]]) -> None:
    if start == 1:
        prev = GENESIS_HASH
    else:
        prev_row = AuditEvent.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
        if prev_row is None:
            report.add(start - 1, "the event before the range is missing")
            prev = ""
        else:
            prev = prev_row
    rows = AuditEvent.objects.filter(seq__gte=start, seq__lte=end).order_by("seq").values_list(*HASHED_COLUMNS, "hash")
    # PostgreSQL checks the personal-data digests itself, in one pass beside
    # the stream; SQLite's are merged into the stream here.
    in_sql = connection.vendor == "postgresql"
    personal = iter(()) if in_sql else _personal_rows(start, end)
    pending = next(personal, None)
    want = start
    checked = present = erased = 0
    last_seq: int | None = None
    for row in rows.iterator(chunk_size=CHUNK):
        seq = row[0]
        digest, prev_hash, stored_hash = row[_DIGEST], row[_PREV], row[_HASH]
        gap = seq != want
        if gap:
            report.add(want, f"events {want}..{seq - 1} are missing")
        self_consistent = row_hash(*row[:_HASH]) == stored_hash
        if not self_consistent:
            report.add(seq, "its contents no longer match its hash: the row was changed")
        elif prev_hash != prev and last_seq is not None and not gap:
            report.add(
                last_seq,
                f"its hash differs from the one event {seq} recorded as prev_hash: "
                "the row was rewritten with a new hash",
            )
        elif prev_hash != prev and not gap:
            report.add(seq, "its prev_hash does not match the event before it")
        if seq in expected and expected[seq][0] != stored_hash:
            report.add(seq, f"hash differs from the one sealed by {expected[seq][1]}: the log was rewritten up to here")
        while pending is not None and pending[0] < seq:
            report.add(pending[0], "personal data is kept for an event that does not exist")
            pending = next(personal, None)
        if pending is not None and pending[0] == seq:
            _, salt, data_json, redacted_at = pending
            pending = next(personal, None)
            if not digest:
                report.add(seq, "personal data is kept for an event that committed to none")
            elif redacted_at is not None:
                erased += 1
            elif not _personal_matches(salt, data_json, digest):
                report.add(seq, "its personal data does not match the digest the chain committed to")
            else:
                present += 1
        elif digest and not in_sql:
            report.add(seq, "its personal data row is missing")
        prev = stored_hash
        want = seq + 1
        last_seq = seq
        checked += 1
    while pending is not None:
        report.add(pending[0], "personal data is kept for an event that does not exist")
        pending = next(personal, None)
    if last_seq is None or last_seq < end:
        report.add(want, f"events {want}..{end} are missing")
    report.first_seq, report.last_seq = start, last_seq
    report.events_checked = checked
    report.personal_present, report.personal_erased = present, erased
    if in_sql:
        _check_personal_in_sql(report, start, end)


def _personal_matches(salt: str, data_json: str | None, digest: str) -> bool:
    try:
        return data_json is not None and personal_digest(salt_hex=salt, data_json=data_json) == digest
    except ValueError:  # a salt that is not hex
        return False


_PERSONAL_STATES = {
    "missing": "its personal data row is missing",
    "orphan": "personal data is kept for an event that committed to none, or does not exist",
    "mismatch": "its personal data does not match the digest the chain committed to",
}

_PERSONAL_SQL = """
SELECT state, count(*), (array_agg(seq ORDER BY seq))[1:%s]
FROM (
  SELECT COALESCE(e.seq, p.seq) AS seq,
    CASE
      WHEN e.seq IS NULL THEN 'orphan'
      WHEN p.seq IS NULL THEN 'missing'
      WHEN p.redacted_at IS NOT NULL THEN 'erased'
      WHEN p.data_json IS NULL OR p.salt !~ '^([0-9a-f]{2})+$' THEN 'mismatch'
      WHEN encode(sha256(decode(p.salt, 'hex') || convert_to(p.data_json, 'UTF8')), 'hex') <> e.personal_digest
        THEN 'mismatch'
      ELSE 'present'
    END AS state
  FROM (SELECT seq, personal_digest FROM audit_auditevent
        WHERE seq BETWEEN %s AND %s AND personal_digest <> '') e
  FULL JOIN (SELECT seq, salt, data_json, redacted_at FROM audit_auditpersonaldata
             WHERE seq BETWEEN %s AND %s) p ON p.seq = e.seq
) checked
GROUP BY state
"""


def _check_personal_in_sql(report: VerifyReport, start: int, end: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_PERSONAL_SQL, [MAX_LISTED, start, end, start, end])
        for state, count, seqs in cursor.fetchall():
            if state == "present":
                report.personal_present = count
            elif state == "erased":
                report.personal_erased = count
            else:
                for seq in seqs:
                    report.add(seq, _PERSONAL_STATES[state])
                report.problem_count += count - len(seqs)


def verification_record(*, report: VerifyReport, source: str) -> AuditVerification:
    first = report.first_problem
    newest = report.newest_exported
    return AuditVerification.objects.create(
        started_at=report.started_at,
        finished_at=report.finished_at or timezone.now(),
        ok=report.ok,
        source=source,
        events_checked=report.events_checked,
        first_seq=report.first_seq,
        last_seq=report.last_seq,
        first_bad_seq=first.seq if first else None,
        problem=str(first) if first else "",
        checkpoint_seq=newest.seq if newest else None,
        summary=report.summary(),
    )


def verify_and_record(*, source: str) -> AuditVerification:
    return verification_record(report=verify_log(), source=source)


__all__ = ["Problem", "VerifyReport", "utc_text", "verification_record", "verify_and_record", "verify_log"]
