"""redis connector against a private redis-server started on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from inventory.connectors import AuthFailed, ConnectorRefused, SourceChanged, TargetNotEmpty, Unreachable, get_connector
from tests.inventory.conftest import free_port
from tests.inventory.connectors.conftest import REDIS_PASSWORD as PASSWORD
from tests.inventory.connectors.conftest import Engine

pytestmark = pytest.mark.servers


@pytest.fixture
def rport(redis_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", PASSWORD)
    yield redis_port
    for db in range(4):
        redis.Redis(port=redis_port, db=db, password=PASSWORD).flushdb()


def _cfg(port: int, db: int, prefix: str, **extra: Any) -> dict[str, Any]:
    return {"port": port, "db": db, "prefix": prefix, "password": "env:DRP_TEST_REDIS_PASSWORD", **extra}


def _fill(port: int) -> redis.Redis:
    r = redis.Redis(port=port, db=0, password=PASSWORD)
    for i in range(600):
        r.set(f"feat:cust:{i}", f"{i * 0.5}")
    r.hset("feat:profile:1", mapping={"age": "41", "segment": "gold"})
    r.rpush("feat:recent:1", "a", "b", "c")
    r.sadd("feat:tags:1", "x", "y")
    r.zadd("feat:rank", {"m1": 0.9, "m2": 0.4})
    r.set("feat:session:1", "tok", ex=3600)
    r.set("other:keep-out", "not captured")
    return r


def test_redis_round_trip_into_another_db_with_ttls(engine: Engine, rport: int) -> None:
    _fill(rport)
    conn = get_connector("redis", _cfg(rport, 0, "feat:"))
    capture, manifest = engine.backup(conn)
    assert capture.details["keys"] == 605 and capture.details["with_ttl"] == 1
    assert 0 < len(capture.details["samples"]) < 605
    target = _cfg(rport, 1, "feat:")
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    drill = redis.Redis(port=rport, db=1, password=PASSWORD)
    assert drill.hgetall("feat:profile:1") == {b"age": b"41", b"segment": b"gold"}
    assert 3000 < drill.ttl("feat:session:1") <= 3600
    assert drill.get("other:keep-out") is None
    assert conn.verify(capture=capture, target=target).ok

    sampled = next(iter(capture.details["samples"]))
    drill.set(sampled, "tampered")
    assert [c.name for c in conn.verify(capture=capture, target=target).failures] == ["sampled values differing"]
    conn.cleanup(target=target)
    assert drill.dbsize() == 0


def test_redis_non_empty_target_refused_and_replace_swaps_only_complete_set(engine: Engine, rport: int) -> None:
    _fill(rport)
    conn = get_connector("redis", _cfg(rport, 0, "feat:"))
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    drill = redis.Redis(port=rport, db=2, password=PASSWORD)
    drill.set("feat:stale", "old")
    drill.set("feat:cust:1", "old value")
    with pytest.raises(TargetNotEmpty, match="already holds 2 keys"):
        conn.restore(restored=restored, capture=capture, target=_cfg(rport, 2, "feat:"))
    with pytest.raises(ConnectorRefused, match="source itself"):
        conn.restore(restored=restored, capture=capture, target=_cfg(rport, 0, "feat:"))
    with pytest.raises(ConnectorRefused, match="will not delete the source"):
        conn.cleanup(target=_cfg(rport, 0, "feat:"))
    capture.details["keys"] += 1  # a point short of a key must not replace anything
    with pytest.raises(Exception, match="the capture recorded 606"):
        conn.restore(restored=restored, capture=capture, target=_cfg(rport, 2, "feat:"), replace=True)
    assert drill.get("feat:cust:1") == b"old value" and drill.dbsize() == 2
    capture.details["keys"] -= 1
    conn.restore(restored=restored, capture=capture, target=_cfg(rport, 2, "feat:"), replace=True)
    assert drill.get("feat:stale") is None and drill.get("feat:cust:1") == b"0.5"
    assert conn.verify(capture=capture, target=_cfg(rport, 2, "feat:")).ok


def test_redis_keys_changing_throughout_the_capture_fail_it(engine: Engine, rport: int, tmp_path: Path) -> None:
    r = _fill(rport)
    stop = threading.Event()

    def writer() -> None:
        w = redis.Redis(port=rport, db=0, password=PASSWORD)
        n = 0
        while not stop.is_set():
            w.set("feat:cust:7", n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(SourceChanged, match=r"kept changing.*feat:cust:7"):
            get_connector("redis", _cfg(rport, 0, "feat:")).snapshot(tmp_path)
    finally:
        stop.set()
        thread.join()
    assert r.get("other:keep-out") == b"not captured"


def test_redis_wrong_password_and_unreachable(rport: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRP_TEST_REDIS_WRONG", "nope")
    with pytest.raises(AuthFailed, match=r"refused the credentials|needs valid credentials"):
        get_connector("redis", _cfg(rport, 0, "", password="env:DRP_TEST_REDIS_WRONG")).snapshot(tmp_path)
    with pytest.raises(AuthFailed):
        get_connector("redis", {"port": rport}).snapshot(tmp_path)
    with pytest.raises(Unreachable, match="cannot be reached"):
        get_connector("redis", {"port": free_port()}).snapshot(tmp_path)


def test_redis_replace_checks_sampled_values_before_the_swap_and_says_how_far_it_is(engine: Engine, rport: int) -> None:
    _fill(rport)
    conn = get_connector("redis", _cfg(rport, 0, "feat:"))
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    drill = redis.Redis(port=rport, db=2, password=PASSWORD)
    drill.set("feat:cust:1", "old value")
    with pytest.raises(TargetNotEmpty, match="already holds 1 key under feat:"):  # the cheap look, before any read
        conn.refuse_full_target(_cfg(rport, 2, "feat:"), capture)
    sampled = next(iter(capture.details["samples"]))
    good = capture.details["samples"][sampled]
    capture.details["samples"][sampled] = "0" * 64  # what the new copy holds is not what was captured
    with pytest.raises(Exception, match=f"1 restored values differ from the capture \\(e.g. {sampled}\\)"):
        conn.restore(restored=restored, capture=capture, target=_cfg(rport, 2, "feat:"), replace=True)
    assert drill.get("feat:cust:1") == b"old value" and drill.dbsize() == 1, "the old content stays, no staging key"

    capture.details["samples"][sampled] = good
    said: list[tuple[str, str]] = []
    conn.say = lambda phase, detail="": said.append((phase, detail))
    conn.restore(restored=restored, capture=capture, target=_cfg(rport, 2, "feat:"), replace=True)
    assert drill.get("feat:cust:1") == b"0.5"
    writing = [detail for phase, detail in said if phase == "writing keys under staging names"]
    assert len(writing) >= 2 and writing[-1] == "605 of 605 keys"  # a detail per batch, not per key
    assert [p for p, _ in said[len(writing) :]] == [
        "checking sampled values under the staging names",
        "swapping in the restored keys",
    ]
