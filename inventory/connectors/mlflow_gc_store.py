"""Purge named runs and experiments from an MLflow backend store: run by the MLflow virtualenv's Python.

Not imported by the portal (which has no mlflow): ``mlflow_gc`` runs this file with the Python
named by the MLFLOW_PYTHON setting, the request as JSON on stdin, the answer as JSON on stdout.

It does what ``mlflow gc`` does to a run or an experiment (the store's hard delete), but only to
the ids it is given: ``mlflow gc --run-ids`` also purges every deleted experiment of the store
and ``--logged-model-ids`` left out every deleted logged model, which would purge what other
people deleted in the drill registry. Before removing anything it proves the store is the one
the ids came from: every run must be in it (run ids are random 128-bit ids), each experiment must
carry the name and creation time the registry reported, and hold no run it was not given. Only
things already in MLflow's deleted state are purged; nothing is created in a store that is
missing or is not an MLflow store.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn


def _refuse(message: str) -> NoReturn:
    sys.stdout.write(json.dumps({"refused": message}) + "\n")
    sys.exit(3)


def _open_store(uri: str) -> Any:
    import sqlalchemy

    if uri.startswith("sqlite:///"):
        path = uri.removeprefix("sqlite:///")
        if not os.path.isfile(path):
            _refuse(f"the backend store {uri} does not exist (no file {path}).")
    try:
        engine = sqlalchemy.create_engine(uri)
        tables = set(sqlalchemy.inspect(engine).get_table_names())
        engine.dispose()
    except Exception as exc:
        _refuse(f"the backend store {uri} cannot be opened: {type(exc).__name__}: {str(exc)[:300]}")
    if not {"runs", "experiments", "alembic_version"} <= tables:
        _refuse(f"{uri} is not an MLflow backend store (it has no runs and experiments tables).")
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    # The artifact root is not used: the portal removed the artifacts through the server.
    return SqlAlchemyStore(uri, os.devnull)


def _found(store: Any, getter: str, ident: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return getattr(store, getter)(ident)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def _runs_of(store: Any, experiment_id: str) -> set[str]:
    from mlflow.entities import ViewType

    found: set[str] = set()
    token = None
    while True:
        page = store.search_runs([experiment_id], "", ViewType.ALL, max_results=1000, page_token=token)
        found |= {run.info.run_id for run in page}
        token = page.token
        if not token:
            return found


def purge(request: dict[str, Any]) -> dict[str, Any]:
    store = _open_store(str(request["store"]))
    runs: list[str] = [str(r) for r in request.get("runs", [])]
    held = {run_id: _found(store, "get_run", run_id) for run_id in runs}
    missing = [run_id for run_id, run in held.items() if run is None]
    if missing:
        held_text = (
            "none" if len(missing) == len(runs) else f"{len(runs) - len(missing)} (not {', '.join(missing[:3])})"
        )
        _refuse(
            f"the backend store {request['store']} holds {held_text} of the {len(runs)} runs the drill registry "
            "reports: it is not that registry's backend store."
        )
    asked = {str(exp["id"]): exp for exp in request.get("experiments", [])}
    experiments = {exp_id: (exp, _found(store, "get_experiment", exp_id)) for exp_id, exp in asked.items()}
    for exp_id, (exp, found) in experiments.items():
        if found is None or found.name != exp["name"] or int(found.creation_time or 0) != int(exp["created"]):
            _refuse(
                f"experiment {exp_id} in {request['store']} is not the drill registry's experiment "
                f"{exp['name']!r}: it is not that registry's store."
            )
    kept: dict[str, dict[str, str]] = {"runs": {}, "experiments": {}}
    purged_runs: list[str] = []
    for run_id, run in held.items():
        if run.info.lifecycle_stage != "deleted":
            kept["runs"][run_id] = (
                "it is active again in the drill registry (someone restored it), so it was not purged"
            )
            continue
        store._hard_delete_run(run_id)
        purged_runs.append(run_id)
    purged_experiments: list[str] = []
    for exp_id, (_exp, found) in experiments.items():
        if found.lifecycle_stage != "deleted":
            kept["experiments"][exp_id] = "it is active again in the drill registry, so it was not purged"
            continue
        others = sorted(_runs_of(store, exp_id))
        if others:
            kept["experiments"][exp_id] = (
                f"it still holds {len(others)} run{'s' * (len(others) != 1)} this drill did not make "
                f"({', '.join(others[:3])}), so it was not purged"
            )
            continue
        store._hard_delete_experiment(exp_id)
        purged_experiments.append(exp_id)
    return {"purged_runs": purged_runs, "purged_experiments": purged_experiments, "kept": kept}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(purge(json.load(sys.stdin))) + "\n")
