"""Runs an MLflow restore created that its saved ledger does not name (the worker was killed while
threads were creating them, before the ledger was saved again) are still found by their restore tag:
clean-up removes them, and the purge erases those a killed clean-up deleted but did not purge.
A real drill `mlflow server` (SQLite backend, served artifacts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import get_connector
from inventory.connectors.ledger import Ledger
from inventory.connectors.ledger import summary as ledger_summary
from inventory.connectors.mlflow_cleanup import remove_recorded
from inventory.connectors.mlflow_registry import ARTIFACT_DIR, model_names
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest, proxy_path
from inventory.connectors.mlflow_runs import TAG_KEY, TAG_KIND, new_run
from tests.inventory.connectors.conftest import Engine
from tests.inventory.connectors.servers import mlflow_server
from tests.inventory.connectors.test_drill_cleanup import _files
from tests.inventory.connectors.test_drill_purge import _all_experiments, _all_runs, mlflow_python
from tests.inventory.connectors.test_mlflow import fraud, register_version

__all__ = ["fraud", "mlflow_python"]
pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def _active(api: MlflowRest) -> set[str]:
    exps = [e["experiment_id"] for e in api.post("/experiments/search", {"max_results": 1000})["experiments"]]
    found = api.post("/runs/search", {"experiment_ids": exps, "max_results": 1000, "run_view_type": "ACTIVE_ONLY"})
    return {r["info"]["run_id"] for r in found.get("runs", [])}


def _killed_restore(engine: Engine, source_url: str, fraud: str, target: dict[str, Any], api: MlflowRest) -> Any:
    """A restore into the drill registry whose saved ledger lacks its runs, as a worker killed while
    its threads were creating them leaves it: the runs the ledger names are dropped from the saved
    copy, and three more runs carrying the restore's tag (one with a file) are made unrecorded."""
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    drill = get_connector("mlflow", conn.config_json())
    saved: list[list[dict[str, Any]]] = []
    drill.ledger = Ledger(save=lambda items: saved.append([dict(i) for i in items]))
    drill.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    tags = [i for i in saved[-1] if i["kind"] == TAG_KIND]
    assert len(tags) == 1 and tags[0]["listed"] is False and tags[0]["state"] == "created"
    tag, exp = tags[0]["name"], tags[0]["experiment"]
    # Saved before any run was made: a save holds the tag and no run yet.
    kinds = [{i["kind"] for i in items} for items in saved]
    assert any(TAG_KIND in k and "run" not in k for k in kinds), kinds
    made = [i["name"] for i in saved[-1] if i["kind"] == "run"]
    assert made
    for run_id in made:  # every run carries the tag, from its creation on
        run_tags = {t["key"]: t["value"] for t in api.get("/runs/get", run_id=run_id)["run"]["data"]["tags"]}
        assert run_tags[TAG_KEY] == tag
    unrecorded = []
    for depth in range(3):
        run_id, uri = new_run(api, exp, {"params": {"depth": str(depth)}}, "src", tag)
        api.upload(f"{proxy_path(uri)}/{ARTIFACT_DIR}/MLmodel", b"flavor: half-written")
        unrecorded.append(run_id)
    cleaner = get_connector("mlflow", conn.config_json())
    cleaner.ledger = Ledger([i for i in saved[-1] if i["kind"] != "run"])
    return cleaner, made + unrecorded


def test_runs_the_ledger_never_named_are_removed_by_their_restore_tag(
    engine: Engine, source_url: str, fraud: str, tmp_path: Path
) -> None:
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        api = MlflowRest(drill_url)
        artifacts = tmp_path / "drill-registry" / "artifacts"
        api.post("/registered-models/create", {"name": "theirs"})
        register_version(api, "theirs", {"MLmodel": b"theirs"}, {"depth": "1"}, 0.7)
        before_files, before_runs = _files(artifacts), _active(api)
        target = {"tracking_uri": drill_url, "models": [fraud]}
        cleaner, runs = _killed_restore(engine, source_url, fraud, target, api)
        # Someone's own run in the restore's experiment, without the tag: it stays, and so does the experiment.
        exp = next(i["name"] for i in cleaner.ledger.items if i["kind"] == "experiment")
        theirs = api.post("/runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
        # All active but the one the restore deleted itself (the placeholder for the captured gap, v1).
        assert len(set(runs) - _active(api)) == 1 and not any(i["kind"] == "run" for i in cleaner.ledger.items)

        cleaner.cleanup(target=target)
        assert _active(api) == before_runs | {theirs}  # none of the restore's runs is active
        assert _files(artifacts) == before_files  # their artifact folders went with them
        assert model_names(api, ()) == ["theirs"]
        assert set(cleaner.ledger.names("run", "kept")) == set(runs)  # deleted; no store named to purge them
        done = ledger_summary(cleaner.ledger.items)
        assert done["left"] == [] and not any(TAG_KIND in line for lines in done.values() for line in lines)
        assert f"experiment {exp} — it holds runs this restore did not make ({theirs})" in done["kept"]


def test_tagged_runs_deleted_by_a_clean_up_killed_before_its_purge_are_purged(
    engine: Engine, source_url: str, fraud: str, tmp_path: Path, mlflow_python: str
) -> None:
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        api = MlflowRest(drill_url)
        api.post("/registered-models/create", {"name": "theirs"})
        register_version(api, "theirs", {"MLmodel": b"theirs"}, {"depth": "1"}, 0.7)
        before_runs, before_exps = _all_runs(api), _all_experiments(api)
        store = f"sqlite:///{tmp_path / 'drill-registry' / 'mlflow.db'}"
        target = {"tracking_uri": drill_url, "models": [fraud], "drill_backend_store_uri": store}
        cleaner, runs = _killed_restore(engine, source_url, fraud, target, api)
        # The first clean-up deletes all it finds, then is killed before the purge: what it saved is what
        # the second one starts from (every run it found recorded removed, the tag too).
        saved: list[list[dict[str, Any]]] = []
        remove_recorded(api, Ledger(cleaner.ledger.items, lambda items: saved.append([dict(i) for i in items])))
        assert set(runs) <= _all_runs(api) and not set(runs) & _active(api)  # deleted, not purged
        assert not any(i.get("state") == "created" for i in saved[-1])
        # ...and two runs of the restore deleted that no ledger names (deleted, say, by hand).
        lost = [i["name"] for i in saved[-1] if i["kind"] == "run"][:2]
        second = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
        second.ledger = Ledger([i for i in saved[-1] if i["name"] not in lost])

        second.cleanup(target=target)
        assert _all_runs(api) == before_runs and _all_experiments(api) == before_exps  # nothing of the drill
        for run_id in runs:
            with pytest.raises(MlflowApiError) as gone:
                api.get("/runs/get", run_id=run_id)
            assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        done = ledger_summary(second.ledger.items)
        assert done["kept"] == [] and done["left"] == [], done
        assert set(second.ledger.names("run", "removed")) == set(runs)
        assert all((second.ledger.get("run", r) or {}).get("note") == done["notes"][0] for r in runs)
        assert model_names(api, ()) == ["theirs"]
