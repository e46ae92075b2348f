"""Every object under an S3 prefix; an object rewritten while the backup runs fails the capture."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inventory.connectors.base import Capture, Connector, Snapshot, Verification, register, utcnow
from inventory.connectors.config import SecretRef, field_help
from inventory.connectors.errors import (
    AuthFailed,
    ConfigInvalid,
    ConnectorRefused,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
)
from inventory.connectors.reach import reach, url_problem
from inventory.engine import S3Config, S3Source
from inventory.engine.crypto import Readable
from inventory.engine.sources import SourceFile, SourceScan

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken"}


@dataclass(frozen=True)
class S3PrefixConfig:
    bucket: str = field_help("Bucket name.", limits={"max_length": 63})
    prefix: str = field_help("Key prefix (no leading slash); empty for the whole bucket.", default="")
    endpoint_url: str = field_help("S3-compatible endpoint; empty for AWS.", default="", limits={"max_length": 2048})
    region: str = field_help("Region name.", default="")
    access_key_id: SecretRef | None = field(default=None, metadata={"help": "Reference to the access key id."})
    secret_access_key: SecretRef | None = field(default=None, metadata={"help": "Reference to the secret access key."})

    def check(self) -> None:
        if "@" in self.bucket or ":" in self.bucket:
            raise ConfigInvalid(
                "bucket: a bucket name holds no user name or key (key:secret@bucket); give the keys as "
                "references (env:NAME or file:/path) in access_key_id and secret_access_key. "
                "The value given was not shown."
            )
        if not self.bucket or "/" in self.bucket:
            raise ConfigInvalid("bucket: give a bucket name without slashes.")
        if self.prefix.startswith("/"):
            raise ConfigInvalid("prefix: a key prefix does not start with a slash.")
        why = url_problem(self.endpoint_url)
        if why:
            raise ConfigInvalid(f"endpoint_url: {why}")

    def s3(self) -> S3Config:
        """How to reach the service, once its endpoint's addresses are allowed (AWS itself when none is named).

        botocore resolves the name again when it connects (TLS needs the name), so unlike
        the other connectors the address is checked but not pinned; see docs/security.md.
        """
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigInvalid("endpoint_url: give an http(s) URL.")
            reach("The S3 endpoint", parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        return S3Config(
            endpoint_url=self.endpoint_url or None,
            region=self.region or None,
            access_key_id=self.access_key_id.resolve() if self.access_key_id else None,
            secret_access_key=self.secret_access_key.resolve() if self.secret_access_key else None,
        )

    @property
    def base(self) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/" if prefix else ""


def _list(client: Any, cfg: S3PrefixConfig) -> dict[str, dict[str, Any]]:
    """``{relative key: {"size", "etag"}}`` under the prefix, with a clear reason when it cannot be listed."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    out: dict[str, dict[str, Any]] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=cfg.bucket, Prefix=cfg.base):
            for item in page.get("Contents", []):
                rel = item["Key"][len(cfg.base) :]
                if rel and not rel.endswith("/"):
                    out[rel] = {"size": int(item["Size"]), "etag": str(item["ETag"]).strip('"')}
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _AUTH_CODES:
            raise AuthFailed(f"The S3 service refused the credentials for bucket {cfg.bucket} ({code}).") from None
        raise Unreachable(f"The bucket {cfg.bucket} cannot be listed: {code or exc}.") from None
    except EndpointConnectionError:
        raise Unreachable(f"The S3 endpoint {cfg.endpoint_url or 'AWS'} cannot be reached.") from None
    except BotoCoreError as exc:
        raise Unreachable(f"The S3 service cannot be reached: {exc}.") from None
    return out


STAGING_SUFFIX = ".drp-new"


def _staging(cfg: S3PrefixConfig) -> S3PrefixConfig:
    """A sibling prefix for a replace's new objects, outside the target prefix's listing."""
    if not cfg.base:
        raise ConnectorRefused(
            "Replacing a whole bucket is refused: the new objects need a staging prefix beside the old ones. "
            "Restore into a prefix, or into an empty bucket."
        )
    return dataclasses.replace(cfg, prefix=cfg.base.rstrip("/") + STAGING_SUFFIX)


def _delete_all(client: Any, cfg: S3PrefixConfig) -> None:
    for rel in _list(client, cfg):
        client.delete_object(Bucket=cfg.bucket, Key=cfg.base + rel)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class StableS3Source(S3Source):
    """S3Source that fails when an object's ETag moved between the listing and the read."""

    def __init__(self, cfg: S3PrefixConfig) -> None:
        super().__init__(cfg.bucket, cfg.prefix, config=cfg.s3())
        self.cfg = cfg
        self.listed: dict[str, dict[str, Any]] = {}

    def scan(self) -> SourceScan:
        self.listed = _list(self.client, self.cfg)
        return super().scan()

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        with super().open(item) as reader:
            yield reader
        head = self.client.head_object(Bucket=self.bucket, Key=item.handle)
        if str(head["ETag"]).strip('"') != self.listed.get(item.path, {}).get("etag"):
            raise SourceChanged(f"The object {item.path} was rewritten while it was being backed up.")


