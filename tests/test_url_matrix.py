"""Every URL the project has by every role, against the status each should get.

A URL pattern without a row here fails `test_every_url_has_a_row`, so a new
page cannot ship without someone deciding who may open it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dr_portal.accounts.models import Role
from dr_portal.ops.services import heartbeat_record
from incidents.models import Review
from tests.factories import (
    AssetFactory,
    BackupFactory,
    IncidentFactory,
    RecoveryPlanFactory,
    RecoveryPointFactory,
    RecoveryPolicyFactory,
    RecoveryRunFactory,
    StepRunFactory,
    UserFactory,
    VaultFactory,
)

ROLES = ("anonymous", "admin", "admin_without_mfa", "commander", "oncall", "compliance", "viewer")
LOGIN = "login"  # a redirect to the sign-in page
MFA = "mfa"  # a redirect to the second-factor page
HOME = "home"  # a redirect to the dashboard


@dataclass(frozen=True)
class Row:
    statuses: dict[str, int | str]
    kwargs: Callable[[], dict[str, Any]] = field(default=dict)


def row(default: int | str, *, kwargs: Callable[[], dict[str, Any]] = dict, **per_role: int | str) -> Row:
    unknown = set(per_role) - set(ROLES)
    assert not unknown, f"unknown roles in matrix: {unknown}"
    return Row({role: per_role.get(role, default) for role in ROLES}, kwargs)


def everyone_signed_in(status: int | str = 200) -> Row:
    return row(status, anonymous=LOGIN, admin_without_mfa=MFA)


def only(*roles: str, kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    statuses: dict[str, int | str] = {role: (200 if role in roles else 404) for role in ROLES}
    statuses["anonymous"] = LOGIN
    statuses["admin_without_mfa"] = MFA if "admin" in roles else 404
    return Row(statuses, kwargs)


def random_uuid() -> dict[str, Any]:
    return {"token_id": uuid.uuid4()}


def an_incident() -> dict[str, Any]:
    incident = IncidentFactory.create()
    Review.objects.create(incident=incident)
    return {"incident_id": incident.public_id}


def an_item() -> dict[str, Any]:
    return {"item_id": uuid.uuid4()}


def api_read(kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    return row(200, anonymous=401, admin_without_mfa=403, kwargs=kwargs)


def api_command(kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    return row(405, anonymous=401, kwargs=kwargs)


def post_only(kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    return row(405, anonymous=LOGIN, kwargs=kwargs)


def an_asset() -> dict[str, Any]:
    return {"asset_id": AssetFactory.create().public_id}


def a_dependency() -> dict[str, Any]:
    from inventory.models import Dependency

    edge = Dependency.objects.create(upstream=AssetFactory.create(), downstream=AssetFactory.create())
    return {"asset_id": edge.downstream.public_id, "dependency_id": edge.pk}


def a_vault() -> dict[str, Any]:
    return {"vault_id": VaultFactory.create().public_id}


def a_policy() -> dict[str, Any]:
    return {"policy_id": RecoveryPolicyFactory.create().public_id}


def a_plan() -> dict[str, Any]:
    return {"plan_id": RecoveryPlanFactory.create().public_id}


def a_run() -> dict[str, Any]:
    return {"run_id": RecoveryRunFactory.create().public_id}


def a_step() -> dict[str, Any]:
    return {"step_id": StepRunFactory.create().public_id}


def a_checkpoint() -> dict[str, Any]:
    from dr_portal.audit.checkpoints import checkpoint_now
    from dr_portal.audit.services import audit_append

    audit_append(action="matrix.checked", system_actor="system:test")
    checkpoint = checkpoint_now()
    assert checkpoint is not None
    return {"seq": checkpoint.seq}


def an_audit_event() -> dict[str, Any]:
    from dr_portal.audit.services import audit_append

    return {"seq": audit_append(action="matrix.checked", system_actor="system:test").seq}


def audit_api(kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    """The read-only audit API: compliance officers and verified admins; others see nothing there."""
    statuses: dict[str, int | str] = dict.fromkeys(ROLES, 404)
    statuses.update({"anonymous": 401, "admin_without_mfa": 403, "admin": 200, "compliance": 200})
    return Row(statuses, kwargs)


def api(status: int | str = 200, kwargs: Callable[[], dict[str, Any]] = dict) -> Row:
    """An API route any signed-in role may read; an admin's session needs its second factor."""
    return row(status, anonymous=401, admin_without_mfa=403, kwargs=kwargs)


def a_report() -> dict[str, Any]:
    """A queued readiness report (nothing to download yet)."""
    from datetime import date

    from incidents.services.reports import report_request

    person = UserFactory.create(username="m-requester", role=Role.COMPLIANCE_OFFICER)
    report = report_request(kind="readiness", by=person, period_first=date(2026, 1, 1), period_last=date(2026, 1, 31))
    return {"report_id": report.public_id}


def by_id(factory: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"id": factory.create().public_id}


