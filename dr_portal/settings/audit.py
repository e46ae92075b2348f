"""Settings: the audit log's signed checkpoints, where they are exported and how often."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from dr_portal.env import env_bool, env_int, env_optional, env_path, env_str
from dr_portal.settings.core import VAR_DIR

# --- Audit log ------------------------------------------------------------------

# Ed25519 key that signs checkpoints: base64 of the 32 raw bytes or PEM, or a
# PEM file. With neither, one is generated under var/ (with a warning).
AUDIT_SIGNING_KEY = env_optional("AUDIT_SIGNING_KEY")
AUDIT_SIGNING_KEY_FILE = env_optional("AUDIT_SIGNING_KEY_FILE")
AUDIT_LOG_ORIGIN = env_str("AUDIT_LOG_ORIGIN", "dr-portal")
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 1000, minimum=1)
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 300, minimum=10)
AUDIT_VERIFY_SECONDS = env_int("AUDIT_VERIFY_SECONDS", 3600, minimum=60)
AUDIT_CHECKPOINT_DIR = env_path("AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit" / "checkpoints")
AUDIT_CHECKPOINT_S3_BUCKET = env_optional("AUDIT_CHECKPOINT_S3_BUCKET")
AUDIT_CHECKPOINT_S3_PREFIX = env_str("AUDIT_CHECKPOINT_S3_PREFIX", "audit-checkpoints/")
AUDIT_CHECKPOINT_S3_ENDPOINT_URL = env_optional("AUDIT_CHECKPOINT_S3_ENDPOINT_URL")
AUDIT_CHECKPOINT_S3_REGION = env_optional("AUDIT_CHECKPOINT_S3_REGION")
AUDIT_CHECKPOINT_S3_LOCK_MODE = env_str("AUDIT_CHECKPOINT_S3_LOCK_MODE", "COMPLIANCE").upper()
if AUDIT_CHECKPOINT_S3_LOCK_MODE not in {"COMPLIANCE", "GOVERNANCE"}:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_S3_LOCK_MODE: expected COMPLIANCE or GOVERNANCE")
# Six years and a bit: HIPAA keeps documentation six years (164.316(b)(2)).
AUDIT_CHECKPOINT_S3_RETENTION_DAYS = env_int("AUDIT_CHECKPOINT_S3_RETENTION_DAYS", 2200, minimum=1)
AUDIT_VERIFY_READS_S3 = env_bool("AUDIT_VERIFY_READS_S3", True)
