from __future__ import annotations

from django import forms

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
