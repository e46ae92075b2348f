"""An asset form's connector configuration as one input per field of the chosen kind.

The form shows the fields of the kind it was rendered with (``config_kind``, hidden). Choosing
another kind swaps them in at once (htmx; without JavaScript a "Show its fields" button does the
same); a Save with a kind whose fields were never shown saves nothing and asks for them.
Errors are put on the field they concern; secrets are references
(``env:NAME`` / ``file:/path``) and shown as such, never as values.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from inventory.connectors.config import TEXT_MAX
from inventory.models import URI_CONNECTORS
from inventory.models.uri_sources import S3_OWN_FIELDS

PREFIX = "config_"
ACRONYMS = {"uri": "URI", "url": "URL", "ttl": "TTL", "id": "ID"}
NAMES = {
    "db": "Logical database",
    "drill_db": "Drill database",
    "dbname": "Database name",
    "top_k": "Results per query (top k)",
    "min_overlap": "Minimum overlap",
}


def _form_field(spec: dict[str, Any]) -> forms.Field:
    required = bool(spec["required"])
    words = " ".join(ACRONYMS.get(word, word) for word in spec["name"].split("_"))
    label = NAMES.get(spec["name"]) or words[:1].upper() + words[1:]
    help_text = spec["help"]
    if spec["type"] == "boolean":
        return forms.BooleanField(label=label, required=False, help_text=help_text)
    low, high = spec.get("minimum"), spec.get("maximum")
    if spec["type"] == "integer":
        return forms.IntegerField(label=label, required=required, help_text=help_text, min_value=low, max_value=high)
    if spec["type"] == "number":
        return forms.FloatField(label=label, required=required, help_text=help_text, min_value=low, max_value=high)
    if spec["type"] == "list":
        return forms.CharField(
            label=label,
            required=required,
            help_text=f"{help_text} One per line.",
            widget=forms.Textarea(attrs={"rows": 2}),
        )
    if spec["type"] == "object":
        return forms.JSONField(label=label, required=required, help_text=help_text)
    attrs = {"placeholder": "env:NAME or file:/path", "autocomplete": "off"} if spec["secret"] else {}
    if spec["secret"]:
        help_text = f"{help_text} A reference (env:NAME or file:/absolute/path), never the secret itself."
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        max_length=spec.get("max_length", TEXT_MAX),
        widget=forms.TextInput(attrs=attrs),
    )


def kind_specs(kind: str) -> list[dict[str, Any]]:
    from inventory.connectors import ConfigInvalid, kind_fields

    if not kind or kind == "filesystem":
        return []  # the path is the source URI
    try:
        specs = kind_fields(kind)
    except ConfigInvalid:
        return []
    if kind in URI_CONNECTORS:  # an S3 prefix: the bucket and prefix are the source URI, the rest is asked
        return [spec for spec in specs if spec["name"] in S3_OWN_FIELDS]
    return specs


def add_config_fields(form: forms.BaseForm, kind: str, config: dict[str, Any]) -> list[str]:
    """Add one input per field of ``kind`` (initial values from ``config``); returns their names."""
    names = []
    for spec in kind_specs(kind):
        name = PREFIX + spec["name"]
        field = _form_field(spec)
        value = config.get(spec["name"], spec["default"])
        if spec["type"] == "list" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        field.initial = value
        form.fields[name] = field
        names.append(name)
    form.fields["config_kind"] = forms.CharField(widget=forms.HiddenInput, required=False, initial=kind)
    return names


def config_from(form: forms.BaseForm, kind: str) -> dict[str, Any]:
    """The configuration the per-field inputs give (empty optional inputs are left out)."""
    config: dict[str, Any] = {}
    for spec in kind_specs(kind):
        value = form.cleaned_data.get(PREFIX + spec["name"])
        if spec["type"] == "list":
            value = [line.strip() for line in str(value or "").splitlines() if line.strip()]
            if not value and not spec["required"]:
                continue
        elif spec["type"] == "boolean":
            if not value and spec["default"] in (False, None):
                continue
        elif value in (None, ""):
            continue
        config[spec["name"]] = value
    return config


def derived_source_uri(kind: str, config: dict[str, Any]) -> str:
    """Where an application connector's data is, in one line, for an asset whose source URI was not asked for."""
    for name in ("path", "uri"):
        value = str(config.get(name) or "")
        if value.startswith("/"):
            return value
    if config.get("tracking_uri"):
        return str(config["tracking_uri"])[:500]
    host = str(config.get("host") or "localhost")
    port = f":{config['port']}" if config.get("port") else ""
    database = config.get("dbname") if config.get("dbname") is not None else config.get("db")
    return f"{kind}://{host}{port}/{database if database is not None else ''}"[:500]


def attach_errors(form: forms.BaseForm, kind: str, message: str) -> None:
    """Put a connector's complaint on the field it names ("port: expected ..."), else on the form."""
    specs = {spec["name"]: spec for spec in kind_specs(kind)}
    for name in sorted(specs, key=len, reverse=True):
        if message.startswith(f"{name}:") or f"the field {name} is required" in message:
            form.add_error(PREFIX + name, message.split(": ", 1)[-1] if message.startswith(name) else message)
            if specs[name]["secret"]:
                # What was typed may be a pasted secret: the page must not send it back.
                data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
                data[PREFIX + name] = ""
                form.data = data
            return
    form.add_error(None, message)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
