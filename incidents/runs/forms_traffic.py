"""Forms for an endpoint's traffic driver and an asset's golden sets (the same services as the API)."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.runs.drivers.models import DriverKind
from incidents.runs.golden.loaders import LOADERS


class DriverForm(forms.Form):
    driver = forms.ChoiceField(choices=DriverKind.choices)
    config = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=(
            'haproxy: {"socket": "unix:/run/haproxy/admin.sock", "backend": "be_scoring", "servers": '
            '{"primary": "eu", "alternate": "us"}} or map mode {"socket", "map", "map_key", "backends"}; '
            'webhook: {"url", "secret_env" or "secret_file"}; plus smoke_url. Secrets only by reference.'
        ),
    )

    def clean_config(self) -> Any:
        return self.cleaned_data.get("config") or {}


class GoldenForm(forms.Form):
    model_format = forms.ChoiceField(choices=[(name, name) for name in sorted(LOADERS)])
    model_path = forms.CharField(max_length=300, help_text="Inside the restored asset, e.g. model.onnx.")
    inputs = forms.JSONField(initial=list, widget=forms.Textarea(attrs={"rows": 3}), help_text="A list of input rows.")
    expected = forms.JSONField(
        initial=list, widget=forms.Textarea(attrs={"rows": 3}), help_text="One expected output per input."
    )
    tolerance = forms.FloatField(min_value=0, initial=1e-4, help_text="Largest absolute error that still passes.")
