"""sqlite connector: online backup of a live database, restore, verify, refusals."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from inventory.connectors import CaptureIncomplete, RestoreFailed, TargetNotEmpty, Unreachable, get_connector
from tests.inventory.connectors.conftest import Engine


@pytest.fixture
def live_db(tmp_path: Path) -> Path:
    path = tmp_path / "features.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
    conn.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, customer INTEGER, kind TEXT)")
    conn.executemany("INSERT INTO customer VALUES (?, ?, ?)", [(i, f"c{i}", i / 7) for i in range(3000)])
    conn.executemany("INSERT INTO event VALUES (?, ?, ?)", [(i, i % 50, "login") for i in range(40)])
    conn.commit()
    conn.close()
    return path


def test_sqlite_round_trip_verifies_counts_and_sampled_rows(engine: Engine, live_db: Path, tmp_path: Path) -> None:
    conn = get_connector("sqlite", {"path": str(live_db)})
    capture, manifest = engine.backup(conn)
    tables = capture.details["tables"]
    assert tables["customer"]["rows"] == 3000 and tables["event"]["rows"] == 40
    assert 0 < tables["customer"]["sampled"] < 3000  # a hash-chosen sample of the big table
    assert tables["event"]["sampled"] == 40  # every row of a small one
    target = {"path": str(tmp_path / "drill.sqlite3")}
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    report = conn.verify(capture=capture, target=target)
    assert report.ok, report.summary()

    with sqlite3.connect(tmp_path / "drill.sqlite3") as db:
        db.execute("UPDATE event SET kind='logout' WHERE id=3")
    report = conn.verify(capture=capture, target=target)
    assert [c.name for c in report.failures] == ["event sampled-row checksum"]
    conn.cleanup(target=target)
    assert not (tmp_path / "drill.sqlite3").exists()


def test_snapshot_of_a_database_being_written_is_one_committed_state(engine: Engine, live_db: Path) -> None:
    stop = threading.Event()

    def writer() -> None:
        db = sqlite3.connect(live_db, timeout=10)
        n = 10_000
        while not stop.is_set():
            # Two tables changed in one transaction: a torn copy would show one without the other.
            with db:
                db.execute("INSERT INTO customer VALUES (?, 'new', 0)", (n,))
                db.execute("INSERT INTO event VALUES (?, 0, 'signup')", (n,))
            n += 1
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        captures = [engine.backup(get_connector("sqlite", {"path": str(live_db)}))[0] for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    for capture in captures:
        tables = capture.details["tables"]
        assert tables["customer"]["rows"] - 3000 == tables["event"]["rows"] - 40


def test_sqlite_refuses_non_empty_target_and_keeps_it_until_replace(
    engine: Engine, live_db: Path, tmp_path: Path
) -> None:
    conn = get_connector("sqlite", {"path": str(live_db)})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    occupied = tmp_path / "occupied.sqlite3"
    with sqlite3.connect(occupied) as db:
        db.execute("CREATE TABLE old (x)")
    with pytest.raises(TargetNotEmpty, match="already holds tables"):
        conn.restore(restored=restored, capture=capture, target={"path": str(occupied)})
    (restored / "database.sqlite3").write_bytes(b"")  # a damaged point must not replace good data
    with pytest.raises(RestoreFailed):
        conn.restore(restored=restored, capture=capture, target={"path": str(occupied)}, replace=True)
    with sqlite3.connect(occupied) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("old",)]


def test_sqlite_missing_or_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(Unreachable, match="does not exist"):
        get_connector("sqlite", {"path": str(tmp_path / "nope.sqlite3")}).snapshot(tmp_path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Unreachable, match="cannot be opened as a SQLite database"):
        get_connector("sqlite", {"path": str(junk)}).snapshot(tmp_path)


@pytest.mark.django_db
def test_a_sqlite_asset_backs_up_through_the_portal_with_its_capture(live_db: Path, tmp_path: Path, settings) -> None:
    import uuid

    from inventory import vault_io
    from inventory.engine import generate_key_file
    from tests.factories import AssetFactory, VaultFactory

    settings.VAULT_KEY_FILE = generate_key_file(tmp_path / "keys", key_id="test-key")
    settings.VAULT_KEY_ID = "test-key"
    vault = VaultFactory.create(name="local", config={"path": str(tmp_path / "vault")})
    asset = AssetFactory.create(
        name="feature-db", source_uri=str(live_db), connector="sqlite", connector_config={"path": str(live_db)}
    )
    result = vault_io.take_backup(
        asset=asset, vault=vault, point_id=uuid.uuid4(), worm_days=0, progress=lambda d, t: True
    )
    capture = result.manifest["extra"]["capture"]
    assert capture["kind"] == "sqlite" and capture["details"]["tables"]["customer"]["rows"] == 3000
    assert result.file_count == 1  # the online-backup copy, not the live file and its journal
    assert result.data_as_of.isoformat() == capture["data_as_of"]

    asset.connector_config = {"path": str(tmp_path / "gone.sqlite3")}
    with pytest.raises(vault_io.VaultIOFailure, match="does not exist") as caught:
        vault_io.take_backup(asset=asset, vault=vault, point_id=uuid.uuid4(), worm_days=0, progress=lambda d, t: True)
    assert caught.value.code == "connector_unreachable"


def test_discovery_lists_tables_and_a_chosen_table_is_captured_alone(
    engine: Engine, live_db: Path, tmp_path: Path
) -> None:
    conn = get_connector("sqlite", {"path": str(live_db)})
    proposals = {p.labels["table"]: p for p in conn.discover().proposals}
    assert set(proposals) == set(sqlite_table_names(live_db))
    chosen = sorted(proposals)[0]
    assert proposals[chosen].config["tables"] == [chosen]

    one = get_connector("sqlite", proposals[chosen].config)
    capture, manifest = engine.backup(one)
    assert list(capture.details["tables"]) == [chosen]
    target = {"path": str(tmp_path / "one.sqlite3")}
    one.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert sqlite_table_names(Path(target["path"])) == [chosen]
    assert one.verify(capture=capture, target=target).ok
    assert len(sqlite_table_names(live_db)) > 1, "the source keeps every table"

    with pytest.raises(CaptureIncomplete, match="has no table nope"):
        get_connector("sqlite", {"path": str(live_db), "tables": ["nope"]}).snapshot(tmp_path)


def sqlite_table_names(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def test_big_tables_sample_by_rowid_and_a_changed_sampled_row_is_caught(
    engine: Engine, tmp_path: Path, live_db: Path
) -> None:
    with sqlite3.connect(live_db) as db:
        db.execute("CREATE TABLE tag (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
        db.executemany("INSERT INTO tag VALUES (?, ?)", [(f"k{i}", "v") for i in range(2000)])
    conn = get_connector("sqlite", {"path": str(live_db)})
    capture, manifest = engine.backup(conn)
    tables = capture.details["tables"]
    stride = int(tables["customer"]["sample"].removeprefix("rowid%"))
    assert stride >= 2 and tables["customer"]["sampled"] == len(range(0, 3000, stride))
    assert tables["event"]["sample"] == "rowid%1" and tables["event"]["sampled"] == 40
    assert tables["tag"]["sample"] == "hash0" and 0 < tables["tag"]["sampled"] < 2000  # no rowid: hashed
    target = {"path": str(tmp_path / "drill.sqlite3")}
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok
    with sqlite3.connect(target["path"]) as db:
        db.execute("UPDATE customer SET score = -1 WHERE id = ?", (stride * 3,))  # a sampled row
    assert [c.name for c in conn.verify(capture=capture, target=target).failures] == ["customer sampled-row checksum"]


def test_a_capture_taken_before_rowid_sampling_still_verifies(engine: Engine, live_db: Path, tmp_path: Path) -> None:
    from inventory.connectors.sqlite import table_facts

    conn = get_connector("sqlite", {"path": str(live_db)})
    capture, manifest = engine.backup(conn)
    with sqlite3.connect(live_db) as db:
        old = table_facts(db, {"customer": "hash0", "event": "hash0"})
    for facts in old.values():
        del facts["sample"]  # what an older capture recorded
    capture.details["tables"] = old
    target = {"path": str(tmp_path / "drill.sqlite3")}
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok
