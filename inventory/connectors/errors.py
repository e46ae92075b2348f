"""Typed connector failures: ``str()`` is for people, ``code`` for programs; secrets never appear."""

from __future__ import annotations

from dr_portal.errors import Refused
from inventory.connectors.wording import plain_network_error


class ConnectorError(Exception):
    """Base of every failure a connector raises on purpose."""

    code = "connector_error"


class ConfigInvalid(ConnectorError):
    code = "connector_config_invalid"


class SecretUnavailable(ConfigInvalid):
    code = "connector_secret_unavailable"


class Unreachable(ConnectorError):
    """The system did not answer. A refused connection, a time-out or an unknown host name is said in
    plain words first (``inventory.connectors.wording``), the system's own text kept after it."""

    code = "connector_unreachable"

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(plain_network_error(str(message)), *args)


class AuthFailed(ConnectorError):
    code = "connector_auth_failed"


class SourceChanged(ConnectorError):
    """The data moved while it was being captured, so the capture is not one consistent state."""

    code = "connector_source_changed"


class CaptureIncomplete(ConnectorError):
    """Something the capture must hold could not be read (an MLflow artifact that is gone)."""

    code = "connector_capture_incomplete"


class RestoreFailed(ConnectorError):
    code = "connector_restore_failed"


class ConnectorRefused(ConnectorError, Refused):
    """The connector will not do this as asked; the message says which rule stops it."""

    code = "connector_refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        Refused.__init__(self, message, code=code)


class TargetNotEmpty(ConnectorRefused):
    code = "connector_target_not_empty"


class EmbeddingMismatch(ConnectorRefused):
    code = "connector_embedding_mismatch"


class KindMismatch(ConnectorRefused):
    code = "connector_kind_mismatch"
