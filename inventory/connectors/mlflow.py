"""MLflow model registry over REST: models, versions, stages, aliases, tags, descriptions,
each version's artifacts (hashed) and its source run's params and metrics.

The registry has no read snapshot, so its metadata is read between two fingerprints
(every version's timestamp, stage and alias); if they differ the read is repeated,
and after three tries the capture fails naming the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from inventory.connectors import mlflow_registry as reg
from inventory.connectors.base import (
    DISCOVER_LIMIT,
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
from inventory.connectors.errors import ConfigInvalid, ConnectorRefused, RestoreFailed, SourceChanged, TargetNotEmpty
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.connectors.reach import url_problem

FILE_NAME = "registry.json"
ATTEMPTS = 3


URL = {"max_length": 2048}
TIMEOUT = {"minimum": 0.1, "maximum": 3600}  # seconds; a socket timeout must be positive and finite


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
        api = self.config.api()
        names = reg.model_names(api, self.config.models)
        for _attempt in range(ATTEMPTS):
            started = utcnow()
            before = reg.fingerprint(api, names)
            models = {name: reg.read_model(api, name) for name in names}
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
            [partial(reg.fetch_artifacts, api, name, number, dest) for name, number, dest, _ in wanted]
        )
        for (_name, _number, _dest, version), hashes in zip(wanted, fetched, strict=True):
            version["artifacts"] = hashes
        (staging / FILE_NAME).write_text(json.dumps({"models": models}, indent=1, sort_keys=True))
        details = {"tracking_uri": self.config.tracking_uri, "models": models}
        return Snapshot(source=self.staged(staging), capture=Capture(self.kind, started, details))

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: MlflowConfig = self.parse(target)
        api = cfg.api()
        models: dict[str, Any] = json.loads((restored / FILE_NAME).read_text())["models"]
        present = [name for name in models if reg.get_model(api, name) is not None]
        if present and not replace:
            raise TargetNotEmpty(f"The target registry already holds {', '.join(present)}; restore only with replace.")
        exp = reg.experiment_id(api, cfg.experiment)
        # A model already present is rebuilt beside it and swapped in only once verified.
        names = {name: (f"{name}__drp_new" if name in present else name) for name in models}
        try:
            for name, model in models.items():
                reg.write_model(api, name=names[name], model=model, files=restored / model["dir"], exp=exp)
            # The artifacts were hashed against the capture as they were uploaded; here the
            # server's listing must hold each at its size (verify() downloads and hashes them).
            report = self._check(capture, api, names, uploaded=restored)
            if not report.ok:
                raise RestoreFailed(f"The restored registry does not match the capture: {report.summary()}")
        except Exception:
            for staged in names.values():
                if staged not in present and reg.get_model(api, staged) is not None:
                    api.delete("/registered-models/delete", {"name": staged})
            raise
        for name in present:
            api.post("/registered-models/rename", {"name": name, "new_name": f"{name}__drp_old"})
            api.post("/registered-models/rename", {"name": names[name], "new_name": name})
            api.delete("/registered-models/delete", {"name": f"{name}__drp_old"})

    def verify(self, *, capture: Capture, target: object) -> Verification:
        api = self.parse(target).api()
        return self._check(capture, api, {name: name for name in capture.details.get("models", {})})

    def _check(
        self, capture: Capture, api: MlflowRest, names: dict[str, str], *, uploaded: Path | None = None
    ) -> Verification:
        """Compare the registry with the capture; artifacts by their hashes (downloaded), or with
        ``uploaded`` (the restored files just sent) by the server's listing of paths and sizes."""
        report = Verification(self.kind)
        models: dict[str, Any] = capture.details.get("models", {})
        found = {name: reg.read_model(api, names[name]) if reg.get_model(api, names[name]) else None for name in models}
        pairs = [
            (name, number)
            for name, model in models.items()
            for number in model["versions"]
            if number in (found[name] or {}).get("versions", {})
        ]
        jobs: list[Callable[[], Any]] = []
        for n, v in pairs:
            if uploaded is None:
                jobs.append(partial(reg.fetch_artifacts, api, names[n], v, None))
            else:
                jobs.append(partial(reg.artifact_sizes, api, names[n], v))
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
        cfg: MlflowConfig = self.parse(target)
        if cfg.tracking_uri.rstrip("/") == self.config.tracking_uri.rstrip("/"):
            raise ConnectorRefused("Clean-up removes a drill target; it will not delete the source registry's models.")
        api = cfg.api()
        for name in reg.model_names(api, ()):
            base = name.removesuffix("__drp_new").removesuffix("__drp_old")
            if not cfg.models or base in cfg.models:
                api.delete("/registered-models/delete", {"name": name})

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
        return f"{len(models)} registered models, {versions} versions from {capture.details.get('tracking_uri')}"

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """One proposal per registered model (the first ``limit`` by name), from the search listing alone."""
        api = self.config.api()
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


def alias_history(captures: list[Capture]) -> dict[str, list[dict[str, Any]]]:
    """``"model@alias"`` → spans ``{version, from, to}``: which version each alias named, capture by capture.

    MLflow keeps only the current alias, so the history is as fine as the captures are frequent.
    """
    spans: dict[str, list[dict[str, Any]]] = {}
    for capture in sorted(captures, key=lambda c: c.data_as_of):
        seen = {
            f"{m}@{a}": v for m, model in capture.details.get("models", {}).items() for a, v in model["aliases"].items()
        }
        when = capture.data_as_of.isoformat()
        for key, version in seen.items():
            history = spans.setdefault(key, [])
            if history and history[-1]["version"] == version and history[-1]["to"] is None:
                continue
            if history and history[-1]["to"] is None:
                history[-1]["to"] = when
            history.append({"version": version, "from": when, "to": None})
        for key, history in spans.items():
            if key not in seen and history[-1]["to"] is None:
                history[-1]["to"] = when
    return spans


def alias_at(captures: list[Capture], model: str, alias: str, when: datetime) -> str | None:
    """The version ``model@alias`` named in the last capture taken at or before ``when``."""
    earlier = [c for c in captures if c.data_as_of <= when]
    if not earlier:
        return None
    latest = max(earlier, key=lambda c: c.data_as_of)
    found: str | None = latest.details.get("models", {}).get(model, {}).get("aliases", {}).get(alias)
    return found
