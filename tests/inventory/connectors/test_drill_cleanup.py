"""A drill's clean-up removes exactly what its restore created and nothing that was there before:
a real drill `mlflow server` (models, source runs, their artifact files, the experiment) and a real
redis-server db restored with an empty prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from inventory.connectors import TargetNotEmpty, get_connector
from inventory.connectors.ledger import Ledger
from inventory.connectors.ledger import summary as ledger_summary
from inventory.connectors.mlflow_registry import model_names
from inventory.connectors.mlflow_rest import MlflowRest
from tests.inventory.connectors.conftest import REDIS_PASSWORD, Engine
from tests.inventory.connectors.servers import mlflow_server
from tests.inventory.connectors.test_mlflow import fraud, register_version

__all__ = ["fraud"]
pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _active_runs(api: MlflowRest) -> list[dict[str, Any]]:
    experiments = api.post("/experiments/search", {"max_results": 1000}).get("experiments", [])
    ids = [e["experiment_id"] for e in experiments]
    return api.post("/runs/search", {"experiment_ids": ids, "max_results": 1000}).get("runs", []) if ids else []


def _experiments(api: MlflowRest) -> list[str]:
    return sorted(e["name"] for e in api.post("/experiments/search", {"max_results": 1000}).get("experiments", []))


def _cleanup_block(items: list[dict[str, Any]]) -> str:
    """The run page's clean-up block of a step with this ledger, as text."""
    import html
    import re
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import timezone

    step = SimpleNamespace(ledger=items, ledger_complete=True)
    page = render_to_string("runs/_cleanup.html", {"s": step, "run": SimpleNamespace(cleaned_at=timezone.now())})
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _deleted_experiment(api: MlflowRest) -> str:
    search = {"max_results": 1000, "view_type": "DELETED_ONLY"}
    return str(api.post("/experiments/search", search)["experiments"][0]["experiment_id"])


