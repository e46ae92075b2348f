"""Reaching an S3-compatible service: its configuration, error codes, bodies, and ``s3://`` addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3Config:
    """How to reach an S3-compatible service. Secrets are kept out of ``repr``."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    path_style: bool = True

    def client(self) -> S3Client:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path" if self.path_style else "auto"},
            connect_timeout=10,
            read_timeout=60,
        )
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            config=config,
        )


def endpoint_vetted(config: S3Config) -> None:
    """An S3 vault's endpoint follows the connector rule (dr_portal/outbound.py): never link-local,
    inside CONNECTOR_ALLOWED_NETWORKS when set. AWS itself (no endpoint named) is not asked."""
    from urllib.parse import urlsplit

    from dr_portal import outbound
    from inventory.engine.errors import VaultUnavailable

    if not config.endpoint_url:
        return
    parts = urlsplit(config.endpoint_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        outbound.connector_address(parts.hostname or "", port)
    except outbound.TargetRefused as refused:
        raise VaultUnavailable(f"The S3 endpoint {config.endpoint_url} is refused: {refused}.") from None


def client_error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class BodyReader:
    """Adapts a botocore streaming body to the engine's ``read``/``readinto`` streams."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._body.read(None if size < 0 else size)
        return data

    def close(self) -> None:
        self._body.close()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``."""
    if not uri.startswith("s3://"):
        raise ValueError("The address is not an s3:// address.")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if "@" in bucket:
        # Keys written into the address would travel into errors and logs: refused, never repeated.
        raise ValueError(
            "The s3:// address carries credentials (key:secret@bucket); give the keys by reference instead. "
            "The address was not shown."
        )
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, prefix.strip("/")
