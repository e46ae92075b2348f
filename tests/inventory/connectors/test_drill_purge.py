"""A drill's MLflow clean-up purges what it deleted from the drill registry's backend store when the
connector names that store (a real `mlflow server` on SQLite, purged with the MLflow virtualenv's
Python), touches nothing else there, and says precisely what remains when it cannot purge."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from inventory.connectors import Capture, ConfigInvalid, get_connector
from inventory.connectors.ledger import Ledger
from inventory.connectors.ledger import summary as ledger_summary
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest
from tests.inventory.connectors.conftest import Engine
from tests.inventory.connectors.servers import mlflow_server
from tests.inventory.connectors.test_drill_cleanup import _cleanup_block
from tests.inventory.connectors.test_mlflow import fraud, register_version

__all__ = ["fraud"]
pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def mlflow_python() -> str:
    if not django_settings.MLFLOW_PYTHON or not Path(django_settings.MLFLOW_PYTHON).exists():
        pytest.skip("no MLflow Python: run `make mlflow-venv`")
    return str(django_settings.MLFLOW_PYTHON)


def _all_runs(api: MlflowRest) -> set[str]:
    """Every run the registry holds, deleted ones included (runs/search with run_view_type ALL)."""
    exps = api.post("/experiments/search", {"max_results": 1000, "view_type": "ALL"})["experiments"]
    ids = [e["experiment_id"] for e in exps]
    found = api.post("/runs/search", {"experiment_ids": ids, "max_results": 1000, "run_view_type": "ALL"})
    return {r["info"]["run_id"] for r in found.get("runs", [])}


def _all_experiments(api: MlflowRest) -> dict[str, str]:
    exps = api.post("/experiments/search", {"max_results": 1000, "view_type": "ALL"})["experiments"]
    return {e["experiment_id"]: f"{e['name']} ({e['lifecycle_stage']})" for e in exps}


def _drill(conn: Any, restored: Path, capture: Capture, target: dict[str, Any]) -> tuple[Any, list[str]]:
    """Restore into the drill registry, then clean up from the saved record in a fresh connector."""
    drill = get_connector("mlflow", conn.config_json())
    drill.restore(restored=restored, capture=capture, target=target)
    assert drill.verify(capture=capture, target=target).ok
    runs = drill.ledger.names("run")
    assert runs and drill.ledger.names("experiment")
    cleaner = get_connector("mlflow", conn.config_json())
    cleaner.ledger = Ledger(drill.ledger.items)
    cleaner.cleanup(target=target)
    return cleaner, runs


def test_a_drill_registry_with_its_backend_store_named_is_left_holding_nothing_of_the_drill(
    engine: Engine, source_url: str, fraud: str, tmp_path: Path, mlflow_python: str
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        api = MlflowRest(drill_url)
        # Someone else's things in the drill registry: a model with its run, and a run and an experiment
        # they deleted themselves. `mlflow gc --run-ids` would purge that experiment; clean-up must not.
        api.post("/registered-models/create", {"name": "theirs"})
        register_version(api, "theirs", {"MLmodel": b"theirs"}, {"depth": "1"}, 0.7)
        old = api.post("/experiments/create", {"name": "their-old-trials"})["experiment_id"]
        their_run = api.post("/runs/create", {"experiment_id": old})["run"]["info"]["run_id"]
        api.post("/runs/delete", {"run_id": their_run})
        api.post("/experiments/delete", {"experiment_id": old})
        before_runs, before_exps = _all_runs(api), _all_experiments(api)
        store = f"sqlite:///{tmp_path / 'drill-registry' / 'mlflow.db'}"
        target = {"tracking_uri": drill_url, "models": [fraud], "drill_backend_store_uri": store}

        for _ in range(2):  # the second drill makes a new drp-restored: the first one's is gone for good
            cleaner, runs = _drill(conn, restored, capture, target)
            done = ledger_summary(cleaner.ledger.items)
            assert done["kept"] == [] and done["left"] == [], done
            assert done["notes"] == [
                "The runs and experiments clean-up deleted were purged from the drill registry's backend store "
                f"{store} (as `mlflow gc` does): the registry no longer finds them, not even as deleted."
            ]
            assert all(cleaner.ledger.get("run", r)["note"] == done["notes"][0] for r in runs)
            assert "purged from the drill registry's backend store" in _cleanup_block(cleaner.ledger.items)
            # runs/search over every experiment, deleted runs included, finds none of the restored runs,
            # and the experiment the restore created is gone, not merely deleted.
            assert _all_runs(api) == before_runs and not set(runs) & _all_runs(api)
            assert _all_experiments(api) == before_exps
            for run_id in runs:
                with pytest.raises(MlflowApiError) as gone:
                    api.get("/runs/get", run_id=run_id)
                assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert before_exps[old] == "their-old-trials (deleted)" and their_run in _all_runs(api)


def _other_store(python: str, path: Path) -> tuple[str, str]:
    """A real MLflow store that is not the drill registry's: an experiment called drp-restored, deleted,
    with a deleted run in it (what a purge of the wrong store by experiment id alone would remove)."""
    script = (
        "import sys, mlflow\n"
        "from mlflow.tracking import MlflowClient\n"
        "c = MlflowClient(tracking_uri=sys.argv[1])\n"
        "e = c.create_experiment('drp-restored')\n"
        "r = c.create_run(e).info.run_id\n"
        "c.delete_run(r); c.delete_experiment(e)\n"
        "print(r)\n"
    )
    uri = f"sqlite:///{path}"
    path.parent.mkdir(parents=True)
    done = subprocess.run(
        [python, "-I", "-c", script, uri], capture_output=True, text=True, check=True, timeout=120, cwd=path.parent
    )
    return uri, done.stdout.strip().splitlines()[-1]


def _store_runs(python: str, uri: str) -> list[str]:
    script = (
        "import sys, json\n"
        "from mlflow.tracking import MlflowClient\n"
        "from mlflow.entities import ViewType\n"
        "c = MlflowClient(tracking_uri=sys.argv[1])\n"
        "exps = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL)]\n"
        "print(json.dumps(sorted(r.info.run_id for r in c.search_runs(exps, run_view_type=ViewType.ALL))))\n"
    )
    done = subprocess.run([python, "-I", "-c", script, uri], capture_output=True, text=True, check=True, timeout=120)
    runs: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return runs


def test_a_wrong_store_or_no_mlflow_python_purges_nothing_and_the_run_page_says_what_remains(
    engine: Engine, source_url: str, fraud: str, tmp_path: Path, mlflow_python: str, settings: Any
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    other, other_run = _other_store(mlflow_python, tmp_path / "other" / "mlflow.db")
    missing = tmp_path / "nowhere" / "mlflow.db"
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        api = MlflowRest(drill_url)
        cases = [
            (other, "holds none of the", mlflow_python),
            (f"sqlite:///{missing}", f"does not exist (no file {missing})", mlflow_python),
            (
                f"sqlite:///{tmp_path / 'drill-registry' / 'mlflow.db'}",
                f"no MLflow Python to purge it with: MLFLOW_PYTHON ({tmp_path}/no-venv/python) is not an executable",
                str(tmp_path / "no-venv" / "python"),
            ),
        ]
        for store, reason, python in cases:
            settings.MLFLOW_PYTHON = python
            target = {"tracking_uri": drill_url, "models": [fraud], "drill_backend_store_uri": store}
            cleaner, runs = _drill(conn, restored, capture, target)
            done = ledger_summary(cleaner.ledger.items)
            assert done["removed"] == [f"model {fraud}"] and done["left"] == [], done
            assert {line.split(" ")[1] for line in done["kept"] if line.startswith("run ")} == set(runs)
            assert all(
                "deleted, but MLflow keeps its rows (params, metrics, tags) until `mlflow gc`: " in line
                and reason in line
                for line in done["kept"]
            ), (reason, done["kept"])
            shown = _cleanup_block(cleaner.ledger.items)
            assert "Kept: " in shown and f"run {runs[0]} — deleted, but MLflow keeps" in shown
            assert set(runs) <= _all_runs(api)  # still there, deleted: nothing was purged
        # The other store was not touched, and no file was made where the missing one was named.
        assert _store_runs(mlflow_python, other) == [other_run]
        assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sqlite:///mlflow.db", "give the SQLite file's absolute path, as sqlite:////path/to/mlflow.db"),
        ("sqlite:////srv/../etc/mlflow.db", "climbs out of its folder with '..'"),
        ("sqlite:////proc/self/mlflow.db", "is a system folder"),
        ("postgresql://mlflow:hunter2@db:5432/mlflow", "carries a user name or password"),
        ("postgresql://db:5432/mlflow?password=hunter2", "the address carries a password"),
        ("postgresql://db:5432/", "name the database after the host"),
        ("postgresql://db:99999/mlflow", "give a port from 1 to 65535"),
        ("mysql://db/mlflow", "give the value the drill server's --backend-store-uri was given"),
    ],
)
def test_a_drill_backend_store_uri_that_cannot_be_purged_safely_is_refused(value: str, problem: str) -> None:
    config = {"tracking_uri": "http://127.0.0.1:5000", "drill_backend_store_uri": value}
    with pytest.raises(ConfigInvalid, match="drill_backend_store_uri: ") as refused:
        get_connector("mlflow", config)
    assert problem in str(refused.value) and "hunter2" not in str(refused.value)


def test_the_drill_target_carries_the_drill_backend_store() -> None:
    store = "postgresql://mlflow-db.internal:5432/drill_registry"
    conn = get_connector(
        "mlflow",
        {
            "tracking_uri": "http://127.0.0.1:5000",
            "drill_tracking_uri": "http://127.0.0.1:5001",
            "drill_backend_store_uri": store,
        },
    )
    target = conn.drill_target(root=Path("/unused"), tag="t")
    assert target is not None
    assert (target["tracking_uri"], target["drill_backend_store_uri"]) == ("http://127.0.0.1:5001", store)


def test_a_relative_mlflow_python_stops_the_portal_with_the_setting_named() -> None:
    import os
    import sys

    env = {**os.environ, "MLFLOW_PYTHON": "venv/bin/python", "DJANGO_SETTINGS_MODULE": "dr_portal.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "MLFLOW_PYTHON: 'venv/bin/python' is not an absolute path" in done.stderr
