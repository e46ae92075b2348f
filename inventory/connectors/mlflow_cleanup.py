"""Clean-up of what a restore made in a drill registry, as its ledger recorded it."""

from __future__ import annotations

from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_registry import get_model
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest
from inventory.connectors.mlflow_runs import TAG_KIND, artifacts_folder, tagged_runs


def remove_recorded(api: MlflowRest, ledger: Ledger) -> None:
    """Delete the models, runs (with their artifact folders) and experiment ``ledger`` recorded.

    The runs are those it names and every active run carrying one of its restore tags (a restore
    whose worker was killed made runs it never saved the ids of): those are recorded first, then
    removed as the others."""
    for name in ledger.names("model"):
        if get_model(api, name) is not None:
            api.delete("/registered-models/delete", {"name": name})
        ledger.removed("model", name)
    for run in tagged_runs(api, ledger, "ACTIVE_ONLY"):
        ledger.created("run", [run["info"]["run_id"]], artifacts=artifacts_folder(run["info"]["artifact_uri"]))
    for run_id in ledger.names("run"):
        entry = ledger.get("run", run_id) or {}
        if entry.get("artifacts"):
            api.delete_artifacts(str(entry["artifacts"]))
        try:
            api.post("/runs/delete", {"run_id": run_id})
        except MlflowApiError as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        ledger.removed("run", run_id)
    for tag in ledger.names(TAG_KIND):
        ledger.removed(TAG_KIND, tag)
    for exp in ledger.names("experiment"):
        search = {"experiment_ids": [exp], "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
        mine = set(ledger.names("run", "removed"))
        others = [r for r in api.post("/runs/search", search).get("runs", []) if r["info"]["run_id"] not in mine]
        if others:
            ids = ", ".join(sorted(r["info"]["run_id"] for r in others)[:3])
            ledger.kept("experiment", exp, f"it holds runs this restore did not make ({ids})")
            continue
        api.post("/experiments/delete", {"experiment_id": exp})
        api.delete_artifacts(exp)
        ledger.removed("experiment", exp)
