"""Reading an MLflow registry into plain JSON, and writing such JSON into another MLflow."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from inventory.connectors.errors import CaptureIncomplete, RestoreFailed
from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest, proxy_path

ARTIFACT_DIR = "model"
# Artifacts move through the server's proxy this many at a time: one file at a time
# left the network and the server idle between requests (docs/benchmarks.md).
TRANSFER_THREADS = 4


def in_parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` on ``TRANSFER_THREADS`` threads; results in the jobs' order, the first error raised."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    pool = ThreadPoolExecutor(max_workers=TRANSFER_THREADS, thread_name_prefix="mlflow-transfer")
    try:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _tags(items: list[dict[str, Any]] | None, *, system: bool = True) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or [] if system or not t["key"].startswith("mlflow.")}


def model_names(api: MlflowRest, only: tuple[str, ...]) -> list[str]:
    names = sorted(m["name"] for m in api.pages("/registered-models/search", "registered_models", max_results=1000))
    return [n for n in names if not only or n in only]


def get_model(api: MlflowRest, name: str) -> dict[str, Any] | None:
    try:
        return api.get("/registered-models/get", name=name).get("registered_model")
    except MlflowApiError as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or exc.status == 404:
            return None
        raise


def fingerprint(api: MlflowRest, names: list[str]) -> list[Any]:
    """What must not move while a capture is read: timestamps, stages and aliases of every version."""
    out: list[Any] = []
    for name in names:
        model = get_model(api, name) or {}
        versions = api.pages("/model-versions/search", "model_versions", filter=f"name='{_q(name)}'", max_results=1000)
        out.append(
            (
                name,
                model.get("last_updated_timestamp"),
                sorted((a["alias"], a["version"]) for a in model.get("aliases", [])),
                sorted((v["version"], v.get("last_updated_timestamp"), v.get("current_stage")) for v in versions),
            )
        )
    return out


def _q(name: str) -> str:
    return name.replace("'", "\\'")


def read_model(api: MlflowRest, name: str) -> dict[str, Any]:
    model = get_model(api, name)
    if model is None:
        raise CaptureIncomplete(f"The registered model {name} disappeared during the capture.")
    versions: dict[str, Any] = {}
    for v in api.pages("/model-versions/search", "model_versions", filter=f"name='{_q(name)}'", max_results=1000):
        run: dict[str, Any] = {}
        if v.get("run_id"):
            data = api.get("/runs/get", run_id=v["run_id"])["run"].get("data", {})
            run = {
                "params": {p["key"]: p["value"] for p in data.get("params", [])},
                "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
                "tags": _tags(data.get("tags"), system=False),
            }
        versions[str(v["version"])] = {
            "stage": v.get("current_stage", "None"),
            "description": v.get("description", ""),
            "tags": _tags(v.get("tags")),
            "run_id": v.get("run_id", ""),
            "run": run,
        }
    return {
        "description": model.get("description", ""),
        "tags": _tags(model.get("tags")),
        "aliases": {a["alias"]: str(a["version"]) for a in model.get("aliases", [])},
        "versions": dict(sorted(versions.items(), key=lambda kv: int(kv[0]))),
    }


def artifact_root(api: MlflowRest, name: str, version: str) -> str:
    uri = api.get("/model-versions/get-download-uri", name=name, version=version)["artifact_uri"]
    return proxy_path(uri)


def fetch_artifacts(api: MlflowRest, name: str, version: str, dest: Path | None) -> dict[str, str]:
    """``{relative path: sha256}`` of a version's artifacts, written under ``dest`` when given."""
    root = artifact_root(api, name, version)
    files = api.list_artifacts(root)
    if not files:
        raise CaptureIncomplete(
            f"Version {version} of {name} has no artifacts at {root}: the model files are missing, so this "
            "version cannot be restored. Re-register it or exclude the model."
        )
    hashes: dict[str, str] = {}
    for rel, _size in files:
        digest = hashlib.sha256()
        out = None
        if dest is not None:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            out = (dest / rel).open("wb")
        try:
            for chunk in api.download(f"{root}/{rel}"):
                digest.update(chunk)
                if out:
                    out.write(chunk)
        finally:
            if out:
                out.close()
        hashes[rel] = digest.hexdigest()
    return hashes


def artifact_sizes(api: MlflowRest, name: str, version: str) -> dict[str, int]:
    """``{relative path: size}`` of a version's artifacts, as the server lists them (nothing downloaded)."""
    return dict(api.list_artifacts(artifact_root(api, name, version)))


def _upload(api: MlflowRest, path: str, file: Path, expected: str | None) -> None:
    data = file.read_bytes()
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise RestoreFailed(f"The restored artifact {file.name} does not match the hash the capture recorded.")
    api.upload(path, data)


