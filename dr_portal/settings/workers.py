"""Settings: Celery and the work it carries (backups, point checks, recovery runs, smoke checks)."""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from dr_portal.env import (
    env_bool,
    env_broker,
    env_choices,
    env_int,
    env_list,
    env_path,
    env_seconds_by_tier,
    env_str,
)
from dr_portal.settings.core import BASE_DIR, TESTING, VAR_DIR

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
# Separate queues so that slow work of one kind never waits in front of another: a
# 10,000-event report cannot delay a tier-0 restore, nor a thousand scheduled
# backups a run's next step. A worker started without -Q consumes every queue; run
# more workers on one queue with `-Q backups` (docs/scaling.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
TASK_QUEUE_NAMES = ("celery", "backups", "restores", "reports")
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUE_NAMES)
# The one routing table, by task name; anything not named here (beat's housekeeping,
# notifications) goes to the default queue.
CELERY_TASK_ROUTES = {
    "inventory.backup_run": {"queue": "backups"},
    "inventory.point_verify": {"queue": "backups"},
    "inventory.vault_prune": {"queue": "backups"},
    "inventory.portal_backup": {"queue": "backups"},
    "runs.advance": {"queue": "restores"},
    "runs.step": {"queue": "restores"},  # the restore itself: never behind beat's housekeeping on `celery`
    "runs.verify": {"queue": "restores"},
    "runs.cleanup": {"queue": "restores"},
    "incidents.report_build": {"queue": "reports"},
}
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
# A live worker keeps its backup's lease while a connector snapshot runs, for at most this long.
BACKUP_MAX_SECONDS = env_int("BACKUP_MAX_SECONDS", 6 * 3600, minimum=60)
# Each asset's newest good point is re-verified in its vault when its last check is this old
# (beat looks hourly); with POINT_VERIFY_DECRYPT every chunk is decrypted and hashed too.
POINT_VERIFY_SECONDS = env_int("POINT_VERIFY_SECONDS", 86400, minimum=60)
# Seconds between retention passes: expire points past their policy, then sweep unreferenced chunks.
VAULT_PRUNE_SECONDS = env_int("VAULT_PRUNE_SECONDS", 21600, minimum=60)
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
# Per asset tier (`0=20,1=30`): the lease of a step on an asset of that tier, and how often the
# reconciler looks for that tier's lost steps. A tier not named uses the two settings above.
# Shorter leases take over sooner but falsely take over a step whose worker is merely slow.
RUN_STEP_LEASE_SECONDS_BY_TIER = env_seconds_by_tier("RUN_STEP_LEASE_SECONDS_BY_TIER", "", minimum=2)
RUN_RECONCILE_SECONDS_BY_TIER = env_seconds_by_tier("RUN_RECONCILE_SECONDS_BY_TIER", "", minimum=1)
RUN_APPROVAL_TTL_MINUTES = env_int("RUN_APPROVAL_TTL_MINUTES", 60, minimum=1)
# On-call paging: how long an acknowledgement link in a page email works, and how often beat escalates.
PAGING_ACK_LINK_MINUTES = env_int("PAGING_ACK_LINK_MINUTES", 60, minimum=1)
PAGING_ESCALATE_SECONDS = env_int("PAGING_ESCALATE_SECONDS", 30, minimum=5)
RESTORE_MAX_BYTES_PER_SECOND = env_int("RESTORE_MAX_BYTES_PER_SECOND", 0, minimum=0)
# Where restores into an alternate region land: region=path pairs; default var/regions/<region>.
RESTORE_REGION_ROOTS: dict[str, str] = {}
for _item in env_list("RESTORE_REGION_ROOTS", []):
    _region, _sep, _root = _item.partition("=")
    if not _sep or not _region.strip() or not _root.strip().startswith("/"):
        raise ImproperlyConfigured(f"RESTORE_REGION_ROOTS: {_item!r} is not region=/absolute/path")
    RESTORE_REGION_ROOTS[_region.strip()] = _root.strip()
