"""A look's bounds on real systems: a LanceDB folder read past its deadline, and every non-empty
logical database of a real Redis read within one key budget (the shared Redis; a private
redis-server where a user must be refused INFO)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lancedb")

from inventory.connectors import Unreachable, get_connector, vector, vector_discover
from tests.inventory.connectors.discovery_systems import _table, fill_features, redis_config, redis_db
from tests.inventory.connectors.servers import redis_server
from tests.inventory.connectors.test_discover_systems import in_db

__all__ = ["redis_db"]

# A second logical db of the shared Redis, for the look across databases (emptied before and after).
OTHER_DB = int(os.environ.get("DISCOVERY_REDIS_OTHER_DB", "10"))


def _lance(uri: Path, tables: int) -> Path:
    import lancedb

    db = lancedb.connect(str(uri))
    for i in range(tables):
        db.create_table(f"t{i:02d}", data=_table(5, 4, meta={"embedding_model": "m"}))
    return uri


def _worker() -> threading.Thread | None:
    return next((t for t in threading.enumerate() if t.name == "drp-lancedb-look"), None)


def test_a_lancedb_look_past_its_deadline_shows_what_it_read_and_its_worker_adds_nothing_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _lance(tmp_path / "lance", 8)
    reached, release = threading.Event(), threading.Event()
    opened: list[str] = []
    real = vector_discover.propose_table

    def slow_fourth(db: Any, name: str, *args: Any) -> Any:
        opened.append(name)
        if name == "t03":  # this table takes longer to open than the look may wait
            reached.set()
            release.wait(30)
        return real(db, name, *args)

    monkeypatch.setattr(vector_discover, "propose_table", slow_fourth)
    started = time.monotonic()
    found = get_connector("vector", {"uri": str(uri), "model_name": ""}).discover()  # DISCOVER_TIMEOUT: 5 s
    waited = time.monotonic() - started
    assert reached.is_set() and 4.9 < waited < 20  # the look stopped waiting at its deadline, not at 30 s
    assert [p.labels["table"] for p in found.proposals] == ["t00", "t01", "t02"]
    assert found.bounded == (
        "Reading the tables took longer than 5 s, the most a look waits: showing the 3 of 8 tables read by then."
    )
    worker = _worker()
    assert worker is not None and worker.daemon  # abandoned; it cannot keep the process alive
    release.set()
    worker.join(30)
    assert not worker.is_alive()
    # It finished the table it was in, then stopped: nothing more was read, nothing added to the answer.
    assert opened == ["t00", "t01", "t02", "t03"]
    assert [p.labels["table"] for p in found.proposals] == ["t00", "t01", "t02"]


def test_a_lancedb_folder_whose_listing_outlasts_the_deadline_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _lance(tmp_path / "lance", 2)
    release = threading.Event()
    real = vector._names

    def slow_listing(db: Any) -> list[str]:
        release.wait(30)
        return real(db)

    monkeypatch.setattr(vector, "_names", slow_listing)
    monkeypatch.setattr(vector_discover, "DISCOVER_TIMEOUT", 0.5)
    with pytest.raises(Unreachable) as refused:
        get_connector("vector", {"uri": str(uri), "model_name": ""}).discover()
    assert str(refused.value) == (
        f"Listing the tables of the LanceDB directory {uri} took longer than 0.5 s, the most a look waits; "
        "nothing was proposed."
    )
    worker = _worker()
    release.set()
    if worker is not None:
        worker.join(30)
    # Within the deadline the same look answers in full, and a missing folder is still said as before.
    monkeypatch.setattr(vector_discover, "DISCOVER_TIMEOUT", 30.0)
    assert len(get_connector("vector", {"uri": str(uri), "model_name": ""}).discover().proposals) == 2
    with pytest.raises(Unreachable, match="does not exist"):
        get_connector("vector", {"uri": str(tmp_path / "gone"), "model_name": ""}).discover()


@pytest.fixture
def other_db(redis_db: Any) -> Iterator[Any]:
    """A second logical db of the same Redis, empty; emptied again afterwards."""
    import redis

    cfg = {**redis_config(), "db": OTHER_DB}
    assert redis_config()["db"] != OTHER_DB, "set DISCOVERY_REDIS_OTHER_DB to another db than DISCOVERY_REDIS_URL's"
    client = redis.Redis(**cfg, socket_connect_timeout=2)
    client.flushdb()
    yield client
    client.flushdb()


def _sessions(client: Any) -> None:
    """40 session hashes (15 expiring) and 5 cart lists."""
    pipe = client.pipeline(transaction=False)
    for i in range(40):
        pipe.hset(f"session:{i}", mapping={"user": i})
        if i < 15:
            pipe.expire(f"session:{i}", 3600)
    for i in range(5):
        pipe.rpush(f"cart:{i}", "a")
    pipe.execute()


@pytest.mark.servers
def test_a_redis_look_proposes_for_every_non_empty_db_each_naming_its_db(redis_db: Any, other_db: Any) -> None:
    fill_features(redis_db)
    _sessions(other_db)
    db, other = redis_config()["db"], OTHER_DB
    look = {**redis_config(), "drill_db": 15 if 15 not in (db, other) else 9}
    found = get_connector("redis", look).discover()
    mine, theirs = in_db(found, db)[0], in_db(found, other)[0]
    assert found.proposals[0].name == f"redis-db{db}"  # the db the form names first
    assert list(mine) == [f"redis-db{db}", f"redis-db{db}-churn", f"redis-db{db}-fraud"]
    assert list(theirs) == [f"redis-db{other}", f"redis-db{other}-cart", f"redis-db{other}-session"]
    whole, session = theirs[f"redis-db{other}"], theirs[f"redis-db{other}-session"]
    assert whole.title == f"Redis db {other}, every key" and whole.config["prefix"] == ""
    assert whole.labels == {"db": str(other), "keys": "45", "with_ttl": "15", "types": "hash 40, list 5"}
    assert session.title == f"Keys session:* in Redis db {other}"
    assert session.config == {**get_connector("redis", look).config_json(), "db": other, "prefix": "session:"}
    assert (session.labels["db"], session.labels["keys"], session.labels["with_ttl"]) == (str(other), "40", "15")
    assert len(found.proposals) <= 100

    # Each proposal, once added, captures its own db: the other db's keys are what a snapshot of it reads.
    assert get_connector("redis", session.config).config.db == other

    # One key budget for the whole look: the form's db spends it, the other db keeps its whole-db
    # proposal (INFO's counts) and the page says its prefixes were not read.
    looker: Any = get_connector("redis", look)
    spent = looker.discover(scan_limit=100)
    theirs = in_db(spent, other)[0]
    assert list(theirs) == [f"redis-db{other}"]
    assert theirs[f"redis-db{other}"].labels == {"db": str(other), "keys": "45", "with_ttl": "15"}
    unread = next(n for n in spent.notes if n.startswith("The key prefixes of "))
    assert re.search(rf"\b{other}\b", unread.split(" were not read")[0]), unread
    assert unread.endswith(
        "a look SCANs at most 100 keys in all, the form's db first and then the others smallest first."
    )

    # At most `limit` proposals: every db's whole first, then key prefixes.
    wholes = [p for p in found.proposals if p.config["prefix"] == ""]
    limited = get_connector("redis", look).discover(limit=len(wholes))
    assert limited.proposals == wholes and limited.bounded.startswith(f"Showing the first {len(wholes)} of ")

    # The form's drill db is where drills restore: never proposed as a source, and the page says why.
    drill = get_connector("redis", {**look, "drill_db": other}).discover()
    assert in_db(drill, other)[0] == {}
    assert f"db {other} is the drill database named in the form (drills restore into it): not proposed." in drill.notes


@pytest.mark.servers
def test_a_user_refused_info_sees_the_db_it_names_and_is_told_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    with redis_server(tmp_path, password="admin-pass") as port:  # its own server: ACL users are server-wide
        admin = redis.Redis(port=port, password="admin-pass")
        admin.execute_command("ACL", "SETUSER", "looker", "on", ">look-pass", "~*", "&*", "+@all", "-info")
        redis.Redis(port=port, db=2, password="admin-pass").set("feat:1", "x")
        redis.Redis(port=port, db=3, password="admin-pass").set("other:1", "y")
        monkeypatch.setenv("DRP_TEST_LOOKER_PASSWORD", "look-pass")
        cfg = {"port": port, "db": 2, "username": "looker", "password": "env:DRP_TEST_LOOKER_PASSWORD"}
        found = get_connector("redis", cfg).discover()
        assert [p.name for p in found.proposals] == ["redis-db2", "redis-db2-feat"]
        assert found.notes == ["The server refused INFO keyspace to this user, so only db 2 was read."]
        # The same server seen by a user allowed INFO: both dbs.
        monkeypatch.setenv("DRP_TEST_LOOKER_PASSWORD", "admin-pass")
        everything = get_connector("redis", {**cfg, "username": ""}).discover()
        assert [p.name for p in everything.proposals] == ["redis-db2", "redis-db2-feat", "redis-db3", "redis-db3-other"]
        # A user who may not SELECT: the other db is said, the one it names still proposed.
        admin.execute_command("ACL", "SETUSER", "looker", "+info", "-select")
        monkeypatch.setenv("DRP_TEST_LOOKER_PASSWORD", "look-pass")
        partly = get_connector("redis", {**cfg, "db": 0}).discover()
        assert [p.name for p in partly.proposals] == ["redis-db0"]
        assert len(partly.notes) == 2 and all(n.startswith(f"db {n_} could not be read: Redis at 127.0.0.1:{port}")
                                              for n, n_ in zip(partly.notes, (2, 3), strict=True))  # fmt: skip
        # A user who may not SCAN: the look fails, saying so (before, redis-py's own error escaped).
        admin.execute_command("ACL", "SETUSER", "looker", "-scan")
        with pytest.raises(Unreachable, match=f"Redis at 127.0.0.1:{port} failed the look at db 0: .*'scan'"):
            get_connector("redis", {**cfg, "db": 0}).discover()


@pytest.mark.servers
def test_the_portals_own_task_queue_is_never_proposed(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    with redis_server(tmp_path, password="admin-pass") as port:
        monkeypatch.setenv("DRP_TEST_LOOKER_PASSWORD", "admin-pass")
        for db, key in ((2, "feat:1"), (5, "celery"), (7, "other:1")):
            redis.Redis(port=port, db=db, password="admin-pass").set(key, "x")
        cfg = {"port": port, "db": 2, "password": "env:DRP_TEST_LOOKER_PASSWORD"}
        settings.CELERY_BROKER_URL = f"redis://localhost:{port}/5"  # the same server, named another way
        found = get_connector("redis", cfg).discover()
        assert {p.config["db"] for p in found.proposals} == {2, 7}
        assert "db 5 is this portal's own task queue: not proposed." in found.notes
        # A broker on another server, or a look at the broker's db itself, proposes as before.
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port + 1}/5"
        assert {p.config["db"] for p in get_connector("redis", cfg).discover().proposals} == {2, 5, 7}
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/2"  # named in the form: a person chose it
        assert {p.config["db"] for p in get_connector("redis", cfg).discover().proposals} == {2, 5, 7}