def test_mlflow_drill_cleanup_removes_what_the_restores_made_and_keeps_what_was_there(
    engine: Engine, source_url: str, fraud: str, tmp_path: Path
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        artifacts = tmp_path / "drill-registry" / "artifacts"
        api = MlflowRest(drill_url)
        # Someone keeps their own model and run in the drill registry.
        api.post("/registered-models/create", {"name": "theirs", "description": "not the drill's"})
        register_version(api, "theirs", {"MLmodel": b"theirs"}, {"depth": "1"}, 0.7)
        before_files, before_runs, before_exps = _files(artifacts), _active_runs(api), _experiments(api)
        target = {"tracking_uri": drill_url, "models": [fraud]}

        for _ in range(2):  # two drills, one after the other, each cleaned up
            drill = get_connector("mlflow", conn.config_json())
            drill.restore(restored=restored, capture=capture, target=target)
            assert drill.verify(capture=capture, target=target).ok
            made = ledger_summary(drill.ledger.items)["left"]
            assert f"model {fraud}" in made and any(line.startswith("run ") for line in made)
            assert len(_files(artifacts)) > len(before_files)
            # The clean-up runs from the saved record alone, in a fresh connector (another process).
            cleaner = get_connector("mlflow", conn.config_json())
            cleaner.ledger = Ledger(drill.ledger.items)
            cleaner.cleanup(target=target)
            done = ledger_summary(cleaner.ledger.items)
            assert done["left"] == [] and done["removed"] == [f"model {fraud}"], done
            # No backend store is named, so MLflow only marks the runs and experiment deleted: the run
            # page says, for each, that it remains and why (it said "removed" before, with a note).
            why = (
                "deleted, but MLflow keeps its rows (params, metrics, tags) until `mlflow gc`: the asset's MLflow "
                f"connector names no drill_backend_store_uri (the backend store of {drill_url}) to purge it from."
            )
            assert done["kept"] and all(line.endswith(f" — {why}") for line in done["kept"]), done["kept"]
            assert {line.split(" ")[0] for line in done["kept"]} == {"run", "experiment"}
            shown = _cleanup_block(cleaner.ledger.items)
            assert (
                "Kept: " in shown
                and "run " in shown
                and "until `mlflow gc`: the asset's MLflow connector names no" in shown
            )
            deleted = api.post(
                "/runs/search", {"experiment_ids": [_deleted_experiment(api)], "run_view_type": "DELETED_ONLY"}
            )
            assert len(deleted.get("runs", [])) >= 2  # ...which is so: the rows are still there, deleted
            assert model_names(api, ()) == ["theirs"]
            assert _files(artifacts) == before_files  # the 2 source runs' artifact files are gone
            assert [r["info"]["run_id"] for r in _active_runs(api)] == [r["info"]["run_id"] for r in before_runs]
            assert _experiments(api) == before_exps  # drp-restored is deleted again

        # The tester's case: the drill registry already holds the model. The restore is refused and
        # the clean-up deletes nothing of it, and says why it kept it.
        api.post("/registered-models/create", {"name": fraud, "description": "the tester's own"})
        drill = get_connector("mlflow", conn.config_json())
        with pytest.raises(TargetNotEmpty, match=f"already holds {fraud}"):
            drill.restore(restored=restored, capture=capture, target=target)
        drill.cleanup(target=target)
        assert sorted(model_names(api, ())) == sorted([fraud, "theirs"])
        assert api.get("/registered-models/get", name=fraud)["registered_model"]["description"] == "the tester's own"
        done = ledger_summary(drill.ledger.items)
        assert done["removed"] == [] and done["kept"] == [
            f"model {fraud} — it was in the target registry before this run"
        ]


def test_redis_drill_with_an_empty_prefix_deletes_only_the_keys_it_wrote(engine: Engine, redis_port: int) -> None:
    def client(db: int) -> redis.Redis:
        return redis.Redis(port=redis_port, db=db, password=REDIS_PASSWORD)

    cfg = {"port": redis_port, "db": 2, "prefix": "", "password": "env:DRP_TEST_REDIS_PASSWORD"}
    source, drill_db = client(2), client(3)
    try:
        for i in range(1200):  # more than one restore batch
            source.set(f"f:{i}", str(i))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
            conn = get_connector("redis", cfg)
            capture, manifest = engine.backup(conn)
            target = {**cfg, "db": 3}
            saved: list[list[dict[str, Any]]] = []
            conn.ledger = Ledger(save=lambda items: saved.append([dict(i) for i in items]))
            conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
            assert len(saved) >= 3  # recorded batch by batch, as the keys were written
            drill_db.set("written-meanwhile", "by someone else")  # not the drill's
            cleaner = get_connector("redis", cfg)
            cleaner.ledger = Ledger(saved[-1])
            cleaner.cleanup(target=target)
            assert drill_db.keys() == [b"written-meanwhile"]
            assert source.dbsize() == 1200

            # A db already holding keys is refused, and clean-up then deletes none of them.
            refused = get_connector("redis", cfg)
            # (It read "already holds 1 keys under its root" and "keys 1 keys in the db".)
            with pytest.raises(TargetNotEmpty, match=r"The target db 3 already holds 1 key in the db; restore"):
                refused.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
            refused.cleanup(target=target)
            assert drill_db.keys() == [b"written-meanwhile"]
            assert ledger_summary(refused.ledger.items)["kept"] == [
                "keys in the db (1 key) — they were in the target db before this run"
            ]
    finally:
        source.flushdb()
        drill_db.flushdb()


def test_a_group_restore_that_fails_halfway_is_cleaned_from_its_record(tmp_path: Path) -> None:
    """The ledger is what clean-up works from; entries for things never made are harmless."""
    ledger = Ledger()
    ledger.member("feats").created("file", [str(tmp_path / "a.db")])
    ledger.member("index").kept("table", "cases", "it held rows before this run")
    conn = get_connector("sqlite", {"path": str(tmp_path / "src.db")})
    conn.ledger = ledger.member("feats")
    (tmp_path / "a.db").write_bytes(b"x")
    conn.cleanup(target={"path": str(tmp_path / "a.db")})
    assert not (tmp_path / "a.db").exists()
    assert ledger_summary(ledger.items) == {
        "removed": ["feats: file " + str(tmp_path / "a.db")],
        "kept": ["index: table cases — it held rows before this run"],
        "left": [],
        "notes": [],
    }


def test_what_a_retried_restore_makes_again_after_a_clean_up_is_removed_again() -> None:
    ledger = Ledger()
    ledger.created("model", ["fraud"])
    ledger.removed("model", "fraud")  # the earlier attempt's leftovers cleared before the retry
    ledger.created("model", ["fraud"])  # the retry registers it again
    assert ledger.names("model") == ["fraud"] and ledger.names_left()
    assert ledger_summary(ledger.items)["left"] == ["model fraud"]
