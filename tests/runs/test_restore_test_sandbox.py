"""A restore test's "the sandbox must be empty" check looks where a connector target really lives.

A connector step's target_path is a label for people ("SQLite /…/database.sqlite3"), not a path:
checking it as one found nothing, so a sandbox already holding a database was not refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from incidents.restoretests.models import RestoreTest, RestoreTestState
from incidents.restoretests.services import restore_tests_tick
from incidents.runs import resolve, targets
from inventory.connectors.sqlite import FILE_NAME
from inventory.verification.models import RestoreEvidence
from tests.runs.conftest import drive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_at_a_time(settings) -> None:
    settings.RESTORE_TEST_CONCURRENCY = 1
    settings.RESTORE_TEST_POINT = "newest"


def _database(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE flag (name TEXT PRIMARY KEY, enabled INTEGER)")
        db.executemany("INSERT INTO flag VALUES (?, ?)", [(f"f{i}", i % 2) for i in range(50)])
    return path


def test_a_connector_sandbox_holding_a_database_is_refused(make_asset, monkeypatch, tmp_path, settings) -> None:
    source = _database(tmp_path / "live" / "flags.sqlite3")
    asset = make_asset("flags-db", connector="sqlite", connector_config={"path": str(source)})
    occupied = settings.VAR_DIR / "drills" / "occupied"  # drill targets are only ever made under the drills folder
    leftover = _database(occupied / asset.name / FILE_NAME)
    monkeypatch.setattr(targets, "drill_root", lambda run: occupied)
    monkeypatch.setattr(resolve, "drill_root", lambda run: occupied)  # where connector targets are made up

    outcome = restore_tests_tick()

    assert "flags-db: refused (The sandbox" in outcome and str(leftover) in outcome
    test = RestoreTest.objects.get(asset=asset)
    assert test.state == RestoreTestState.REFUSED and test.run is None
    assert not RestoreEvidence.objects.filter(asset=asset).exists()
    with sqlite3.connect(leftover) as db:
        assert db.execute("SELECT count(*) FROM flag").fetchone() == (50,)


def test_an_empty_connector_sandbox_is_restore_tested(make_asset, tmp_path) -> None:
    source = _database(tmp_path / "live" / "flags.sqlite3")
    asset = make_asset("flags-db", connector="sqlite", connector_config={"path": str(source)})
    assert restore_tests_tick() == "started a restore test of flags-db"
    test = RestoreTest.objects.get(asset=asset)
    assert test.run is not None
    drive(test.run)
    restore_tests_tick()
    test.refresh_from_db()
    assert test.state == RestoreTestState.PASSED, test.detail
