"""The MLflow connector's configuration: the registry, its drill server, and the folders and store
the portal may reach directly (each optional)."""

from __future__ import annotations

from dataclasses import dataclass, field

from inventory.connectors import mlflow_gc
from inventory.connectors.config import SecretRef, field_help
from inventory.connectors.errors import ConfigInvalid
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.connectors.reach import url_problem
from inventory.paths import path_shape_refusal

URL = {"max_length": 2048}
TIMEOUT = {"minimum": 0.1, "maximum": 3600}  # seconds; a socket timeout must be positive and finite
FOLDER = {"max_length": 1024}


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
    artifacts_path: str = field_help(
        "The server's artifact folder (its --artifacts-destination), when the portal's workers can read it: "
        "artifacts are then read (and, for a target, written) there instead of through the server.",
        default="",
        limits=FOLDER,
    )
    drill_artifacts_path: str = field_help(
        "The drill server's artifact folder, when the workers can write it.", default="", limits=FOLDER
    )
    drill_backend_store_uri: str = field_help(
        "The drill server's --backend-store-uri (sqlite:////path/mlflow.db or postgresql://host/db, no password): "
        "clean-up purges the runs it deleted from it.",
        default="",
        limits=URL,
    )

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
        for name in ("artifacts_path", "drill_artifacts_path"):
            why = getattr(self, name) and path_shape_refusal(getattr(self, name))
            if why:
                raise ConfigInvalid(f"{name}: {why}")
        if self.drill_artifacts_path and not self.drill_tracking_uri:
            raise ConfigInvalid("drill_artifacts_path: it is the drill server's folder; give drill_tracking_uri too.")
        if self.drill_artifacts_path and self.drill_artifacts_path.rstrip("/") == self.artifacts_path.rstrip("/"):
            raise ConfigInvalid("drill_artifacts_path: a drill must not write into the source's artifact folder.")
        why = mlflow_gc.store_problem(self.drill_backend_store_uri)
        if why:
            raise ConfigInvalid(f"drill_backend_store_uri: {why}")

    def api(self) -> MlflowRest:
        return MlflowRest(
            self.tracking_uri,
            token=self.token.resolve() if self.token else "",
            username=self.username,
            password=self.password.resolve() if self.password else "",
            timeout=self.timeout,
        )
