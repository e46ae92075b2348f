"""Settings: incidents' alert intake and notifications (email and outbound webhooks)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from dr_portal.env import env_choices, env_int, env_list, env_mapping, env_optional, env_str

# --- Incidents: alert intake and notifications -----------------------------------

# Base URL people open the portal at; links in emails and webhooks start with it. Unset, it is the
# loopback address on SITE_PORT, which `make run` sets from PORT (honcho gives each process its own
# PORT, so the worker's PORT is not the web server's).
SITE_PORT = env_int("SITE_PORT", 8000, minimum=1)
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{SITE_PORT}")
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
