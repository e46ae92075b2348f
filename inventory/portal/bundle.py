"""What goes into a portal backup besides the database: configuration less secrets, checkpoints, public keys."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from dr_portal.audit import checkpoints

CONFIG_FILE = "config/settings.json"
CHECKPOINT_DIR = "audit/checkpoints"
AUDIT_PUBLIC_KEY = "keys/audit-signing-public.pem"
REPORT_CERTIFICATE = "keys/report-signing-certificate.pem"
# The keys the portal made itself under VAR_DIR/keys (embedded mode): the report-signing key and certificate, and
# the local time-stamping authority's. Private, but only ever stored encrypted in the vault; without them a rebuilt
# portal signs with new keys and can no longer vouch for the reports it signed before. Keys the operator configured
# (REPORT_SIGNING_PKCS12, REPORT_SIGNING_KEY) are secrets to supply, not copied.
GENERATED_KEYS_DIR = "keys/generated"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d{12})\.txt$")
# A setting whose name says it holds a secret is never written; its name is listed instead.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSPHRASE|TOKEN|(^|_)KEYS?$|SIGNING_KEY$|PKCS12")


def _without_credentials(value: str) -> str:
    if "://" not in value or "@" not in value:
        return value
    parts = urlsplit(value)
    if not (parts.username or parts.password):
        return value
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _plain(value: Any) -> Any:
    """The JSON form of a setting, or ``...`` when it has none (objects, callables)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _without_credentials(str(value))
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(item) for item in value]
        return ... if any(item is ... for item in items) else items
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if _SECRET_NAME.search(str(key).upper()):
                continue
            plain = _plain(item)
            if plain is ...:
                return ...
            out[str(key)] = plain
        return out
    return ...


def configuration_less_secrets() -> dict[str, Any]:
    """Every upper-case setting that has a JSON form; secrets dropped and named under ``secrets_to_supply``."""
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for name in sorted(dir(settings)):
        if not name.isupper():
            continue
        value = getattr(settings, name)
        if _SECRET_NAME.search(name):
            if value:
                secrets.append(name)
            continue
        plain = _plain(value)
        if plain is not ...:
            values[name] = plain
    return {"settings": values, "secrets_to_supply": secrets}


def write_extras(*, directory: Path, head_seq: int, created_at: datetime) -> dict[str, Any]:
    """Write configuration and public keys beside the copied checkpoints; returns the bundle's description."""
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(configuration_less_secrets(), indent=2, sort_keys=True))
    (directory / "keys").mkdir(exist_ok=True)
    (directory / AUDIT_PUBLIC_KEY).write_text(checkpoints.public_key_pem())
    certificate = _report_certificate()
    if certificate:
        (directory / REPORT_CERTIFICATE).write_bytes(certificate)
    generated = copy_generated_keys(directory=directory)
    return {
        "generated_keys": generated,
        "created_at": created_at.isoformat(),
        "audit_key_id": checkpoints.key_id(),
        "audit_origin": settings.AUDIT_LOG_ORIGIN,
        "head_seq": head_seq,
    }


def _report_certificate() -> bytes | None:
    from dr_portal.pdf.signing import EMBEDDED_KEY_FILE, signing_identity

    configured = settings.REPORT_SIGNING_PKCS12 or settings.REPORT_SIGNING_CERT
    if not configured and not (Path(settings.VAR_DIR) / "keys" / EMBEDDED_KEY_FILE).exists():
        return None  # never generate an identity just to back it up
    try:
        return signing_identity().certificate_pem
    except Exception:  # an unconfigured or unreadable identity: the backup goes on without it
        return None


def _generated_key_files() -> list[Path]:
    from dr_portal.pdf.signing import EMBEDDED_KEY_FILE
    from dr_portal.pdf.tsa import TSA_KEY_FILE

    keys = Path(settings.VAR_DIR) / "keys"
    return [keys / name for name in (EMBEDDED_KEY_FILE, TSA_KEY_FILE) if (keys / name).is_file()]


