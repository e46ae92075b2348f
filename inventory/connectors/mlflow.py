"""MLflow model registry over REST: models, versions, stages, aliases, tags, descriptions,
each version's artifacts (hashed) and its source run's params and metrics. With ``artifacts_path``
the artifacts are read (and, in a target, written) in the server's own folder instead
(:mod:`inventory.connectors.mlflow_direct`).

The registry has no read snapshot, so its metadata is read between two fingerprints
(every version's timestamp, stage and alias); if they differ the read is repeated,
and after three tries the capture fails naming the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from inventory.connectors import mlflow_direct as direct
from inventory.connectors import mlflow_gc
from inventory.connectors import mlflow_registry as reg
from inventory.connectors._files import refuse_target_path
from inventory.connectors.base import (
    DISCOVER_LIMIT,
    DISCOVER_TIMEOUT,
    Capture,
    Connector,
    Discovery,
    Proposal,
    Snapshot,
    Verification,
    register,
    utcnow,
)
from inventory.connectors.errors import (
    ConnectorError,
    ConnectorRefused,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
)
from inventory.connectors.mlflow_cleanup import remove_recorded
from inventory.connectors.mlflow_config import MlflowConfig
from inventory.connectors.mlflow_place import Placer
from inventory.connectors.mlflow_rest import MlflowRest, same_server
from inventory.connectors.mlflow_runs import recorded_tags

FILE_NAME = "registry.json"
ARTIFACTS_PATH = "artifacts_path"
ATTEMPTS = 3


@register
class MlflowConnector(Connector[MlflowConfig]):
    kind = "mlflow"
    label = "MLflow model registry"
    config_class = MlflowConfig
    system_fields = ("tracking_uri",)
    scope_field = "models"

    def snapshot(self, staging: Path) -> Snapshot:
        with self.config.api() as api:
            return self._snapshot(api, staging)

    def source_paths(self) -> list[str]:
        return [self.config.artifacts_path] if self.config.artifacts_path else []

    def _snapshot(self, api: MlflowRest, staging: Path) -> Snapshot:
        folder = (
            direct.check_source_folder(self.config.artifacts_path, field=ARTIFACTS_PATH)
            if self.source_paths()
            else None
        )
        names = reg.model_names(api, self.config.models)
        read: dict[str, direct.Read] = {}
        for _attempt in range(ATTEMPTS):
            started = utcnow()
            if folder is None:
                before = reg.fingerprint(api, names)
                models = reg.read_models(api, names)
                after = reg.fingerprint(api, names)
            else:  # the files are hashed while the source runs are read and the second fingerprint taken
                before, models, after, read = direct.read_registry(api, folder, names)
            for index, model in enumerate(models.values()):
                model["dir"] = f"artifacts/{index}"
            if after == before:
                break
        else:
            raise SourceChanged(f"The registry at {self.config.tracking_uri} kept changing during {ATTEMPTS} reads.")
        if folder is None:
            wanted = [
                (name, number, staging / model["dir"] / number, version)
                for name, model in models.items()
                for number, version in model["versions"].items()
            ]
            fetched = reg.in_parallel(
                [partial(reg.fetch_artifacts, api, name, n, dest, v.get("source", "")) for name, n, dest, v in wanted]
            )
            for (_name, _number, _dest, version), hashes in zip(wanted, fetched, strict=True):
                version["artifacts"] = hashes
        (staging / FILE_NAME).write_text(json.dumps({"models": models}, indent=1, sort_keys=True))
        details = {
            "tracking_uri": self.config.tracking_uri,
            "models": models,
            "artifacts_read": "folder" if folder else "rest",
        }
        # Read straight from the registry's folder (no staging copy), or the staged downloads.
        source = direct.ArtifactSource(staging, read) if folder is not None else self.staged(staging)
        return Snapshot(source=source, capture=Capture(self.kind, started, details))

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: MlflowConfig = self.parse(target)
        with cfg.api() as api:
            self._restore(api, cfg, restored=restored, capture=capture, replace=replace)

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: MlflowConfig = self.parse(target)
        with cfg.api() as api:
            self._refuse_present(api, self._present(api, list(capture.details.get("models") or {})))

    @staticmethod
    def _present(api: MlflowRest, names: list[str]) -> list[str]:
        found = reg.in_parallel([partial(reg.get_model, api, name) for name in names])
        return [name for name, model in zip(names, found, strict=True) if model is not None]

    def _refuse_present(self, api: MlflowRest, present: list[str]) -> None:
        if present:
            for name in present:
                self.ledger.found_before("model", name, "it was in the target registry before this run")
            raise TargetNotEmpty(f"The target registry already holds {', '.join(present)}; restore only with replace.")

    def _restore(self, api: MlflowRest, cfg: MlflowConfig, *, restored: Path, capture: Capture, replace: bool) -> None:
        models: dict[str, Any] = json.loads((restored / FILE_NAME).read_text())["models"]
        self.say("looking for the models in the target registry")
        present = self._present(api, list(models))
        if not replace:
            self._refuse_present(api, present)
        exp = reg.experiment_id(api, cfg.experiment, self.ledger)
        # A model already present is rebuilt beside it and swapped in only once verified.
        names = {name: (f"{name}__drp_new" if name in present else name) for name in models}
        runs: list[str] = []
        placer = Placer(api, Path(cfg.artifacts_path), field=ARTIFACTS_PATH) if cfg.artifacts_path else None
        try:
            total = sum(max(map(int, model["versions"]), default=0) for model in models.values())
            done = [0]

            def registered() -> None:
                done[0] += 1
                self.say("writing models, versions and artifacts", f"{done[0]:,} of {total:,} versions")

            self.say("writing models, versions and artifacts", f"0 of {total:,} versions")
            for name, model in models.items():
                self.ledger.created("model", [names[name]])
                reg.write_model(
                    api,
                    name=names[name],
                    model=model,
                    files=restored / model["dir"],
                    exp=exp,
                    runs=runs,
                    ledger=self.ledger,
                    place=placer.place if placer else None,
                    registered=registered,
                )
            # The artifacts were hashed against the capture as they were uploaded; here the
            # server's listing must hold each at its size (verify() downloads and hashes them).
            # Written into the target's folder, they are sized there: the first one written was
            # compared with the server's listing, which shows the server serves that folder.
            folder = Path(cfg.artifacts_path) if placer else None
            self.say("checking the restored registry against the capture")
            report = self._check(capture, api, names, uploaded=restored, folder=folder)
            if not report.ok:
                raise RestoreFailed(f"The restored registry does not match the capture: {report.summary()}")
        except Exception as failed:
            self.ledger.flush()  # what worker threads recorded before the failure
            staged = [n for n in names.values() if n not in present]
            if placer is not None:
                placer.undo()
            self._undo(api, staged, runs, failed)
            for name in staged:
                self.ledger.removed("model", name)
            raise
        if present:
            self.say("swapping in the restored models")
        for name in present:
            api.post("/registered-models/rename", {"name": name, "new_name": f"{name}__drp_old"})
            api.post("/registered-models/rename", {"name": names[name], "new_name": name})
            api.delete("/registered-models/delete", {"name": f"{name}__drp_old"})
            self.ledger.forget("model", names[name])  # now the target's own model, no longer a staged copy

    @staticmethod
    def _undo(api: MlflowRest, staged: list[str], runs: list[str], failed: Exception) -> None:
        """Remove what a failed restore wrote (its models, the runs it created), so nothing is left looking restored."""
        try:
            for name in staged:
                if reg.get_model(api, name) is not None:
                    api.delete("/registered-models/delete", {"name": name})
            reg.in_parallel([partial(api.post, "/runs/delete", {"run_id": run}) for run in runs])
        except ConnectorError as undo:
            raise RestoreFailed(
                f"{failed} The partly restored models ({', '.join(staged)}) could not be removed from the target: "
                f"{undo} Delete them before using the target."
            ) from failed

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: MlflowConfig = self.parse(target)
        folder = Path(cfg.artifacts_path) if cfg.artifacts_path else None
        if folder is not None:
            refuse_target_path(folder)
        with cfg.api() as api:
            names = {name: name for name in capture.details.get("models", {})}
            return self._check(capture, api, names, folder=folder)

    def _check(
        self,
        capture: Capture,
        api: MlflowRest,
        names: dict[str, str],
        *,
        uploaded: Path | None = None,
        folder: Path | None = None,
    ) -> Verification:
        """Compare the registry with the capture; artifacts by their hashes (downloaded, or read in the
        target's ``folder``), or with ``uploaded`` (the restored files just sent) by the server's listing
        of paths and sizes."""
        report = Verification(self.kind)
        models: dict[str, Any] = capture.details.get("models", {})
        held = reg.in_parallel([partial(reg.get_model, api, names[name]) for name in models])
        read = reg.read_models(api, [names[name] for name, model in zip(models, held, strict=True) if model])
        found = {name: read.get(names[name]) for name in models}
        pairs = [
            (name, number)
            for name, model in models.items()
            for number in model["versions"]
            if number in (found[name] or {}).get("versions", {})
        ]
        jobs: list[Callable[[], Any]] = []
        compared = direct.samples(len(pairs))
        for index, (n, v) in enumerate(pairs):
            source = (found[n] or {})["versions"][v].get("source", "")
            if uploaded is None and folder is not None:
                job = partial(direct.folder_hashes, api, folder, names[n], v, source, index in compared)
                jobs.append(job)
            elif uploaded is None:
                jobs.append(partial(reg.fetch_artifacts, api, names[n], v, None, source))
            elif folder is not None:
                jobs.append(partial(direct.folder_sizes, api, folder, names[n], v, source))
            else:
                jobs.append(partial(reg.artifact_sizes, api, names[n], v, source))
        artifacts = dict(zip(pairs, reg.in_parallel(jobs), strict=True))
        for name, expected in models.items():
            got_model = found[name]
            report.add(f"{name} registered", True, got_model is not None)
            if got_model is None:
                continue
            report.add(
                f"{name} versions", sorted(expected["versions"], key=int), sorted(got_model["versions"], key=int)
            )
            report.add(f"{name} aliases", expected["aliases"], got_model["aliases"])
            report.add(
                f"{name} tags and description",
                (expected["tags"], expected["description"]),
                (got_model["tags"], got_model["description"]),
            )
            for number, want in expected["versions"].items():
                got = got_model["versions"].get(number)
                if got is None:
                    continue
                keep = ("stage", "description", "tags")
                report.add(f"{name} v{number} metadata", {k: want[k] for k in keep}, {k: got[k] for k in keep})
                report.add(
                    f"{name} v{number} run params and metrics",
                    (want["run"].get("params"), want["run"].get("metrics")),
                    (got["run"].get("params"), got["run"].get("metrics")),
                )
                if uploaded is None:
                    report.add(f"{name} v{number} artifact hashes", want.get("artifacts"), artifacts[(name, number)])
                else:
                    sent = uploaded / expected["dir"] / number
                    sizes = {rel: (sent / rel).stat().st_size for rel in want.get("artifacts", {})}
                    report.add(f"{name} v{number} artifact sizes", sizes, artifacts[(name, number)])
        return report

    def cleanup(self, *, target: object) -> None:
        """Delete the models, source runs (with their artifacts) and experiment this restore created.

        MLflow's REST API marks runs and experiments deleted rather than erasing their rows; they are
        then purged from the drill registry's backend store when the config names it (mlflow_gc).
        """
        cfg: MlflowConfig = self.parse(target)
        if cfg.tracking_uri.rstrip("/") == self.config.tracking_uri.rstrip("/"):
            raise ConnectorRefused("Clean-up removes a drill target; it will not delete the source registry's models.")
        ledger = self.ledger
        kinds = ("model", "run", "experiment")
        if not any(ledger.names(kind) for kind in kinds) and not recorded_tags(ledger):
            return  # (a restore's tag, even removed, may still name deleted runs left to purge)
        store = cfg.drill_backend_store_uri
        if not store and same_server(cfg.tracking_uri, self.config.drill_tracking_uri):
            store = self.config.drill_backend_store_uri  # the target was made before the field was set
        with cfg.api() as api:
            try:
                remove_recorded(api, ledger)
            finally:  # what was deleted, even before a failure, is purged or said to remain
                # Removed with no note: deleted, and the purge has not said how it went (this clean-up's,
                # or one killed before its purge ran: the purge writes a note on all it erases).
                fresh = {
                    kind: [n for n in ledger.names(kind, "removed") if not (ledger.get(kind, n) or {}).get("note")]
                    for kind in ("run", "experiment")
                }
                mlflow_gc.purge(
                    api,
                    ledger,
                    store=store,
                    tracking_uri=cfg.tracking_uri,
                    runs=fresh["run"],
                    experiments=fresh["experiment"],
                )

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any] | None:
        if not self.config.drill_tracking_uri:
            return None
        drill = {"tracking_uri": self.config.drill_tracking_uri, "artifacts_path": self.config.drill_artifacts_path}
        return {**self.config_json(), **drill, "drill_tracking_uri": "", "drill_artifacts_path": ""}

    def target_label(self, config: Any) -> str:
        cfg: MlflowConfig = self.parse(config)
        return f"MLflow {cfg.tracking_uri}" + (f" ({', '.join(cfg.models)})" if cfg.models else "")

    def describe(self, capture: Capture) -> str:
        models = capture.details.get("models", {})
        versions = sum(len(m["versions"]) for m in models.values())
        parts = []
        for name in sorted(models)[:6]:
            model = models[name]
            numbers = ", ".join(f"v{n}" for n in sorted(model["versions"], key=int))
            aliases = ", ".join(f"{a} → v{v}" for a, v in sorted(model.get("aliases", {}).items()))
            parts.append(f"{name} {numbers}" + (f" ({aliases})" if aliases else ""))
        head = f"{len(models)} registered model{'s' if len(models) != 1 else ''}, {versions} versions"
        read = {"folder": "artifacts read in the server's folder", "rest": "artifacts read over REST"}
        if capture.details.get("artifacts_read") in read:
            head += f" ({read[capture.details['artifacts_read']]})"
        return f"{head}: {'; '.join(parts)}" if parts else head

    def covers(self, config: Any) -> bool:
        """Whether this asset's models on the same server (however its address is written) include ``config``'s."""
        other: MlflowConfig = self.parse(config)
        if same_server(self.config.tracking_uri, other.tracking_uri):
            mine = self.config.models
            return not mine or (bool(other.models) and set(other.models) <= set(mine))
        return False

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """One proposal per registered model (the first ``limit`` by name), from the search listing alone."""
        bounded = replace(self.config, timeout=min(self.config.timeout, DISCOVER_TIMEOUT))
        with bounded.api() as api:  # a look waits DISCOVER_TIMEOUT at most for each answer
            return self._discover(api, limit)

    def _discover(self, api: MlflowRest, limit: int) -> Discovery:
        models: list[dict[str, Any]] = []
        for model in api.pages("/registered-models/search", "registered_models", max_results=min(limit + 1, 1000)):
            models.append(model)
            if len(models) > limit:
                break
        out = []
        for model in sorted(models, key=lambda m: str(m["name"]))[:limit]:
            name = str(model["name"])
            tags = {t["key"]: t.get("value", "") for t in model.get("tags") or []}
            labels = {k: tags[k] for k in ("tier", "team") if k in tags}
            config = {**self.config_json(), "models": [name]}  # the same server (and drill registry)
            title = str(model.get("description") or "").strip().splitlines()
            out.append(
                Proposal(
                    name=name,
                    kind=self.kind,
                    config=config,
                    owner=tags.get("owner", ""),
                    labels=labels,
                    title=title[0] if title else "",
                )
            )
        more = len(models) > limit
        return Discovery(out, f"Showing the first {limit} registered models; the registry holds more." if more else "")
