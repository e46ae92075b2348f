"""Task sends: one path (dr_portal.queue), one naming scheme, and a dead broker never holds a request."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings

from dr_portal.celery import app
from dr_portal.queue import send_now
from inventory.models import Backup
from tests.factories import AssetFactory

ROOT = Path(__file__).resolve().parent.parent
APP_CODE = [p for d in ("dr_portal", "incidents", "inventory") for p in (ROOT / d).rglob("*.py")]


def test_every_task_name_is_app_dot_action_and_every_beat_entry_names_a_task() -> None:
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    # The prefix is the label of one of our own apps (dr_portal.*, inventory.*, incidents.*).
    labels = {
        c.label
        for c in django_apps.get_app_configs()
        if c.name.split(".")[0] in {"dr_portal", "inventory", "incidents"}
    }
    assert ours and all(name.split(".")[0] in labels and re.fullmatch(r"[a-z_]+\.[a-z_]+", name) for name in ours), (
        sorted(ours)
    )
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in ours


def test_every_beat_entry_is_named_app_dot_action_even_the_per_tier_ones() -> None:
    # Entries added by settings (a reconciler pass per tier) exist only when the variable is set:
    # build the schedule in a fresh interpreter with them switched on.
    code = "import json; from dr_portal.settings import schedule as s; print(json.dumps(s.CELERY_BEAT_SCHEDULE))"
    env = {**os.environ, "DEBUG": "true", "RUN_RECONCILE_SECONDS": "30", "RUN_RECONCILE_SECONDS_BY_TIER": "0=5,1=10"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    schedule = json.loads(out.stdout)
    assert len(schedule) == len(settings.CELERY_BEAT_SCHEDULE) + 2
    for name, entry in schedule.items():
        # The task's own name, or the task's name with a qualifier on its action: `runs.reconcile_tier0`.
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+(_[a-z0-9]+)?", name), name
        assert name == entry["task"] or name.startswith(entry["task"] + "_"), (name, entry["task"])


def test_tasks_are_sent_only_through_the_queue_module() -> None:
    offenders = []
    for path in APP_CODE:
        if path.name == "queue.py" and path.parent.name == "dr_portal":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {
                "delay",
                "delay_on_commit",
                "apply_async",
                "send_task",
            }:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == []


@pytest.mark.parametrize("broker", ["frozen_broker", "closed_broker"])
def test_a_send_gives_up_within_about_a_second_when_the_broker_does_not_answer(
    broker: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    from inventory.tasks import backup_run

    request.getfixturevalue(broker)
    started = time.monotonic()
    assert send_now(backup_run, args=(1,)) is False
    assert time.monotonic() - started < 1.8
    assert any("could not send inventory.backup_run(1,)" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_request_that_enqueues_answers_and_commits_while_the_broker_is_frozen(
    request: pytest.FixtureRequest, oncall, client_for, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(oncall)
    first, second = AssetFactory.create(), AssetFactory.create()
    started = time.monotonic()  # the same request with the test broker answering: this machine's pace
    assert client.post(f"/api/v1/inventory/assets/{first.public_id}/backup/").status_code == 202
    baseline = time.monotonic() - started

    request.getfixturevalue("frozen_broker")
    started = time.monotonic()
    response = client.post(f"/api/v1/inventory/assets/{second.public_id}/backup/")
    elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert elapsed < baseline + 2.0, f"the request took {elapsed:.1f} s, {baseline:.1f} s without the broker's wait"
    backup = Backup.objects.get(public_id=response.json()["id"])  # committed: the reconciler will find it
    assert backup.status == "queued" and backup.celery_task_id
    assert any("could not send inventory.backup_run" in r.getMessage() for r in caplog.records)
