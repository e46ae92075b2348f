"""Forms for starting a run and for the actions that need a few words from a person."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.models import Incident
from incidents.runs.models import Mode
from incidents.runs.selectors import incidents_open_for_runs
from inventory.models import RecoveryPlan


class RunForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=RecoveryPlan.objects.order_by("name"), to_field_name="public_id")
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.DRILL)
    incident = forms.ModelChoiceField(
        queryset=Incident.objects.none(),
        to_field_name="public_id",
        help_text="The open incident or drill this run belongs to; a drill runs in drill mode.",
    )
    outage_started_at = forms.DateTimeField(
        required=False,
        label="Outage started (UTC)",
        help_text=(
            "Starts the RTO clock of a recovery; a drill's clock starts with the drill. "
            "Default: the incident's estimated start, else its detection, else its declaration."
        ),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].label_from_instance = lambda p: f"{p.name} (v{p.version})"  # type: ignore[attr-defined]
        incident = self.fields["incident"]
        incident.queryset = incidents_open_for_runs()  # type: ignore[attr-defined]
        incident.label_from_instance = lambda i: f"{i.reference} {i.title}"  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded in the audit log."
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(max_length=2000, help_text="Required: what you checked, or why not.")