@register
class S3PrefixConnector(Connector[S3PrefixConfig]):
    kind = "s3"
    label = "S3 prefix"
    config_class = S3PrefixConfig

    def snapshot(self, staging: Path) -> Snapshot:
        started = utcnow()
        source = StableS3Source(self.config)
        listed = _list(source.client, self.config)
        capture = Capture(
            self.kind,
            started,
            {
                "bucket": self.config.bucket,
                "prefix": self.config.prefix,
                "objects": {k: v["size"] for k, v in listed.items()},
                "etags": {k: v["etag"] for k, v in listed.items()},
            },
        )
        return Snapshot(source=source, capture=capture)

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: S3PrefixConfig = self.parse(target)
        existing = _list(cfg.s3().client(), cfg)  # a listing only: no object is read
        if existing:
            self._refuse(cfg, len(existing))

    def _refuse(self, cfg: S3PrefixConfig, count: int) -> None:
        self.ledger.found_before(
            "objects", f"s3://{cfg.bucket}/{cfg.base}", "they were under the prefix before this run"
        )
        raise TargetNotEmpty(
            f"s3://{cfg.bucket}/{cfg.base} already holds {count} objects; restore there only with replace."
        )

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: S3PrefixConfig = self.parse(target)
        client = cfg.s3().client()
        existing = _list(client, cfg)
        if existing and not replace:
            self._refuse(cfg, len(existing))
        files = {p.relative_to(restored).as_posix(): p for p in sorted(restored.rglob("*")) if p.is_file()}
        if not existing:
            if not replace:  # recorded before they land: clean-up deletes these objects only
                self.ledger.created("objects", [f"s3://{cfg.bucket}/{cfg.base}"], keys=list(files))
            for rel, path in files.items():
                client.upload_file(str(path), cfg.bucket, cfg.base + rel)
            return
        # Replace: the new set lands beside the old one first and is checked there; only then is it
        # copied over the old keys. A failure before that point leaves the old set as it was.
        staging = _staging(cfg)
        _delete_all(client, staging)
        try:
            for rel, path in files.items():
                client.upload_file(str(path), cfg.bucket, staging.base + rel)
            self.say("checking the new objects beside the old ones")
            problems = self._check(capture, staging, files)
            if problems.failures:
                raise RestoreFailed(f"The new objects do not match the capture: {problems.summary()}")
            self.say("copying the checked objects over the old ones")
            for rel in files:
                client.copy_object(
                    Bucket=cfg.bucket, Key=cfg.base + rel, CopySource={"Bucket": cfg.bucket, "Key": staging.base + rel}
                )
        finally:
            _delete_all(client, staging)
        # Objects the point does not hold go last, so the old set stays readable while the new lands.
        wanted = set(capture.details.get("objects", {}))
        for rel in sorted(set(existing) - wanted):
            client.delete_object(Bucket=cfg.bucket, Key=cfg.base + rel)

    def _check(self, capture: Capture, cfg: S3PrefixConfig, files: dict[str, Path]) -> Verification:
        """Sizes against the capture and content against the source's ETags where they are plain MD5s."""
        listed = _list(cfg.s3().client(), cfg)
        report = self.verify(capture=capture, target=cfg)
        differ = []
        for rel, want in (capture.details.get("etags") or {}).items():
            if "-" in want or rel not in listed:
                continue  # a multipart ETag is not a content hash; a missing object is already counted
            got = listed[rel]["etag"]
            if "-" in got and rel in files:
                got = _md5(files[rel])
            if got != want:
                differ.append(rel)
        report.add("objects whose content differs", [], differ[:20])
        return report

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: S3PrefixConfig = self.parse(target)
        found = {k: v["size"] for k, v in _list(cfg.s3().client(), cfg).items()}
        expected = capture.details.get("objects", {})
        report = Verification(self.kind)
        report.add("object count", len(expected), len(found))
        report.add("missing objects", [], sorted(set(expected) - set(found))[:20])
        report.add(
            "objects of another size", [], sorted(k for k in expected if k in found and found[k] != expected[k])[:20]
        )
        return report

    def cleanup(self, *, target: object) -> None:
        cfg: S3PrefixConfig = self.parse(target)
        for name in self.ledger.names("objects"):  # only the objects this restore uploaded
            client = cfg.s3().client()
            for rel in (self.ledger.get("objects", name) or {}).get("keys", []):
                client.delete_object(Bucket=cfg.bucket, Key=cfg.base + rel)
            self.ledger.removed("objects", name)

    def describe(self, capture: Capture) -> str:
        objects = capture.details.get("objects", {})
        return f"{len(objects)} objects under s3://{capture.details.get('bucket')}/{capture.details.get('prefix')}"
