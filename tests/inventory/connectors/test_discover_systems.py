"""Discovery in a real LanceDB folder and a real Redis: what is proposed, what is read, and the bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lancedb")

from inventory.connectors import Unreachable, get_connector
from inventory.connectors.base import staging_dir
from tests.inventory.connectors.discovery_systems import (
    fill_features,
    make_lance,
    redis_config,
    redis_db,
)

__all__ = ["redis_db"]


def test_each_lancedb_table_is_proposed_with_what_it_records(tmp_path: Path) -> None:
    uri = make_lance(tmp_path / "lance")
    found = get_connector("vector", {"uri": str(uri), "model_name": "", "golden_queries": 3}).discover()
    by_table = {p.labels["table"]: p for p in found.proposals}
    assert sorted(by_table) == ["bare", "cases", "kb", "noid"] and not found.bounded

    kb = by_table["kb"]  # the table's schema metadata names its model, dataset and labels
    assert (kb.name, kb.title, kb.labels["tier"], kb.labels["team"]) == (
        "support-kb-index",
        "Support articles index",
        "1",
        "support-ml",
    )
    assert kb.labels["rows"] == "120" and kb.labels["dimension"] == "16"
    assert kb.labels["model"] == "minilm-support@r3" and kb.labels["model_from"] == "table metadata"
    assert {k: kb.config[k] for k in ("model_name", "model_revision", "normalized", "dimension", "tables")} == {
        "model_name": "minilm-support",
        "model_revision": "r3",
        "normalized": True,
        "dimension": 16,
        "tables": ["kb"],
    }
    assert kb.config["dataset_version"] == "kb-2026-11" and kb.config["golden_queries"] == 3 and not kb.problem
    assert kb.source == str(uri / "kb.lance")

    cases = by_table["cases"]  # LanceDB's own embedding-function metadata
    assert cases.config["model_name"] == "all-MiniLM-L6-v2" and cases.config["normalized"] is True
    assert cases.labels["model_from"] == "LanceDB embedding function sentence-transformers"
    assert "does not record its embedding model" in by_table["bare"].problem
    assert "no id column" in by_table["noid"].problem

    # A proposal's configuration is one the connector captures as it stands.
    with staging_dir(tmp_path) as staging:
        capture = get_connector("vector", kb.config).snapshot(staging).capture
    assert list(capture.details["tables"]) == ["kb"] and capture.details["model"]["name"] == "minilm-support"


def test_the_form_names_the_model_of_tables_that_record_none(tmp_path: Path) -> None:
    uri = make_lance(tmp_path / "lance")
    named = get_connector("vector", {"uri": str(uri), "model_name": "tiny-proj", "dimension": 8}).discover()
    bare = next(p for p in named.proposals if p.labels["table"] == "bare")
    assert (
        not bare.problem and bare.config["model_name"] == "tiny-proj" and bare.labels["model_from"] == "discovery form"
    )
    kb = next(p for p in named.proposals if p.labels["table"] == "kb")
    assert kb.config["model_name"] == "minilm-support"  # what the table records wins over the form
    wrong = get_connector("vector", {"uri": str(uri), "model_name": "tiny-proj", "dimension": 12}).discover()
    bare = next(p for p in wrong.proposals if p.labels["table"] == "bare")
    assert bare.problem == "The table holds 8-d vectors but tiny-proj makes 12-d ones."


def test_lancedb_discovery_is_bounded_and_a_missing_folder_is_said(tmp_path: Path) -> None:
    uri = make_lance(tmp_path / "lance")
    found = get_connector("vector", {"uri": str(uri), "model_name": ""}).discover(limit=2)
    assert [p.labels["table"] for p in found.proposals] == ["bare", "cases"]
    assert found.bounded == "Showing the first 2 of 4 tables."
    with pytest.raises(Unreachable, match="does not exist"):
        get_connector("vector", {"uri": str(tmp_path / "nothing"), "model_name": ""}).discover()


def _redis(**extra: Any) -> Any:
    return get_connector("redis", {**redis_config(), "drill_db": 15, **extra})


def in_db(found: Any, db: int) -> tuple[dict[str, Any], list[str]]:
    """The proposals (by name) and notes of one db: the look reads every non-empty db of the server."""
    proposals = {p.name: p for p in found.proposals if p.config["db"] == db}
    return proposals, [n for n in found.notes if f"db {db} " in n or n.endswith(f"db {db}")]


@pytest.mark.servers
def test_redis_keys_are_proposed_per_prefix_and_for_the_whole_db(redis_db: Any, monkeypatch: Any) -> None:
    fill_features(redis_db)
    db = redis_config()["db"]
    monkeypatch.setattr(type(redis_db), "keys", _never)  # a look must SCAN, never KEYS
    found = _redis().discover()
    by_name, notes = in_db(found, db)
    assert list(by_name) == [f"redis-db{db}", f"redis-db{db}-churn", f"redis-db{db}-fraud"]
    assert found.proposals[0] is by_name[f"redis-db{db}"]  # the db the form names comes first
    whole, fraud = by_name[f"redis-db{db}"], by_name[f"redis-db{db}-fraud"]
    assert whole.config["prefix"] == "" and whole.labels["keys"] == "372"
    assert fraud.config["prefix"] == "fraud:" and fraud.config["drill_db"] == 15 and fraud.labels["db"] == str(db)
    assert (fraud.labels["keys"], fraud.labels["with_ttl"], fraud.labels["types"]) == (
        "350",
        "100",
        "hash 300, string 50",
    )
    assert by_name[f"redis-db{db}-churn"].labels["types"] == "set 20"
    assert not found.bounded and notes == [
        f"2 keys in db {db} have no ':' after their start: no prefix proposal covers them, only the whole database."
    ]

    inside = _redis(prefix="fraud:").discover()  # a prefix given: its next segments
    assert [(p.config["prefix"], p.labels["keys"]) for p in in_db(inside, db)[0].values()] == [
        ("fraud:card:", "300"),
        ("fraud:merchant:", "50"),
    ]


@pytest.mark.servers
def test_a_redis_look_stops_after_its_scan_bound_and_says_so(redis_db: Any) -> None:
    fill_features(redis_db)
    db = redis_config()["db"]
    found = _redis().discover(scan_limit=100)
    mine, notes = in_db(found, db)
    counted = [p.labels["keys"] for p in list(mine.values())[1:]]
    assert counted and all(c.startswith("at least ") for c in counted)
    assert sum(int(c.removeprefix("at least ")) for c in counted) <= 100
    assert notes[0].startswith("Showing what the first ") and f"of the 372 keys in db {db}" in notes[0]
    assert found.proposals[0].labels == {"db": str(db), "keys": "372"}  # the whole db: DBSIZE, nothing guessed
    limited = _redis().discover(limit=1)  # one proposal in all: the whole of the db the form names
    assert [p.name for p in limited.proposals] == [f"redis-db{db}"]
    assert limited.bounded.startswith("Showing the first 1 of ") and "whole first, then key prefixes" in limited.bounded


def test_an_unreachable_redis_is_said() -> None:
    from tests.inventory.conftest import free_port

    with pytest.raises(Unreachable, match="cannot be reached"):
        get_connector("redis", {"port": free_port(), "db": 6}).discover()


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("discovery called KEYS")
