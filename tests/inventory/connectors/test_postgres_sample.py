"""postgres connector: how rows are sampled for the checksum, recorded per table, and older captures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from inventory.connectors import get_connector
from inventory.connectors.postgres import HASH_SAMPLE, MD5_SAMPLE, table_facts
from tests.inventory.connectors.conftest import Engine

pytestmark = pytest.mark.servers
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def dbs() -> Iterator[tuple[str, str]]:
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (CI and the dev machines run one)")
    source, target = (f"dr_conn_{uuid.uuid4().hex[:10]}" for _ in range(2))
    _admin(f'CREATE DATABASE "{source}"')
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{source}") as conn:
        conn.execute("CREATE TABLE features (id int PRIMARY KEY, customer text, score numeric, tags jsonb)")
        conn.execute(
            "INSERT INTO features SELECT g, 'c' || g, g / 7.0, jsonb_build_object('k', g % 5)"
            " FROM generate_series(1, 6000) g"
        )
        # json and point have no hash function: this table is sampled by the md5 of its rows' text.
        conn.execute("CREATE TABLE shapes (id int, body json, at point)")
        conn.execute(
            "INSERT INTO shapes SELECT g, json_build_object('g', g), point(g, g) FROM generate_series(1, 3000) g"
        )
    yield source, target
    for name in (source, target, f"{target}__drp_new"):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cfg(name: str) -> dict[str, object]:
    return {"dbname": name, "host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _sampled_ids(dbname: str, table: str, column: str = "id") -> set[int]:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{dbname}") as conn:
        rows = conn.execute(f"SELECT {column} FROM {table} AS t WHERE hash_record_extended(t, 0) & 15 = 0")  # noqa: S608
        return {row[0] for row in rows}


def test_rows_are_sampled_by_their_hash_without_text_and_unhashable_tables_by_md5(
    engine: Engine, dbs: tuple[str, str]
) -> None:
    source, target = dbs
    conn = get_connector("postgres", _cfg(source))
    capture, manifest = engine.backup(conn)
    tables = capture.details["tables"]
    assert tables["public.features"]["sample"] == HASH_SAMPLE
    sampled = _sampled_ids(source, "features")
    assert tables["public.features"]["sampled"] == len(sampled) and 200 < len(sampled) < 600
    assert tables["public.shapes"]["sample"] == MD5_SAMPLE and 0 < tables["public.shapes"]["sampled"] < 3000

    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=_cfg(target))
    assert conn.verify(capture=capture, target=_cfg(target)).ok

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{target}") as db:
        # A changed value in a sampled row moves the row into or out of the sample, or changes its md5.
        db.execute("UPDATE features SET customer = 'changed' WHERE id = %s", (min(sampled),))
    failures = {c.name for c in conn.verify(capture=capture, target=_cfg(target)).failures}
    assert failures == {"public.features sampled-row checksum"}


def test_a_capture_sampled_by_md5_before_the_hash_still_verifies(engine: Engine, dbs: tuple[str, str]) -> None:
    source, target = dbs
    conn = get_connector("postgres", _cfg(source))
    capture, manifest = engine.backup(conn)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{source}") as db:
        old = table_facts(db, methods={"public.features": MD5_SAMPLE, "public.shapes": MD5_SAMPLE})
    for facts in old.values():
        del facts["sample"]  # what a capture taken before hrx16 recorded
    assert old["public.features"]["checksum"] != capture.details["tables"]["public.features"]["checksum"]
    capture.details["tables"] = old
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=_cfg(target))
    assert conn.verify(capture=capture, target=_cfg(target)).ok
