"""MLflow model registry over REST: models, versions, stages, aliases, tags, descriptions,
each version's artifacts (hashed) and its source run's params and metrics.

The registry has no read snapshot, so its metadata is read between two fingerprints
(every version's timestamp, stage and alias); if they differ the read is repeated,
and after three tries the capture fails naming the change.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from inventory.connectors import mlflow_registry as reg
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
from inventory.connectors.config import SecretRef, field_help
from inventory.connectors.errors import (
    ConfigInvalid,
    ConnectorError,
    ConnectorRefused,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
)
from inventory.connectors.ledger import Ledger
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest
from inventory.connectors.reach import url_problem

FILE_NAME = "registry.json"
ATTEMPTS = 3


URL = {"max_length": 2048}
TIMEOUT = {"minimum": 0.1, "maximum": 3600}  # seconds; a socket timeout must be positive and finite


@dataclass(frozen=True)
class MlflowConfig:
    tracking_uri: str = field_help("Base URL of the MLflow tracking server, e.g. http://host:5000.", limits=URL)
    models: tuple[str, ...] = field_help("Registered model names to capture; empty for all.", default=())
    token: SecretRef | None = field(default=None, metadata={"help": "Reference to a bearer token."})
    username: str = field_help("Basic-auth user, if the server uses it.", default="")
    password: SecretRef | None = field(default=None, metadata={"help": "Reference to the basic-auth password."})
    experiment: str = field_help("Experiment that receives the restored source runs.", default="drp-restored")
    timeout: float = field_help("Seconds to wait for each request.", default=30.0, limits=TIMEOUT)
    drill_tracking_uri: str = field_help("A scratch MLflow server that drills restore into.", default="", limits=URL)

    def check(self) -> None:
        if not self.tracking_uri.startswith(("http://", "https://")):
            raise ConfigInvalid("tracking_uri: give the server's http:// or https:// address.")
        if self.drill_tracking_uri and not self.drill_tracking_uri.startswith(("http://", "https://")):
            raise ConfigInvalid("drill_tracking_uri: give the scratch server's http:// or https:// address.")
        for name in ("tracking_uri", "drill_tracking_uri"):
            why = url_problem(getattr(self, name))
            if why:
                raise ConfigInvalid(f"{name}: {why}")
        if self.drill_tracking_uri.rstrip("/") == self.tracking_uri.rstrip("/") and self.drill_tracking_uri:
            raise ConfigInvalid("drill_tracking_uri: a drill must not restore into the source registry.")

    def api(self) -> MlflowRest:
        return MlflowRest(
            self.tracking_uri,
            token=self.token.resolve() if self.token else "",
            username=self.username,
            password=self.password.resolve() if self.password else "",
            timeout=self.timeout,
        )


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

    def _snapshot(self, api: MlflowRest, staging: Path) -> Snapshot:
        names = reg.model_names(api, self.config.models)
        for _attempt in range(ATTEMPTS):
            started = utcnow()
            before = reg.fingerprint(api, names)
            models = reg.read_models(api, names)
            if reg.fingerprint(api, names) == before:
                break
        else:
            raise SourceChanged(f"The registry at {self.config.tracking_uri} kept changing during {ATTEMPTS} reads.")
        wanted = []
        for index, (name, model) in enumerate(models.items()):
            model["dir"] = f"artifacts/{index}"
            wanted += [
                (name, number, staging / model["dir"] / number, version)
                for number, version in model["versions"].items()
            ]
        fetched = reg.in_parallel(
            [partial(reg.fetch_artifacts, api, name, n, dest, v.get("source", "")) for name, n, dest, v in wanted]
        )
        for (_name, _number, _dest, version), hashes in zip(wanted, fetched, strict=True):
            version["artifacts"] = hashes
        (staging / FILE_NAME).write_text(json.dumps({"models": models}, indent=1, sort_keys=True))
        details = {"tracking_uri": self.config.tracking_uri, "models": models}
        return Snapshot(source=self.staged(staging), capture=Capture(self.kind, started, details))

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: MlflowConfig = self.parse(target)
        with cfg.api() as api:
            self._restore(api, cfg, restored=restored, capture=capture, replace=replace)

    def _restore(self, api: MlflowRest, cfg: MlflowConfig, *, restored: Path, capture: Capture, replace: bool) -> None:
        models: dict[str, Any] = json.loads((restored / FILE_NAME).read_text())["models"]
        present = [name for name in models if reg.get_model(api, name) is not None]
        if present and not replace:
            for name in present:
                self.ledger.found_before("model", name, "it was in the target registry before this run")
            raise TargetNotEmpty(f"The target registry already holds {', '.join(present)}; restore only with replace.")
        exp = reg.experiment_id(api, cfg.experiment, self.ledger)
        # A model already present is rebuilt beside it and swapped in only once verified.
        names = {name: (f"{name}__drp_new" if name in present else name) for name in models}
        runs: list[str] = []
        try:
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
                )
            # The artifacts were hashed against the capture as they were uploaded; here the
            # server's listing must hold each at its size (verify() downloads and hashes them).
            report = self._check(capture, api, names, uploaded=restored)
            if not report.ok:
                raise RestoreFailed(f"The restored registry does not match the capture: {report.summary()}")
        except Exception as failed:
            self.ledger.flush()  # what worker threads recorded before the failure
            staged = [n for n in names.values() if n not in present]
            self._undo(api, staged, runs, failed)
            for name in staged:
                self.ledger.removed("model", name)
            raise
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
        with self.parse(target).api() as api:
            return self._check(capture, api, {name: name for name in capture.details.get("models", {})})

    def _check(
        self, capture: Capture, api: MlflowRest, names: dict[str, str], *, uploaded: Path | None = None
    ) -> Verification:
        """Compare the registry with the capture; artifacts by their hashes (downloaded), or with
        ``uploaded`` (the restored files just sent) by the server's listing of paths and sizes."""
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
        for n, v in pairs:
            source = (found[n] or {})["versions"][v].get("source", "")
            if uploaded is None:
                jobs.append(partial(reg.fetch_artifacts, api, names[n], v, None, source))
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

        MLflow's REST API marks runs and experiments deleted rather than erasing their rows
        (``mlflow gc`` purges them); their artifact folders are removed from the store here.
        """
        cfg: MlflowConfig = self.parse(target)
        if cfg.tracking_uri.rstrip("/") == self.config.tracking_uri.rstrip("/"):
            raise ConnectorRefused("Clean-up removes a drill target; it will not delete the source registry's models.")
        ledger = self.ledger
        if not ledger.names("model") and not ledger.names("run") and not ledger.names("experiment"):
            return
        with cfg.api() as api:
            self._cleanup(api, ledger)

    @staticmethod
    def _cleanup(api: MlflowRest, ledger: Ledger) -> None:
        for name in ledger.names("model"):
            if reg.get_model(api, name) is not None:
                api.delete("/registered-models/delete", {"name": name})
            ledger.removed("model", name)
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

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any] | None:
        if not self.config.drill_tracking_uri:
            return None
        return {**self.config_json(), "tracking_uri": self.config.drill_tracking_uri, "drill_tracking_uri": ""}

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


def same_server(a: str, b: str) -> bool:
    """Two tracking URIs name one server: case, a trailing slash, the default port, localhost/127.0.0.1 aside."""

    def norm(uri: str) -> tuple[str, str, int | None, str]:
        parts = urllib.parse.urlsplit(uri.strip())
        host = (parts.hostname or "").lower()
        host = "127.0.0.1" if host in ("localhost", "::1", "ip6-localhost") else host
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            port = None
        return parts.scheme.lower(), host, port, parts.path.rstrip("/")

    return norm(a) == norm(b)