MATRIX: dict[str, Row] = {
    "dashboard": everyone_signed_in(),
    "incidents:index": everyone_signed_in(),
    "inventory:index": everyone_signed_in(),
    "inventory:asset": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=an_asset),
    "inventory:asset-new": only("admin"),
    "inventory:asset-edit": only("admin", kwargs=an_asset),
    "inventory:asset-backup": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=an_asset),
    "inventory:asset-verify": post_only(kwargs=an_asset),
    "inventory:dependency-add": post_only(kwargs=an_asset),
    "inventory:dependency-remove": post_only(kwargs=a_dependency),
    "inventory:policies": everyone_signed_in(),
    "inventory:policy-new": only("admin"),
    "inventory:policy-edit": only("admin", kwargs=a_policy),
    "inventory:vaults": everyone_signed_in(),
    "inventory:vault-new": only("admin"),
    "inventory:vault-edit": only("admin", kwargs=a_vault),
    "inventory:readiness": everyone_signed_in(),
    "inventory:import": only("admin"),
    "inventory:export": everyone_signed_in(),
    "inventory:plans": everyone_signed_in(),
    "inventory:plan": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=a_plan),
    "inventory:plan-new": only("admin"),
    "inventory:plan-edit": only("admin", kwargs=a_plan),
    "incidents:approvals": only("admin", "commander", "oncall"),
    "runs:index": everyone_signed_in(),
    "runs:new": only("admin", "commander"),
    "runs:detail": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=a_run),
    "runs:cancel": only("admin", "commander", kwargs=a_run),
    "runs:step-retry": row(405, anonymous=LOGIN, kwargs=a_step),
    "runs:step-decide": row(405, anonymous=LOGIN, kwargs=a_step),
    "runs:step-skip": only("admin", "commander", kwargs=a_step),
    "runs:step-done": only("admin", "commander", "oncall", kwargs=a_step),
    "incidents:reports": only("admin", "compliance"),
    "incidents:report-create": post_only(),
    # Not built yet: nothing to download for anyone; without the right it is the same 404.
    "incidents:report-download": row(404, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=a_report),
    "api:report-list": audit_api(),
    "api:report-detail": audit_api(kwargs=a_report),
    "api:report-create-incident": api_command(),
    "api:report-create-readiness": api_command(),
    "api:report-download": row(404, anonymous=401, admin_without_mfa=403, kwargs=a_report),
    "audit:index": only("admin", "compliance"),
    "audit:export-csv": only("admin", "compliance"),
    "audit:export-jsonl": only("admin", "compliance"),
    "audit:checkpoint": only("admin", "compliance", kwargs=a_checkpoint),
    "audit:pubkey": row(200),
    "audit:erase": row(405, anonymous=LOGIN),
    "api:audit-event-list": audit_api(),
    "api:audit-event-detail": audit_api(kwargs=an_audit_event),
    "report-certificate": everyone_signed_in(),
    "accounts:login": row(HOME, anonymous=200),
    "accounts:logout": row(405),
    "accounts:mfa": row(200, anonymous=LOGIN),
    "accounts:tokens": row(200, anonymous=LOGIN),
    "accounts:token-revoke": row(405, anonymous=LOGIN, kwargs=random_uuid),
    "accounts:organisation": only("admin"),
    "accounts:processor-create": post_only(),
    "accounts:processor-delete": post_only(kwargs=lambda: {"relationship_id": uuid.uuid4()}),
    "api:organisation": audit_api(),
    "api:organisation-processors": api_command(),
    "api:organisation-processor": api_command(kwargs=lambda: {"relationship_id": uuid.uuid4()}),
    "api:auth-token": row(405),
    "api:auth-token-current": row(405, anonymous=401),
    "api:me": row(200, anonymous=401),
    "api:inventory-asset-list": api(),
    "api:inventory-asset-detail": api(kwargs=by_id(AssetFactory)),
    "api:inventory-asset-readiness": api(kwargs=by_id(AssetFactory)),
    "api:inventory-asset-backup": api(405, kwargs=by_id(AssetFactory)),
    "api:inventory-backup-list": api(),
    "api:inventory-backup-detail": api(kwargs=by_id(BackupFactory)),
    "api:inventory-dependency-list": api(),
    "api:inventory-dependency-detail": api(405, kwargs=lambda: {"pk": 1}),
    "api:inventory-policy-list": api(),
    "api:inventory-policy-detail": api(kwargs=by_id(RecoveryPolicyFactory)),
    "api:inventory-vault-list": api(),
    "api:inventory-vault-detail": api(kwargs=by_id(VaultFactory)),
    "api:inventory-point-list": api(),
    "api:inventory-point-detail": api(kwargs=by_id(RecoveryPointFactory)),
    "api:inventory-readiness": api(),
    "api:inventory-plan-list": api(),
    "api:inventory-plan-detail": api(kwargs=by_id(RecoveryPlanFactory)),
    "api:inventory-plan-default": api(405),
    "api:runs-run-list": api(),
    "api:runs-run-detail": api(kwargs=by_id(RecoveryRunFactory)),
    "api:runs-run-cancel": api(405, kwargs=by_id(RecoveryRunFactory)),
    "api:runs-run-dry-run": api(405),
    "api:runs-step-detail": api(kwargs=by_id(StepRunFactory)),
    "api:runs-step-skip": api(405, kwargs=by_id(StepRunFactory)),
    "api:runs-step-retry": api(405, kwargs=by_id(StepRunFactory)),
    "api:runs-step-done": api(405, kwargs=by_id(StepRunFactory)),
    "api:runs-step-approve": api(405, kwargs=by_id(StepRunFactory)),
    "api:runs-step-reject": api(405, kwargs=by_id(StepRunFactory)),
    "api:runs-approval-list": row(404, anonymous=401, admin_without_mfa=403, admin=200, commander=200, oncall=200),
    "api:inventory-blast-radius": row(405, anonymous=401),
    "api:inventory-import": row(405, anonymous=401),
    "api:inventory-export": api(),
    "api-schema": row(200, anonymous=401),
    "incidents:declare": only("admin", "commander", "oncall"),
    "incidents:detail": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=an_incident),
    "incidents:timeline": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=an_incident),
    "incidents:facts": only("admin", "commander", "oncall", kwargs=an_incident),
    "incidents:review": row(200, anonymous=LOGIN, admin_without_mfa=MFA, kwargs=an_incident),
    "incidents:drills": everyone_signed_in(),
    "incidents:status": post_only(an_incident),
    "incidents:severity": post_only(an_incident),
    "incidents:roles": post_only(an_incident),
    "incidents:notes": post_only(an_incident),
    "incidents:pins": post_only(an_incident),
    "incidents:assets": post_only(an_incident),
    "incidents:filings": post_only(an_incident),
    "incidents:delays": post_only(an_incident),
    "incidents:action-items": post_only(an_incident),
    "incidents:review-sign-off": post_only(an_incident),
    "incidents:drill-outcome": post_only(an_incident),
    "incidents:action-item-status": post_only(an_item),
    "incidents:drill-schedule": post_only(),
    "api:incident-list": api_read(),
    "api:incident-detail": api_read(an_incident),
    "api:incident-timeline": api_read(an_incident),
    "api:incident-roles": api_read(an_incident),
    "api:incident-clocks": api_read(an_incident),
    "api:incident-filings": api_read(an_incident),
    "api:incident-action-items": api_read(an_incident),
    "api:incident-review": api_read(an_incident),
    "api:incident-transition": api_command(an_incident),
    "api:incident-severity": api_command(an_incident),
    "api:incident-relieve": api_command(an_incident),
    "api:incident-notes": api_command(an_incident),
    "api:incident-pins": api_command(an_incident),
    "api:incident-assets": api_command(an_incident),
    "api:incident-facts": api_command(an_incident),
    "api:incident-delay-reasons": api_command(an_incident),
    "api:incident-sign-off": api_command(an_incident),
    "api:incident-drill-outcome": api_command(an_incident),
    "api:action-item-status": api_command(an_item),
    "api:drill-create": api_command(),
    "api:drill-schedules": api_read(),
    # Machines call intake with their own token; a GET is refused before any check.
    "api:intake-alertmanager": row(405),
    "api:intake-generic": row(405),
    "healthz": row(200),
    "readyz": row(200),
    "metrics": row(200),
}


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {entry.pattern}>", entry