def experiment_id(api: MlflowRest, name: str, ledger: Ledger | None = None) -> str:
    """The experiment's id; created (or brought back from deleted) when needed, and then recorded in ``ledger``."""
    try:
        found = api.get("/experiments/get-by-name", experiment_name=name)["experiment"]
    except MlflowApiError as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    else:
        exp = str(found["experiment_id"])
        if found.get("lifecycle_stage") == "deleted":  # an earlier drill's clean-up deleted it
            if ledger is not None:
                ledger.created("experiment", [exp])
            api.post("/experiments/restore", {"experiment_id": exp})
            # Restoring an experiment brings its deleted runs back too; they stay deleted.
            search = {"experiment_ids": [exp], "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
            while revived := api.post("/runs/search", search).get("runs", []):
                for run in revived:
                    api.post("/runs/delete", {"run_id": run["info"]["run_id"]})
        return exp
    exp = str(api.post("/experiments/create", {"name": name})["experiment_id"])
    if ledger is not None:
        ledger.created("experiment", [exp])
    return exp


def _new_run(
    api: MlflowRest, exp: str, run: dict[str, Any], source_run: str, ledger: Ledger | None = None
) -> tuple[str, str]:
    created = api.post(
        "/runs/create",
        {
            "experiment_id": exp,
            "start_time": int(time.time() * 1000),
            "tags": [{"key": "drp.source_run_id", "value": source_run}],
        },
    )["run"]["info"]
    if ledger is not None:  # its artifacts folder goes with it at clean-up
        ledger.created("run", [created["run_id"]], artifacts=proxy_path(created["artifact_uri"]).rsplit("/", 1)[0])
    now = int(time.time() * 1000)
    api.post(
        "/runs/log-batch",
        {
            "run_id": created["run_id"],
            "params": [{"key": k, "value": v} for k, v in run.get("params", {}).items()],
            "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in run.get("metrics", {}).items()],
            "tags": [{"key": k, "value": v} for k, v in run.get("tags", {}).items()],
        },
    )
    api.post("/runs/update", {"run_id": created["run_id"], "status": "FINISHED", "end_time": now})
    return created["run_id"], created["artifact_uri"]


def write_model(
    api: MlflowRest, *, name: str, model: dict[str, Any], files: Path, exp: str, ledger: Ledger | None = None
) -> None:
    """Create ``name`` with every captured version, keeping version numbers; gaps are filled then deleted."""
    api.post(
        "/registered-models/create",
        {
            "name": name,
            "description": model["description"],
            "tags": [{"key": k, "value": v} for k, v in model["tags"].items()],
        },
    )
    versions = model["versions"]
    top = max((int(v) for v in versions), default=0)
    runs: dict[int, tuple[str, str]] = {}
    uploads: list[Callable[[], Any]] = []
    for number in range(1, top + 1):
        meta = versions.get(str(number))
        runs[number] = _new_run(api, exp, (meta or {}).get("run", {}), (meta or {}).get("run_id", ""), ledger)
        if meta is not None:
            root = proxy_path(runs[number][1]) + "/" + ARTIFACT_DIR
            hashes = meta.get("artifacts") or {}
            for path in sorted(p for p in (files / str(number)).rglob("*") if p.is_file()):
                rel = path.relative_to(files / str(number)).as_posix()
                uploads.append(partial(_upload, api, f"{root}/{rel}", path, hashes.get(rel)))
    in_parallel(uploads)  # every artifact is in place (and was the captured bytes) before a version names it
    placeholders = []
    for number in range(1, top + 1):
        meta = versions.get(str(number))
        run_id, artifact_uri = runs[number]
        created = api.post(
            "/model-versions/create",
            {
                "name": name,
                "source": f"{artifact_uri}/{ARTIFACT_DIR}",
                "run_id": run_id,
                "description": (meta or {}).get("description", ""),
                "tags": [{"key": k, "value": v} for k, v in (meta or {}).get("tags", {}).items()],
            },
        )["model_version"]
        if str(created["version"]) != str(number):
            raise RestoreFailed(f"MLflow numbered the restored version {created['version']} instead of {number}.")
        if meta is None:
            placeholders.append(str(number))
        elif meta["stage"] not in ("", "None"):
            api.post(
                "/model-versions/transition-stage",
                {"name": name, "version": str(number), "stage": meta["stage"], "archive_existing_versions": False},
            )
    for gap in placeholders:
        api.delete("/model-versions/delete", {"name": name, "version": gap})
    for alias, version in model["aliases"].items():
        api.post("/registered-models/alias", {"name": name, "alias": alias, "version": version})
