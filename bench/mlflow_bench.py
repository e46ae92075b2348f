"""The MLflow rows of ``bench.connector_bench``: a registry moved directly through its artifact folders
(``artifacts_path``) and through the REST API, against copying the artifact folder (and copying it back), and,
when ``.venv-mlflow-peer`` is installed (``make bench-mlflow-peer-venv``), against the community tool
mlflow-export-import moving the same registry (``bench/mlflow_peer_tool.py``): the closest tool that restores
a registry, where a folder copy restores none.

    python -m bench.connector_bench --only mlflow [--versions 100] [--mlflow-mib 100 | --mlflow-version-mib 10]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.connector_bench import MiB, Result, Seconds, Store, _ratio, _sha256_file, _timed, _tree_bytes


def bench_mlflow(
    root: Path,
    store: Store,
    versions: int,
    mib: int,
    ports: tuple[int, int, int] | None = None,
    *,
    warm: bool = True,
    version_mib: float = 0,
) -> Result | None:
    """A registry of ``versions`` versions (``mib`` MiB of artifacts in all, or ``version_mib`` each)
    against copying its artifact folder.

    The row it returns reads and writes the servers' artifact folders directly (``artifacts_path``);
    it prints a second row for the same registry moved through the servers' REST API, and the
    native restore (the copied folder copied back, every file hashed) beside both restores.
    ``warm``: a one-version model is backed up and restored first, untimed, so that neither
    server pays inside the timing for the code it loads on the first request of each kind
    (seconds on a loaded machine); a registry in service has long loaded it.
    """
    from django.conf import settings

    from inventory import demo_mlflow

    peer = settings.BASE_DIR / ".venv-mlflow-peer" / "bin" / "python"
    binary = demo_mlflow.mlflow_binary(settings.BASE_DIR)
    if binary is None and peer.with_name("mlflow").exists():
        # The peer's virtualenv holds the same pinned mlflow (requirements-mlflow.txt's version).
        binary = peer.with_name("mlflow")
        print(f"{'mlflow':<16} servers from .venv-mlflow-peer (no .venv-mlflow)")
    if binary is None:
        return None
    ports = ports or (demo_mlflow.free_port(), demo_mlflow.free_port(), demo_mlflow.free_port())
    names = ("src", "dst", "peer") if peer.exists() else ("src", "dst")
    procs = [demo_mlflow.start_server(binary, root / name, port) for name, port in zip(names, ports, strict=False)]
    try:
        for port, proc in zip(ports, procs, strict=False):
            demo_mlflow.wait_ready(f"http://127.0.0.1:{port}", proc)
        per_version = int(version_mib * MiB) if version_mib else max(1, mib * MiB // versions)
        src, dst, peer_url = (f"http://127.0.0.1:{port}" for port in ports)
        _mlflow_fill(src, versions, per_version, warm=warm)
        folders = {"artifacts_path": str(root / "src" / "artifacts")}
        (root / "dst" / "artifacts").mkdir(parents=True, exist_ok=True)
        targets = {"artifacts_path": str(root / "dst" / "artifacts")}
        if warm:
            for mode in ({}, folders):
                _mlflow_round(store, src, dst, "warm-up", mode, targets if mode else {})
        artifacts = root / "src" / "artifacts"
        size = _tree_bytes(artifacts)
        copy = root / "artifacts-copy"

        def native() -> None:
            _copy_hashed(artifacts, copy)

        def native_restore() -> None:
            _copy_hashed(copy, root / "artifacts-back")

        natives = {"": _timed(native)}
        back = _timed(native_restore)
        shutil.rmtree(root / "artifacts-back")
        rest = _mlflow_round(store, src, dst, "bench-model", {}, {})
        rest_phases = store.phases
        direct = _mlflow_round(store, src, dst, "bench-model", folders, targets)
        mib_size = size / MiB
        print(
            f"{'mlflow (rest)':<16} {mib_size:>10.1f} {mib_size / natives['']:>13.1f} {mib_size / rest[0]:>13.1f} "
            f"{natives[''] / rest[0]:>6.2f} {mib_size / rest[1]:>14.1f} {rest_phases[0]:>7.2f} {rest_phases[1]:>7.2f}"
            f" {_ratio(natives[''], rest[0]):>9}   load {os.getloadavg()[0]:.2f}"
        )
        print(
            f"{'mlflow restore':<16} native (folder copied back, hashed) {mib_size / back:.1f} MiB/s; "
            f"restore / native: direct {back / direct[1]:.2f} (cpu {_ratio(back, direct[1])}), "
            f"rest {back / rest[1]:.2f} (cpu {_ratio(back, rest[1])})   load {os.getloadavg()[0]:.2f}"
        )
        if peer.exists():
            export, into = _peer_round(peer, root, src, peer_url, versions, warm=warm)
            print(
                f"{'mlflow peer':<16} export {mib_size / export:.1f} MiB/s ({export:.1f} s), import "
                f"{mib_size / into:.1f} MiB/s ({into:.1f} s); backup / peer export: direct {export / direct[0]:.2f} "
                f"(cpu {_ratio(export, direct[0])}), rest {export / rest[0]:.2f} (cpu {_ratio(export, rest[0])}); "
                f"restore / peer import: direct {into / direct[1]:.2f} (cpu {_ratio(into, direct[1])}), "
                f"rest {into / rest[1]:.2f} (cpu {_ratio(into, rest[1])})   load {os.getloadavg()[0]:.2f}"
            )
        return size, natives, direct[0], direct[1]
    finally:
        demo_mlflow.stop_servers(procs)


def _copy_hashed(src: Path, dst: Path) -> None:
    """The native tool: the folder copied, then every copied file hashed."""
    shutil.copytree(src, dst)
    for item in sorted(dst.rglob("*")):
        if item.is_file():
            _sha256_file(item)


def _mlflow_fill(url: str, versions: int, per_version: int, *, warm: bool) -> None:
    """``bench-model`` with ``versions`` versions of ``per_version`` bytes each (half random), and a warm-up model."""
    from inventory.connectors.mlflow_rest import MlflowRest, proxy_path

    api = MlflowRest(url)
    exp = api.post("/experiments/create", {"name": "bench"})["experiment_id"]
    for name, count, size in (("bench-model", versions, per_version), ("warm-up", 1 if warm else 0, 16)):
        if not count:
            continue
        api.post("/registered-models/create", {"name": name})
        for i in range(count):
            run = api.post("/runs/create", {"experiment_id": exp})["run"]["info"]
            api.post("/runs/log-batch", {"run_id": run["run_id"], "params": [{"key": "i", "value": str(i)}]})
            root_path = proxy_path(run["artifact_uri"]) + "/model"
            api.upload(f"{root_path}/MLmodel", f"flavor: bench {i}".encode())
            api.upload(f"{root_path}/weights.bin", os.urandom(size // 2) + b"\0" * (size - size // 2))
            source = f"{run['artifact_uri']}/model"
            api.post("/model-versions/create", {"name": name, "source": source, "run_id": run["run_id"]})
        api.post("/registered-models/alias", {"name": name, "alias": "champion", "version": str(count)})


def _mlflow_round(
    store: Store, src: str, dst: str, model: str, source: dict[str, str], target: dict[str, str]
) -> tuple[Seconds, Seconds]:
    """Back ``model`` up and restore it into ``dst`` (then clean the target up, untimed): the two times."""
    from inventory.connectors import get_connector

    connector = get_connector("mlflow", {"tracking_uri": src, "models": [model], **source})
    holder: dict[str, Any] = {}
    backup = _timed(lambda: holder.update(zip(("capture", "manifest"), store.backup(connector), strict=True)))
    # A fresh experiment per restore: bringing back one an earlier clean-up deleted also
    # revives its deleted runs, which the restore deletes again one request each (untimed work
    # of an earlier round, not of this one).
    into = {"tracking_uri": dst, "models": [model], "experiment": f"restored-{uuid.uuid4().hex[:8]}", **target}
    restore = _timed(lambda: store.restore(connector, holder["capture"], holder["manifest"], into))
    connector.cleanup(target=into)
    return backup, restore


def _peer_round(
    python: Path, root: Path, src: str, target: str, versions: int, *, warm: bool
) -> tuple[Seconds, Seconds]:
    """mlflow-export-import exports ``bench-model`` from ``src`` and imports it into the fresh server ``target``:
    the seconds (and CPU seconds) of the two calls as the tool timed them in its own process, after its imports.

    The import is checked here, untimed: as many versions in the target as in the source, and every weights
    file back with the same SHA-256; it prints how many versions kept their number and how many aliases came
    back, which mlflow-export-import 1.2.0 does not promise."""
    from inventory.connectors.mlflow_rest import MlflowRest

    out, log = root / "peer-export", root / "peer-tool.log"
    tool = [str(python), str(Path(__file__).with_name("mlflow_peer_tool.py"))]
    warm_export = ["--warm", "warm-up", "--warm-out", str(root / "peer-warm")] if warm else []
    export = _peer_call([*tool, "export", "--tracking-uri", src, "--out", str(out), *warm_export], log)
    if export["versions"] != versions or export["failed"]:
        _peer_failed(f"exported {export['versions']} of {versions} versions ({export['failed']} failed)", log)
    warm_import = ["--warm-input", str(root / "peer-warm")] if warm else []
    into = _peer_call([*tool, "import", "--tracking-uri", target, "--input", str(out), *warm_import], log)
    api = MlflowRest(target)
    found = list(api.pages("/model-versions/search", "model_versions", filter="name='bench-model'", max_results=1000))
    weights = [sorted(_sha256_file(p) for p in (root / name).rglob("weights.bin")) for name in ("src", "peer")]
    if len(found) != versions or into["versions"] != versions or weights[0] != weights[1]:
        _peer_failed(
            f"restored {len(found)} of {versions} versions; weights files equal: {weights[0] == weights[1]}", log
        )
    # The bench's version n was logged by a run with the parameter i = n - 1.
    runs = {v["run_id"]: api.get("/runs/get", run_id=v["run_id"])["run"] for v in found}
    kept = sum(
        1
        for v in found
        if any(
            p["key"] == "i" and int(p["value"]) + 1 == int(v["version"]) for p in runs[v["run_id"]]["data"]["params"]
        )
    )
    aliases = api.get("/registered-models/get", name="bench-model")["registered_model"].get("aliases", [])
    print(
        f"{'mlflow peer':<16} import checked: {len(found)} versions, {len(weights[1])} weights files with their "
        f"SHA-256; {kept} of {len(found)} versions kept their number, {len(aliases)} of 1 alias restored"
    )
    return _seconds(export), _seconds(into)


def _peer_call(command: list[str], log: Path) -> dict[str, Any]:
    done = subprocess.run([*command, "--models", "bench-model", "--log", str(log)], capture_output=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace")[-4000:])
        _peer_failed(f"the tool exited with {done.returncode}", log)
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _peer_failed(what: str, log: Path) -> None:
    """Stop the bench with the end of the tool's log (the scratch folder it is in goes with the bench)."""
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    sys.stderr.write(f"--- the end of mlflow-export-import's output ---\n{tail}\n")
    raise SystemExit(f"mlflow-export-import: {what}")


def _seconds(result: dict[str, Any]) -> Seconds:
    took = Seconds(result["seconds"])
    took.cpu = result["cpu"]
    return took
