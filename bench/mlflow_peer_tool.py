"""The peer of the MLflow rows of ``bench.connector_bench``: mlflow-export-import's ``export-models`` and
``import-models`` (``import_all``), timed inside their own process. Run by ``.venv-mlflow-peer/bin/python``
(``make bench-mlflow-peer-venv``), not by the portal's virtualenv, which has no mlflow::

    python bench/mlflow_peer_tool.py export --tracking-uri URL --models M --out DIR [--warm MODEL --warm-out DIR]
    python bench/mlflow_peer_tool.py import --tracking-uri URL --input DIR [--warm-input DIR] --models M

The tool's own output goes to ``--log``; the last line on stdout is one JSON object: the timed call's
wall-clock and CPU seconds, and what the tool counted (versions exported, or versions found in the target
after the import). A warm-up model (``--warm``, ``--warm-input``) is exported or imported first, untimed,
as the portal's side of the bench warms both servers up.

Two small patches, applied at runtime here (``patch_for_served_artifacts``), let mlflow-export-import 1.2.0
import into a server started with ``--serve-artifacts``, whose runs' artifact URIs read
``mlflow-artifacts:/<experiment>/<run>/artifacts``:

- ``import_model._extract_model_path`` looks for the first ``artifacts`` in a version's source, which is
  the one in the scheme ``mlflow-artifacts:``, and makes the model's path inside the run
  ``/1/<run>/artifacts/model`` instead of ``model``: the path after ``<run>/artifacts/`` is taken instead;
- ``BaseModelImporter._import_version`` refuses a version whose new source is not a local path
  (``os.path.exists``) unless it starts with ``dbfs:``: it is checked as a local path only when it is one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def extract_model_path(source: str, run_id: str) -> str:
    """The model's path inside its run's artifacts, from a version's ``source``
    (``mlflow-artifacts:/1/<run>/artifacts/model``, ``runs:/<run>/model``, a local folder)."""
    for marker in (f"{run_id}/artifacts/", f"{run_id}/"):
        at = source.find(marker)
        if at != -1:
            return source[at + len(marker) :]
    raise ValueError(f"cannot find run ID {run_id!r} in the version's source {source!r}")


def patch_for_served_artifacts() -> None:
    """The two patches of the module's docstring (mlflow-export-import 1.2.0's own code otherwise)."""
    from mlflow_export_import.common import MlflowExportImportException, model_utils
    from mlflow_export_import.model import import_model

    def _import_version(
        self: Any, model_name: str, src_vr: dict[str, Any], dst_run_id: str, dst_source: str, sleep_time: int
    ) -> None:
        # As BaseModelImporter._import_version, but a URI (mlflow-artifacts:, s3:, ...) is not a local path.
        dst_source = dst_source.replace("file://", "")
        local = urlparse(dst_source).scheme in ("", "file")
        if local and not os.path.exists(dst_source):
            raise MlflowExportImportException(f"the version's source does not exist: {dst_source}")
        kwargs = {"await_creation_for": self.await_creation_for} if self.await_creation_for else {}
        dst_vr = self.mlflow_client.create_model_version(
            model_name, dst_source, dst_run_id, description=src_vr["description"], tags=src_vr["tags"], **kwargs
        )
        model_utils.wait_until_version_is_ready(self.mlflow_client, model_name, dst_vr, sleep_time=sleep_time)
        if src_vr["current_stage"] != "None":
            self.mlflow_client.transition_model_version_stage(model_name, dst_vr.version, src_vr["current_stage"])

    import_model._extract_model_path = extract_model_path
    import_model.BaseModelImporter._import_version = _import_version


def count_versions(client: Any, model: str) -> int:
    """Versions of ``model`` in the tracking server, all pages."""
    found, token = 0, None
    while True:
        page = client.search_model_versions(f"name='{model}'", max_results=1000, page_token=token)
        found += len(page)
        token = page.token
        if not token:
            return found


def export(args: argparse.Namespace) -> dict[str, Any]:
    import mlflow
    from mlflow_export_import.bulk.export_models import export_models

    client = mlflow.tracking.MlflowClient()
    # ``stages=None`` as the ``export-models`` command passes it (every stage): the function's own default,
    # "", keeps no version at all.
    if args.warm:
        export_models(client, args.warm, args.warm_out, stages=None)
    cpu, started = _cpu(), time.perf_counter()
    info = export_models(client, args.models, args.out, stages=None)
    took, cpu = time.perf_counter() - started, _cpu() - cpu
    exported = 0
    for model in args.models.split(","):
        spec = json.loads((Path(args.out) / "models" / model / "model.json").read_text())
        exported += len(spec["mlflow"]["registered_model"]["versions"])
    failed = info["models"]["num_failed_models"] + info["experiments"]["failed_runs"]
    return {"seconds": took, "cpu": cpu, "versions": exported, "failed": failed}


def import_(args: argparse.Namespace) -> dict[str, Any]:
    import mlflow
    from mlflow_export_import.bulk.import_models import import_all

    client = mlflow.tracking.MlflowClient()
    if args.patch:
        patch_for_served_artifacts()
    if args.warm_input:
        import_all(client, args.warm_input, delete_model=False)
    cpu, started = _cpu(), time.perf_counter()
    import_all(client, args.input, delete_model=False)
    took, cpu = time.perf_counter() - started, _cpu() - cpu
    versions = {model: count_versions(client, model) for model in args.models.split(",")}
    return {"seconds": took, "cpu": cpu, "versions": sum(versions.values()), "by_model": versions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("export", "import"):
        one = sub.add_parser(name)
        one.add_argument("--tracking-uri", required=True)
        one.add_argument("--models", required=True, help="registered model names, comma-separated")
        one.add_argument("--log", required=True, help="file for the tool's own output")
    sub.choices["export"].add_argument("--out", required=True)
    sub.choices["export"].add_argument("--warm", default="", help="a model exported first, untimed")
    sub.choices["export"].add_argument("--warm-out", default="")
    sub.choices["import"].add_argument("--input", required=True)
    sub.choices["import"].add_argument("--warm-input", default="", help="an export imported first, untimed")
    sub.choices["import"].add_argument(
        "--no-patch", dest="patch", action="store_false", help="without the two patches (to see them needed)"
    )
    args = parser.parse_args()
    # mlflow and the tool read the tracking URI when they are imported (find_artifacts makes its client then).
    os.environ["MLFLOW_TRACKING_URI"] = args.tracking_uri
    run = export if args.command == "export" else import_
    with open(args.log, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        result = run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
