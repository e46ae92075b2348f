"""Incident pages to read: the dashboard, the list, one incident, its live timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from dr_portal.accounts.access import Perm, can, check
from dr_portal.audit.models import AuditEvent
from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_incident_by_id, access_incidents, can_write
from incidents.cockpit.alerts import alert_groups
from incidents.cockpit.charts import backup_charts, incidents_chart, recovery_chart
from incidents.cockpit.declare import declare_initial
from incidents.cockpit.needs_you import needs_you
from incidents.cockpit.recovery import incident_recovery_state
from incidents.cockpit.roles import first_eligible, role_candidates
from incidents.cockpit.timeline import entry_texts, timeline_rows
from incidents.compliance.obligations import active_needing_assessment, needing_assessment
from incidents.compliance.views import incident_panel
from incidents.forms import (
    ActionItemForm,
    DeclareForm,
    DelayReasonForm,
    IncidentFilterForm,
    NoteForm,
    RoleForm,
    SeverityForm,
)
from incidents.models import AssessmentRegime, Incident, IncidentKind, IncidentRole, IncidentStatus, Review
from incidents.runs.access import access_approvals
from incidents.runs.selectors import approvals_pending, run_list
from incidents.selectors import (
    TIMELINE_KINDS,
    IncidentFilters,
    TimelinePage,
    current_roles,
    incident_action_items,
    incident_alert_records,
    incident_assets,
    incident_board,
    incident_delay_reasons,
    incident_list,
    incident_rows,
    my_action_items,
    pinned_entries,
    readiness_summary,
    recent_drills,
    role_history,
    timeline_page,
)
from incidents.services import IncidentRefused, incident_declare
from incidents.suggestions import suggested_assets

PAGE_SIZE = 25


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_DASHBOARD)
    # Real incidents before drills, the most severe first: what a commander must look at leads.
    rows = incident_list(filters=IncidentFilters(status="active")).order_by("-kind", "severity", "-declared_at")
    active = incident_rows(rows[:20])
    context = {
        "active": active,
        "my_items": my_action_items(user=request.user),
        "readiness": readiness_summary() if can(request.user, Perm.VIEW_INVENTORY) else None,
        "drills": recent_drills(),
        "can_declare": can(request.user, Perm.RESPOND_INCIDENTS),
        "needs": needs_you(user=request.user),
        "charts": {
            "recovery": recovery_chart(),
            "incidents": incidents_chart(),
            "backups": backup_charts() if can(request.user, Perm.VIEW_INVENTORY) else None,
        },
        "owed_assessments": needing_assessment(active_needing_assessment()),
    }
    return render(request, "dashboard.html", context)


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_incidents(request.user)
    form = IncidentFilterForm(request.GET or {"status": "active"})
    data = form.cleaned_data if form.is_valid() else {}
    filters = IncidentFilters(
        status=data.get("status", "active"),
        kind=data.get("kind", ""),
        severity=data.get("severity", ""),
        q=data.get("q", ""),
    )
    page = Paginator(incident_list(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": incident_rows(page.object_list),
        "query": query.urlencode(),
        "can_declare": can(request.user, Perm.RESPOND_INCIDENTS),
        "owed_assessments": needing_assessment(active_needing_assessment()),
    }
    return render(request, "incidents/index.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def declare(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_incidents(request.user, for_declare=True)
    form = DeclareForm(request.POST or None, initial=declare_initial(request.GET))
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        take = data["take_command"] and can(request.user, Perm.COMMAND_INCIDENTS)
        try:
            incident = incident_declare(
                title=data["title"],
                category=data["category"],
                severity=data["severity"] or None,
                summary=data["summary"],
                assets=list(data["assets"]),
                by=request.user,
                commander=request.user if take else None,
            )
        except IncidentRefused as refused:
            error = str(refused)
        else:
            messages.success(request, f"{incident.reference} declared.")
            return redirect("incidents:detail", incident_id=incident.public_id)
    return render(request, "incidents/declare.html", {"form": form, "error": error})


def _kind(request: AuthenticatedHttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in TIMELINE_KINDS or kind == "other" else ""


def _before(request: AuthenticatedHttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


def _pinned(incident: Incident, page: TimelinePage) -> list[tuple[AuditEvent, str]]:
    entries = pinned_entries(incident=incident, seqs=page.pinned)
    texts = entry_texts(incident=incident, entries=entries)
    return [(e, texts[e.seq]) for e in entries]


def _pins_url(incident: Incident) -> str:
    """Reversed once for the page: each timeline entry's pin form posts here."""
    return reverse("incidents:pins", args=[incident.public_id])


