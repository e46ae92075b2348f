"""Directory and S3 sources: the connector configuration a plain source URI stands for."""

from __future__ import annotations

from typing import Any

URI_CONNECTORS = ("filesystem", "s3")
# An S3 source's own fields besides the bucket and prefix its source URI gives.
S3_OWN_FIELDS = ("endpoint_url", "region", "access_key_id", "secret_access_key")


def connector_for_uri(uri: str, config: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Map a plain source URI to the filesystem or s3 connector's configuration.

    The URI gives the path, or the bucket and prefix; an S3 source keeps its endpoint, region
    and credential references from ``config``.
    """
    text = (uri or "").strip()
    if text.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        own = {k: v for k, v in (config or {}).items() if k in S3_OWN_FIELDS and v not in (None, "")}
        return "s3", {"bucket": bucket, "prefix": prefix.strip("/"), **own}
    return "filesystem", {"path": text}


def uri_conflicts(given: dict[str, Any], derived: dict[str, Any], uri: str) -> str:
    """Why a URI connector's config cannot stand beside its source URI, or ""."""
    for name, value in given.items():
        if name in derived and str(value).strip("/") != str(derived[name]).strip("/"):
            return (
                f"{name}: {str(value)[:200]!r} differs from the source URI {uri[:200]}; for this kind the "
                f"source URI says where the data is, so leave {name} out or give the same."
            )
    return ""
