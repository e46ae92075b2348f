"""The S3 vault: objects in a bucket, with versioning and Object Lock when the bucket has them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inventory.engine.crypto import Readable
from inventory.engine.errors import (
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    VaultError,
    VaultFull,
    VaultReadOnly,
    VaultUnavailable,
)
from inventory.engine.fmt import format_utc, parse_utc
from inventory.engine.vaults.protocol import ObjectInfo, check_key, utcnow
from inventory.engine.vaults.s3_client import BodyReader, S3Config, client_error_code, endpoint_vetted, parse_s3_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

DEFAULT_PART_SIZE = 8 * 1024 * 1024

__all__ = ["BodyReader", "S3Config", "S3Vault", "client_error_code", "parse_s3_uri"]


class S3Vault:
    """Objects in an S3 bucket under ``prefix``.

    With versioning on, the version id of each object is returned so a manifest can pin
    it. With Object Lock on the bucket, every object is written in COMPLIANCE mode with
    its retain-until date, so not even the account root can shorten it. Without Object
    Lock the engine still refuses early deletes (retain-until is kept in the object's
    metadata) but the storage does not, and :attr:`worm` is False.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        config: S3Config | None = None,
        client: S3Client | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.config = config or S3Config()
        self._client = client
        self.part_size = part_size
        self._clock = clock
        self._caps: tuple[bool, bool] | None = None

    def __repr__(self) -> str:
        return f"S3Vault(bucket={self.bucket!r}, prefix={self.prefix!r})"

    @property
    def client(self) -> S3Client:
        if self._client is None:
            endpoint_vetted(self.config)
            self._client = self.config.client()
        return self._client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _s3_error(self, exc: Exception, doing: str) -> VaultError:
        code = client_error_code(exc)
        where = self.uri
        if code in ("NoSuchBucket", "404", "NotFound") and "object" not in doing:
            return VaultUnavailable(f"Could not {doing}: the bucket of {where} does not exist.")
        if code in ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return VaultReadOnly(f"Could not {doing}: access to {where} was denied ({code}).")
        if code in ("QuotaExceeded", "EntityTooLarge", "InsufficientStorage"):
            return VaultFull(f"Could not {doing}: {where} refused the data as too large or over quota ({code}).")
        return VaultUnavailable(f"Could not {doing} at {where}: {exc}")

    def capabilities(self) -> tuple[bool, bool]:
        """(versioning enabled, object lock enabled), read once from the bucket."""
        if self._caps is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                versioning = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"
            except (ClientError, BotoCoreError) as exc:
                raise self._s3_error(exc, "read the bucket's versioning") from None
            try:
                lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
                locked = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except ClientError as exc:
                if client_error_code(exc) not in ("ObjectLockConfigurationNotFoundError", "NotImplemented"):
                    raise self._s3_error(exc, "read the bucket's object lock setting") from None
                locked = False
            except BotoCoreError as exc:
                raise self._s3_error(exc, "read the bucket's object lock setting") from None
            self._caps = (versioning, locked)
        return self._caps

    @property
    def versioned(self) -> bool:
        return self.capabilities()[0]

    @property
    def worm(self) -> bool:
        return self.capabilities()[1]

    def free_bytes(self) -> int | None:
        return None

    def now(self) -> datetime:
        return self._clock()

    def check_writable(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._s3_error(exc, "reach the bucket") from None
        self.capabilities()

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if client_error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._s3_error(exc, f"look up object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"look up object {key}") from None
        retain = head.get("ObjectLockRetainUntilDate")
        if retain is None and "retain-until" in head.get("Metadata", {}):
            retain = parse_utc(head["Metadata"]["retain-until"])
        return ObjectInfo(
            key=key,
            size=int(head.get("ContentLength", 0)),
            retain_until=retain.astimezone(UTC) if retain else None,
            version_id=head.get("VersionId"),
        )

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._full(key)
        existing = self.stat(key)
        if existing is not None:
            if existing.locked(self._clock()):
                raise ObjectLocked(f"Object {key} is retained until {existing.retain_until}; it cannot be overwritten.")
            raise ObjectExists(f"Object {key} already exists in {self.uri}; objects are never overwritten.")
        extra: dict[str, Any] = {"Metadata": {}}
        if retain_until is not None:
            extra["Metadata"]["retain-until"] = format_utc(retain_until)
            if self.worm:
                extra["ObjectLockMode"] = "COMPLIANCE"
                extra["ObjectLockRetainUntilDate"] = retain_until
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        size = 0
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        created = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **extra)
                        upload_id = created["UploadId"]
                    part = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    number = len(parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=part
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            if upload_id is None:
                done: Any = self.client.put_object(Bucket=self.bucket, Key=full, Body=bytes(buffer), **extra)
            else:
                if buffer or not parts:
                    number = len(parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=bytes(buffer)
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                done = self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                if "ObjectLockMode" in extra and retain_until is not None:
                    self._ensure_locked(full, done.get("VersionId"), retain_until)
        except (ClientError, BotoCoreError) as exc:
            self._abort(full, upload_id)
            raise self._s3_error(exc, f"write object {key}") from None
        except BaseException:
            self._abort(full, upload_id)
            raise
        return ObjectInfo(key=key, size=size, retain_until=retain_until, version_id=done.get("VersionId"))

    def _ensure_locked(self, full: str, version_id: str | None, retain_until: datetime) -> None:
        """Make sure a multipart object really carries its COMPLIANCE retention.

        Some S3-compatible servers drop the lock headers of CreateMultipartUpload, so the
        retention is read back and, if missing, set explicitly on that exact version.
        """
        version: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        head = self.client.head_object(Bucket=self.bucket, Key=full, **version)
        current = head.get("ObjectLockRetainUntilDate")
        if head.get("ObjectLockMode") == "COMPLIANCE" and current is not None and current >= retain_until:
            return
        self.client.put_object_retention(
            Bucket=self.bucket,
            Key=full,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until},
            **version,
        )
        head = self.client.head_object(Bucket=self.bucket, Key=full, **version)
        if head.get("ObjectLockMode") != "COMPLIANCE":
            raise VaultError(f"{self.uri} accepted {full} but did not put it under Object Lock.")

    def _abort(self, full: str, upload_id: str | None) -> None:
        if upload_id is None:
            return
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)

    def sync(self) -> None:
        """S3 acknowledges a write only once it is durable, so there is nothing to flush."""

    @contextlib.contextmanager
    def open(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[Readable]:
        from botocore.exceptions import BotoCoreError, ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        if version_id:
            args["VersionId"] = version_id
        if length is not None:
            if length <= 0:
                raise ValueError("length must be positive")
            args["Range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset:
            args["Range"] = f"bytes={offset}-"
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            if client_error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion"):
                raise ObjectMissing(f"Object {key} is missing from {self.uri}.") from None
            raise self._s3_error(exc, f"read object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"read object {key}") from None
        reader = BodyReader(response["Body"])
        try:
            yield reader
        finally:
            reader.close()

    def extend_retention(self, key: str, retain_until: datetime) -> ObjectInfo:
        """Extend Object Lock retention (COMPLIANCE allows only later dates), else the metadata record."""
        from botocore.exceptions import BotoCoreError, ClientError

        info = self.stat(key)
        if info is None:
            raise ObjectMissing(f"Object {key} is not in {self.uri}.")
        if info.retain_until is not None and info.retain_until >= retain_until:
            return info
        full = self._full(key)
        try:
            if self.worm:
                if info.version_id:
                    self.client.put_object_retention(
                        Bucket=self.bucket,
                        Key=full,
                        VersionId=info.version_id,
                        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until},
                    )
                else:
                    self.client.put_object_retention(
                        Bucket=self.bucket, Key=full, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until}
                    )
            else:
                # Without Object Lock the date lives in metadata, which S3 can only replace by
                # copying the object onto itself (same bytes; a versioned bucket keeps the old version).
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=full,
                    CopySource={"Bucket": self.bucket, "Key": full},
                    Metadata={"retain-until": format_utc(retain_until)},
                    MetadataDirective="REPLACE",
                )
        except (ClientError, BotoCoreError) as exc:
            raise self._s3_error(exc, f"extend the retention of {key}") from None
        return ObjectInfo(key=key, size=info.size, retain_until=retain_until, version_id=info.version_id)

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        existing = self.stat(key)
        if existing is None:
            raise ObjectMissing(f"Object {key} is missing from {self.uri}.")
        if existing.locked(self._clock()):
            raise ObjectLocked(
                f"Object {key} is retained until {existing.retain_until}; it cannot be deleted before then."
            )
        full = self._full(key)
        try:
            if self.versioned:
                # A plain delete on a versioned bucket only adds a delete marker; remove
                # every version so retention really frees the space.
                paginator = self.client.get_paginator("list_object_versions")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                    for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                        if item.get("Key") == full:
                            self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=item["VersionId"])
            else:
                self.client.delete_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if client_error_code(exc) == "AccessDenied":
                raise ObjectLocked(f"The bucket refused to delete {key}: it is still under Object Lock.") from None
            raise self._s3_error(exc, f"delete object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"delete object {key}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        base = self._full(prefix.rstrip("/")) + "/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for item in page.get("Contents", []):
                    yield item["Key"][strip:]
        except (ClientError, BotoCoreError) as exc:
            raise self._s3_error(exc, "list objects") from None
