"""Paging pages: who is on call, open pages to acknowledge, the signed email link, the delivery log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dr_portal.accounts.access import Perm, can, check, parse_public_id
from dr_portal.accounts.models import User
from dr_portal.http import AuthenticatedHttpRequest
from incidents.models import Delivery
from incidents.paging.access import access_page_by_id, access_paging
from incidents.paging.changes import page_escalate_now
from incidents.paging.forms import LayerForm, OverrideForm
from incidents.paging.links import LinkExpired, LinkInvalid, ack_token_read
from incidents.paging.models import Page
from incidents.paging.schedules import layer_add, override_add
from incidents.paging.selectors import delivery_log, pages_open, pages_recent, policies_checked, schedules_now
from incidents.paging.services import PageRefused, delivery_replay, page_acknowledge


def _index_context(request: AuthenticatedHttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "open_pages": pages_open(),
        "recent": pages_recent(),
        "schedules": schedules_now(),
        "policies": policies_checked(),
        "can_edit": can(request.user, Perm.COMMAND_INCIDENTS),
        "override_form": OverrideForm(),
        "layer_form": LayerForm(),
        **extra,
    }


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_paging(request.user)
    return render(request, "paging/index.html", _index_context(request))


def _add(request: AuthenticatedHttpRequest, form: OverrideForm | LayerForm, save: Any, name: str) -> HttpResponse:
    check(request.user, Perm.COMMAND_INCIDENTS)
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as invalid:
            for field, problems in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"{name} added.")
            return redirect("paging:index")
    key = "override_form" if isinstance(form, OverrideForm) else "layer_form"
    return render(request, "paging/index.html", _index_context(request, **{key: form}), status=400)


@login_required
@require_POST
def override_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    def save(d: dict[str, Any]) -> None:
        override_add(schedule=d["schedule"], user=d["user"], starts_at=d["starts_at"], ends_at=d["ends_at"])

    return _add(request, OverrideForm(request.POST), save, "Override")


@login_required
@require_POST
def layer_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    def save(d: dict[str, Any]) -> None:
        layer_add(
            schedule=d["schedule"],
            name=d["name"],
            members=[u.pk for u in d["members"]],
            starts_at=d["starts_at"],
            shift_hours=d["shift_hours"],
        )

    return _add(request, LayerForm(request.POST), save, "Layer")


@login_required
@require_GET
def page_detail(request: AuthenticatedHttpRequest, page_id: str) -> HttpResponse:
    page = access_page_by_id(request.user, page_id)
    context = {"page": page, "deliveries": delivery_log(incident_id=page.incident_id, limit=50)}
    return render(request, "paging/page.html", context)


@login_required
@require_POST
def page_ack(request: AuthenticatedHttpRequest, page_id: str) -> HttpResponse:
    page = access_page_by_id(request.user, page_id)
    try:
        page_acknowledge(page=page, by=request.user, via="page")
    except PageRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"You have {page.incident.reference}; escalation stopped.")
    return redirect("paging:page", page_id=page.public_id)


@login_required
@require_POST
def page_escalate(request: AuthenticatedHttpRequest, page_id: str) -> HttpResponse:
    page = access_page_by_id(request.user, page_id)
    try:
        page = page_escalate_now(page=page, by=request.user)
    except PageRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Escalated to level {page.level}; they are being notified now.")
    return redirect("paging:page", page_id=page.public_id)


@require_http_methods(["GET", "POST"])
def ack_link(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """The link in a page email: no sign-in needed, the signature names the person; GET asks, POST acknowledges."""
    try:
        page_id, user_id = ack_token_read(token)
    except LinkExpired:
        return render(
            request,
            "paging/ack_link.html",
            {"error": "This link has expired. Open DR Portal and acknowledge from the page, or ask the commander."},
            status=410,
        )
    except LinkInvalid:
        return render(
            request,
            "paging/ack_link.html",
            {"error": "This link is not valid (altered or incomplete). Use the link from the email as it is."},
            status=400,
        )
    page = Page.objects.select_related("incident", "acknowledged_by").filter(public_id=parse_public_id(page_id)).first()
    person = User.objects.filter(pk=user_id, is_active=True).first()
    if page is None or person is None:
        return render(request, "paging/ack_link.html", {"error": "This page no longer exists."}, status=404)
    context: dict[str, Any] = {"page": page, "person": person, "token": token}
    if request.method == "POST":
        try:
            page = page_acknowledge(page=page, by=person, via="email link")
        except PageRefused as refused:
            context["error"] = str(refused)
            return render(request, "paging/ack_link.html", context, status=409)
        context.update(page=page, done=True)
    return render(request, "paging/ack_link.html", context)


@login_required
@require_GET
def deliveries(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_paging(request.user)
    context = {"deliveries": delivery_log(), "can_replay": can(request.user, Perm.COMMAND_INCIDENTS)}
    return render(request, "paging/deliveries.html", context)


@login_required
@require_POST
def delivery_replay_view(request: AuthenticatedHttpRequest, delivery_id: str) -> HttpResponse:
    check(request.user, Perm.COMMAND_INCIDENTS)
    delivery = Delivery.objects.filter(public_id=parse_public_id(delivery_id)).first()
    if delivery is None:
        from dr_portal.accounts.access import NotFoundOrForbidden

        raise NotFoundOrForbidden
    replayed = delivery_replay(delivery=delivery, by=request.user)
    messages.success(request, f"Sending {replayed.subject or replayed.event} again.")
    return redirect("paging:deliveries")
