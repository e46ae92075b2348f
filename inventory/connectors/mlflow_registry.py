"""Reading an MLflow registry into plain JSON, and writing such JSON into another MLflow."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from inventory.connectors import workers
from inventory.connectors.errors import CaptureIncomplete, RestoreFailed
from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest, proxy_path
from inventory.connectors.mlflow_runs import new_run, restore_tag

ARTIFACT_DIR = "model"
# Requests to the registry run this many at a time: one after another, a capture or restore
# of 100 versions spent its time waiting on hundreds of round trips (docs/benchmarks.md).
THREADS = 8
THREAD_NAME = "mlflow-transfer"
# Source runs read per search (the filter names each run id).
RUNS_PER_SEARCH = 100


def in_parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` on ``THREADS`` threads; results in the jobs' order, the first failure raised."""
    return workers.in_parallel(jobs, threads=THREADS, name=THREAD_NAME)


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


def _version_stamps(api: MlflowRest, name: str) -> tuple[Any, ...]:
    model = get_model(api, name) or {}
    versions = api.pages("/model-versions/search", "model_versions", filter=f"name='{_q(name)}'", max_results=1000)
    return version_stamps(name, model, versions)


def version_stamps(name: str, model: dict[str, Any], versions: Iterable[dict[str, Any]]) -> tuple[Any, ...]:
    """One model's part of a fingerprint, from its ``registered-models/get`` and versions listing."""
    return (
        name,
        model.get("last_updated_timestamp"),
        sorted((a["alias"], a["version"]) for a in model.get("aliases", [])),
        sorted((v["version"], v.get("last_updated_timestamp"), v.get("current_stage")) for v in versions),
    )


def fingerprint(api: MlflowRest, names: list[str]) -> list[Any]:
    """What must not move while a capture is read: timestamps, stages and aliases of every version."""
    return in_parallel([partial(_version_stamps, api, name) for name in names])


def _q(name: str) -> str:
    return name.replace("'", "\\'")


def _run_facts(run: dict[str, Any]) -> dict[str, Any]:
    data = run.get("data", {})
    return {
        "params": {p["key"]: p["value"] for p in data.get("params", [])},
        "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
        "tags": _tags(data.get("tags"), system=False),
    }


def _get_run(api: MlflowRest, run_id: str) -> dict[str, Any] | None:
    try:
        return _run_facts(api.get("/runs/get", run_id=run_id)["run"])
    except MlflowApiError as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or exc.status == 404:
            return None
        raise


def experiment_ids(api: MlflowRest) -> list[str]:
    search = {"max_results": 1000, "view_type": "ALL"}
    return [e["experiment_id"] for e in api.post_pages("/experiments/search", "experiments", search)]


def read_runs(
    api: MlflowRest, run_ids: Iterable[str], experiments: list[str] | None = None
) -> dict[str, dict[str, Any] | None]:
    """``{run id: params, metrics and user tags}`` (``None`` for a run the server no longer has).

    Read with a few ``runs/search`` calls naming the runs, not one ``runs/get`` each; what
    the search does not return (or every run, on a server that refuses such a search) is
    read run by run, several at a time. ``experiments``: every experiment's id, when already listed.
    """
    wanted = sorted({run_id for run_id in run_ids if run_id})
    found: dict[str, dict[str, Any] | None] = {}
    if wanted:
        try:
            experiments = experiments if experiments is not None else experiment_ids(api)
            for start in range(0, len(wanted), RUNS_PER_SEARCH):
                chunk = wanted[start : start + RUNS_PER_SEARCH]
                query = {
                    "experiment_ids": experiments,
                    "filter": "attributes.run_id IN (" + ", ".join(f"'{_q(r)}'" for r in chunk) + ")",
                    "run_view_type": "ALL",
                    "max_results": len(chunk),
                }
                for run in api.post_pages("/runs/search", "runs", query):
                    found[run["info"]["run_id"]] = _run_facts(run)
        except MlflowApiError:
            pass  # not a search this server answers: read below, run by run
    missing = [run_id for run_id in wanted if run_id not in found]
    found.update(zip(missing, in_parallel([partial(_get_run, api, run_id) for run_id in missing]), strict=True))
    return found


