"""Editing paging set-up from the On call page: the edit form opens beside its item (htmx swaps the board)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from dr_portal.accounts.access import Perm, check
from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from dr_portal.http import AuthenticatedHttpRequest
from incidents.paging.edits import layer_change, level_change, override_change, policy_change, schedule_rename
from incidents.paging.forms import LayerEditForm, LevelEditForm, OverrideEditForm, PolicyEditForm, ScheduleEditForm
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Schedule
from incidents.paging.views import _index_context, _show_refusal

EditForm = ScheduleEditForm | LayerEditForm | OverrideEditForm | PolicyEditForm | LevelEditForm
Save = Callable[[dict[str, Any], User], str]


def _override_saved(o: Override, d: dict[str, Any], by: User) -> str:
    changed = override_change(override=o, starts_at=d["starts_at"], ends_at=d["ends_at"], by=by)
    return f"Override of {display_name(changed.user)} saved."


def _editable(kind: str, pk: int) -> tuple[type[EditForm], dict[str, Any], Save]:
    """The form, its initial values and the service call for one item (404 when it is gone)."""
    if kind == "schedule":
        s = get_object_or_404(Schedule, pk=pk)
        return (
            ScheduleEditForm,
            {"name": s.name},
            lambda d, by: f"Schedule renamed “{schedule_rename(schedule=s, name=d['name'], by=by).name}”.",
        )
    if kind == "layer":
        layer = get_object_or_404(Layer, pk=pk)

        def save_layer(d: dict[str, Any], by: User) -> str:
            members = [u.pk for u in d["members"]]
            changed = layer_change(
                layer=layer, name=d["name"], members=members, shift_hours=d["shift_hours"], ends_at=d["ends_at"], by=by
            )
            return f"Layer “{changed.name}” saved."

        initial = {
            "name": layer.name,
            "members": layer.members,
            "shift_hours": layer.shift_hours,
            "ends_at": layer.ends_at,
        }
        return LayerEditForm, initial, save_layer
    if kind == "override":
        o = get_object_or_404(Override.objects.select_related("user"), pk=pk)
        return (
            OverrideEditForm,
            {"starts_at": o.starts_at, "ends_at": o.ends_at},
            lambda d, by: _override_saved(o, d, by),
        )
    if kind == "policy":
        p = get_object_or_404(EscalationPolicy, pk=pk)
        return (
            PolicyEditForm,
            {"repeat_minutes": p.repeat_minutes},
            lambda d, by: (
                f"{policy_change(policy=p, repeat_minutes=d['repeat_minutes'], by=by).severity} policy saved."
            ),
        )
    if kind == "level":
        lv = get_object_or_404(EscalationLevel.objects.select_related("policy"), pk=pk)
        return (
            LevelEditForm,
            {"wait_minutes": lv.wait_minutes},
            lambda d, by: (
                f"Level {level_change(level=lv, wait_minutes=d['wait_minutes'], by=by).position}"
                f" of the {lv.policy.severity} policy saved."
            ),
        )
    raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def setup_edit(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """GET opens the edit form beside the item; POST saves through the service, a refusal beside its field."""
    check(request.user, Perm.COMMAND_INCIDENTS)
    form_class, initial, save = _editable(kind, pk)
    done = ""
    if request.method == "GET":
        form = form_class(initial=initial)
    else:
        form = form_class(request.POST)
        if form.is_valid():
            try:
                done = save(form.cleaned_data, request.user)
            except ValidationError as refused:
                _show_refusal(form, refused)  # type: ignore[arg-type]
    if done and not request.htmx:
        messages.success(request, done)
        return redirect("paging:index")
    extra: dict[str, Any] = {"done": done} if done else {"editing": {"kind": kind, "pk": pk, "form": form}}
    if request.htmx:
        return render(request, "paging/index.html#board", _index_context(request, **extra))
    status = 400 if form.errors else 200
    return render(request, "paging/index.html", _index_context(request, **extra), status=status)