def copy_generated_keys(*, directory: Path) -> list[str]:
    """Copy the report-signing and local TSA key files the portal generated; returns their names."""
    target = directory / GENERATED_KEYS_DIR
    names = []
    for path in _generated_key_files():
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(path, target / path.name)
        (target / path.name).chmod(0o600)
        names.append(path.name)
    return names


def install_generated_keys(*, directory: Path, folder_name: str) -> tuple[list[str], list[str]]:
    """Put the backed-up generated keys back under VAR_DIR/keys (mode 0600), so reports signed before the loss
    still verify and new ones are signed by the same identity. A different key already there (made on this
    machine before the restore) is moved to ``keys/superseded/<folder_name>/``, not lost.
    Returns (installed, set aside)."""
    from dr_portal.pdf.signing import signing_identity
    from dr_portal.pdf.tsa import tsa_identity

    source = directory / GENERATED_KEYS_DIR
    if not source.is_dir():
        return [], []
    keys = Path(settings.VAR_DIR) / "keys"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    installed, aside = [], []
    for path in sorted(source.iterdir()):
        existing = keys / path.name
        if existing.exists():
            if existing.read_bytes() == path.read_bytes():
                continue
            superseded = keys / "superseded" / folder_name
            superseded.mkdir(parents=True, exist_ok=True, mode=0o700)
            existing.replace(superseded / path.name)
            aside.append(path.name)
        part = existing.with_suffix(".part")
        part.write_bytes(path.read_bytes())
        part.chmod(0o600)
        part.replace(existing)
        installed.append(path.name)
    signing_identity.cache_clear()
    tsa_identity.cache_clear()
    return installed, aside


def copy_checkpoints(*, directory: Path) -> int:
    """Copy every exported checkpoint file; called before the database copy, so none seals a later head."""
    source = Path(settings.AUDIT_CHECKPOINT_DIR)
    target = directory / CHECKPOINT_DIR
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if _CHECKPOINT_RE.match(path.name):
                shutil.copyfile(path, target / path.name)
                copied += 1
    return copied


def drop_checkpoints_after(*, directory: Path, head_seq: int) -> None:
    for path in (directory / CHECKPOINT_DIR).iterdir():
        found = _CHECKPOINT_RE.match(path.name)
        if found and int(found.group(1)) > head_seq:
            path.unlink()


def install_checkpoints(*, directory: Path) -> tuple[int, list[str]]:
    """Put the backed-up checkpoint files back; an existing file is kept (and named when it differs)."""
    target = Path(settings.AUDIT_CHECKPOINT_DIR)
    target.mkdir(parents=True, exist_ok=True)
    written, differing = 0, []
    source = directory / CHECKPOINT_DIR
    if not source.is_dir():
        return 0, []
    for path in sorted(source.iterdir()):
        existing = target / path.name
        if existing.exists():
            if existing.read_bytes() != path.read_bytes():
                differing.append(path.name)
            continue
        part = existing.with_suffix(".part")
        shutil.copyfile(path, part)
        part.replace(existing)
        written += 1
    return written, differing


def _sealed(text: str) -> tuple[int, str] | None:
    fields = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    try:
        return int(fields["seq"]), fields["head"].strip()
    except (KeyError, ValueError):
        return None


def set_aside_other_branch(*, folder_name: str) -> int:
    """Move exported checkpoints that do not seal the restored log into ``superseded/<folder_name>``.

    Only after a forced restore: the log they seal was saved by the backup taken just
    before, and the restore itself is recorded in the log, so moving them loses nothing.
    """
    from dr_portal.audit.models import AuditEvent

    source = Path(settings.AUDIT_CHECKPOINT_DIR)
    if not source.is_dir():
        return 0
    moved = 0
    aside = source / "superseded" / folder_name
    for path in sorted(source.iterdir()):
        if not _CHECKPOINT_RE.match(path.name):
            continue
        sealed = _sealed(path.read_text(encoding="ascii", errors="replace"))
        if sealed is not None and AuditEvent.objects.filter(seq=sealed[0], hash=sealed[1]).exists():
            continue  # it seals the history that was restored
        aside.mkdir(parents=True, exist_ok=True)
        path.replace(aside / path.name)
        moved += 1
    return moved
