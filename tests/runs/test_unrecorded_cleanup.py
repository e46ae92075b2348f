"""A drill restore step made before restores kept a ledger: its clean-up removes nothing it has no
record of, and the run page and the audit log say so, naming the target to check by hand (a real
SQLite database restored through its connector)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import StepRun
from incidents.runs.services import run_cleanup_execute
from incidents.runs.services.connector_steps import staging_dir
from inventory import connector_io, vault_io
from tests.factories import RecoveryRunFactory, StepRunFactory
from tests.runs.conftest import drive, make_plan, start_run
from tests.runs.test_connector_runs import _restore_and_verify, connector_asset, flags

pytestmark = pytest.mark.django_db
__all__ = ["connector_asset", "flags"]

NO_RECORD = "No record of what this restore created:"


def _restore_without_a_ledger(step: StepRun) -> None:
    """What a restore did before the ledger: the point loaded into the target, nothing written down."""
    assert step.asset is not None and step.point is not None
    staging = staging_dir(step.run, step.key)
    vault_io.restore_point(
        vault=step.point.vault, manifest=step.point.manifest, target_dir=staging, progress=lambda done, total: True
    )
    connector_io.restore(asset=step.asset, point=step.point, restored=staging, target=step.target_config, replace=False)
    shutil.rmtree(staging)


def test_a_step_restored_before_the_ledger_keeps_its_target_and_says_what_to_check(
    flags: Any, commander: Any, admin: Any, client_for: Any
) -> None:
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    step = run.steps.select_related("run", "asset", "point__vault").get(key="restore")
    target, point = Path(step.target_config["path"]), step.point
    assert point is not None and not target.exists()  # this drill's own clean-up, from its ledger

    # The same step as a run from before the ledger left it: restored, no record, not yet cleaned.
    _restore_without_a_ledger(step)
    StepRun.objects.filter(pk=step.pk).update(ledger=[], ledger_complete=False)
    type(run).objects.filter(pk=run.pk).update(cleaned_at=None)
    run_cleanup_execute(run_id=run.pk)

    with sqlite3.connect(target) as db:  # nothing without a record was removed
        assert db.execute("SELECT count(*) FROM flag").fetchone()[0] == 1500
    event = AuditEvent.objects.filter(action="run.cleaned_up", object_id=str(run.public_id)).latest("seq")
    label = f"SQLite {target}"
    assert event.payload["unrecorded"] == [{"asset": "flags-db", "step": "restore", "target": label}]
    assert event.payload["kept"][0] == (
        "flags-db: This restore ran before the portal kept a record of what restores create, "
        f"so clean-up removed nothing there. Check {label} by hand: remove what this drill restored "
        f"from point {point.public_id} (2 tables, 1,504 rows: flag (1,500 rows), route (4 rows)), "
        "and keep whatever was there before the drill."
    )

    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
    assert NO_RECORD in page and f"removed nothing there. Check {label} by hand" in page
    audit = client_for(admin, mfa=True).get("/audit/?action=run.cleaned_up").content.decode()
    assert "This restore ran before the portal kept a record" in audit and "&quot;unrecorded&quot;" in audit
    target.unlink()


def test_only_a_drill_step_that_ran_without_a_complete_record_says_so(client_for: Any, commander: Any) -> None:
    run = RecoveryRunFactory.create(status="failed", mode="drill", finished_at=timezone.now())  # not yet cleaned
    common = {"run": run, "kind": "restore", "target_config": {"path": "/drills/x.sqlite3"}}
    old = StepRunFactory.create(
        key="old", attempt=1, ledger=[], ledger_complete=False, target_path="SQLite x", **common
    )
    StepRunFactory.create(key="new", attempt=1, ledger=[], **common)  # kept a ledger, and made nothing
    StepRunFactory.create(key="unrun", attempt=0, ledger=[], ledger_complete=False, **common)  # never restored
    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
    assert page.count(NO_RECORD) == 1 and "clean-up will remove nothing there. Check SQLite x by hand" in page
    assert page.index(NO_RECORD) > page.index('id="step-old"')
    assert StepRun.objects.get(pk=old.pk).ledger_complete is False
    assert StepRun.objects.get(key="new").ledger_complete is True  # every step made now keeps a full record


@pytest.mark.django_db(transaction=True)
def test_the_migration_marks_complete_only_steps_whose_ledger_holds_entries() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    run = RecoveryRunFactory.create(status="failed", mode="drill", finished_at=timezone.now())
    entry = {"kind": "file", "name": "/drills/x.sqlite3", "state": "removed"}
    recorded = StepRunFactory.create(run=run, key="recorded", kind="restore", ledger=[entry])
    empty = StepRunFactory.create(run=run, key="empty", kind="restore", ledger=[])
    executor = MigrationExecutor(connection)
    executor.migrate([("runs", "0008_steprun_ledger")])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert StepRun.objects.get(pk=recorded.pk).ledger_complete is True  # ran under the ledger
    assert StepRun.objects.get(pk=empty.pk).ledger_complete is False  # cannot be told from a step before it
    assert StepRunFactory.create(run=run, key="after", kind="restore").ledger_complete is True