def _listing(api: MlflowRest, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    model = get_model(api, name)
    if model is None:
        raise CaptureIncomplete(f"The registered model {name} disappeared during the capture.")
    versions = api.pages("/model-versions/search", "model_versions", filter=f"name='{_q(name)}'", max_results=1000)
    return model, list(versions)


def read_models(api: MlflowRest, names: list[str]) -> dict[str, dict[str, Any]]:
    """Each model's description, tags, aliases and versions, with every version's source run:
    the models are listed several at a time, then their runs read together."""
    listed = list_models(api, names)
    runs = read_runs(api, (v.get("run_id", "") for _model, versions in listed.values() for v in versions))
    return {name: model_facts(name, model, versions, runs) for name, (model, versions) in listed.items()}


def list_models(api: MlflowRest, names: list[str]) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each model as ``registered-models/get`` gives it, with its versions' listing; several at a time."""
    return dict(zip(names, in_parallel([partial(_listing, api, name) for name in names]), strict=True))


def model_facts(
    name: str, model: dict[str, Any], listed: list[dict[str, Any]], runs: dict[str, dict[str, Any] | None]
) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    for v in listed:
        run_id = v.get("run_id", "")
        run = runs.get(run_id, {}) if run_id else {}
        if run is None:
            raise CaptureIncomplete(
                f"Version {v['version']} of {name} was trained in run {run_id}, which the server no longer has: "
                "its params and metrics cannot be captured."
            )
        versions[str(v["version"])] = {
            "stage": v.get("current_stage", "None"),
            "description": v.get("description", ""),
            "tags": _tags(v.get("tags")),
            "run_id": run_id,
            "run": run,
            "source": v.get("source", ""),
        }
    return {
        "description": model.get("description", ""),
        "tags": _tags(model.get("tags")),
        "aliases": {a["alias"]: str(a["version"]) for a in model.get("aliases", [])},
        "versions": dict(sorted(versions.items(), key=lambda kv: int(kv[0]))),
    }


def artifact_root(api: MlflowRest, name: str, version: str, source: str = "") -> str:
    """The proxy path of a version's files. A source the artifact proxy serves is where they are
    (MLflow resolves only a ``models:/`` source elsewhere); anything else is asked of the server."""
    if source.startswith("mlflow-artifacts:"):
        return proxy_path(source)
    uri = api.get("/model-versions/get-download-uri", name=name, version=version)["artifact_uri"]
    return proxy_path(uri)


def fetch_artifacts(api: MlflowRest, name: str, version: str, dest: Path | None, source: str = "") -> dict[str, str]:
    """``{relative path: sha256}`` of a version's artifacts, written under ``dest`` when given."""
    root = artifact_root(api, name, version, source)
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


def artifact_sizes(api: MlflowRest, name: str, version: str, source: str = "") -> dict[str, int]:
    """``{relative path: size}`` of a version's artifacts, as the server lists them (nothing downloaded)."""
    return dict(api.list_artifacts(artifact_root(api, name, version, source)))


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


def write_model(
    api: MlflowRest,
    *,
    name: str,
    model: dict[str, Any],
    files: Path,
    exp: str,
    runs: list[str] | None = None,
    ledger: Ledger | None = None,
    place: Callable[..., None] | None = None,
    registered: Callable[[], None] | None = None,
) -> None:
    """Create ``name`` with every captured version, keeping version numbers; gaps are filled then deleted.

    Each version's source run and its artifacts are written on worker threads, several
    versions at once; the versions are registered on this thread strictly in order, each
    once its own run exists and its files were uploaded (and matched the capture's hashes),
    so MLflow gives them the captured numbers. ``runs`` receives the id of every run created,
    for the caller to delete if the restore fails; ``ledger`` records each run before its
    files are written, for a drill's clean-up. ``place(artifact URI, folder, hashes, what=)``, when
    given, writes a version's files instead of uploading them (the target's own artifact folder).
    ``registered()`` is called after each version is registered (for the run page's progress).
    Before any run is made, ``ledger`` records the restore tag every run carries (``mlflow_runs``).
    """
    tag = restore_tag(ledger, exp)
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
    created_runs = runs if runs is not None else []
    with workers.Workers(THREADS, name=THREAD_NAME) as pool:

        def prepare(number: int) -> tuple[str, str, list[Future[None]]]:
            meta = versions.get(str(number)) or {}
            run_id, artifact_uri = new_run(api, exp, meta.get("run", {}), meta.get("run_id", ""), tag, ledger)
            created_runs.append(run_id)
            root = proxy_path(artifact_uri) + "/" + ARTIFACT_DIR
            uploads: list[Future[None]] = []
            if meta and place is not None:
                what = f"Version {number} of {name}"
                uploads.append(
                    pool.submit(
                        partial(
                            place,
                            f"{artifact_uri}/{ARTIFACT_DIR}",
                            files / str(number),
                            meta.get("artifacts") or {},
                            what=what,
                        )
                    )
                )
            elif meta:
                folder, hashes = files / str(number), meta.get("artifacts") or {}
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    rel = path.relative_to(folder).as_posix()
                    uploads.append(pool.submit(_upload, api, f"{root}/{rel}", path, hashes.get(rel)))
            return run_id, artifact_uri, uploads

        # Runs are prepared a bounded distance ahead of the version being registered, so the
        # uploads of the next versions are not queued behind every remaining run.
        ahead: dict[int, Future[tuple[str, str, list[Future[None]]]]] = {}
        placeholders: list[tuple[str, str]] = []
        for number in range(1, top + 1):
            for later in range(len(ahead) + 1, min(number + 2 * THREADS, top) + 1):
                ahead[later] = pool.submit(prepare, later)
            run_id, artifact_uri, uploads = pool.result(ahead[number])
            if ledger is not None:
                ledger.flush()  # the runs recorded on worker threads
            for upload in uploads:
                pool.result(upload)
            meta = versions.get(str(number))
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
            if registered is not None:
                registered()
            if meta is None:
                placeholders.append((str(number), run_id))
            elif meta["stage"] not in ("", "None"):
                api.post(
                    "/model-versions/transition-stage",
                    {"name": name, "version": str(number), "stage": meta["stage"], "archive_existing_versions": False},
                )
    for gap, run_id in placeholders:
        api.delete("/model-versions/delete", {"name": name, "version": gap})
        api.post("/runs/delete", {"run_id": run_id})
    for alias, version in model["aliases"].items():
        api.post("/registered-models/alias", {"name": name, "alias": alias, "version": version})
