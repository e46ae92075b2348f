"""Paging pages: who is on call, open pages to acknowledge, the signed email link, the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dr_portal.accounts.access import Perm, can, check, parse_public_id
from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from dr_portal.http import AuthenticatedHttpRequest
from incidents.models import Delivery
from incidents.paging.access import access_page_by_id, access_paging
from incidents.paging.changes import page_escalate_now
from incidents.paging.forms import LayerForm, LevelForm, OverrideForm, PolicyForm, ScheduleForm
from incidents.paging.links import LinkExpired, LinkInvalid, ack_token_read
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Page, Schedule
from incidents.paging.removals import layer_delete, level_delete, override_delete, policy_delete, schedule_delete
from incidents.paging.schedules import layer_add, level_add, override_add, policy_add, schedule_add
from incidents.paging.selectors import (
    delivery_log,
    known_teams,
    pages_open,
    pages_recent,
    policies_checked,
    schedules_now,
)
from incidents.paging.services import PageRefused, delivery_replay, page_acknowledge

SetupForm = ScheduleForm | LayerForm | OverrideForm | PolicyForm | LevelForm

# Each set-up form by the kind its URL names: the form, and its name in the page context.
SETUP: dict[str, tuple[type[SetupForm], str]] = {
    "schedule": (ScheduleForm, "schedule_form"),
    "layer": (LayerForm, "layer_form"),
    "override": (OverrideForm, "override_form"),
    "policy": (PolicyForm, "policy_form"),
    "level": (LevelForm, "level_form"),
}


def _save(kind: str, d: dict[str, Any], by: User) -> str:
    """Call the service for one set-up form; it raises ValidationError (field → message) when it refuses."""
    if kind == "schedule":
        schedule = schedule_add(team=d["team"], name=d["name"], by=by)
        return f"Schedule “{schedule.name}” added for team {schedule.team}; add a rotation layer next."
    if kind == "layer":
        members = [u.pk for u in d["members"]]
        layer_add(
            schedule=d["schedule"],
            name=d["name"],
            members=members,
            starts_at=d["starts_at"],
            shift_hours=d["shift_hours"],
            by=by,
        )
        return f"Layer “{d['name']}” added to {d['schedule'].name}."
    if kind == "override":
        override_add(schedule=d["schedule"], user=d["user"], starts_at=d["starts_at"], ends_at=d["ends_at"], by=by)
        return f"Override added: {display_name(d['user'])} covers {d['schedule'].name}."
    if kind == "policy":
        policy = policy_add(severity=d["severity"], repeat_minutes=d["repeat_minutes"], by=by)
        return f"{policy.severity} escalation policy added; add its first level next."
    level = level_add(
        policy=d["policy"],
        wait_minutes=d["wait_minutes"],
        schedule=d["schedule"],
        user=d["user"],
        then_policy=d["then_policy"],
        nobody_on_call_ok=d["nobody_on_call_ok"],
        by=by,
    )
    return f"Level {level.position} added to the {d['policy'].severity} policy."


def _show_refusal(form: SetupForm, refused: ValidationError) -> None:
    """A service's refusal next to the field it is about (or above the form)."""
    if not hasattr(refused, "error_dict"):
        form.add_error(None, refused.messages)
        return
    for field, problems in refused.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def _index_context(request: AuthenticatedHttpRequest, **extra: Any) -> dict[str, Any]:
    forms = {key: form_class() for form_class, key in SETUP.values()}
    return {
        "open_pages": pages_open(),
        "recent": pages_recent(),
        "schedules": schedules_now(),
        "policies": policies_checked(),
        "known_teams": known_teams(),
        "can_edit": can(request.user, Perm.COMMAND_INCIDENTS),
        **forms,
        **extra,
    }


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_paging(request.user)
    return render(request, "paging/index.html", _index_context(request))


@login_required
@require_POST
def setup_add(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """Add a schedule, layer, override, policy or level. A refusal shows next to its field.

    htmx swaps the set-up board (lists and forms, from fresh data); a plain POST redirects, or
    answers 400 with the page and the form's errors.
    """
    check(request.user, Perm.COMMAND_INCIDENTS)
    if kind not in SETUP:
        raise Http404
    form_class, key = SETUP[kind]
    form = form_class(request.POST)
    done = ""
    if form.is_valid():
        try:
            done = _save(kind, form.cleaned_data, request.user)
        except ValidationError as refused:
            _show_refusal(form, refused)
    if done and not request.htmx:
        messages.success(request, done)
        return redirect("paging:index")
    extra: dict[str, Any] = {"done": done} if done else {key: form}
    if request.htmx:
        return render(request, "paging/index.html#board", _index_context(request, **extra))
    return render(request, "paging/index.html", _index_context(request, **extra), status=400)


def _removal(kind: str, pk: int) -> tuple[str, Callable[[User], None]]:
    """What deleting one set-up item says it removes, and the service that removes it (404 when it is gone)."""
    if kind == "schedule":
        schedule = get_object_or_404(Schedule, pk=pk)
        return (
            f"schedule “{schedule.name}” (team {schedule.team}) with its layers and overrides",
            lambda by: schedule_delete(schedule=schedule, by=by),
        )
    if kind == "layer":
        layer = get_object_or_404(Layer.objects.select_related("schedule"), pk=pk)
        return f"layer “{layer.name}” of {layer.schedule.name}", lambda by: layer_delete(layer=layer, by=by)
    if kind == "override":
        override = get_object_or_404(Override.objects.select_related("schedule", "user"), pk=pk)
        span = f"{override.starts_at:%Y-%m-%d %H:%M} to {override.ends_at:%Y-%m-%d %H:%M} UTC"
        label = f"the override of {display_name(override.user)} ({span})"
        return label, lambda by: override_delete(override=override, by=by)
    if kind == "policy":
        policy = get_object_or_404(EscalationPolicy, pk=pk)
        return f"the {policy.severity} escalation policy and its levels", lambda by: policy_delete(policy=policy, by=by)
    if kind == "level":
        level = get_object_or_404(EscalationLevel.objects.select_related("policy"), pk=pk)
        return f"level {level.position} of the {level.policy.severity} policy", lambda by: level_delete(
            level=level, by=by
        )
    raise Http404


@login_required
@require_POST
def setup_delete(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """Delete a schedule, layer, override, policy or level in two steps: the first POST asks to confirm
    (beside the item), the second (confirm=yes) deletes. A refusal shows beside the item."""
    check(request.user, Perm.COMMAND_INCIDENTS)
    label, remove = _removal(kind, pk)
    target = {"kind": kind, "pk": pk, "label": label}
    extra: dict[str, Any]
    if request.POST.get("confirm") != "yes":
        extra = {"confirm": target}
    else:
        try:
            remove(request.user)
        except ValidationError as refused:
            extra = {"refusal": {**target, "message": " ".join(refused.messages)}}
        else:
            done = f"Deleted {label}."
            if not request.htmx:
                messages.success(request, done)
                return redirect("paging:index")
            extra = {"done": done}
    if request.htmx:
        return render(request, "paging/index.html#board", _index_context(request, **extra))
    status = 409 if "refusal" in extra else 200
    return render(request, "paging/index.html", _index_context(request, **extra), status=status)


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
