"""Incident commands from the browser: one POST per command, then back to the incident.

A plain POST redirects (with a message); the note form also answers htmx with
a fresh form and a nudge for the timeline to poll at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_action_item_by_id, access_incident_by_id, can_write
from incidents.forms import (
    ActionItemForm,
    ActionStatusForm,
    AddAssetsForm,
    DelayReasonForm,
    DrillOutcomeForm,
    FactsForm,
    NoteForm,
    PinForm,
    ReviewForm,
    RoleForm,
    SeverityForm,
    TransitionForm,
)
from incidents.models import Incident, Note, Review
from incidents.services import (
    IncidentRefused,
    action_item_add,
    action_item_set_status,
    delay_reason_record,
    drill_outcome_record,
    incident_add_assets,
    incident_set_severity,
    incident_transition,
    incident_update_facts,
    note_add,
    pin_set,
    review_save,
    review_sign_off,
    role_assign,
    role_relieve,
)
from incidents.services.lifecycle import FACT_FIELDS
from inventory.models import Asset


def _back(incident: Incident, anchor: str = "") -> HttpResponse:
    url = reverse("incidents:detail", args=[incident.public_id])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _form_errors(form: forms.Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        prefix = "" if name == "__all__" else name.replace("_", " ") + ": "
        parts.append(prefix + " ".join(str(e) for e in errors))
    return " ".join(parts)


def _run(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: forms.Form,
    command: Callable[[dict[str, Any]], str],
    anchor: str = "",
) -> HttpResponse:
    """Validate, run the service, report the outcome as a message, go back to the incident."""
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(incident, anchor)
    try:
        done = command(form.cleaned_data)
    except IncidentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return _back(incident, anchor)


@login_required
@require_POST
def status(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_command=True)

    def go(data: dict[str, Any]) -> str:
        changed = incident_transition(incident=incident, to=data["to"], by=request.user, reason=data["reason"])
        return f"{changed.reference} is now {changed.get_status_display().lower()}."

    return _run(request, incident, TransitionForm(request.POST), go)


@login_required
@require_POST
def severity(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_command=True)

    def go(data: dict[str, Any]) -> str:
        incident_set_severity(incident=incident, severity=data["severity"], rule=data["rule"], by=request.user)
        return f"Severity is {data['severity']}."

    return _run(request, incident, SeverityForm(request.POST), go)


@login_required
@require_POST
def roles(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_command=True)

    def go(data: dict[str, Any]) -> str:
        if data.get("action") == "relieve":
            relieved = role_relieve(incident=incident, role=data["role"], by=request.user)
            return f"{relieved.user.username} relieved."
        if data.get("user") is None:
            raise IncidentRefused("Choose the person to give the role to.")
        held = role_assign(incident=incident, role=data["role"], user=data["user"], by=request.user)
        return f"{held.user.username} is now {held.get_role_display().lower()}."

    return _run(request, incident, RoleForm(request.POST), go, "roles")


@login_required
@require_POST
def notes(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)
    form = NoteForm(request.POST)
    error = ""
    if form.is_valid():
        corrects = None
        if form.cleaned_data["corrects"]:
            corrects = Note.objects.filter(public_id=form.cleaned_data["corrects"], incident=incident).first()
        try:
            note_add(incident=incident, body=form.cleaned_data["body"], by=request.user, corrects=corrects)
        except IncidentRefused as refused:
            error = str(refused)
        else:
            form = NoteForm()
    else:
        error = _form_errors(form)
    if not request.htmx:
        messages.error(request, error) if error else messages.success(request, "Note added.")
        return _back(incident, "timeline")
    context = {"incident": incident, "note_form": form, "note_error": error, "can_write": True}
    response = render(request, "incidents/detail.html#note-form", context)
    response["HX-Trigger"] = "timeline-refresh"
    return response


@login_required
@require_POST
def pins(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)

    def go(data: dict[str, Any]) -> str:
        now_pinned = pin_set(incident=incident, seq=data["seq"], pinned=data["pinned"], by=request.user)
        return f"#{data['seq']} {'pinned' if now_pinned else 'unpinned'}."

    form = PinForm(request.POST)
    if request.htmx and form.is_valid():
        try:
            go(form.cleaned_data)
        except IncidentRefused as refused:
            return HttpResponse(str(refused), status=409)
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "timeline-refresh"
        return response
    return _run(request, incident, form, go, "timeline")


@login_required
@require_POST
def assets(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)

    def go(data: dict[str, Any]) -> str:
        source = data.get("source") or "added"
        added = incident_add_assets(incident=incident, assets=list(data["assets"]), by=request.user, source=source)
        return f"Added {', '.join(a.name for a in added)}." if added else "Those assets were already listed."

    return _run(request, incident, AddAssetsForm(request.POST), go, "assets")


@login_required
@require_http_methods(["GET", "POST"])
def facts(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    """Key times and data impact: the facts the regulatory clocks run on."""
    incident = access_incident_by_id(request.user, incident_id, for_write=True)
    initial = {name: getattr(incident, name) for name in FACT_FIELDS}
    form = FactsForm(request.POST or None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            incident_update_facts(incident=incident, changes=form.cleaned_data, by=request.user)
        except IncidentRefused as refused:
            error = str(refused)
        else:
            messages.success(request, "Facts recorded.")
            return _back(incident, "facts")
    return render(request, "incidents/facts.html", {"incident": incident, "form": form, "error": error})


@login_required
@require_POST
def delays(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)

    def go(data: dict[str, Any]) -> str:
        delay_reason_record(incident=incident, regime=data["regime"], reason=data["reason"], by=request.user)
        return "Reason for the delay recorded."

    return _run(request, incident, DelayReasonForm(request.POST), go, "delays")


@login_required
@require_POST
def action_items(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)

    def go(data: dict[str, Any]) -> str:
        item = action_item_add(incident=incident, by=request.user, **data)
        return f"Action item added for {item.owner.username}."

    return _run(request, incident, ActionItemForm(request.POST), go, "actions")


@login_required
@require_POST
def action_item_status(request: AuthenticatedHttpRequest, item_id: str) -> HttpResponse:
    item = access_action_item_by_id(request.user, item_id)

    def go(data: dict[str, Any]) -> str:
        changed = action_item_set_status(item=item, status=data["status"], by=request.user)
        return f"{changed.title}: {changed.get_status_display().lower()}."

    return _run(request, item.incident, ActionStatusForm(request.POST), go, "actions")


@login_required
@require_http_methods(["GET", "POST"])
def review(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=request.method == "POST")
    current = Review.objects.filter(incident=incident).select_related("signed_off_by").first()
    initial = {name: getattr(current, name) for name in ReviewForm.base_fields} if current else {}
    form = ReviewForm(request.POST or None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            review_save(incident=incident, changes=form.cleaned_data, by=request.user)
        except IncidentRefused as refused:
            error = str(refused)
        else:
            messages.success(request, "Review saved.")
            return redirect("incidents:review", incident_id=incident.public_id)
    context = {
        "incident": incident,
        "form": form,
        "review": current,
        "error": error,
        "can_write": can_write(request.user, incident),
    }
    return render(request, "incidents/review.html", context)


@login_required
@require_POST
def review_sign(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_command=True)
    try:
        review_sign_off(incident=incident, by=request.user)
    except IncidentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Review signed off.")
    return redirect("incidents:review", incident_id=incident.public_id)


@login_required
@require_POST
def drill_outcome(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id, for_write=True)

    def go(data: dict[str, Any]) -> str:
        asset = Asset.objects.filter(public_id=data["asset"]).first()
        if asset is None:
            raise IncidentRefused("Unknown asset.")
        drill_outcome_record(
            incident=incident, asset=asset, outcome=data["outcome"], evidence=data["evidence"], by=request.user
        )
        return f"Drill outcome for {asset.name} recorded."

    return _run(request, incident, DrillOutcomeForm(request.POST), go, "assets")