# Folders a filesystem source may be read from, and an absolute vault path may lie under
# (inventory/paths.py). /proc, /sys and /dev are refused whatever these say.
SOURCE_ROOTS: list[Path] = []
VAULT_ROOTS: list[Path] = []
for _name, _roots in (("SOURCE_ROOTS", SOURCE_ROOTS), ("VAULT_ROOTS", VAULT_ROOTS)):
    # Tests build their sources and vaults in the system's temporary folder.
    for _item in env_list(_name, [str(VAR_DIR), *([tempfile.gettempdir()] if TESTING else [])]):
        if not _item.startswith("/"):
            raise ImproperlyConfigured(f"{_name}: {_item!r} is not an absolute path")
        _roots.append(Path(_item))
# Folders a connector's file: secret reference may name (inventory/connectors/config.py); the
# portal's own keys and database are refused whatever this says.
CONNECTOR_SECRET_DIRS: list[Path] = []
for _item in env_list("CONNECTOR_SECRET_DIRS", [str(VAR_DIR / "secrets"), "/run/secrets"]):
    if not _item.startswith("/"):
        raise ImproperlyConfigured(f"CONNECTOR_SECRET_DIRS: {_item!r} is not an absolute path")
    CONNECTOR_SECRET_DIRS.append(Path(_item))
# The Python of a virtualenv with mlflow (the drill registries' version): a drill's clean-up runs it to
# purge the runs and experiment it deleted from a drill registry whose connector names its backend store
# (drill_backend_store_uri). Default: the project's .venv-mlflow, when it is installed; empty: no purge.
MLFLOW_PYTHON = env_str("MLFLOW_PYTHON", "")
if MLFLOW_PYTHON and not MLFLOW_PYTHON.startswith("/"):
    raise ImproperlyConfigured(f"MLFLOW_PYTHON: {MLFLOW_PYTHON!r} is not an absolute path")
if not MLFLOW_PYTHON and (BASE_DIR / ".venv-mlflow" / "bin" / "python").exists():
    MLFLOW_PYTHON = str(BASE_DIR / ".venv-mlflow" / "bin" / "python")
# Seconds that purge may take before it is stopped (what it had not purged is then reported as left).
MLFLOW_PURGE_TIMEOUT_SECONDS = env_int("MLFLOW_PURGE_TIMEOUT_SECONDS", 120, minimum=1)
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
# Where connectors (databases, S3 endpoints, registries, runtime sockets) may connect: empty means any
# address but link-local (169.254.0.0/16, fe80::/10: cloud metadata), which is refused whatever this says.
CONNECTOR_ALLOWED_NETWORKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
for _item in env_list("CONNECTOR_ALLOWED_NETWORKS", []):
    try:
        CONNECTOR_ALLOWED_NETWORKS.append(ipaddress.ip_network(_item, strict=False))
    except ValueError:
        raise ImproperlyConfigured(f"CONNECTOR_ALLOWED_NETWORKS: {_item!r} is not a network or address") from None
CHECK_ALLOWED_HOSTS = {name.lower().rstrip(".") for name in env_list("CHECK_ALLOWED_HOSTS", [])}
CHECK_MAX_REDIRECTS = env_int("CHECK_MAX_REDIRECTS", 3, minimum=0)
# Folders whose unix sockets the HAProxy driver may use (a unix socket is this machine, so it is
# otherwise allowed only where loopback is). Absolute paths; default none.
CHECK_ALLOWED_SOCKET_DIRS: list[Path] = []
for _item in env_list("CHECK_ALLOWED_SOCKET_DIRS", []):
    if not _item.startswith("/"):
        raise ImproperlyConfigured(f"CHECK_ALLOWED_SOCKET_DIRS: {_item!r} is not an absolute path")
    CHECK_ALLOWED_SOCKET_DIRS.append(Path(_item))
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 60, minimum=5)
