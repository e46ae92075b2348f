"""Forms of the notification register and the sign-off block."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms

from dr_portal.accounts.models import SignoffDuty
from incidents.compliance.models import NoticePhase, RecipientKind, SignoffDecision
from incidents.models import Regime


class NotificationForm(forms.Form):
    kind = forms.ChoiceField(label="Recipient kind", choices=RecipientKind.choices)
    regime = forms.ChoiceField(
        label="Only under",
        choices=[("", "every regime of this recipient"), *Regime.choices],
        required=False,
        help_text="For a notice to individuals that answers GDPR Art. 34 or HIPAA §164.404, not both.",
    )
    phase = forms.ChoiceField(choices=NoticePhase.choices, initial=NoticePhase.INITIAL)
    recipient = forms.CharField(max_length=200, help_text="e.g. CNIL, HHS OCR, 1,240 patients, Acme Health (CE)")
    channel = forms.CharField(max_length=100, help_text="Portal, email, first-class mail, press release…")
    sent_at = forms.DateTimeField(label="Sent (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    count_notified = forms.IntegerField(label="People notified", required=False, min_value=0)
    reference = forms.CharField(max_length=200, required=False)
    summary = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    attachment = forms.FileField(required=False, help_text="The notice as sent (PDF, letter, email), at most 5 MiB.")
    late_reason = forms.CharField(
        label="Reasons for the delay",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the notice is after its deadline (GDPR Art. 33(1)).",
    )


class SignoffForm(forms.Form):
    duty = forms.ChoiceField(choices=SignoffDuty.choices)
    decision = forms.ChoiceField(choices=SignoffDecision.choices, initial=SignoffDecision.SIGNED)
    reason = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), help_text="Required to refuse."
    )

    def __init__(self, *args: Any, duties: Collection[str] | None = None, **kwargs: Any) -> None:
        """`duties`: offer only these (the ones the person holds), so no one picks a duty they cannot sign."""
        super().__init__(*args, **kwargs)
        if duties is not None:
            field = self.fields["duty"]
            field.choices = [(k, v) for k, v in SignoffDuty.choices if k in duties]  # type: ignore[attr-defined]
