"""Signed checkpoints: the log's head, signed with Ed25519 and kept outside the database.

The text format (docs/audit.md) is verifiable with the public key alone:

    DR Portal audit checkpoint v1
    origin <AUDIT_LOG_ORIGIN>
    seq <number of events>
    head <hex SHA-256 of event seq>
    time <UTC, 2026-11-24T09:30:00.000000Z>
    key <key id>
    signature <base64 Ed25519 signature of all the lines above, newlines included>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from dr_portal.audit.chain import utc_text
from dr_portal.audit.models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)

HEADER = "DR Portal audit checkpoint v1"
_FILE_RE = re.compile(r"^checkpoint-(\d{12})\.txt$")


# --- Keys ---------------------------------------------------------------------------


def _load_private(data: bytes, source: str) -> Ed25519PrivateKey:
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(text, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ImproperlyConfigured(f"{source}: not an Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source}: the key is not an Ed25519 key")
    return key


def _generate_embedded(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return _load_private(path.read_bytes(), str(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


@lru_cache(maxsize=1)
def signing_key() -> Ed25519PrivateKey:
    """The checkpoint signing key: AUDIT_SIGNING_KEY, else AUDIT_SIGNING_KEY_FILE, else one under var/."""
    if settings.AUDIT_SIGNING_KEY:
        return _load_private(settings.AUDIT_SIGNING_KEY.encode(), "AUDIT_SIGNING_KEY")
    if settings.AUDIT_SIGNING_KEY_FILE:
        path = Path(settings.AUDIT_SIGNING_KEY_FILE)
        try:
            return _load_private(path.read_bytes(), "AUDIT_SIGNING_KEY_FILE")
        except OSError as exc:
            raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE: cannot read {path} ({exc.strerror})") from None
    path = Path(settings.VAR_DIR) / "audit" / "signing-key.pem"
    log.warning(
        "Audit checkpoints are signed with a key generated under var/ (%s). Anyone who can read it can forge "
        "checkpoints: set AUDIT_SIGNING_KEY_FILE to a key kept away from the database.",
        path.name,
    )
    if path.exists():
        return _load_private(path.read_bytes(), str(path))
    return _generate_embedded(path)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """The first 16 hex digits of SHA-256 over the raw 32-byte public key."""
    key = key or public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


# --- The text -----------------------------------------------------------------------


def checkpoint_body(*, origin: str, seq: int, head_hash: str, signed_at: datetime, key: str) -> str:
    return f"{HEADER}\norigin {origin}\nseq {seq}\nhead {head_hash}\ntime {utc_text(signed_at)}\nkey {key}\n"


def checkpoint_text(checkpoint: AuditCheckpoint) -> str:
    body = checkpoint_body(
        origin=checkpoint.origin,
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        signed_at=checkpoint.signed_at,
        key=checkpoint.key_id,
    )
    return f"{body}signature {checkpoint.signature}\n"


@dataclass(frozen=True)
class ParsedCheckpoint:
    source: str
    origin: str
    seq: int
    head_hash: str
    time: str
    key_id: str
    signature_ok: bool
    problem: str = ""


def parse_checkpoint(text: str, *, source: str, key: Ed25519PublicKey) -> ParsedCheckpoint:
    """Parse and check one checkpoint text; a bad one comes back with `problem` set, never raises."""
    lines = text.split("\n")
    fields: dict[str, str] = {}
    for line in lines[1:7]:
        name, _, value = line.partition(" ")
        fields[name] = value
    if lines[0] != HEADER or set(fields) != {"origin", "seq", "head", "time", "key", "signature"}:
        return ParsedCheckpoint(source, "", 0, "", "", "", False, "not a DR Portal checkpoint (v1)")
    try:
        seq = int(fields["seq"])
    except ValueError:
        return ParsedCheckpoint(source, "", 0, "", "", "", False, "its seq is not a number")
    body = "\n".join(lines[:6]) + "\n"
    parsed: dict[str, Any] = {
        "origin": fields["origin"],
        "seq": seq,
        "head_hash": fields["head"],
        "time": fields["time"],
        "key_id": fields["key"],
    }
    try:
        key.verify(base64.b64decode(fields["signature"], validate=True), body.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        reason = "signature does not verify"
        if fields["key"] != key_id(key):
            reason += f" (signed with key {fields['key']!r}, not {key_id(key)!r})"
        return ParsedCheckpoint(source=source, signature_ok=False, problem=reason, **parsed)
    return ParsedCheckpoint(source=source, signature_ok=True, **parsed)


def checkpoint_signature_ok(checkpoint: AuditCheckpoint, *, key: Ed25519PublicKey) -> bool:
    return parse_checkpoint(checkpoint_text(checkpoint), source="database", key=key).signature_ok


# --- Making one ---------------------------------------------------------------------


def checkpoint_now() -> AuditCheckpoint | None:
    """Sign the current head (inside the caller's transaction, if any) and export it on commit.

    Call it right after key actions (an approval, a report). Returns the
    existing checkpoint when the head has not moved, and None for an empty log.
    """
    from dr_portal.audit.services import lock_chain

    with transaction.atomic():
        lock_chain()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        if head is None:
            return None
        seq, head_hash = head
        existing = AuditCheckpoint.objects.filter(seq=seq).first()
        if existing is not None:
            return existing
        key = signing_key()
        now = timezone.now()
        kid = key_id(key.public_key())
        body = checkpoint_body(origin=settings.AUDIT_LOG_ORIGIN, seq=seq, head_hash=head_hash, signed_at=now, key=kid)
        signature = base64.b64encode(key.sign(body.encode())).decode()
        checkpoint = AuditCheckpoint.objects.create(
            seq=seq,
            head_hash=head_hash,
            signed_at=now,
            origin=settings.AUDIT_LOG_ORIGIN,
            key_id=kid,
            signature=signature,
        )
        transaction.on_commit(lambda: checkpoint_export_after_commit(seq=seq))
    return checkpoint


def checkpoint_export_after_commit(*, seq: int) -> None:
    """Write the file now; hand the slower S3 upload to a worker."""
    try:
        export_to_directory(checkpoint=AuditCheckpoint.objects.get(seq=seq))
    except OSError:
        log.exception("could not write audit checkpoint %s; the beat task will retry", seq)
    if settings.AUDIT_CHECKPOINT_S3_BUCKET:
        from dr_portal.audit.tasks import audit_checkpoint_export
        from dr_portal.queue import send_now

        send_now(audit_checkpoint_export, args=(seq,))


# --- Exporting ----------------------------------------------------------------------


def file_name(seq: int) -> str:
    return f"checkpoint-{seq:012d}.txt"


def export_to_directory(*, checkpoint: AuditCheckpoint) -> Path:
    """Write the checkpoint text atomically (temp file, fsync, rename); idempotent."""
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name(checkpoint.seq)
    if target.exists():
        return target
    part = target.with_suffix(".part")
    with open(part, "w", encoding="ascii") as handle:
        handle.write(checkpoint_text(checkpoint))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, target)
    return target


def s3_client() -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=settings.AUDIT_CHECKPOINT_S3_ENDPOINT_URL or None,
        region_name=settings.AUDIT_CHECKPOINT_S3_REGION or None,
    )


def s3_key(seq: int) -> str:
    return f"{settings.AUDIT_CHECKPOINT_S3_PREFIX}{file_name(seq)}"


def export_to_s3(*, checkpoint: AuditCheckpoint, client: Any = None) -> str:
    """Upload under Object Lock (retain-until = now + AUDIT_CHECKPOINT_S3_RETENTION_DAYS); idempotent."""
    from botocore.exceptions import ClientError

    client = client or s3_client()
    bucket, key = settings.AUDIT_CHECKPOINT_S3_BUCKET, s3_key(checkpoint.seq)
    try:
        client.head_object(Bucket=bucket, Key=key)
        return key
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
            raise
    retain_until = datetime.now(UTC) + timedelta(days=settings.AUDIT_CHECKPOINT_S3_RETENTION_DAYS)
    client.put_object(
        Bucket=bucket,
        Key=key,
        Body=checkpoint_text(checkpoint).encode("ascii"),
        ContentType="text/plain; charset=us-ascii",
        ChecksumAlgorithm="SHA256",
        ObjectLockMode=settings.AUDIT_CHECKPOINT_S3_LOCK_MODE,
        ObjectLockRetainUntilDate=retain_until,
    )
    return key


def export_missing(*, limit: int = 50) -> int:
    """Export the newest checkpoints whose file is missing (a crash between commit and write)."""
    written = 0
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    for checkpoint in AuditCheckpoint.objects.order_by("-seq")[:limit]:
        if not (directory / file_name(checkpoint.seq)).exists():
            export_to_directory(checkpoint=checkpoint)
            written += 1
    return written


# --- Reading exports back -----------------------------------------------------------


def exported_checkpoints(*, key: Ed25519PublicKey) -> list[ParsedCheckpoint]:
    """Every checkpoint found in the export directory (and the S3 bucket when configured), oldest first."""
    found: dict[str, ParsedCheckpoint] = {}
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if _FILE_RE.match(path.name):
                found[f"file:{path.name}"] = parse_checkpoint(
                    path.read_text(encoding="ascii", errors="replace"), source=f"file {path.name}", key=key
                )
    if settings.AUDIT_CHECKPOINT_S3_BUCKET and settings.AUDIT_VERIFY_READS_S3:
        client = s3_client()
        paginator = client.get_paginator("list_objects_v2")
        bucket = settings.AUDIT_CHECKPOINT_S3_BUCKET
        for page in paginator.paginate(Bucket=bucket, Prefix=settings.AUDIT_CHECKPOINT_S3_PREFIX):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if _FILE_RE.match(name):
                    body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    found[f"s3:{name}"] = parse_checkpoint(
                        body.decode("ascii", errors="replace"), source=f"s3://{bucket}/{item['Key']}", key=key
                    )
    return sorted(found.values(), key=lambda cp: (cp.seq, cp.source))
