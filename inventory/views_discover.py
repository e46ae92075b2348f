"""Discovery: a connector proposes assets found in a live system; a person confirms which to add.

Step one names the system (a connector kind and its fields, or an existing asset's to start
from) and asks the connector's ``discover()``. Step two lists the proposals, each with a
checkbox and its name, title, owning team and tier editable (team and tier read from the
system's tags where it labels them). Nothing is added until the person confirms; what they
add and what they leave out is audited. The proposals travel between the steps signed, so
the connector configuration a confirmed asset gets is the one discovery produced.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dr_portal.audit.services import audit_append
from dr_portal.http import AuthenticatedHttpRequest
from inventory import connector_form, discover_rows
from inventory.access import access_asset_by_id, access_inventory
from inventory.connectors import ConnectorError, Discovery, connector_class, get_connector
from inventory.connectors.base import DISCOVER_LIMIT, DISCOVER_TIMEOUT
from inventory.models import Asset, AssetKind
from inventory.paths import source_root_refusal
from inventory.services import asset_create

# Kinds whose connector can list what a system holds, and the asset kind a proposal becomes.
DISCOVERABLE = {
    "mlflow": AssetKind.MODEL,
    "postgres": AssetKind.DATASET,
    "sqlite": AssetKind.DATASET,
    "vector": AssetKind.VECTOR_INDEX,
    "redis": AssetKind.FEATURE_STORE,
}
# Fields a look may leave empty because each thing found may say them itself (a table's model).
OPTIONAL = {"vector": {"model_name": "Leave empty to use the model each table records in its metadata."}}
# Fields step one shows first; the others (settings the proposed assets get) are folded away.
PRIMARY = {
    "mlflow": ("tracking_uri", "token", "username", "password"),
    "postgres": ("dbname", "host", "port", "user", "password"),
    "sqlite": ("path",),
    "vector": ("uri", "model_name", "model_revision", "model_path"),
    "redis": ("host", "port", "db", "prefix", "username", "password"),
}
# Fields naming a local file or folder: a look reads only where a backup may read (SOURCE_ROOTS).
LOCAL = {"sqlite": "path", "vector": "uri"}
LIMIT = DISCOVER_LIMIT  # proposals one look lists
SALT = "inventory.discover"
MAX_AGE = 3600
TIERS = [(0, "0 — mission critical"), (1, "1 — business critical"), (2, "2 — important"), (3, "3 — best effort")]


class SourceForm(forms.Form):
    kind = forms.ChoiceField(
        label="System", choices=[(k, k) for k in DISCOVERABLE], help_text="The kind of system to look into."
    )
    region = forms.CharField(max_length=64, initial="eu-west-1", help_text="Region of the assets it proposes.")

    def __init__(self, *args: Any, kind: str, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from inventory.connectors import connector_class

        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k, connector_class(k).label or k) for k in DISCOVERABLE]
        field.initial = kind
        self.chosen_kind = kind
        self.kind_label = connector_class(kind).label or kind
        self.timeout = f"{DISCOVER_TIMEOUT:g}"
        connector_form.add_config_fields(self, kind, config)
        for name, help_text in OPTIONAL.get(kind, {}).items():
            optional = self.fields[connector_form.PREFIX + name]
            optional.required = False
            optional.help_text = f"{optional.help_text} {help_text}"

    def _config_fields(self, *, primary: bool) -> list[Any]:
        first = {connector_form.PREFIX + name for name in PRIMARY.get(self.chosen_kind, ())}
        return [
            field
            for field in self.visible_fields()
            if field.name.startswith(connector_form.PREFIX) and (field.name in first or field.field.required) == primary
        ]

    def primary_fields(self) -> list[Any]:
        """The system, its region, and the fields that name the system to look into."""
        return [self["kind"], self["region"], *self._config_fields(primary=True)]

    def more_fields(self) -> list[Any]:
        return self._config_fields(primary=False)

    def more_has_errors(self) -> bool:
        return any(field.errors for field in self.more_fields())

    def config(self) -> dict[str, Any]:
        """The configuration to look with (optional fields left empty are empty text)."""
        config = connector_form.config_from(self, self.chosen_kind)
        for name in OPTIONAL.get(self.chosen_kind, {}):
            config.setdefault(name, "")
        return config

    def refused_path(self, config: dict[str, Any]) -> bool:
        """A local path outside the folders backups may read is refused on its field."""
        name = LOCAL.get(self.chosen_kind)
        value = config.get(name or "")
        why = source_root_refusal(value) if name and isinstance(value, str) and value.startswith("/") else None
        if why:
            self.add_error(connector_form.PREFIX + str(name), f"{why} Discovery reads only where backups may read.")
        return bool(why)


def mark_known(kind: str, rows: list[dict[str, Any]]) -> None:
    """Say which proposals the inventory already holds: by name, or by an asset capturing the same thing."""
    taken = dict(Asset.objects.filter(name__in=[row["name"] for row in rows]).values_list("name", "public_id"))
    cls = connector_class(kind)
    mine: dict[int, Any] = {}
    for i, row in enumerate(rows):
        row["exists"] = str(taken[row["name"]]) if row["name"] in taken else ""
        try:
            mine[i] = cls(row["config"])
        except ConnectorError:
            continue
    for asset in Asset.objects.filter(connector=kind).order_by("name").only("name", "public_id", "connector_config"):
        try:
            theirs = cls(asset.connector_config)
        except ConnectorError:
            continue
        for i, row in enumerate(rows):
            proposed = mine.get(i)
            if row["covered_by"] or proposed is None or not theirs.covers(proposed.config):
                continue
            scope = cls.scope_field
            same = not scope or getattr(theirs.config, scope) == getattr(proposed.config, scope)
            row["covered_by"] = {"name": asset.name, "id": str(asset.public_id), "same": same}
    for row in rows:
        row["addable"] = not (row["exists"] or row["problem"] or (row["covered_by"] or {}).get("same"))


def _edited(row: dict[str, Any], post: Any, i: int) -> dict[str, Any]:
    tier = post.get(f"tier-{i}", "")
    return {
        **row,
        "name": post.get(f"name-{i}", row["name"]).strip(),
        "title": post.get(f"title-{i}", row["title"]).strip(),
        "team": post.get(f"team-{i}", row["team"]).strip(),
        "tier": int(tier) if tier in discover_rows.TIER_TEXTS else row["tier"],
        "checked": bool(post.get(f"add-{i}")),
        "policy": post.get(f"policy-{i}", discover_rows.TIER_POLICY),
    }


def _confirm(request: AuthenticatedHttpRequest, state: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Create the checked rows (all or none); returns the rows as edited and the problems, if any."""
    rows = [_edited(row, request.POST, i) for i, row in enumerate(state["rows"])]
    chosen = [row for row in rows if row["checked"]]
    if not chosen:
        return rows, ["Tick at least one proposal to add, or go back to the inventory."]
    problems = [f"{row['name']}: {row['problem']}" for row in chosen if row.get("problem")]
    problems += [  # typed into the row; no database text column holds a NUL (PostgreSQL refuses it)
        f"{row['name']!r}: the {what} may not hold a NUL character."
        for row in chosen
        for what in ("name", "title", "team")
        if "\x00" in row[what]
    ]
    problems += [
        f"{row['name']}: already captured by {row['covered_by']['name']}."
        for row in chosen
        if (row.get("covered_by") or {}).get("same")
    ]
    vault = request.POST.get("vault", "")
    chosen_with = []
    for row in chosen:
        policy, found_vault, missing = discover_rows.resolve(row, row["policy"], vault)
        problems += missing
        chosen_with.append((row, policy, found_vault))
    if problems:
        return rows, problems
    try:
        with transaction.atomic():
            for row, policy, found_vault in chosen_with:
                fields = {
                    "name": row["name"],
                    "title": row["title"],
                    "kind": row["kind"],
                    "owner_team": row["team"],
                    "tier": row["tier"],
                    "data_classes": ["none"],
                    "region": state["region"],
                    "environment": "production",
                    "source_uri": row["source_uri"],
                    "labels": row["labels"],
                    "connector": row["connector"],
                    "connector_config": row["config"],
                    "policy": policy,
                    "vault": found_vault,
                }
                try:
                    asset_create(by=request.user, fields=fields)
                except ValidationError as invalid:
                    problems += discover_rows.error_lines(row["name"], invalid.message_dict)
            if problems:
                raise ValidationError(problems)
            audit_append(
                action="asset.discovery_confirmed",
                actor=request.user,
                object_type="discovery",
                object_id=state["kind"],
                payload={
                    "connector": state["kind"],
                    "system": state["system"],
                    "added": [row["name"] for row in chosen],
                    "left_out": [row["name"] for row in rows if not row["checked"]],
                },
            )
    except ValidationError:
        return rows, problems
    return rows, []


