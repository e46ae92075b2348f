"""The vocabulary of the URL by role matrix (tests/test_url_matrix.py): outcomes, rows, and the objects URLs name."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.http import urlencode

from dr_portal.accounts.models import Role, User
from incidents.models import Review
from tests.factories import (
    AssetFactory,
    IncidentFactory,
    RecoveryPlanFactory,
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
REDIRECT = "redirect"  # any other redirect: a command done (or refused with a message) and back to its page
Outcome = int | str
Statuses = dict[str, Outcome]


@dataclass(frozen=True)
class Row:
    """What each role gets from each HTTP method the view takes.

    `kwargs` makes the objects in the URL and `body` what a write sends
    (JSON to the API, a form elsewhere); both run again for every request,
    so one role's write never changes what the next role finds.
    """

    methods: dict[str, Statuses]
    kwargs: Callable[[], dict[str, Any]] = field(default=dict)
    body: Callable[[], dict[str, Any]] = field(default=dict)


def route(
    *,
    kwargs: Callable[[], dict[str, Any]] = dict,
    body: Callable[[], dict[str, Any]] = dict,
    **methods: Statuses,
) -> Row:
    for statuses in methods.values():
        assert set(statuses) == set(ROLES), f"a role is missing: {set(ROLES) - set(statuses)}"
    return Row({method.upper(): statuses for method, statuses in methods.items()}, kwargs, body)


def statuses(default: Outcome, **per_role: Outcome) -> Statuses:
    unknown = set(per_role) - set(ROLES)
    assert not unknown, f"unknown roles in matrix: {unknown}"
    return {role: per_role.get(role, default) for role in ROLES}


def signed_in(ok: Outcome = 200) -> Statuses:
    """A page any signed-in role may use; an admin's session needs its second factor first."""
    return statuses(ok, anonymous=LOGIN, admin_without_mfa=MFA)


def only(*roles: str, ok: Outcome = 200, denied: Outcome = 403) -> Statuses:
    """A page for these roles; everyone else gets the 403 page naming the roles that may.

    ``denied=404`` where the answer depends on the object (a role held on *this* incident): then
    a refusal must look like a missing object.
    """
    result: Statuses = {role: (ok if role in roles else denied) for role in ROLES}
    result["anonymous"] = LOGIN
    result["admin_without_mfa"] = MFA if "admin" in roles else denied
    return result


def api(ok: Outcome = 200) -> Statuses:
    """An API route any signed-in role may use; an admin's session needs its second factor."""
    return statuses(ok, anonymous=401, admin_without_mfa=403)


def api_only(*roles: str, ok: Outcome = 200) -> Statuses:
    result: Statuses = {role: (ok if role in roles else 404) for role in ROLES}
    result.update({"anonymous": 401, "admin_without_mfa": 403})
    return result


def audit_api() -> Statuses:
    """The read-only audit and report API: compliance officers and verified admins; others see nothing there."""
    return api_only("admin", "compliance")


# Who may do what: commanders run incidents and recoveries, on-call engineers
# respond, and only admins change the catalogue.
COMMANDERS = ("admin", "commander")
RESPONDERS = ("admin", "commander", "oncall")
BACKUPS = ("admin", "commander", "oncall")


def an_incident() -> dict[str, Any]:
    incident = IncidentFactory.create()
    Review.objects.create(incident=incident)
    return {"incident_id": incident.public_id}


def a_notice() -> dict[str, Any]:
    from django.utils import timezone

    from incidents.compliance.notices import notification_record

    incident = IncidentFactory.create()
    notice = notification_record(
        incident=incident, by=UserFactory.create(), kind="authority", recipient="CNIL", channel="portal",
        sent_at=timezone.now(), attachment=("notice.pdf", "application/pdf", b"%PDF-1.4"),
    )  # fmt: skip
    return {"incident_id": incident.public_id, "notification_id": notice.public_id}


def an_item() -> dict[str, Any]:
    from incidents.models import ActionItem

    owner = UserFactory.create()
    item = ActionItem.objects.create(
        incident=IncidentFactory.create(), title="rotate keys", kind="corrective", owner=owner, created_by=owner
    )
    return {"item_id": item.public_id}


def an_inbox_alert() -> dict[str, Any]:
    from incidents.models import InboxAlert

    alert = InboxAlert.objects.create(source="alertmanager", fingerprint=uuid.uuid4().hex, status="firing")
    return {"alert_id": alert.public_id}


def an_asset() -> dict[str, Any]:
    return {"asset_id": AssetFactory.create().public_id}


