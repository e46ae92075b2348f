"""The one form an approver fills on the dashboard: decision, comment and, when needed, the code."""

from __future__ import annotations

from typing import Any

from django import forms


class DecideNowForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(max_length=2000, help_text="What you checked, or why not.")
    code = forms.CharField(required=False, max_length=8, label="Six-digit code")

    def clean_code(self) -> str:
        code = str(self.cleaned_data.get("code") or "").replace(" ", "")
        if code and (not code.isdigit() or len(code) != 6):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code

    def first_error(self) -> str:
        errors: dict[str, Any] = self.errors.get_json_data()
        for field, problems in errors.items():
            label = "" if field == "__all__" else f"{self[field].label}: "
            return f"{label}{problems[0]['message']}"
        return ""