def swap_kind(form: SourceForm, request: AuthenticatedHttpRequest, start: Asset | None) -> None:
    """Changing System fetches the page for that kind and swaps the form in place (htmx)."""
    url = reverse("inventory:discover") + (f"?from={start.public_id}" if start else "")
    form.fields["kind"].widget.attrs.update(
        {
            "hx-get": url,
            "hx-trigger": "change",
            "hx-target": "#discover",
            "hx-select": "#discover",
            "hx-swap": "outerHTML",
            "hx-push-url": "false",
            "hx-indicator": "#kind-busy",
            "hx-disabled-elt": "this",
            "aria-controls": "discover",
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def discover(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user, for_write=True)
    start = access_asset_by_id(request.user, request.GET["from"]) if request.GET.get("from") else None
    action = request.POST.get("action", "")
    if action == "confirm":
        try:
            state = signing.loads(request.POST.get("proposals", ""), salt=SALT, max_age=MAX_AGE)
        except signing.BadSignature:
            messages.error(request, "These proposals are too old or were changed; look into the system again.")
            return redirect("inventory:discover")
        rows, problems = _confirm(request, state)
        if not problems:
            added = [row["name"] for row in rows if row["checked"]]
            messages.success(request, f"Added {len(added)} asset{'s' if len(added) != 1 else ''}: {', '.join(added)}.")
            return redirect("inventory:index")
        shown = {
            "rows": rows,
            "problems": problems,
            "token": request.POST["proposals"],
            "state": state,
            "tiers": TIERS,
            "vault_chosen": request.POST.get("vault", ""),
            **discover_rows.choices(state["region"]),
        }
        return render(request, "inventory/discover.html", shown)

    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if kind not in DISCOVERABLE:
        kind = start.connector if start and start.connector in DISCOVERABLE else "mlflow"
    config = dict(start.connector_config or {}) if start and start.connector == kind else {}
    scope = connector_class(kind).scope_field
    config.pop(scope, None)  # the whole system: what the starting asset already covers is marked
    bound = action == "find" and request.POST.get("config_kind") == kind
    form = SourceForm(request.POST if bound else None, kind=kind, config=config)
    if start:
        form.fields["region"].initial = start.region
    swap_kind(form, request, start)
    switched = action == "find" and not bound  # no script: the System changed, its fields are new
    context: dict[str, Any] = {"form": form, "start": start, "rows": None, "tiers": TIERS, "switched": switched}
    if bound and form.is_valid():
        config = form.config()
        found: Discovery | None = None
        try:
            connector = get_connector(kind, config)
            if not form.refused_path(config):
                found = connector.discover(limit=LIMIT)
        except ConnectorError as exc:
            connector_form.attach_errors(form, kind, str(exc))
        if found is not None:
            rows = [discover_rows.proposal_row(p, kind=kind, asset_kind=DISCOVERABLE[kind]) for p in found.proposals]
            discover_rows.unique_names(rows)
            mark_known(kind, rows)
            for row in rows:
                row["checked"] = False
                row["policy"] = discover_rows.TIER_POLICY
            state = {
                "kind": kind,
                "system": connector.target_label(config),
                "region": form.cleaned_data["region"],
                "rows": rows,
                "bounded": [text for text in (found.bounded, *found.notes) if text],
            }
            context.update(rows=rows, state=state, token=signing.dumps(state, salt=SALT, compress=True))
            context.update(discover_rows.choices(state["region"]))
            if not context["tier_policies"]:  # no policy is named for a tier: none until a person chooses
                for row in rows:
                    row["policy"] = ""
            context["vault_chosen"] = context["vault_default"]
    return render(request, "inventory/discover.html", context)
