"""Eight OS processes appending at once still leave one gapless, valid chain."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.verify import verify_log

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 8
PER_WRITER = 40

# Each writer: appends one at a time, sometimes several at once, and now and
# then rolls a change back, so the lock is taken and released in every way.
WRITER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
django.setup()
from django.db import transaction
from dr_portal.audit.services import EventSpec, audit_append, audit_append_many

writer, count = int(sys.argv[1]), int(sys.argv[2])
# Django is up: say so, then wait for the word to start, so every writer
# begins at once however long each took to boot.
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("no start signal")
done = 0
n = 0
while done < count:
    n += 1
    if n % 7 == 0:
        try:
            with transaction.atomic():
                audit_append(action="writer.rolled_back", system_actor=f"system:w{writer}", payload={"n": n})
                raise RuntimeError
        except RuntimeError:
            pass
    elif n % 5 == 0 and count - done >= 3:
        audit_append_many(events=[
            EventSpec(action="writer.bulk", system_actor=f"system:w{writer}", payload={"n": n, "k": k})
            for k in range(3)
        ])
        done += 3
    else:
        audit_append(action="writer.appended", system_actor=f"system:w{writer}", payload={"n": n})
        done += 1
"""


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db.get('USER') or '')}{password}@{db.get('HOST') or ''}{port}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_eight_processes_appending_at_once_leave_a_valid_chain() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update({"DEBUG": "true", "DATABASE_URL": database_url(), "VAR_DIR": str(settings.VAR_DIR)})
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(PER_WRITER)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    for process in writers:  # blocks until each has booted (or died, which ends its stdout)
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            _, err = process.communicate(timeout=60)
            pytest.fail(f"a writer died while starting: {err[-2000:]}")
    for process in writers:  # every writer is waiting on its stdin now: release them together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in writers:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-2000:]

    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * PER_WRITER + 1))
    assert not AuditEvent.objects.filter(action="writer.rolled_back").exists()
    report = verify_log()
    assert report.ok, report.summary()
    # The writers really overlapped: the log does not hold them one after
    # another. (Loose on purpose: a loaded machine may start one late.)
    actors = list(AuditEvent.objects.order_by("seq").values_list("system_actor", flat=True))
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches > WRITERS - 1
