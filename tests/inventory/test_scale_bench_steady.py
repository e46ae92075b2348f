"""The scale bench (#12) times periodic tasks in their steady state: its history ends when the fill does, and
each task is run until it reports nothing to do before it is timed."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.db.models import F

from bench.scale.common import Results, Sizes
from bench.scale.estate import fill
from bench.scale.inprocess import time_tasks
from inventory import services
from inventory.models import Asset, Backup

pytestmark = pytest.mark.django_db

TINY = Sizes(assets=8, history=3, incidents=2, events=40, timeline=5, worker_assets=0, requests=1)


def test_the_history_is_written_last_so_it_ends_with_the_fill() -> None:
    results = Results(sizes=TINY)
    fill(TINY, results)
    steps = list(results.fill)
    assert steps.index("history (bulk_create)") > steps.index("audit events (audit_append_many)")
    assert steps.index("history (bulk_create)") > steps.index("incidents (incident_declare)")
    assert steps[-1] == "readiness sweep (every asset)"


def test_tasks_are_timed_once_nothing_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    results = Results(sizes=TINY)
    fill(TINY, results)
    # Two days pass: every asset is due; the scheduler queues three a run, as it queues 2,000 at full size.
    Backup.objects.update(created_at=F("created_at") - timedelta(days=2))
    real = services.backups_enqueue_due
    monkeypatch.setattr(services, "backups_enqueue_due", functools.partial(real, limit=3))
    time_tasks(results)
    assert set(results.tasks) >= {"inventory.backups_schedule", "inventory.readiness_sweep"}
    assert real(limit=100) == []  # nothing left due: the timed run was the steady state
    assert not Asset.objects.filter(next_backup_at__isnull=True).exists()
    assert any(note.startswith("inventory.backups_schedule: 8 items") for note in results.notes), results.notes
