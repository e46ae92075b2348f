from __future__ import annotations

from django import forms


class OtpForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API token", help_text="What the token is for, e.g. 'alertmanager'.")
