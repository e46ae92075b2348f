"""Every URL the project has by every role, against the status each should get.

A URL pattern without a row here fails `test_every_url_has_a_row`, so a new
page cannot ship without someone deciding who may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from dr_portal.accounts.models import Role
from dr_portal.ops.services import heartbeat_record
from tests.factories import (
    AssetFactory,
    BackupFactory,
    RecoveryPlanFactory,
    RecoveryPointFactory,
    RecoveryPolicyFactory,
    RecoveryRunFactory,
    StepRunFactory,
    UserFactory,
    VaultFactory,
)
from tests.url_matrix_support import (
    BACKUPS,
    COMMANDERS,
    HOME,
    LOGIN,
    MFA,
    REDIRECT,
    RESPONDERS,
    ROLES,
    Row,
    a_certified_run,
    a_checkpoint,
    a_delivery,
    a_dependency,
    a_dependency_pk,
    a_notice,
    a_page,
    a_page_link,
    a_plan,
    a_policy,
    a_readiness_report,
    a_relationship,
    a_report,
    a_run,
    a_schedule_item,
    a_step,
    a_vault,
    a_viewers_token,
    an_asset,
    an_audit_event,
    an_inbox_alert,
    an_incident,
    an_item,
    api,
    api_only,
    audit_api,
    by_id,
    methods_taken,
    needs_args,
    only,
    outcome_of,
    project_urls,
    route,
    send_row,
    signed_in,
    some_assets,
    statuses,
    walk_urls,
)

# An empty form or JSON body is enough to pass every check but the one on the
# input: allowed roles get the page back with errors (200), a 400, or a
# redirect with a message; a role without the right gets the 403 page that names the roles
# that have it, and a refusal that depends on the object the same 404 as an unknown URL.
MATRIX: dict[str, Row] = {
    "dashboard": route(get=signed_in()),
    "incidents:index": route(get=signed_in()),
    "inventory:index": route(get=signed_in()),
    "inventory:asset": route(get=signed_in(), kwargs=an_asset),
    "inventory:asset-new": route(get=only("admin"), post=only("admin")),
    "inventory:discover": route(get=only("admin"), post=only("admin")),
    "inventory:asset-edit": route(get=only("admin"), post=only("admin"), kwargs=an_asset),
    "inventory:asset-history": route(get=signed_in(), kwargs=an_asset),
    "inventory:asset-backup": route(get=signed_in(), post=only(*BACKUPS, ok=REDIRECT), kwargs=an_asset),
    "inventory:asset-verify": route(post=only(*BACKUPS, ok=REDIRECT), kwargs=an_asset),
    "inventory:dependency-add": route(post=only("admin", ok=400), kwargs=an_asset),
    "inventory:dependency-remove": route(post=only("admin", ok=REDIRECT), kwargs=a_dependency),
    "inventory:policies": route(get=signed_in()),
    "inventory:policy-new": route(get=only("admin"), post=only("admin")),
    "inventory:policy-edit": route(get=only("admin"), post=only("admin"), kwargs=a_policy),
    "inventory:vaults": route(get=signed_in()),
    "inventory:vault-new": route(get=only("admin"), post=only("admin")),
    "inventory:vault-edit": route(get=only("admin"), post=only("admin"), kwargs=a_vault),
    "inventory:readiness": route(get=signed_in()),
    "inventory:import": route(get=only("admin"), post=only("admin")),
    "inventory:export": route(get=signed_in()),
    "inventory:plans": route(get=signed_in()),
    "inventory:plan": route(get=signed_in(), kwargs=a_plan),
    "inventory:plan-new": route(get=only("admin"), post=only("admin")),
    "inventory:plan-edit": route(get=only("admin"), post=only("admin"), kwargs=a_plan),
    "incidents:approvals": route(get=only(*RESPONDERS)),
    "runs:index": route(get=signed_in()),
    "runs:new": route(get=only(*COMMANDERS), post=only(*COMMANDERS)),
    "runs:detail": route(get=signed_in(), kwargs=a_run),
    "runs:cancel": route(get=only(*COMMANDERS), post=only(*COMMANDERS), kwargs=a_run),
    "runs:certificate": route(get=signed_in(), kwargs=a_certified_run),
    "runs:step-retry": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=a_step),
    # Approving needs a second factor, whatever the role.
    "runs:step-decide": route(post=only(*RESPONDERS, ok=REDIRECT) | {"commander": MFA, "oncall": MFA}, kwargs=a_step),
    # Needs-you-now: the code comes in the same form, so nobody is sent to the MFA page first.
    "incidents:decide-now": route(
        post=only(*RESPONDERS, ok=HOME, denied=404) | {"admin_without_mfa": HOME}, kwargs=a_step
    ),
    "paging:index": route(get=only(*RESPONDERS)),
    "paging:override-new": route(post=only(*COMMANDERS, ok=400)),
    "paging:layer-new": route(post=only(*COMMANDERS, ok=400)),
    "paging:schedule-new": route(post=only(*COMMANDERS, ok=400)),
    "paging:policy-new": route(post=only(*COMMANDERS, ok=400)),
    "paging:level-new": route(post=only(*COMMANDERS, ok=400)),
    "paging:setup-edit": route(get=only(*COMMANDERS), post=only(*COMMANDERS, ok=400), kwargs=a_schedule_item),
    "paging:setup-delete": route(post=only(*COMMANDERS), kwargs=a_schedule_item),
    "paging:page": route(get=only(*RESPONDERS), kwargs=a_page),
    "paging:page-ack": route(post=only(*RESPONDERS, ok=REDIRECT), kwargs=a_page),
    "paging:page-escalate": route(post=only(*RESPONDERS, ok=REDIRECT), kwargs=a_page),
    # The link in a page email works without signing in: its signature names the person.
    "paging:ack-link": route(get=statuses(200), post=statuses(200), kwargs=a_page_link),
    "paging:deliveries": route(get=only(*RESPONDERS)),
    "paging:delivery-replay": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=a_delivery),
    "runs:step-skip": route(get=only(*COMMANDERS), post=only(*COMMANDERS), kwargs=a_step),
    "runs:asset-behaviour": route(get=signed_in(), post=only("admin"), kwargs=an_asset),
    "runs:step-done": route(get=only(*RESPONDERS), post=only(*RESPONDERS), kwargs=a_step),
    "incidents:reports": route(get=only("admin", "compliance")),
    "incidents:report-create": route(post=only("admin", "compliance", ok=400), body=a_readiness_report),
    # Not built yet: nothing to download (404); a role without the right gets the 403 page first.
    "incidents:report-download": route(
        get=statuses(404, anonymous=LOGIN, admin_without_mfa=MFA, commander=403, oncall=403, viewer=403),
        kwargs=a_report,
    ),
    "api:report-list": route(get=audit_api()),
    "api:report-detail": route(get=audit_api(), kwargs=a_report),
    "api:report-create-incident": route(post=api_only("admin", "compliance", ok=400)),
    "api:report-create-readiness": route(post=api_only("admin", "compliance", ok=400)),
    "api:report-download": route(get=api(404), kwargs=a_report),
    "audit:index": route(get=only("admin", "compliance")),
    "audit:export-csv": route(get=only("admin", "compliance")),
    "audit:export-jsonl": route(get=only("admin", "compliance")),
    "audit:checkpoint": route(get=only("admin", "compliance"), kwargs=a_checkpoint),
    "audit:pubkey": route(get=statuses(200)),
    "audit:erase": route(post=only("admin", ok=REDIRECT)),
    "audit:verify-now": route(post=only("admin", "compliance", ok=REDIRECT)),
    "audit:verify-status": route(get=only("admin", "compliance", ok=REDIRECT)),
    "api:audit-event-list": route(get=audit_api()),
    "api:audit-event-detail": route(get=audit_api(), kwargs=an_audit_event),
    # Public material: whoever holds a report must be able to check it without an account.
    "report-certificate": route(get=statuses(200)),
    "report-audit-key": route(get=statuses(200)),
    "report-tsa-certificate": route(get=statuses(200)),
    "accounts:login": route(
        get=statuses(HOME, anonymous=200), post=statuses(HOME, anonymous=200), put=statuses(HOME, anonymous=200)
    ),
    "accounts:logout": route(post=statuses(LOGIN)),
    "accounts:mfa": route(get=statuses(200, anonymous=LOGIN), post=statuses(200, anonymous=LOGIN)),
    "accounts:tokens": route(get=statuses(200, anonymous=LOGIN), post=statuses(200, anonymous=LOGIN)),
    "accounts:token-revoke": route(post=statuses(404, anonymous=LOGIN, viewer=REDIRECT), kwargs=a_viewers_token),
    "accounts:password-change": route(
        get=statuses(200, anonymous=LOGIN), post=statuses(200, anonymous=LOGIN), put=statuses(200, anonymous=LOGIN)
    ),
    "accounts:password-reset": route(get=statuses(200), post=statuses(200), put=statuses(200)),
    "accounts:password-reset-sent": route(get=statuses(200)),
    "accounts:password-reset-confirm": route(
        get=statuses(200),
        post=statuses(200),
        put=statuses(200),
        kwargs=lambda: {"uidb64": "MQ", "token": "not-a-real-token"},
    ),
    # Signing in for a token: open to all, and an empty body names the missing fields.
    "api:auth-token": route(post=statuses(400)),
    # Revoking "the token this request came with": a session has none.
    "api:auth-token-current": route(delete=statuses(400, anonymous=401)),
    "api:me": route(get=statuses(200, anonymous=401)),
    "accounts:organisation": route(get=only("admin"), post=only("admin", ok=REDIRECT)),
    "accounts:processor-create": route(post=only("admin", ok=400)),
    "accounts:processor-delete": route(post=only("admin", ok=REDIRECT), kwargs=a_relationship),
    "api:organisation": route(get=audit_api(), patch=api_only("admin")),
    "incidents:assessment": route(
        get=signed_in(),
        post=only(*RESPONDERS, ok=REDIRECT, denied=404),
        kwargs=lambda: {**an_incident(), "regime": "gdpr"},
    ),
    "api:incident-assessments": route(get=api(), post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:organisation-processors": route(post=api_only("admin", ok=400)),
    "api:organisation-processor": route(delete=api_only("admin", ok=204), kwargs=a_relationship),
    "api:inventory-asset-list": route(get=api(), post=api_only("admin", ok=400)),
    "api:inventory-asset-detail": route(get=api(), patch=api_only("admin"), kwargs=by_id(AssetFactory)),
    "api:inventory-asset-readiness": route(get=api(), kwargs=by_id(AssetFactory)),
    # Alias history is what points hold: roles that may restore get 404 here (no MLflow capture), others 403.
    "api:inventory-asset-aliases": route(
        get=statuses(404, anonymous=401, admin_without_mfa=403, compliance=403, viewer=403), kwargs=by_id(AssetFactory)
    ),
    "api:inventory-asset-backup": route(post=api_only(*BACKUPS, ok=202), kwargs=by_id(AssetFactory)),
    "api:inventory-backup-list": route(get=api()),
    "api:inventory-backup-detail": route(get=api(), kwargs=by_id(BackupFactory)),
    "api:inventory-dependency-list": route(get=api(), post=api_only("admin", ok=400)),
    "api:inventory-dependency-detail": route(delete=api_only("admin", ok=204), kwargs=a_dependency_pk),
    "api:inventory-policy-list": route(get=api(), post=api_only("admin", ok=400)),
    "api:inventory-policy-detail": route(get=api(), patch=api_only("admin"), kwargs=by_id(RecoveryPolicyFactory)),
    "api:inventory-vault-list": route(get=api()),
    "api:inventory-vault-detail": route(get=api(), kwargs=by_id(VaultFactory)),
    "api:inventory-point-list": route(get=api()),
    "api:inventory-point-detail": route(get=api(), kwargs=by_id(RecoveryPointFactory)),
    # Only catalogue managers may release a suspicious point; with no reason given it is a 400.
    "api:inventory-point-release": route(post=api_only("admin", ok=400), kwargs=by_id(RecoveryPointFactory)),
    "api:inventory-readiness": route(get=api()),
    "api:inventory-readiness-summary": route(get=api()),
    "api:inventory-plan-list": route(get=api(), post=api_only("admin", ok=400)),
    "api:inventory-plan-detail": route(get=api(), put=api_only("admin", ok=400), kwargs=by_id(RecoveryPlanFactory)),
    "api:inventory-plan-default": route(post=api_only("admin", ok=400)),
    "api:runs-run-list": route(get=api(), post=api_only(*COMMANDERS, ok=400)),
    "api:runs-run-detail": route(get=api(), kwargs=by_id(RecoveryRunFactory)),
    "api:runs-run-cancel": route(post=api_only(*COMMANDERS, ok=400), kwargs=by_id(RecoveryRunFactory)),
    "api:runs-run-dry-run": route(post=api_only(*COMMANDERS, ok=400)),
    "api:runs-step-detail": route(get=api(), patch=api_only(*COMMANDERS), kwargs=by_id(StepRunFactory)),
    "api:runs-step-skip": route(post=api_only(*COMMANDERS, ok=400), kwargs=by_id(StepRunFactory)),
    "api:runs-step-retry": route(post=api_only(*COMMANDERS, ok=409), kwargs=by_id(StepRunFactory)),
    "api:runs-step-done": route(post=api_only(*RESPONDERS, ok=400), kwargs=by_id(StepRunFactory)),
    # Deciding an approval needs a second factor, whatever the role.
    "api:runs-step-approve": route(
        post=api_only(*RESPONDERS, ok=400) | {"commander": 403, "oncall": 403}, kwargs=by_id(StepRunFactory)
    ),
    "api:runs-step-reject": route(
        post=api_only(*RESPONDERS, ok=400) | {"commander": 403, "oncall": 403}, kwargs=by_id(StepRunFactory)
    ),
    "api:runs-approval-list": route(get=api_only(*RESPONDERS)),
    # An empty body names the missing fields; only those who change the inventory may write.
    "api:runs-traffic": route(get=api(), put=api_only("admin", ok=400), kwargs=an_asset),
    "api:runs-golden-sets": route(get=api(), post=api_only("admin", ok=400), kwargs=an_asset),
    "api:runs-certificate": route(get=api(), kwargs=a_certified_run),
    "api:inventory-blast-radius": route(post=api(), body=some_assets),
    "api:inventory-import": route(post=api_only("admin", ok=400)),
    "api:inventory-export": route(get=api()),
    "api-schema": route(get=statuses(200, anonymous=401)),
    "incidents:declare": route(get=only(*RESPONDERS), post=only(*RESPONDERS)),
    "incidents:detail": route(get=signed_in(), kwargs=an_incident),
    "incidents:timeline": route(get=signed_in(), kwargs=an_incident),
    "incidents:facts": route(get=only(*RESPONDERS, denied=404), post=only(*RESPONDERS, denied=404), kwargs=an_incident),
    "incidents:review": route(get=signed_in(), post=only(*RESPONDERS, denied=404), kwargs=an_incident),
    "incidents:drills": route(get=signed_in(), post=only(*COMMANDERS)),
    "incidents:status": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_incident),
    "incidents:severity": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_incident),
    "incidents:roles": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_incident),
    "incidents:notes": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    "incidents:pins": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    "incidents:assets": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    "incidents:delays": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    "incidents:action-items": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    "incidents:review-sign-off": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_incident),
    "incidents:drill-outcome": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident),
    # The notification register and sign-offs (incidents/compliance); an empty form comes back with a message.
    "compliance:notifications": route(
        get=signed_in(ok=REDIRECT), post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_incident
    ),
    "compliance:attachment": route(get=only(*RESPONDERS, "compliance", denied=404), kwargs=a_notice),
    # Anyone who sees the incident reaches the sign-off service, which checks the duty and the second factor.
    "compliance:signoffs": route(post=signed_in(REDIRECT), kwargs=an_incident),
    "compliance:breach-register": route(get=only("admin", "compliance")),
    # Regulator exports: those who read reports, and commanders; each download is audited.
    "compliance:export-gdpr": route(get=only("admin", "commander", "compliance", denied=404), kwargs=an_incident),
    "compliance:export-hhs": route(get=only("admin", "commander", "compliance", denied=404), kwargs=an_incident),
    "api:incident-export-gdpr": route(get=api_only("admin", "commander", "compliance"), kwargs=an_incident),
    "api:incident-export-hhs": route(get=api_only("admin", "commander", "compliance"), kwargs=an_incident),
    "api:incident-notifications": route(get=api(), post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:incident-sign-offs": route(get=api(), post=api(400), kwargs=an_incident),
    "api:incident-obligations": route(get=api(), kwargs=an_incident),
    "api:breach-register": route(get=api_only("admin", "compliance")),
    "incidents:action-item-status": route(post=only(*RESPONDERS, ok=REDIRECT, denied=404), kwargs=an_item),
    "incidents:drill-schedule": route(post=only(*COMMANDERS, ok=REDIRECT)),
    # The alert inbox is for those who command incidents; an empty form is refused with a message.
    "incidents:inbox": route(get=only(*COMMANDERS)),
    "incidents:inbox-attach": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_inbox_alert),
    "incidents:inbox-declare": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_inbox_alert),
    "incidents:inbox-map": route(post=only(*COMMANDERS, ok=REDIRECT), kwargs=an_inbox_alert),
    "api:inbox-alert-list": route(get=api_only(*COMMANDERS)),
    "api:inbox-alert-detail": route(get=api_only(*COMMANDERS), kwargs=an_inbox_alert),
    "api:inbox-alert-attach": route(post=api_only(*COMMANDERS, ok=400), kwargs=an_inbox_alert),
    "api:inbox-alert-declare": route(post=api_only(*COMMANDERS, ok=201), kwargs=an_inbox_alert),
    "api:inbox-alert-map-labels": route(post=api_only(*COMMANDERS, ok=400), kwargs=an_inbox_alert),
    "api:incident-list": route(get=api(), post=api_only(*RESPONDERS, ok=400)),
    "api:incident-detail": route(get=api(), kwargs=an_incident),
    "api:incident-timeline": route(get=api(), kwargs=an_incident),
    "api:incident-roles": route(get=api(), post=api_only(*COMMANDERS, ok=400), kwargs=an_incident),
    "api:incident-clocks": route(get=api(), kwargs=an_incident),
    # Gone: the filings register became the notification register (410 with its new location).
    "api:incident-filings": route(get=api(ok=410), post=api(ok=410), kwargs=an_incident),
    "api:incident-action-items": route(get=api(), post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:incident-review": route(get=api(), post=api_only(*RESPONDERS), kwargs=an_incident),
    "api:incident-transition": route(post=api_only(*COMMANDERS, ok=400), kwargs=an_incident),
    "api:incident-severity": route(post=api_only(*COMMANDERS, ok=400), kwargs=an_incident),
    "api:incident-relieve": route(post=api_only(*COMMANDERS, ok=400), kwargs=an_incident),
    "api:incident-notes": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:incident-pins": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:incident-assets": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:incident-facts": route(post=api_only(*RESPONDERS), kwargs=an_incident),
    "api:incident-delay-reasons": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    # A review that is still empty cannot be signed off.
    "api:incident-sign-off": route(post=api_only(*COMMANDERS, ok=409), kwargs=an_incident),
    "api:incident-drill-outcome": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_incident),
    "api:action-item-status": route(post=api_only(*RESPONDERS, ok=400), kwargs=an_item),
    "api:drill-create": route(post=api_only(*COMMANDERS, ok=400)),
    "api:page-acknowledge": route(post=api_only(*RESPONDERS), kwargs=a_page),
    "api:drill-schedules": route(get=api(), post=api_only(*COMMANDERS, ok=400)),
    "api:drill-run-progress": route(get=api(), kwargs=a_run),
    # Machines call intake with their own bearer token; a session is not one.
    "api:intake-alertmanager": route(post=statuses(401)),
    "api:intake-generic": route(post=statuses(401)),
    "healthz": route(get=statuses(200)),
    "readyz": route(get=statuses(200)),
    "metrics": route(get=statuses(200)),
}


def test_every_url_has_a_row() -> None:
    missing = sorted(set(project_urls()) - set(MATRIX))
    assert not missing, f"URLs with no row in the access matrix: {missing}"
    stale = sorted(set(MATRIX) - set(project_urls()))
    assert not stale, f"matrix rows for URLs that no longer exist: {stale}"


@pytest.fixture
def clients(db: None, client_for: Callable[..., Client], settings: Any) -> dict[str, Client]:
    heartbeat_record(hostname="worker@matrix")
    settings.ALERT_INTAKE_TOKEN = "intake-token-for-the-matrix-0123456789"  # intake is off without one
    people = {
        "admin": UserFactory.create(username="m-admin", role=Role.ADMIN),
        "admin_without_mfa": UserFactory.create(username="m-admin2", role=Role.ADMIN),
        "commander": UserFactory.create(username="m-commander", role=Role.INCIDENT_COMMANDER),
        "oncall": UserFactory.create(username="m-oncall", role=Role.ONCALL_ENGINEER),
        "compliance": UserFactory.create(username="m-compliance", role=Role.COMPLIANCE_OFFICER),
        "viewer": UserFactory.create(username="m-viewer", role=Role.VIEWER),
    }
    result = {name: client_for(user, mfa=(name == "admin")) for name, user in people.items()}
    result["anonymous"] = Client()
    return result


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_role_gets_expected_status(name: str, clients: dict[str, Client]) -> None:
    entry = MATRIX[name]
    got = {
        method: {role: outcome_of(send_row(clients[role], method, name, entry)) for role in ROLES}
        for method in entry.methods
    }
    assert got == entry.methods


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_method_a_view_takes_has_a_row(name: str, clients: dict[str, Client]) -> None:
    entry = MATRIX[name]
    url = reverse(name, kwargs=entry.kwargs() or None)
    # The sign-in page sends a signed-in person home before it looks at the method.
    taken = methods_taken(clients["admin"], url) or methods_taken(clients["anonymous"], url)
    assert taken is not None, f"{name} takes any method; limit it with @require_http_methods"
    assert set(entry.methods) == taken


def test_admin_site_is_for_verified_admins_only(clients: dict[str, Client]) -> None:
    admin_urls = [name for name, p in walk_urls(get_resolver().url_patterns) if name.startswith("admin:")]
    plain = [name for name in admin_urls if "<unnamed" not in name and not needs_args(name)]
    assert "admin:index" in plain
    assert clients["admin"].get(reverse("admin:index")).status_code == 200
    for role in ("anonymous", "admin_without_mfa", "commander", "oncall", "compliance", "viewer"):
        for name in plain:
            if name == "admin:login":
                continue
            response = clients[role].get(reverse(name))
            # Anything but a page: a redirect (to the admin sign-in, or to the
            # index, which sends them there) or a refused method.
            assert response.status_code in (302, 405), (role, name, response.status_code)
            if response.status_code == 302:
                target = response["Location"].split("?")[0]
                assert target in {reverse("admin:login"), reverse("admin:index")}, (role, name, target)
