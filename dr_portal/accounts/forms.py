from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from dr_portal.accounts.models import OrganisationProfile, ProcessorRelationship, SignoffDuty
from dr_portal.accounts.services import PROFILE_FIELDS, RELATIONSHIP_FIELDS


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


class LoginForm(AuthenticationForm):
    """Username and password, and optionally the authenticator's code: with it, a person locked out
    at this address still gets in (dr_portal/accounts/lockout.py), and needs no second step."""

    otp_token = forms.CharField(label="Authenticator code", required=False, max_length=8)

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        code = (self.cleaned_data.get("otp_token") or "").replace(" ", "")
        if username is not None and password:
            credentials: dict[str, Any] = {"username": username, "password": password}
            if code:
                credentials["otp_token"] = code
            self.user_cache = authenticate(self.request, **credentials)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API token", help_text="What the token is for, e.g. 'alertmanager'.")


class OrganisationForm(forms.ModelForm[OrganisationProfile]):
    required_signoffs = forms.MultipleChoiceField(
        choices=SignoffDuty.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="An incident report can be final only once these duties have signed it.",
    )

    class Meta:
        model = OrganisationProfile
        fields = list(PROFILE_FIELDS)
        widgets = {
            "registration_numbers": forms.Textarea(attrs={"rows": 3}),
            "postal_address": forms.Textarea(attrs={"rows": 3}),
            "public_contact": forms.Textarea(attrs={"rows": 2}),
        }


class RelationshipForm(forms.ModelForm[ProcessorRelationship]):
    class Meta:
        model = ProcessorRelationship
        fields = list(RELATIONSHIP_FIELDS)
