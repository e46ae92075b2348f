"""Forms for the inventory pages; they validate input, services do the writing."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.core.exceptions import ValidationError

from inventory import connector_form
from inventory.fields import ASSET_FIELDS, POLICY_FIELDS, VAULT_FIELDS
from inventory.models import URI_CONNECTORS, Asset, AssetKind, DataClass, RecoveryPolicy, Vault
from inventory.policies import STRATEGY_CHOICES, STRATEGY_HELP
from inventory.porting_yaml import load_plain_yaml
from inventory.readiness import Level


class RegionListField(forms.CharField):
    """Comma-separated region names ↔ a list."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        regions = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
        bad = [r for r in regions if not all(ch.isalnum() or ch in "-_" for ch in r)]
        if bad:
            raise ValidationError(f"{bad[0]!r} is not a region name; use names such as eu-west-1.")
        return regions


class LabelsField(forms.CharField):
    """One `key=value` per line ↔ a dict."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in sorted(value.items()))
        return value

    def to_python(self, value: Any) -> dict[str, str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        labels: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"Line {number}: write labels as key=value.")
            labels[key.strip()] = val.strip()
        return labels


class PolicyForm(forms.ModelForm[RecoveryPolicy]):
    allowed_regions = RegionListField(
        required=False, help_text="Comma-separated, e.g. eu-west-1, eu-central-1. Empty allows any region."
    )

    class Meta:
        model = RecoveryPolicy
        fields = list(POLICY_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "strategy": forms.RadioSelect}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["strategy"].help_text = ""
        self.strategy_help = [(value, label, STRATEGY_HELP[value]) for value, label in STRATEGY_CHOICES]


def _connector_choices() -> list[tuple[str, str]]:
    from inventory.connectors import connector_class, connector_kinds

    return [("", "From the source URI (directory or S3)")] + [
        (kind, connector_class(kind).label or kind) for kind in connector_kinds()
    ]


class AssetForm(forms.ModelForm[Asset]):
    connector = forms.ChoiceField(
        choices=_connector_choices,
        required=False,
        help_text="How the source is captured; choosing a kind shows its fields.",
    )
    data_classes = forms.MultipleChoiceField(
        choices=DataClass.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    labels = LabelsField(required=False, help_text="One key=value per line; alerts are matched on these.")

    class Meta:
        model = Asset
        fields = list(ASSET_FIELDS)
        widgets = {"fallback": forms.Textarea(attrs={"rows": 2}), "connector_config": forms.HiddenInput}

    config_refused = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The configuration is typed in one input per field of the kind (connector_form.py);
        # the JSON field stays only as what the service receives.
        self.fields["connector_config"].required = False
        instance = self.instance
        self.config_kind = str(self.data.get("connector", "")) if self.is_bound else instance.connector
        shown = dict(instance.connector_config or {}) if self.config_kind == instance.connector else {}
        self.config_fields = connector_form.add_config_fields(self, self.config_kind, shown)
        # The kind whose inputs the person saw; the page now shows (and remembers) the chosen one.
        self.shown_kind = str(self.data.get("config_kind", self.config_kind)) if self.is_bound else self.config_kind
        if self.is_bound:
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict
            data["config_kind"] = self.config_kind
            if self.shown_kind != self.config_kind:  # a new kind's inputs start from its defaults
                for name in self.config_fields:
                    initial = self.fields[name].initial
                    if name not in data and initial not in (None, False, ""):
                        data[name] = str(initial)
            self.data = data
        if self.config_kind and self.config_kind not in URI_CONNECTORS:
            # An application connector's config says where the data is: the source URI is not asked
            # for (it is derived from the config in clean()) and an existing one is kept as it was.
            self.fields["source_uri"].required = False
            self.fields["source_uri"].widget = forms.HiddenInput()
        # Show the kind's inputs right after the kind.
        order = list(self.fields)
        rest = [n for n in order if n not in self.config_fields]
        at = rest.index("connector") + 1
        self.order_fields(rest[:at] + self.config_fields + rest[at:])

    def kind_label(self, kind: str) -> str:
        return dict(_connector_choices()).get(kind, kind)

    def redisplay(self) -> None:
        """Show the form again with what was typed and no errors: the person only chose a kind."""
        from django.forms.utils import ErrorDict

        self._errors = ErrorDict()

    def config_inputs(self) -> list[Any]:
        return [self[name] for name in self.config_fields]

    def clean_connector_config(self) -> Any:
        return {}

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        # The model's own check of the config repeats what the inputs already say, less precisely.
        # So does the form's own parse, when it already said what is wrong (once is enough).
        if (
            self.shown_kind != self.config_kind
            or self.config_refused
            or any(name in self.errors for name in self.config_fields)
        ):
            self.errors.pop("connector_config", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = self.config_kind
        self.config_refused = False
        if self.shown_kind != kind and connector_form.kind_specs(kind):
            # The fields were never shown (no JavaScript, and Save instead of "Show its fields"):
            # say what to do, not "required" against inputs the person has not seen.
            for name in self.config_fields:
                self.errors.pop(name, None)
            self.add_error(None, f"Fill in the fields of the {self.kind_label(kind)} connector below, then save.")
            return cleaned
        if any(name in self.errors for name in self.config_fields):
            return cleaned
        config = connector_form.config_from(self, kind)
        cleaned["connector_config"] = config
        if kind and kind not in URI_CONNECTORS and not cleaned.get("source_uri"):
            cleaned["source_uri"] = connector_form.derived_source_uri(kind, config)
        if connector_form.kind_specs(kind) and kind not in URI_CONNECTORS:  # those are checked with their URI
            from inventory.connectors import ConfigInvalid, connector_class

            try:
                connector_class(kind).parse(config)
            except ConfigInvalid as exc:
                self.config_refused = True
                connector_form.attach_errors(self, kind, str(exc))
        return cleaned


class AssetFilterForm(forms.Form):
    # Longer is no name anyone searches for, and SQLite refuses a LIKE pattern of 50,000 bytes.
    q = forms.CharField(required=False, label="Search", max_length=200)
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *AssetKind.choices])
    tier = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any tier")] + [(str(t), f"Tier {t}") for t in range(4)],
    )
    team = forms.ChoiceField(required=False, choices=[])
    status = forms.ChoiceField(required=False, choices=[("", "Any status")] + [(lv.key, lv.label) for lv in Level])
    region = forms.ChoiceField(required=False, choices=[])
    sort = forms.ChoiceField(
        required=False,
        choices=[
            (k, k)
            for k in [
                "name",
                "-name",
                "kind",
                "-kind",
                "tier",
                "-tier",
                "team",
                "-team",
                "region",
                "-region",
                "status",
                "-status",
                "backup",
                "-backup",
            ]
        ],
    )

    def __init__(self, *args: Any, teams: list[str], regions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any team"), *((t, t) for t in teams)]  # type: ignore[attr-defined]
        self.fields["region"].choices = [("", "Any region"), *((r, r) for r in regions)]  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="YAML (.yaml, .yml) or CSV (.csv); see docs/inventory.md for the format.")


class PlanForm(forms.Form):
    """A recovery plan written as YAML: name, description, assets and steps (see docs/runs.md)."""

    definition = forms.CharField(widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "false", "class": "code"}))

    @staticmethod
    def dump(data: dict[str, Any]) -> str:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    def clean_definition(self) -> dict[str, Any]:
        try:
            data = load_plain_yaml(self.cleaned_data["definition"])
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"This is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise forms.ValidationError("A plan is a mapping with name, assets and steps.")
        return data


class DependencyForm(forms.Form):
    """Add an edge from the asset page: the other asset is either upstream or downstream of this one."""

    direction = forms.ChoiceField(
        choices=[("upstream", "needs"), ("downstream", "is needed by")],
        initial="upstream",
        label="This asset",
    )
    other = forms.ModelChoiceField(queryset=Asset.objects.none(), label="Asset")
    note = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, asset: Asset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset = asset
        self.fields["other"].queryset = Asset.objects.exclude(pk=asset.pk).order_by("name")  # type: ignore[attr-defined]
        self.fields["other"].label_from_instance = lambda a: a.name  # type: ignore[attr-defined]

    def edge(self) -> tuple[Asset, Asset]:
        """(upstream, downstream) for the cleaned data."""
        other: Asset = self.cleaned_data["other"]
        if self.cleaned_data["direction"] == "upstream":
            return other, self.asset
        return self.asset, other


class VaultForm(forms.ModelForm[Vault]):
    config = forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Filesystem: {"path": "/srv/vault"} (relative paths live under the var folder). '
        'S3: {"bucket": "name", "prefix": "dr/", "endpoint_url": "…"}. Never secrets: '
        "credentials come from the environment.",
    )

    class Meta:
        model = Vault
        fields = list(VAULT_FIELDS)
