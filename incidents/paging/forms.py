"""Forms for the paging page: a schedule, a layer, an override, an escalation policy and its levels."""

from __future__ import annotations

from typing import Any

from django import forms

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from incidents.models import Severity
from incidents.paging.models import EscalationPolicy, Schedule

SEARCH_PEOPLE = "Type to filter people"


def _active_people() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def _people(*, required: bool = True) -> forms.ModelChoiceField[User]:
    field = forms.ModelChoiceField(
        queryset=_active_people(),
        required=required,
        widget=forms.Select(attrs={"data-searchable": SEARCH_PEOPLE}),
    )
    field.label_from_instance = display_name  # type: ignore[method-assign,assignment]
    return field


def _schedules(*, required: bool = True, label: str = "Schedule") -> forms.ModelChoiceField[Schedule]:
    field = forms.ModelChoiceField(queryset=Schedule.objects.order_by("team"), required=required, label=label)
    field.label_from_instance = lambda s: f"{s.name} (team {s.team})"  # type: ignore[method-assign,assignment]
    return field


def _policies(*, required: bool = True, label: str = "Policy") -> forms.ModelChoiceField[EscalationPolicy]:
    field = forms.ModelChoiceField(
        queryset=EscalationPolicy.objects.order_by("severity"), required=required, label=label
    )
    field.label_from_instance = lambda p: f"{p.severity} policy"  # type: ignore[method-assign,assignment]
    return field


class _SetupForm(forms.Form):
    """The page holds five of these at once: each form's ids carry its kind, so none repeat."""

    kind = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.kind}_%s")
        super().__init__(*args, **kwargs)


def _members_in_given_order(form: forms.Form) -> list[User]:
    """The rotation as the person chose it: a multiple choice field hands back its queryset's order instead."""
    chosen = {str(u.pk): u for u in form.cleaned_data["members"]}
    order = form.data.getlist(form.add_prefix("members")) if hasattr(form.data, "getlist") else []
    ordered = [chosen[i] for i in dict.fromkeys(str(i) for i in order) if i in chosen]
    return ordered + [u for u in chosen.values() if u not in ordered]


def _when(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class ScheduleForm(_SetupForm):
    kind = "schedule"

    team = forms.CharField(
        max_length=100, help_text="The owner team as assets name it; its incidents page this schedule."
    )
    name = forms.CharField(max_length=200, label="Schedule name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].widget.attrs["list"] = "known-teams"


class OverrideForm(_SetupForm):
    kind = "override"

    schedule = _schedules()
    user = _people()
    starts_at = _when("From (UTC)")
    ends_at = _when("Until (UTC)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].label = "Who covers"


class LayerForm(_SetupForm):
    kind = "layer"

    schedule = _schedules()
    name = forms.CharField(max_length=100, label="Layer name")
    members = forms.ModelMultipleChoiceField(
        queryset=_active_people(),
        widget=forms.SelectMultiple(attrs={"data-searchable": SEARCH_PEOPLE, "size": 6}),
        help_text="In rotation order: the first holds the first shift.",
    )
    starts_at = _when("From (UTC)")
    shift_hours = forms.IntegerField(min_value=1, max_value=24 * 28, initial=168, label="Shift (hours)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].label_from_instance = display_name  # type: ignore[attr-defined]

    def clean_members(self) -> list[User]:
        return _members_in_given_order(self)


class PolicyForm(_SetupForm):
    kind = "policy"

    severity = forms.ChoiceField(choices=Severity.choices)
    repeat_minutes = forms.IntegerField(
        min_value=1,
        max_value=1440,
        initial=5,
        label="Re-notify every (minutes)",
        help_text="Until someone acknowledges.",
    )


class LevelForm(_SetupForm):
    kind = "level"

    policy = _policies()
    schedule = _schedules(required=False, label="Page the on-call of")
    user = _people(required=False)
    then_policy = _policies(required=False, label="Or hand over to")
    wait_minutes = forms.IntegerField(
        min_value=1, max_value=1440, initial=10, label="Wait (minutes)", help_text="Before the next level is paged."
    )
    nobody_on_call_ok = forms.BooleanField(
        required=False, label="Add it even though nobody is on call now (a layer starts later)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].label = "Or page this person"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [name for name in ("schedule", "user", "then_policy") if data.get(name) is not None]
        if len(chosen) != 1:
            message = "Choose one: a schedule's on-call, a person, or a policy to hand over to."
            for name in chosen or ["schedule"]:
                self.add_error(name, message)
        return data


class _EditForm(forms.Form):
    """An edit form sits beside its item on the board: its ids carry "edit_<kind>", apart from the add forms."""

    kind = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"edit_{self.kind}_%s")
        super().__init__(*args, **kwargs)


class ScheduleEditForm(_EditForm):
    kind = "schedule"
    name = forms.CharField(max_length=200, label="Schedule name")


class LayerEditForm(_EditForm):
    kind = "layer"
    name = forms.CharField(max_length=100, label="Layer name")
    members = forms.ModelMultipleChoiceField(
        queryset=_active_people(),
        widget=forms.SelectMultiple(attrs={"data-searchable": SEARCH_PEOPLE, "size": 6}),
        help_text="In rotation order: the first holds the first shift.",
    )
    shift_hours = forms.IntegerField(min_value=1, max_value=24 * 28, label="Shift (hours)")
    ends_at = forms.DateTimeField(
        required=False,
        label="Ends (UTC)",
        help_text="Leave empty for open-ended; end it to make room for a new layer.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].label_from_instance = display_name  # type: ignore[attr-defined]

    def clean_members(self) -> list[User]:
        return _members_in_given_order(self)


class OverrideEditForm(_EditForm):
    kind = "override"
    starts_at = forms.DateTimeField(
        label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )


class PolicyEditForm(_EditForm):
    kind = "policy"
    repeat_minutes = forms.IntegerField(min_value=1, max_value=1440, label="Re-notify every (minutes)")


class LevelEditForm(_EditForm):
    kind = "level"
    wait_minutes = forms.IntegerField(min_value=1, max_value=1440, label="Wait (minutes)")
