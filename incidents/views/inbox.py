"""The alert inbox: alerts no asset claimed, and what a commander does with each."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dr_portal.accounts.access import NotFoundOrForbidden
from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_inbox, access_inbox_alert_by_id, access_incident_by_id
from incidents.selectors import attachable_incidents, inbox_alert_list, inbox_handled_recently
from incidents.services import IncidentRefused
from incidents.services.inbox import InboxRefused, inbox_alert_attach, inbox_alert_declare, inbox_alert_map
from inventory.models import Asset


@login_required
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inbox(request.user)
    context = {
        "alerts": list(inbox_alert_list()),
        "handled": inbox_handled_recently(),
        "incidents": attachable_incidents(),
        "assets": list(Asset.objects.order_by("name").only("pk", "public_id", "name")),
    }
    return render(request, "incidents/inbox.html", context)


@login_required
@require_POST
def inbox_attach(request: AuthenticatedHttpRequest, alert_id: str) -> HttpResponse:
    alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
    try:
        incident = access_incident_by_id(request.user, request.POST.get("incident", ""), for_command=True)
    except NotFoundOrForbidden:
        messages.error(request, "Choose an incident to attach the alert to.")
        return redirect("incidents:inbox")
    try:
        inbox_alert_attach(alert=alert, incident=incident, by=request.user)
    except InboxRefused as refused:
        messages.error(request, refused.message)
        return redirect("incidents:inbox")
    messages.success(request, f"Alert attached to {incident.reference}.")
    return redirect("incidents:detail", incident_id=incident.public_id)


@login_required
@require_POST
def inbox_declare(request: AuthenticatedHttpRequest, alert_id: str) -> HttpResponse:
    alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
    try:
        incident = inbox_alert_declare(alert=alert, by=request.user)
    except (InboxRefused, IncidentRefused) as refused:
        messages.error(request, str(refused))
        return redirect("incidents:inbox")
    messages.success(request, f"{incident.reference} declared from the alert.")
    return redirect("incidents:detail", incident_id=incident.public_id)


@login_required
@require_POST
def inbox_map(request: AuthenticatedHttpRequest, alert_id: str) -> HttpResponse:
    alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
    asset = Asset.objects.filter(name=request.POST.get("asset", "")).first()
    if asset is None:
        messages.error(request, "Choose the asset these labels belong to.")
        return redirect("incidents:inbox")
    try:
        inbox_alert_map(alert=alert, asset=asset, label_keys=request.POST.getlist("labels"), by=request.user)
    except InboxRefused as refused:
        messages.error(request, refused.message)
        return redirect("incidents:inbox")
    messages.success(request, f"Alerts with these labels now go to {asset.name}.")
    return redirect("incidents:inbox")
