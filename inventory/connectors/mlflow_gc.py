"""After a drill's clean-up deleted its source runs and experiment through MLflow's REST API, which
only marks them deleted: purge them from the drill registry's backend store, ask the registry that
they are gone, and write in the ledger, for each, whether it was purged or what remains and why.

The purge runs ``mlflow_gc_store.py`` with the MLflow virtualenv's Python (MLFLOW_PYTHON; the
portal has no mlflow), bounded by MLFLOW_PURGE_TIMEOUT_SECONDS, on the ids the ledger names (or its
restore tags find, ``mlflow_runs``) only.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

from django.conf import settings

from inventory.connectors._files import refuse_target_path
from inventory.connectors.errors import ConnectorError
from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest
from inventory.connectors.mlflow_runs import deleted_tagged
from inventory.connectors.reach import reach, url_problem
from inventory.paths import path_shape_refusal, userinfo_refusal

HELPER = Path(__file__).with_name("mlflow_gc_store.py")
SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgresql+psycopg2://")
FIELD = "drill_backend_store_uri"
# Variables the purge may need to reach a PostgreSQL store (a password file, a service file, TLS files).
PG_ENV = ("PGPASSFILE", "PGPASSWORD", "PGSERVICEFILE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGUSER")


def store_problem(uri: str) -> str | None:
    """Why ``uri`` cannot name a drill registry's backend store, or None (the config's check)."""
    if not uri:
        return None
    if uri.startswith(SQLITE):
        path = uri.removeprefix(SQLITE)
        if not path.startswith("/"):
            return "give the SQLite file's absolute path, as sqlite:////path/to/mlflow.db (four slashes)."
        return path_shape_refusal(path)
    if uri.startswith(POSTGRES):
        why = userinfo_refusal(uri, field=FIELD)
        if why:
            return why.removeprefix(f"{FIELD}: ")
        parts = urllib.parse.urlsplit(uri)
        if "password" in urllib.parse.parse_qs(parts.query):
            return "the address carries a password; give it through PGPASSFILE or PGPASSWORD on the workers."
        if not parts.path.strip("/"):
            return "name the database after the host, as postgresql://host:5432/mlflow."
        return url_problem(uri)
    return "give the value the drill server's --backend-store-uri was given: sqlite:////path/to/mlflow.db or postgresql://host:5432/db."


def _removed_note(store: str) -> str:
    return (
        f"The runs and experiments clean-up deleted were purged from the drill registry's backend store {store} "
        "(as `mlflow gc` does): the registry no longer finds them, not even as deleted."
    )


def _left_why(why: str) -> str:
    return f"deleted, but MLflow keeps its rows (params, metrics, tags) until `mlflow gc`: {why}"


def purge(
    api: MlflowRest, ledger: Ledger, *, store: str, tracking_uri: str, runs: list[str], experiments: list[str]
) -> None:
    """Purge ``runs`` and ``experiments`` (deleted by this clean-up, or by one killed before its purge)
    from ``store``, the backend store of the registry ``api`` speaks to. Each is then, in ``ledger``,
    removed with a note saying it was purged, or kept with why it remains; nothing here raises.

    Also purged: the runs carrying one of ``ledger``'s restore tags that the registry holds as
    deleted (an earlier clean-up deleted them and was killed before purging them)."""
    # Not listed (the registry did not answer): the next clean-up finds them; the purge below says why it failed.
    with contextlib.suppress(ConnectorError):
        runs = [*runs, *(r for r in deleted_tagged(api, ledger) if r not in runs)]
    if not runs and not experiments:
        return
    if not store:
        why = f"the asset's MLflow connector names no {FIELD} (the backend store of {tracking_uri}) to purge it from."
        _left(ledger, runs, experiments, why)
        return
    python = settings.MLFLOW_PYTHON
    if not python or not os.access(python, os.X_OK):
        state = "is not set" if not python else f"({python}) is not an executable file"
        why = f"no MLflow Python to purge it with: MLFLOW_PYTHON {state}."
        _left(ledger, runs, experiments, why)
        return
    try:
        request = _request(api, store, runs, experiments)
        answer = _run(python, request)
    except (ConnectorError, OSError) as exc:
        _left(ledger, runs, experiments, f"purging from {store} failed: {exc}")
        return
    kept: dict[str, dict[str, str]] = answer.get("kept", {})
    for kind, ids, asked in (("run", runs, "runs"), ("experiment", experiments, "experiments")):
        for ident in ids:
            try:
                gone = _gone(api, kind, ident)
            except ConnectorError as exc:
                ledger.kept(kind, ident, _left_why(f"the drill registry could not say whether it is gone: {exc}"))
                continue
            if gone:
                ledger.removed(kind, ident, note=_removed_note(store))
            else:
                why = kept.get(asked, {}).get(ident) or f"{store} was purged but the drill registry still finds it"
                ledger.kept(kind, ident, _left_why(why))


def _left(ledger: Ledger, runs: list[str], experiments: list[str], why: str) -> None:
    for run_id in runs:
        ledger.kept("run", run_id, _left_why(why))
    for exp in experiments:
        ledger.kept("experiment", exp, _left_why(why))


def _request(api: MlflowRest, store: str, runs: list[str], experiments: list[str]) -> dict[str, Any]:
    """What the purge is asked: the runs the registry still holds, each experiment with the name and
    creation time the registry reports (the purge checks the store holds exactly these)."""
    held = [run_id for run_id in runs if not _gone(api, "run", run_id)]
    exps = []
    for exp_id in experiments:
        try:
            found = api.get("/experiments/get", experiment_id=exp_id)["experiment"]
        except MlflowApiError as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                continue
            raise
        exps.append({"id": exp_id, "name": found["name"], "created": int(found.get("creation_time") or 0)})
    return {"store": _checked_store(store), "runs": held, "experiments": exps}


def _checked_store(store: str) -> str:
    """Right before the purge opens it: a SQLite file by the restore targets' rules; a PostgreSQL host by
    the connectors' network rule, connected to at the address that rule checked."""
    why = store_problem(store)
    if why:
        raise ConnectorError(why)
    if store.startswith(SQLITE):
        refuse_target_path(store.removeprefix(SQLITE))
        return store
    parts = urllib.parse.urlsplit(store)
    address = reach("The MLflow backend store", parts.hostname or "", parts.port or 5432)
    host = f"[{address}]" if ":" in address else address
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{host}:{parts.port or 5432}"))


def _run(python: str, request: dict[str, Any]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", *PG_ENV)}
    timeout = settings.MLFLOW_PURGE_TIMEOUT_SECONDS
    try:
        # -I: the helper's folder is not put on sys.path, so this package's mlflow.py cannot shadow mlflow.
        done = subprocess.run(
            [python, "-I", str(HELPER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConnectorError(f"the purge did not finish within {timeout} s (MLFLOW_PURGE_TIMEOUT_SECONDS)") from None
    lines = done.stdout.strip().splitlines()
    try:
        answer: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if answer.get("refused"):
        raise ConnectorError(str(answer["refused"]))
    if done.returncode != 0 or "purged_runs" not in answer:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConnectorError(f"the MLflow Python {python} exited with {done.returncode}: {last[:300]}")
    return answer


def _gone(api: MlflowRest, kind: str, ident: str) -> bool:
    """Whether the registry no longer holds the run or experiment, not even as deleted."""
    path, key = ("/runs/get", "run_id") if kind == "run" else ("/experiments/get", "experiment_id")
    try:
        api.get(path, **{key: ident})
    except MlflowApiError as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return True
        raise
    return False
