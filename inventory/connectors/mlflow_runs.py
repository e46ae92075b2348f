"""The source runs a restore creates in a target MLflow, and how clean-up finds them all.

A restore writes runs on worker threads and records each in the ledger, but the ledger is saved
from its own thread only: a worker killed in between leaves runs on the server that the saved
ledger does not name. So before it creates any run for a model, the restore records (and saves)
a random tag, ``drp.restore = <hex>`` in its experiment, and every run it creates carries that tag
from its ``runs/create`` request on. Clean-up searches the recorded experiments for the recorded
tags, and so finds every run the restore made whether or not its id reached the ledger.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest, proxy_path

TAG_KEY = "drp.restore"
TAG_KIND = "restore tag"  # the ledger's kind for a tag; ``listed=False``: not a thing shown on the run page
# MLflow's log-batch takes at most 100 params, 100 tags and 1,000 entries in all per request.
PARAMS_PER_BATCH = 100
TAGS_PER_BATCH = 100
METRICS_PER_BATCH = 800


def restore_tag(ledger: Ledger | None, exp: str) -> str:
    """A fresh tag for the runs about to be created in ``exp``, recorded and saved in ``ledger`` first."""
    tag = uuid.uuid4().hex
    if ledger is not None:
        ledger.created(TAG_KIND, [tag], experiment=exp, listed=False)
        ledger.flush()
    return tag


def recorded_tags(ledger: Ledger) -> list[dict[str, Any]]:
    """The ledger's tag entries, whatever their state (a removed one's runs may still await their purge)."""
    return [i for i in ledger.items if i["kind"] == TAG_KIND]


def artifacts_folder(artifact_uri: str) -> str:
    """A run's own artifacts folder (its ``artifacts`` URI's parent), as a proxy path."""
    return proxy_path(artifact_uri).rsplit("/", 1)[0]


def tagged_runs(api: MlflowRest, ledger: Ledger, view: str) -> list[dict[str, Any]]:
    """The runs (``runs/search`` items) that carry one of the ledger's tags, in ``view``
    (``ACTIVE_ONLY`` or ``DELETED_ONLY``), every page of the search."""
    found: dict[str, dict[str, Any]] = {}
    for entry in recorded_tags(ledger):
        query = {
            "experiment_ids": [str(entry["experiment"])],
            "filter": f"tags.`{TAG_KEY}` = '{entry['name']}'",
            "run_view_type": view,
            "max_results": 1000,
        }
        try:
            for run in api.post_pages("/runs/search", "runs", query):
                found[run["info"]["run_id"]] = run
        except MlflowApiError as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":  # the experiment was purged, runs and all
                raise
    return list(found.values())


def deleted_tagged(api: MlflowRest, ledger: Ledger) -> list[str]:
    """The ids of the restore's tagged runs that MLflow holds as deleted, not yet purged (a clean-up
    was killed between deleting and purging them). One the ledger does not name is recorded as
    removed, its artifacts folder deleted first, so the purge's outcome is written against it."""
    ids = []
    for run in tagged_runs(api, ledger, "DELETED_ONLY"):
        run_id = run["info"]["run_id"]
        if ledger.get("run", run_id) is None:
            folder = artifacts_folder(run["info"]["artifact_uri"])
            ledger.created("run", [run_id], artifacts=folder)
            api.delete_artifacts(folder)
            ledger.removed("run", run_id)
        ids.append(run_id)
    return ids


def _batches(run: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """A run's params, metrics and user tags as log-batch payloads within MLflow's per-request limits.
    A captured restore tag (the source was itself restored) is left out: it would replace this run's."""
    params = [{"key": k, "value": v} for k, v in run.get("params", {}).items()]
    metrics = [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in run.get("metrics", {}).items()]
    tags = [{"key": k, "value": v} for k, v in run.get("tags", {}).items() if k != TAG_KEY]
    out = []
    while params or metrics or tags:
        out.append(
            {"params": params[:PARAMS_PER_BATCH], "metrics": metrics[:METRICS_PER_BATCH], "tags": tags[:TAGS_PER_BATCH]}
        )
        params, metrics, tags = params[PARAMS_PER_BATCH:], metrics[METRICS_PER_BATCH:], tags[TAGS_PER_BATCH:]
    return out


def new_run(
    api: MlflowRest, exp: str, run: dict[str, Any], source_run: str, tag: str, ledger: Ledger | None = None
) -> tuple[str, str]:
    """A finished run holding ``run``'s params, metrics and tags: ``(run id, artifact URI)``.
    It carries the restore's ``tag`` from its creation on (one request: no moment without it)."""
    created = api.post(
        "/runs/create",
        {
            "experiment_id": exp,
            "start_time": int(time.time() * 1000),
            "tags": [{"key": "drp.source_run_id", "value": source_run}, {"key": TAG_KEY, "value": tag}],
        },
    )["run"]["info"]
    if ledger is not None:  # its artifacts folder goes with it at clean-up
        ledger.created("run", [created["run_id"]], artifacts=artifacts_folder(created["artifact_uri"]))
    now = int(time.time() * 1000)
    for batch in _batches(run, now):
        api.post("/runs/log-batch", {"run_id": created["run_id"], **batch})
    api.post("/runs/update", {"run_id": created["run_id"], "status": "FINISHED", "end_time": now})
    return created["run_id"], created["artifact_uri"]
