"""Forms for the incident pages; they only parse input; services decide what is allowed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import (
    ActionKind,
    Category,
    DrillOutcome,
    IncidentRole,
    IncidentStatus,
    Regime,
    Severity,
)
from inventory.models import Asset

DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _when(label: str, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(required=False, label=label, widget=DT, input_formats=DT_FORMATS, help_text=help_text)


class AssetChoiceField(forms.ModelMultipleChoiceField[Asset]):
    def label_from_instance(self, obj: Asset) -> str:
        return f"{obj.name} (tier {obj.tier})"


class DeclareForm(forms.Form):
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=Category.choices)
    severity = forms.ChoiceField(
        choices=[("", "Suggest from the affected assets"), *Severity.choices],
        required=False,
        help_text="Leave it to the rule (tier of the most critical asset) or set it yourself.",
    )
    assets = AssetChoiceField(
        queryset=Asset.objects.none(), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    take_command = forms.BooleanField(required=False, initial=True, label="I take the commander role")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assets"].queryset = Asset.objects.order_by("name")  # type: ignore[attr-defined]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=IncidentStatus.choices)
    reason = forms.CharField(max_length=500, required=False)


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    rule = forms.CharField(max_length=300, label="Why")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=IncidentRole.choices)
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Person")
    action = forms.ChoiceField(choices=[("assign", "assign"), ("relieve", "relieve")], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["user"].required = False


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000, label="Note")
    corrects = forms.UUIDField(required=False, widget=forms.HiddenInput)


class PinForm(forms.Form):
    seq = forms.IntegerField(min_value=1)
    pinned = forms.BooleanField(required=False)


class AddAssetsForm(forms.Form):
    assets = forms.ModelMultipleChoiceField(queryset=Asset.objects.none())
    source = forms.ChoiceField(choices=[("added", "added"), ("blast_radius", "blast_radius")], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assets"].queryset = Asset.objects.all()  # type: ignore[attr-defined]


class FactsForm(forms.Form):
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=Category.choices)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    started_at = _when("Estimated start")
    detected_at = _when("Detected")
    aware_at = _when("GDPR: became aware", "Starts the 72-hour clock (Art. 33).")
    discovered_at = _when("HIPAA: discovered", "Starts the 60-day clock (§164.404).")
    ai_aware_at = _when("AI Act: provider aware", "Starts the Art. 73 clock.")
    contained_at = _when("Contained")
    restored_at = _when("Service restored")
    personal_data = forms.BooleanField(required=False, label="Personal data involved")
    subject_categories = forms.CharField(max_length=300, required=False, label="Categories of data subjects")
    subjects_approx = forms.IntegerField(min_value=0, required=False, label="Approx. number of data subjects")
    record_categories = forms.CharField(max_length=300, required=False, label="Categories of records")
    records_approx = forms.IntegerField(min_value=0, required=False, label="Approx. number of records")
    special_categories = forms.BooleanField(required=False, label="Special categories (GDPR Art. 9)")
    phi = forms.BooleanField(required=False, label="Protected health information (HIPAA)")
    data_encrypted = forms.BooleanField(required=False, label="Data was encrypted (keys not compromised)")
    ai_serious = forms.BooleanField(required=False, label="AI Act serious incident")
    ai_death = forms.BooleanField(required=False, label="…involving a death (10 days)")
    ai_widespread = forms.BooleanField(required=False, label="…a widespread infringement (2 days)")
    ai_critical_infra = forms.BooleanField(
        required=False, label="…a serious, irreversible critical-infrastructure disruption (2 days)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("subject_categories", "record_categories", "summary"):
            data[name] = data.get(name) or ""
        return data


class DelayReasonForm(forms.Form):
    regime = forms.ChoiceField(choices=Regime.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ActionKind.choices)
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), widget=forms.Select(attrs={"data-searchable": "Type to filter people"})
    )
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    critical = forms.BooleanField(required=False, label="Critical (blocks closing)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[("open", "open"), ("done", "done"), ("dropped", "dropped")])


class ReviewForm(forms.Form):
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    contributing_factors = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    went_well = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000, label="What went well"
    )
    went_badly = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000, label="What went badly"
    )


class DrillOutcomeForm(forms.Form):
    asset = forms.UUIDField()
    outcome = forms.ChoiceField(choices=[(DrillOutcome.PASSED, "Passed"), (DrillOutcome.FAILED, "Failed")])
    evidence = forms.CharField(max_length=2000)


class DrillStartForm(forms.Form):
    assets = AssetChoiceField(queryset=Asset.objects.none(), widget=forms.SelectMultiple(attrs={"size": 6}))
    scenario = forms.CharField(max_length=500, initial="Restore from the newest good backup into an isolated target.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assets"].queryset = Asset.objects.order_by("name")  # type: ignore[attr-defined]


class DrillScheduleForm(forms.Form):
    asset = forms.UUIDField()
    enabled = forms.BooleanField(required=False)
    scenario = forms.CharField(max_length=300, required=False)


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "Not closed"), ("open", "Open"), ("", "All"), *IncidentStatus.choices], required=False
    )
    kind = forms.ChoiceField(
        choices=[("", "Incidents and drills"), ("real", "Incidents"), ("drill", "Drills")], required=False
    )
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    q = forms.CharField(required=False, label="Search")


class IncidentReportForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial="incident")
    incident = forms.ChoiceField(label="Incident or drill")

    def __init__(self, *args: Any, incidents: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["incident"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (str(i.public_id), f"{i.reference} — {i.title} ({i.get_status_display().lower()})") for i in incidents
        ]


ISO = "%Y-%m-%d"  # what <input type="date"> reads, whatever the locale


def last_month() -> tuple[date, date]:
    """The calendar month before today (UTC): the usual period of a monthly readiness report."""
    first_of_this = timezone.now().date().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return last.replace(day=1), last


class ReadinessReportForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial="readiness")
    period_first = forms.DateField(label="First day (UTC)", widget=forms.DateInput(attrs={"type": "date"}, format=ISO))
    period_last = forms.DateField(label="Last day (UTC)", widget=forms.DateInput(attrs={"type": "date"}, format=ISO))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("period_first"), data.get("period_last")
        if first and last and last < first:
            self.add_error("period_last", "The last day comes before the first.")
        return data
