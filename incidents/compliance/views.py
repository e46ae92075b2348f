"""Pages of the notification register, the sign-off block and the Art. 33(5) breach register."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dr_portal.accounts.access import Perm, can, check
from dr_portal.accounts.models import User
from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_incident_by_id, can_write
from incidents.compliance.exports import access_incident_exports, export_download
from incidents.compliance.forms import NotificationForm, SignoffForm
from incidents.compliance.models import Notification
from incidents.compliance.notices import MAX_ATTACHMENT, incident_notifications, notification_record
from incidents.compliance.obligations import assessment_obligations, time_flags
from incidents.compliance.register import breach_register
from incidents.compliance.signoffs import duties_of, signoff_record, signoff_status
from incidents.models import Incident
from incidents.services.common import IncidentRefused


def incident_panel(*, incident: Incident, user: User, writable: bool) -> dict[str, Any]:
    """What the incident page's compliance partial shows (templates/compliance/_incident.html);
    `writable`: whether `user` may write to the incident, as the page has already worked out."""
    mine = duties_of(user, incident)
    return {
        "obligations": assessment_obligations(incident),
        "time_flags": time_flags(incident),
        "register": incident_notifications(incident=incident),
        "signoffs": signoff_status(incident=incident),
        "my_duties": sorted(mine),
        "notification_form": NotificationForm(),
        "signoff_form": SignoffForm(duties=mine),
        "can_record": writable,
        "can_attachments": writable or can(user, Perm.VIEW_REPORTS),
        "can_export": can(user, Perm.VIEW_REPORTS) or can(user, Perm.COMMAND_INCIDENTS),
    }


def _errors_in_words(form: forms.Form) -> str:
    """Every error of `form`, each after its field's label as the page shows it (not its internal name)."""
    parts = []
    for name, errors in form.errors.items():
        text = " ".join(str(e) for e in errors)
        parts.append(text if name == "__all__" else f"{form[name].label}: {text}")
    return " ".join(parts)


def _back(incident: Incident) -> HttpResponse:
    return redirect(reverse("incidents:detail", args=[incident.public_id]) + "#compliance")


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    """POST records a notice. GET (a reload after posting, a bookmark) leads to the register on the incident page."""
    if request.method == "GET":
        incident = access_incident_by_id(request.user, incident_id)
        return redirect(reverse("incidents:detail", args=[incident.public_id]) + "#notice-register")
    incident = access_incident_by_id(request.user, incident_id, for_write=True)
    form = NotificationForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _errors_in_words(form))
        return _back(incident)
    data = form.cleaned_data
    upload = data["attachment"]
    attachment = None
    if upload is not None:
        attachment = (upload.name, upload.content_type or "", upload.read(MAX_ATTACHMENT + 1))
    try:
        notification_record(
            incident=incident,
            by=request.user,
            kind=data["kind"],
            regime=data["regime"],
            phase=data["phase"],
            recipient=data["recipient"],
            channel=data["channel"],
            sent_at=data["sent_at"],
            count_notified=data["count_notified"],
            reference=data["reference"],
            summary=data["summary"],
            attachment=attachment,
            late_reason=data["late_reason"],
        )
    except IncidentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Notice added to the register.")
    return _back(incident)


@login_required
@require_GET
def attachment(request: AuthenticatedHttpRequest, incident_id: str, notification_id: str) -> HttpResponse:
    incident = access_incident_by_id(request.user, incident_id)
    if not (can_write(request.user, incident) or can(request.user, Perm.VIEW_REPORTS)):
        raise Http404
    row = get_object_or_404(Notification, incident=incident, public_id=notification_id, attachment__isnull=False)
    response = HttpResponse(bytes(row.attachment or b""), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="notice-{row.public_id}"'
    response["X-Content-SHA256"] = row.attachment_sha256
    return response


@login_required
@require_POST
def signoffs(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    # Reading the incident is enough to reach the service: it checks the duty and the second factor.
    incident = access_incident_by_id(request.user, incident_id)
    form = SignoffForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors_in_words(form))
        return _back(incident)
    try:
        row = signoff_record(incident=incident, by=request.user, **form.cleaned_data)
    except IncidentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{row.get_duty_display()}: {row.get_decision_display().lower()}.")
    return _back(incident)


@login_required
@require_GET
def breach_register_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_REPORTS)
    return render(request, "compliance/breach_register.html", {"entries": breach_register()})


@login_required
@require_GET
def export(request: AuthenticatedHttpRequest, incident_id: str, name: str) -> HttpResponse:
    """A regulator export (gdpr.json, hhs.csv) as a download; recorded as incident.export_downloaded."""
    incident = access_incident_exports(request.user, incident_id)
    content_type, body = export_download(incident=incident, name=name, by=request.user)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-{name}"'
    return response
