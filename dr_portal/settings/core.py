"""DR Portal settings: one module, driven by environment variables (see .env.example)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from dr_portal.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_optional,
    env_path,
    env_str,
    load_env_file,
)

# Lets the classes the type stubs call generic (ModelForm[Asset], ModelAdmin[User]…) be subscripted at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    "inventory.verification",
    "incidents",
    "incidents.runs",
    "incidents.paging",
    "incidents.compliance",
    "incidents.restoretests",
]

MIDDLEWARE = [
    # First, so that it counts every answer, the other middleware's included (docs/metrics.md).
    "dr_portal.ops.counters.RequestCountMiddleware",
    "dr_portal.api_errors.ApiNotFoundMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dr_portal.ops.middleware.ContentSecurityPolicyMiddleware",
    "dr_portal.ops.middleware.DebugNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "dr_portal.accounts.contents.RequestScopeMiddleware",
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
            "builtins": ["dr_portal.accounts.templatetags.humane"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dr_portal.accounts.context_processors.navigation",
                "incidents.cockpit.context.needs_you_badge",
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
# Where each web process keeps its request and alert counts for /metrics to sum (prometheus_client's
# multiprocess mode); emptied when gunicorn starts. On this host's disk, one folder per server.
METRICS_PROCESS_DIR = env_path("METRICS_PROCESS_DIR", VAR_DIR / ("metrics-test" if TESTING else "metrics"))

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
    "DEFAULT_PAGINATION_CLASS": "dr_portal.api_pages.PagePagination",
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
        # A run's steps, in full and as a drill's progress, under the names they always had.
        "StepOutKindEnum": "inventory.models.StepKind",
        "StepOutStateEnum": "incidents.runs.models.StepState",
    },
}

# --- Email ----------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "dr-portal@localhost")

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
