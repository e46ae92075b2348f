"""Typed connector failures: ``str()`` is for people, ``code`` for programs; secrets never appear."""

from __future__ import annotations

from dr_portal.errors import Refused


class ConnectorError(Exception):
    """Base of every failure a connector raises on purpose."""

    code = "connector_error"


class ConfigInvalid(ConnectorError):
    code = "connector_config_invalid"


class SecretUnavailable(ConfigInvalid):
    code = "connector_secret_unavailable"


class Unreachable(ConnectorError):
    code = "connector_unreachable"


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