def project_urls() -> dict[str, URLPattern]:
    return {name: pattern for name, pattern in _walk(get_resolver().url_patterns) if not name.startswith("admin:")}


def test_every_url_has_a_row() -> None:
    missing = sorted(set(project_urls()) - set(MATRIX))
    assert not missing, f"URLs with no row in the access matrix: {missing}"
    stale = sorted(set(MATRIX) - set(project_urls()))
    assert not stale, f"matrix rows for URLs that no longer exist: {stale}"


@pytest.fixture
def clients(db: None, client_for: Callable[..., Client]) -> dict[str, Client]:
    heartbeat_record(hostname="worker@matrix")
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


def _outcome(response: Any) -> int | str:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("accounts:login")):
            return LOGIN
        if location.startswith(reverse("accounts:mfa")):
            return MFA
        if location == reverse("dashboard"):
            return HOME
        return f"302 to {location}"
    return int(response.status_code)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_role_gets_expected_status(name: str, clients: dict[str, Client]) -> None:
    entry = MATRIX[name]
    url = reverse(name, kwargs=entry.kwargs() or None)
    got = {role: _outcome(clients[role].get(url)) for role in ROLES}
    assert got == entry.statuses


def test_admin_site_is_for_verified_admins_only(clients: dict[str, Client]) -> None:
    admin_urls = [name for name, p in _walk(get_resolver().url_patterns) if name.startswith("admin:")]
    plain = [name for name in admin_urls if "<unnamed" not in name and not _needs_args(name)]
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


def _needs_args(name: str) -> bool:
    try:
        reverse(name)
    except Exception:
        return True
    return False
