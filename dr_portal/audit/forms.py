from __future__ import annotations

from django import forms


class ErasePersonForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username of the person")
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example the erasure request's reference.",
    )