def a_dependency() -> dict[str, Any]:
    from inventory.models import Dependency

    edge = Dependency.objects.create(upstream=AssetFactory.create(), downstream=AssetFactory.create())
    return {"asset_id": edge.downstream.public_id, "dependency_id": edge.pk}


def a_dependency_pk() -> dict[str, Any]:
    return {"pk": a_dependency()["dependency_id"]}


def a_vault() -> dict[str, Any]:
    return {"vault_id": VaultFactory.create().public_id}


def a_policy() -> dict[str, Any]:
    return {"policy_id": RecoveryPolicyFactory.create().public_id}


def a_plan() -> dict[str, Any]:
    return {"plan_id": RecoveryPlanFactory.create().public_id}


def a_run() -> dict[str, Any]:
    return {"run_id": RecoveryRunFactory.create().public_id}


def a_certified_run() -> dict[str, Any]:
    from incidents.runs.certificate.build import certificate_issue

    run = RecoveryRunFactory.create()
    certificate_issue(run=run, golden={})
    return {"run_id": run.public_id}


def a_step() -> dict[str, Any]:
    return {"step_id": StepRunFactory.create().public_id}


def _a_page() -> Any:
    from incidents.paging.models import Page

    return Page.objects.create(incident=IncidentFactory.create())


def a_page() -> dict[str, Any]:
    return {"page_id": _a_page().public_id}


def a_page_link() -> dict[str, Any]:
    from incidents.paging.links import ack_token

    return {"token": ack_token(page_id=str(_a_page().public_id), user_id=UserFactory.create().pk)}


def a_delivery() -> dict[str, Any]:
    from incidents.models import Delivery

    delivery = Delivery.objects.create(event="page", channel="email", recipients=["a@example.org"])
    return {"delivery_id": delivery.public_id}


def a_viewers_token() -> dict[str, Any]:
    """A token of the matrix's viewer: only its owner may revoke it."""
    from dr_portal.accounts.services import token_issue

    owner = User.objects.get(username="m-viewer")
    return {"token_id": token_issue(user=owner, name="matrix", mfa_verified=False).token.public_id}


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


def a_report() -> dict[str, Any]:
    """A queued readiness report (nothing to download yet)."""
    from datetime import date

    from incidents.services.reports import report_request

    person = UserFactory.create(role=Role.COMPLIANCE_OFFICER)
    report = report_request(kind="readiness", by=person, period_first=date(2026, 1, 1), period_last=date(2026, 1, 31))
    return {"report_id": report.public_id}


def by_id(factory: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"id": factory.create().public_id}


def a_relationship() -> dict[str, Any]:
    from dr_portal.accounts.models import ProcessorRelationship

    number = ProcessorRelationship.objects.count() + 1
    made = ProcessorRelationship.objects.create(name=f"Processor {number}", kind="processor")
    return {"relationship_id": made.public_id}


def some_assets() -> dict[str, Any]:
    return {"assets": [str(AssetFactory.create().public_id)]}


def a_readiness_report() -> dict[str, Any]:
    return {"kind": "readiness"}


# --- Reading the project URLs, sending a row, reading the outcome --------------------------


def walk_urls(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk_urls(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {entry.pattern}>", entry


def project_urls() -> dict[str, URLPattern]:
    return {name: pattern for name, pattern in walk_urls(get_resolver().url_patterns) if not name.startswith("admin:")}


def outcome_of(response: Any) -> Outcome:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("accounts:login")):
            return LOGIN
        if location.startswith(reverse("accounts:mfa")):
            return MFA
        if location == reverse("dashboard"):
            return HOME
        return REDIRECT
    return int(response.status_code)


def send_row(client: Client, method: str, name: str, entry: Row) -> Any:
    url = reverse(name, kwargs=entry.kwargs() or None)
    send = getattr(client, method.lower())
    if method == "GET":
        return send(url)
    body = entry.body()
    if name.startswith("api:") and name != "api:inventory-import":  # the import takes a multipart file upload
        return send(url, body, content_type="application/json")
    return send(url, body) if method == "POST" else send(url, urlencode(body))


def methods_taken(client: Client, url: str) -> set[str] | None:
    """The methods a view takes, from the Allow header of its 405 to a TRACE (a method no view takes)."""
    response = client.generic("TRACE", url)
    if response.status_code != 405:
        return None
    return {m.strip() for m in response["Allow"].split(",")} - {"HEAD", "OPTIONS"}


def needs_args(name: str) -> bool:
    try:
        reverse(name)
    except Exception:
        return True
    return False


def a_schedule_item() -> dict[str, Any]:
    from incidents.paging.models import Schedule

    return {"kind": "schedule", "pk": Schedule.objects.create(team=f"team-{uuid.uuid4().hex[:8]}", name="On call").pk}
