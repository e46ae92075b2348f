"""Drills: the schedule per asset (opened by beat on the policy's cadence) and starting one now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dr_portal.accounts.access import Perm, can
from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_drills
from incidents.forms import DrillScheduleForm, DrillStartForm
from incidents.selectors import drill_plan, recent_drills
from incidents.services import IncidentRefused, drill_schedule_set, drill_start
from inventory.models import Asset


@login_required
@require_http_methods(["GET", "POST"])
def drills(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: schedules and recent drills. POST: start a drill now."""
    access_drills(request.user, for_write=request.method == "POST")
    form = DrillStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = drill_start(
                assets=list(form.cleaned_data["assets"]),
                scenario=form.cleaned_data["scenario"],
                by=request.user,
                commander=request.user,
            )
        except IncidentRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"{incident.reference} started; you are its commander.")
            return redirect("incidents:detail", incident_id=incident.public_id)
    context = {
        "form": form,
        "plan": drill_plan(),
        "recent": recent_drills(limit=20),
        "can_manage": can(request.user, Perm.COMMAND_INCIDENTS),
    }
    return render(request, "incidents/drills.html", context)


@login_required
@require_POST
def drill_schedule(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_drills(request.user, for_write=True)
    form = DrillScheduleForm(request.POST)
    asset = None
    if form.is_valid():
        asset = Asset.objects.select_related("policy").filter(public_id=form.cleaned_data["asset"]).first()
    if asset is None:
        messages.error(request, "Choose an asset.")
        return redirect("incidents:drills")
    try:
        drill_schedule_set(
            asset=asset, enabled=form.cleaned_data["enabled"], scenario=form.cleaned_data["scenario"], by=request.user
        )
    except IncidentRefused as refused:
        messages.error(request, str(refused))
    else:
        state = "scheduled" if form.cleaned_data["enabled"] else "no longer scheduled"
        messages.success(request, f"Drills of {asset.name} are {state}.")
    return redirect("incidents:drills")
