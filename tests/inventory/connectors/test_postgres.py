"""postgres connector against the real server on loopback; scratch databases are named dr_conn_*."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory.connectors import (
    AuthFailed,
    CaptureIncomplete,
    ConfigInvalid,
    ConnectorRefused,
    TargetNotEmpty,
    Unreachable,
    get_connector,
)
from tests.inventory.conftest import free_port
from tests.inventory.connectors.conftest import Engine

pytestmark = pytest.mark.servers
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True, scope="module")
def _postgres_running() -> None:
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (CI and the dev machines run one)")


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def names() -> Iterator[list[str]]:
    """Database names handed out to a test; every one is dropped at the end."""
    made: list[str] = []
    yield made
    for name in made:
        for suffix in ("", "__drp_new", "__drp_old"):
            _admin(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)')


def _name(names: list[str]) -> str:
    name = f"dr_conn_{uuid.uuid4().hex[:10]}"
    names.append(name)
    return name


@pytest.fixture
def source_db(names: list[str]) -> str:
    name = _name(names)
    _admin(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        conn.execute("CREATE TABLE features (id int PRIMARY KEY, customer text, score float8, tags jsonb)")
        conn.execute("CREATE SCHEMA ledger")
        conn.execute("CREATE TABLE ledger.entry (id bigserial PRIMARY KEY, amount numeric(12,2), at timestamptz)")
        conn.execute(
            "INSERT INTO features SELECT g, 'c' || g, g / 7.0, jsonb_build_object('k', g % 5) "
            "FROM generate_series(1, 5000) g"
        )
        conn.execute("INSERT INTO ledger.entry (amount, at) SELECT g * 1.25, now() FROM generate_series(1, 20) g")
    return name


def _cfg(name: str, **extra: Any) -> dict[str, Any]:
    return {"dbname": name, "host": "127.0.0.1", "port": 5432, "user": "postgres", **extra}


def test_postgres_dump_restore_verify_cleanup(engine: Engine, source_db: str, names: list[str]) -> None:
    conn = get_connector("postgres", _cfg(source_db))
    capture, manifest = engine.backup(conn)
    tables = capture.details["tables"]
    assert tables["public.features"]["rows"] == 5000 and tables["ledger.entry"]["rows"] == 20
    assert 0 < tables["public.features"]["sampled"] < 5000
    target = _cfg(_name(names))
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    report = conn.verify(capture=capture, target=target)
    assert report.ok, report.summary()

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{target['dbname']}") as db:
        db.execute("DELETE FROM ledger.entry WHERE id = 7")
    assert {c.name for c in conn.verify(capture=capture, target=target).failures} == {
        "ledger.entry rows",
        "ledger.entry sampled-row checksum",
    }
    conn.cleanup(target=target)
    with psycopg.connect(ADMIN) as db:
        left = db.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (target["dbname"] + "%",))
        assert left.fetchall() == []


def test_writes_during_the_dump_do_not_tear_the_snapshot(engine: Engine, source_db: str, names: list[str]) -> None:
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{source_db}", autocommit=True) as db:
            n = 100_000
            while not stop.is_set():
                with db.transaction():
                    db.execute("INSERT INTO features VALUES (%s, 'w', 0, '{}')", (n,))
                    db.execute("INSERT INTO ledger.entry (amount, at) VALUES (1, now())")
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        conn = get_connector("postgres", _cfg(source_db))
        capture, manifest = engine.backup(conn)
    finally:
        stop.set()
        thread.join()
    tables = capture.details["tables"]
    assert tables["public.features"]["rows"] - 5000 == tables["ledger.entry"]["rows"] - 20
    target = _cfg(_name(names))
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok  # the dump and the facts share one snapshot


def test_non_empty_target_refused_and_replace_keeps_old_until_verified(
    engine: Engine, source_db: str, names: list[str]
) -> None:
    conn = get_connector("postgres", _cfg(source_db))
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    occupied = _name(names)
    _admin(f'CREATE DATABASE "{occupied}"')
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{occupied}") as db:
        db.execute("CREATE TABLE precious (x int)")
    with pytest.raises(TargetNotEmpty, match="already holds tables"):
        conn.restore(restored=restored, capture=capture, target=_cfg(occupied))
    with pytest.raises(ConnectorRefused, match="source database itself"):
        conn.restore(restored=restored, capture=capture, target=_cfg(source_db))
    with pytest.raises(ConnectorRefused, match="will not drop the source"):
        conn.cleanup(target=_cfg(source_db))

    bad = capture.details["tables"]["public.features"]
    bad["rows"] += 1  # a capture the dump cannot satisfy: the new copy fails its verification
    with pytest.raises(Exception, match="does not match the capture"):
        conn.restore(restored=restored, capture=capture, target=_cfg(occupied), replace=True)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{occupied}") as db:
        assert db.execute("SELECT count(*) FROM precious").fetchone() == (0,)  # old content untouched
    bad["rows"] -= 1
    conn.restore(restored=restored, capture=capture, target=_cfg(occupied), replace=True)
    assert conn.verify(capture=capture, target=_cfg(occupied)).ok


def test_unreachable_server_wrong_role_and_missing_database(tmp_path: Path, source_db: str) -> None:
    with pytest.raises(Unreachable, match="cannot be reached"):
        get_connector("postgres", {"dbname": source_db, "port": free_port(), "connect_timeout": 2}).snapshot(tmp_path)
    with pytest.raises(AuthFailed, match="refused the credentials of nobody_here"):
        get_connector("postgres", _cfg(source_db, user="nobody_here")).snapshot(tmp_path)
    with pytest.raises(Unreachable, match="dr_conn_absent does not exist"):
        get_connector("postgres", _cfg("dr_conn_absent")).snapshot(tmp_path)


def test_discovery_lists_tables_and_a_chosen_table_is_dumped_alone(
    engine: Engine, source_db: str, names: list[str]
) -> None:
    conn = get_connector("postgres", _cfg(source_db))
    proposals = {p.labels["table"]: p for p in conn.discover().proposals}
    assert set(proposals) == {"public.features", "ledger.entry"}
    assert proposals["ledger.entry"].labels["rows"] == "20"
    assert proposals["ledger.entry"].name == f"{source_db.replace('_', '-')}-ledger-entry"

    ledger = get_connector("postgres", proposals["ledger.entry"].config)
    capture, manifest = engine.backup(ledger)
    assert list(capture.details["tables"]) == ["ledger.entry"]
    target = _cfg(_name(names), tables=["ledger.entry"])
    ledger.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert ledger.verify(capture=capture, target=target).ok
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{target['dbname']}") as db:
        restored = db.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname <> 'pg_catalog'"
            " AND schemaname <> 'information_schema'"
        ).fetchall()
    assert restored == [("ledger.entry",)]
    ledger.cleanup(target=target)

    with pytest.raises(CaptureIncomplete, match=r"has no table public\.nope"):
        get_connector("postgres", _cfg(source_db, tables=["public.nope"])).snapshot(engine.tmp)
    with pytest.raises(ConfigInvalid, match=r"schema\.table"):
        get_connector("postgres", _cfg(source_db, tables=["features"]))