def _live_context(incident: Incident, page: TimelinePage) -> dict[str, Any]:
    board = incident_board(incident=incident)
    return {
        "incident": incident,
        "pins_url": _pins_url(incident),
        "board": board,
        "recovery": incident_recovery_state(incident=incident, next_due=board.next_due),
        "roles": current_roles(incident=incident),
        "page": page,
        "rows": timeline_rows(incident=incident, entries=page.entries),
        "pinned": _pinned(incident, page),
        "live": not incident.is_closed,
    }


@login_required
@require_GET
def detail(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id)
    page = timeline_page(incident=incident, kind=_kind(request), before=_before(request))
    links = incident_assets(incident=incident)
    alert_records = incident_alert_records(incident=incident)
    candidates = role_candidates()
    paged = _before(request) is not None
    writable = can_write(request.user, incident)
    context = {
        **_live_context(incident, page),
        # An older page of the timeline (a link without JavaScript, a bookmark) does not poll: new entries would
        # land on top of old ones, with everything between them missing.
        "live": not incident.is_closed and not paged,
        "paged": paged,
        "links": links,
        "alert_records": alert_records,
        "alert_groups": alert_groups(records=alert_records),
        "suggested": suggested_assets(incident=incident, linked=links),
        "history": role_history(incident=incident),
        "items": incident_action_items(incident=incident),
        "review": Review.objects.filter(incident=incident).first(),
        "delay_reasons": incident_delay_reasons(incident=incident),
        "kinds": [(key, label) for key, (label, _) in TIMELINE_KINDS.items()],
        "incident_roles": IncidentRole.choices,
        "assessment_regimes": AssessmentRegime.choices,
        "can_write": writable,
        "can_command": can(request.user, Perm.COMMAND_INCIDENTS),
        "note_form": NoteForm(),
        "role_form": RoleForm(),
        "role_candidates": candidates,
        "role_default": first_eligible(candidates, IncidentRole.COMMANDER),
        "severity_form": SeverityForm(initial={"severity": incident.severity}),
        "delay_form": DelayReasonForm(),
        "item_form": ActionItemForm(),
        "is_drill": incident.kind == IncidentKind.DRILL,
        "statuses": IncidentStatus,
        "incident_runs": run_list(incident=incident),
        "can_start_run": incident.is_open and can(request.user, Perm.COMMAND_INCIDENTS),
        "compliance": incident_panel(incident=incident, user=request.user, writable=writable),
    }
    return render(request, "incidents/detail.html", context)


@login_required
@require_GET
def timeline(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    """htmx only: `?after=<seq>` polls for new entries (with the header and clocks); `?before=` loads older ones."""
    incident = access_incident_by_id(request.user, incident_id)
    kind, after = _kind(request), request.GET.get("after", "")
    if not request.htmx:
        return detail(request, incident_id)  # the same page, so "older entries" works without JavaScript
    if after.isdigit():
        page = timeline_page(incident=incident, kind=kind, after=int(after))
        context = {
            **_live_context(incident, page),
            "oob": True,
            "can_write": can_write(request.user, incident),
            "can_command": can(request.user, Perm.COMMAND_INCIDENTS),
        }
        return render(request, "incidents/detail.html#poll", context)
    page = timeline_page(incident=incident, kind=kind, before=_before(request))
    context = {
        "incident": incident,
        "pins_url": _pins_url(incident),
        "page": page,
        "rows": timeline_rows(incident=incident, entries=page.entries),
        "can_write": can_write(request.user, incident),
    }
    return render(request, "incidents/detail.html#older", context)


@login_required
@require_GET
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Recovery steps waiting for a decision, with exactly what each will do."""
    access_approvals(request.user)
    context = {"items": approvals_pending(user=request.user), "can_decide": can(request.user, Perm.APPROVE_STEPS)}
    return render(request, "incidents/approvals.html", context)
