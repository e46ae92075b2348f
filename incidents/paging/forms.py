"""Forms for the paging page: an override, a layer."""

from __future__ import annotations

from django import forms

from dr_portal.accounts.models import User
from incidents.paging.models import Schedule

SEARCH_PEOPLE = "Type to filter people"


def _people() -> forms.ModelChoiceField[User]:
    field = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        widget=forms.Select(attrs={"data-searchable": SEARCH_PEOPLE}),
    )
    field.label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[method-assign,assignment]
    return field


class OverrideForm(forms.Form):
    schedule = forms.ModelChoiceField(queryset=Schedule.objects.order_by("team"))
    user = _people()
    starts_at = forms.DateTimeField(label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class LayerForm(forms.Form):
    schedule = forms.ModelChoiceField(queryset=Schedule.objects.order_by("team"))
    name = forms.CharField(max_length=100)
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        widget=forms.SelectMultiple(attrs={"data-searchable": SEARCH_PEOPLE, "size": 6}),
    )
    starts_at = forms.DateTimeField(label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    shift_hours = forms.IntegerField(min_value=1, initial=168, label="Shift (hours)")
