"""DR Portal settings: one module, driven by environment variables (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dr_portal.env import (
    env_bool,
    env_broker,
    env_choices,
    env_database,
    env_int,
    env_list,
    env_mapping,
    env_optional,
    env_path,
    env_str,
    load_env_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# pytest (8.2+) exports PYTEST_VERSION for the whole session.
TESTING = "PYTEST_VERSION" in os.environ

VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)
# `make run` records its settings (DEBUG, a generated SECRET_KEY) in VAR_DIR/.env so
# that management commands in that checkout see what the server sees. Variables
# already in the environment win; the test suite ignores the file.
if not TESTING:
    load_env_file(VAR_DIR / ".env")

DEBUG = env_bool("DEBUG", False)

_secret = env_optional("SECRET_KEY")
if _secret is None:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY: is required when DEBUG is off")
    _secret = "insecure-development-key-only-for-make-run-and-tests-0123456789"  # noqa: S105
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "dr_portal.accounts",
    "dr_portal.ops",
    "dr_portal.audit",
    "dr_portal.pdf",
    "inventory",
    "incidents",
    "incidents.runs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dr_portal.ops.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dr_portal.accounts.middleware.AccessMiddleware",
    # Axes wants to be last so it sees every login attempt's outcome.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dr_portal.urls"
WSGI_APPLICATION = "dr_portal.wsgi.application"
ASGI_APPLICATION = "dr_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dr_portal.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

_db = env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, which is what serialises
    # audit-chain appenders; WAL lets readers go on meanwhile.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so worker processes started by tests share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    _db.setdefault("CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, MFA, lock-out --------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # The per-address limit first: nothing, not even a second factor, gets past it.
    "dr_portal.accounts.lockout.AddressLimitBackend",
    "dr_portal.accounts.lockout.SecondFactorLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "/accounts/login/?signed_out=1"

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
# A person is locked only at the address the failures came from (dr_portal/accounts/lockout.py),
# and an address with this many failures across all usernames is refused altogether.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dr_portal.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "otp"]

OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "DR Portal")
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1)
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "drportal-demo-2026")

# --- Internationalisation -------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------

_https = not (DEBUG or TESTING) and env_bool("HTTPS", True)
SECURE_SSL_REDIRECT = _https
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
X_FRAME_OPTIONS = "DENY"
# The healthz/readyz probes are plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics names assets, teams and how many people hold each role: outside DEBUG it needs a token.
METRICS_TOKEN = env_optional("METRICS_TOKEN")
if METRICS_TOKEN is None and not (DEBUG or TESTING):
    raise ImproperlyConfigured("METRICS_TOKEN: is required when DEBUG is off (Prometheus sends it as a bearer token)")

# --- REST API -------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dr_portal.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "dr_portal.api_parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "dr_portal.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DR Portal API",
    "DESCRIPTION": "Disaster-recovery governance and incident command for AI systems.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dr_portal.api_schema.add_error_responses",
    ],
    # Fields with one name and different choices: backups' and points' `status`, and the
    # `kind` of a processor relationship beside the other kinds.
    "ENUM_NAME_OVERRIDES": {
        "BackupStatusEnum": "inventory.models.BackupStatus",
        "PointStatusEnum": "inventory.models.PointStatus",
        "CounterpartyEnum": "dr_portal.accounts.models.Counterparty",
    },
}

# --- Celery ---------------------------------------------------------------------

CELERY_BROKER_URL = env_broker("CELERY_BROKER_URL", "filesystem://localhost/")
_broker_options: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Tests get their own queue so a `make run` in the same checkout cannot
    # steal the tasks that test workers are waiting for.
    CELERY_FILESYSTEM_DIR = env_path(
        "CELERY_FILESYSTEM_DIR", VAR_DIR / "celery" / ("test-queue" if TESTING else "queue")
    )
    _queue_dir = CELERY_FILESYSTEM_DIR
    _queue_dir.mkdir(parents=True, exist_ok=True)
    # Kombu keeps its fanout-exchange bookkeeping in control_folder (default: ./control in the
    # working directory); a runtime file, so it lives under VAR_DIR like the queue.
    _control_dir = VAR_DIR / "celery" / "control"
    _control_dir.mkdir(parents=True, exist_ok=True)
    _broker_options = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    # After this long without an ack, Redis hands an unacked task to another worker.
    _broker_options = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
CELERY_BROKER_TRANSPORT_OPTIONS = _broker_options
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_SOFT_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TIME_LIMIT", 1900, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TIME_LIMIT: must be greater than CELERY_SOFT_TIME_LIMIT")
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Remote control needs a fanout exchange the filesystem transport lacks.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = not CELERY_BROKER_URL.startswith("filesystem://")
# Beat opens this file whatever the broker, so its folder is made here, not with the filesystem queue.
_beat_schedule = VAR_DIR / "celery" / "beat-schedule"
_beat_schedule.parent.mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(_beat_schedule)
# Backups: how often a worker saves progress, how long silence means a dead
# worker, and how many attempts a backup gets before it is failed.
BACKUP_PROGRESS_SECONDS = env_int("BACKUP_PROGRESS_SECONDS", 1, minimum=0)
BACKUP_STALE_SECONDS = env_int("BACKUP_STALE_SECONDS", 300, minimum=10)
BACKUP_MAX_ATTEMPTS = env_int("BACKUP_MAX_ATTEMPTS", 3, minimum=1)
# Each asset's newest good point is re-verified in its vault when its last check is this old
# (beat looks hourly); with POINT_VERIFY_DECRYPT every chunk is decrypted and hashed too.
POINT_VERIFY_SECONDS = env_int("POINT_VERIFY_SECONDS", 86400, minimum=60)
POINT_VERIFY_DECRYPT = env_bool("POINT_VERIFY_DECRYPT", False)
# Vault encryption keys: VAULT_KEYS (id:base64,...) and/or this file; new backups use VAULT_KEY_ID.
VAULT_KEY_FILE = env_path("VAULT_KEY_FILE", VAR_DIR / "keys" / "vault-keys")
VAULT_KEY_ID = env_str("VAULT_KEY_ID", "k1")
# How new points are written: "chunks" (deduplicated chunk store, manifest kept in the vault)
# or "files" (the format-1 engine: one sealed object per file or pack). Old points of either
# format are always readable.
BACKUP_FORMAT = env_choices("BACKUP_FORMAT", ["chunks"], allowed={"chunks", "files"})[0]
# Average chunk size of the chunk store, in KiB (files up to this size are one chunk).
BACKUP_CHUNK_KIB = env_int("BACKUP_CHUNK_KIB", 1024, minimum=4)
# Start a fresh chain (store every chunk again) when an asset's chain is this many days old;
# 0 never does. One damaged chunk then cannot reach points older than the chain.
BACKUP_FULL_CHAIN_DAYS = env_int("BACKUP_FULL_CHAIN_DAYS", 30, minimum=0)
# S3-compatible endpoint for S3 vaults and sources (empty: AWS). Credentials: the AWS_* variables.
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
# Recovery runs: progress saves, the lease a running step holds (renewed with each save; a
# step silent for longer is taken over by another worker), attempts before a step fails,
# the reconciler's period, how long approvals stay valid, and a restore bandwidth cap.
RUN_PROGRESS_SECONDS = env_int("RUN_PROGRESS_SECONDS", 1, minimum=0)
RUN_STEP_LEASE_SECONDS = env_int("RUN_STEP_LEASE_SECONDS", 60, minimum=2)
RUN_STEP_MAX_ATTEMPTS = env_int("RUN_STEP_MAX_ATTEMPTS", 3, minimum=1)
RUN_RECONCILE_SECONDS = env_int("RUN_RECONCILE_SECONDS", 30, minimum=1)
RUN_APPROVAL_TTL_MINUTES = env_int("RUN_APPROVAL_TTL_MINUTES", 60, minimum=1)
RESTORE_MAX_BYTES_PER_SECOND = env_int("RESTORE_MAX_BYTES_PER_SECOND", 0, minimum=0)
# Where restores into an alternate region land: region=path pairs; default var/regions/<region>.
RESTORE_REGION_ROOTS: dict[str, str] = {}
for _item in env_list("RESTORE_REGION_ROOTS", []):
    _region, _sep, _root = _item.partition("=")
    if not _sep or not _region.strip() or not _root.strip().startswith("/"):
        raise ImproperlyConfigured(f"RESTORE_REGION_ROOTS: {_item!r} is not region=/absolute/path")
    RESTORE_REGION_ROOTS[_region.strip()] = _root.strip()
# Throughput assumed for an RTO forecast before any restore has been measured (MiB/s).
RUN_FORECAST_FALLBACK_MIBPS = env_int("RUN_FORECAST_FALLBACK_MIBPS", 50, minimum=1)
# Python checks a plan's smoke or wait step may name: name -> dotted path of a callable.
RUN_CHECKS: dict[str, str] = {"golden-output": "incidents.runs.checks.golden_output"}
# Where outbound HTTP may connect (dr_portal/outbound.py: checks, traffic drivers, webhooks): public
# addresses, plus these networks (CIDR or single addresses) and host names. Private, link-local and
# reserved addresses are refused unless listed here; loopback is allowed only with DEBUG on.
CHECK_ALLOWED_NETWORKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
for _item in env_list("CHECK_ALLOWED_NETWORKS", []):
    try:
        CHECK_ALLOWED_NETWORKS.append(ipaddress.ip_network(_item, strict=False))
    except ValueError:
        raise ImproperlyConfigured(f"CHECK_ALLOWED_NETWORKS: {_item!r} is not a network or address") from None
CHECK_ALLOWED_HOSTS = {name.lower().rstrip(".") for name in env_list("CHECK_ALLOWED_HOSTS", [])}
CHECK_MAX_REDIRECTS = env_int("CHECK_MAX_REDIRECTS", 3, minimum=0)
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 60, minimum=5)

# --- Signed PDF reports -----------------------------------------------------------


def _file(value: str | None) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


# The PAdES signing identity: a PKCS#12 bundle, or a PEM key plus certificate.
# With neither, a self-signed one is made once under VAR_DIR/keys/ (embedded mode).
REPORT_SIGNING_PKCS12 = _file(env_optional("REPORT_SIGNING_PKCS12"))
REPORT_SIGNING_KEY = _file(env_optional("REPORT_SIGNING_KEY"))
REPORT_SIGNING_CERT = _file(env_optional("REPORT_SIGNING_CERT"))
REPORT_SIGNING_PASSPHRASE = env_optional("REPORT_SIGNING_PASSPHRASE")
REPORT_SIGNING_PASSPHRASE_FILE = _file(env_optional("REPORT_SIGNING_PASSPHRASE_FILE"))
REPORT_TRUST_ROOTS = _file(env_optional("REPORT_TRUST_ROOTS"))
if REPORT_SIGNING_PKCS12 and (REPORT_SIGNING_KEY or REPORT_SIGNING_CERT):
    raise ImproperlyConfigured("REPORT_SIGNING_PKCS12: set it or REPORT_SIGNING_KEY/REPORT_SIGNING_CERT, not both")
if bool(REPORT_SIGNING_KEY) != bool(REPORT_SIGNING_CERT):
    raise ImproperlyConfigured("REPORT_SIGNING_KEY: needs REPORT_SIGNING_CERT as well (and the other way round)")
if REPORT_SIGNING_PASSPHRASE and REPORT_SIGNING_PASSPHRASE_FILE:
    raise ImproperlyConfigured("REPORT_SIGNING_PASSPHRASE: set it or REPORT_SIGNING_PASSPHRASE_FILE, not both")

# Generated compliance reports (signed PDFs) are kept here, one file per report.
REPORTS_DIR = env_path("REPORTS_DIR", VAR_DIR / "reports")
# Years a report is kept: HIPAA documentation, 6 years (164.316(b)(2)).
REPORT_RETENTION_YEARS = env_int("REPORT_RETENTION_YEARS", 6, minimum=6)
# A running build silent this long was lost with its worker; the reconciler re-dispatches it.
REPORT_STALE_SECONDS = env_int("REPORT_STALE_SECONDS", 900, minimum=60)
REPORT_CLASSIFICATION = env_str("REPORT_CLASSIFICATION", "Confidential \u2014 may contain personal data / PHI")

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

# --- Periodic tasks (the one beat schedule) ---------------------------------------

# Every periodic task, keyed by its task name (`<app>.<action>`); seconds between runs.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    name: {"task": name, "schedule": float(seconds)}
    for name, seconds in {
        "ops.heartbeat": 15,
        "inventory.backups_schedule": 60,
        "inventory.backups_reconcile": 120,
        "inventory.points_expire": 3600,
        "inventory.points_verify": 3600,
        "inventory.readiness_sweep": 60,
        "incidents.deadlines_scan": 300,
        "incidents.deliveries_reconcile": 120,
        "incidents.drills_schedule": 3600,
        "incidents.reports_reconcile": 300,
        "runs.reconcile": RUN_RECONCILE_SECONDS,
        "audit.checkpoint": AUDIT_CHECKPOINT_SECONDS,
        "audit.verify": AUDIT_VERIFY_SECONDS,
    }.items()
}

# --- Email ----------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "dr-portal@localhost")

# --- Incidents: alert intake and notifications -----------------------------------

# Base URL people open the portal at; links in emails and webhooks start with it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# Alert intake (/api/v1/intake/...) accepts only `Authorization: Bearer <this>`; unset turns intake off.
ALERT_INTAKE_TOKEN = env_optional("ALERT_INTAKE_TOKEN")
if ALERT_INTAKE_TOKEN is not None and len(ALERT_INTAKE_TOKEN) < 24:
    raise ImproperlyConfigured("ALERT_INTAKE_TOKEN: use at least 24 random characters")
_SEVERITIES = {"SEV1", "SEV2", "SEV3", "SEV4"}
# A bigger Alertmanager group is accepted: the first alerts (firing before resolved) are kept, the rest counted.
ALERT_INTAKE_MAX_ALERTS = env_int("ALERT_INTAKE_MAX_ALERTS", 500, minimum=1)
ALERT_SEVERITY_LABEL = env_str("ALERT_SEVERITY_LABEL", "severity")
# Alerts about the portal itself carry all of these labels (key=value, comma-separated); they open an
# incident on the asset PORTAL_ASSET_NAME, which intake registers if the inventory lacks it.
ALERT_PLATFORM_LABELS: dict[str, str] = {}
for _item in env_list("ALERT_PLATFORM_LABELS", ["service=dr-portal"]):
    _key, _sep, _value = _item.partition("=")
    if not _sep or not _key.strip() or not _value.strip():
        raise ImproperlyConfigured(f"ALERT_PLATFORM_LABELS: {_item!r} is not label=value")
    ALERT_PLATFORM_LABELS[_key.strip()] = _value.strip()
PORTAL_ASSET_NAME = env_str("PORTAL_ASSET_NAME", "dr-portal")
PORTAL_ASSET_REGION = env_str("PORTAL_ASSET_REGION", "local")
ALERT_SEVERITY_MAP = env_mapping(
    "ALERT_SEVERITY_MAP",
    "critical=SEV1,page=SEV1,high=SEV2,error=SEV2,major=SEV2,warning=SEV3,minor=SEV3,info=SEV4",
    values=_SEVERITIES,
)
ALERT_DEFAULT_SEVERITY = env_choices("ALERT_DEFAULT_SEVERITY", ["SEV3"], allowed=_SEVERITIES)[0]
# Who gets email for each event: account roles, "assignee" (role_assigned) or
# "incident_roles" (everyone holding a role on the incident).
_AUDIENCES = {"admin", "incident_commander", "oncall_engineer", "compliance_officer", "viewer"} | {
    "assignee",
    "incident_roles",
    "approvers",
}
NOTIFY_EMAIL: dict[str, list[str]] = {
    "declared": env_choices("NOTIFY_EMAIL_DECLARED", ["incident_commander", "oncall_engineer"], allowed=_AUDIENCES),
    "role_assigned": env_choices("NOTIFY_EMAIL_ROLE_ASSIGNED", ["assignee"], allowed=_AUDIENCES),
    "deadline_near": env_choices(
        "NOTIFY_EMAIL_DEADLINE_NEAR", ["compliance_officer", "incident_roles"], allowed=_AUDIENCES
    ),
    # "approvers": the people holding the role a waiting recovery step names, never its requester.
    "approval_needed": env_choices("NOTIFY_EMAIL_APPROVAL_NEEDED", ["approvers"], allowed=_AUDIENCES),
    # A new firing alert reopened a resolved incident (docs/alerts.md).
    "reopened": env_choices("NOTIFY_EMAIL_REOPENED", ["incident_roles", "incident_commander"], allowed=_AUDIENCES),
}
NOTIFY_WEBHOOK_EVENTS = env_choices(
    "NOTIFY_WEBHOOK_EVENTS",
    ["declared", "role_assigned", "deadline_near", "approval_needed", "reopened"],
    allowed=set(NOTIFY_EMAIL),
)
OUTBOUND_WEBHOOK_URLS = env_list("OUTBOUND_WEBHOOK_URLS", [])
for _url in OUTBOUND_WEBHOOK_URLS:
    if not _url.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"OUTBOUND_WEBHOOK_URLS: {_url!r} is not an http(s) URL")
OUTBOUND_WEBHOOK_SECRET = env_optional("OUTBOUND_WEBHOOK_SECRET")
if OUTBOUND_WEBHOOK_URLS and not OUTBOUND_WEBHOOK_SECRET:
    raise ImproperlyConfigured("OUTBOUND_WEBHOOK_SECRET: is required when OUTBOUND_WEBHOOK_URLS is set")
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Attempts per delivery (email or webhook), and the exponential backoff between them.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 10, minimum=0)
WEBHOOK_BACKOFF_CAP_SECONDS = env_int("WEBHOOK_BACKOFF_CAP_SECONDS", 600, minimum=1)
# A pending delivery this long past its attempt time is re-queued by the reconciler.
DELIVERY_STALE_SECONDS = env_int("DELIVERY_STALE_SECONDS", 300, minimum=10)

# --- Logging --------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL: unknown level {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
