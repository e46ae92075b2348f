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
from django.views.decorators.http import require_http_methods

from dr_portal.audit.services import audit_append
from dr_portal.http import AuthenticatedHttpRequest
from inventory import connector_form
from inventory.access import access_asset_by_id, access_inventory
from inventory.connectors import ConnectorError, Proposal, get_connector
from inventory.models import Asset, AssetKind
from inventory.services import asset_create

# Kinds whose connector can list what a system holds, and the asset kind a proposal becomes.
DISCOVERABLE = {"mlflow": AssetKind.MODEL, "postgres": AssetKind.DATASET, "sqlite": AssetKind.DATASET}
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
        connector_form.add_config_fields(self, kind, config)


def proposal_row(proposal: Proposal, *, kind: str, source_uri: str) -> dict[str, Any]:
    """A proposal as the editable row the person sees: team and tier from the system's labels where given."""
    tier = proposal.labels.get("tier", "")
    team = proposal.labels.get("team") or proposal.owner
    path = proposal.config.get("path")
    return {
        "name": proposal.name.lower()[:100],
        "title": (proposal.title or proposal.name)[:200],
        "team": team[:100],
        "tier": int(tier) if tier.isdigit() and int(tier) <= 3 else 2,
        "tier_labelled": tier.isdigit() and int(tier) <= 3,
        "team_labelled": bool(team),
        "kind": DISCOVERABLE[kind],
        "connector": kind,
        "config": proposal.config,
        "labels": {k: str(v) for k, v in proposal.labels.items()},
        "source_uri": path if isinstance(path, str) and path.startswith("/") else source_uri,
        "exists": Asset.objects.filter(name=proposal.name.lower()[:100]).exists(),
    }


def _edited(row: dict[str, Any], post: Any, i: int) -> dict[str, Any]:
    tier = post.get(f"tier-{i}", "")
    return {
        **row,
        "name": post.get(f"name-{i}", row["name"]).strip(),
        "title": post.get(f"title-{i}", row["title"]).strip(),
        "team": post.get(f"team-{i}", row["team"]).strip(),
        "tier": int(tier) if tier.isdigit() else row["tier"],
        "checked": bool(post.get(f"add-{i}")),
    }


def _confirm(request: AuthenticatedHttpRequest, state: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Create the checked rows (all or none); returns the rows as edited and the problems, if any."""
    rows = [_edited(row, request.POST, i) for i, row in enumerate(state["rows"])]
    chosen = [row for row in rows if row["checked"]]
    if not chosen:
        return rows, ["Tick at least one proposal to add, or go back to the inventory."]
    problems: list[str] = []
    try:
        with transaction.atomic():
            for row in chosen:
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
                }
                try:
                    asset_create(by=request.user, fields=fields)
                except ValidationError as invalid:
                    for field, errors in invalid.message_dict.items():
                        problems += [f"{row['name'] or '(no name)'}: {field}: {e}" for e in errors]
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
        }
        return render(request, "inventory/discover.html", shown)

    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if kind not in DISCOVERABLE:
        kind = start.connector if start and start.connector in DISCOVERABLE else "mlflow"
    config = dict(start.connector_config or {}) if start and start.connector == kind else {}
    bound = action == "find" and request.POST.get("config_kind") == kind
    form = SourceForm(request.POST if bound else None, kind=kind, config=config)
    if start:
        form.fields["region"].initial = start.region
    context: dict[str, Any] = {"form": form, "start": start, "rows": None, "tiers": TIERS}
    if bound and form.is_valid():
        config = connector_form.config_from(form, kind)
        try:
            connector = get_connector(kind, config)
            found = connector.discover()
        except ConnectorError as exc:
            connector_form.attach_errors(form, kind, str(exc))
        else:
            source_uri = start.source_uri if start else f"/discovered/{kind}"
            rows = [proposal_row(p, kind=kind, source_uri=source_uri) for p in found]
            for row in rows:
                row["checked"] = False
            state = {
                "kind": kind,
                "system": connector.target_label(config),
                "region": form.cleaned_data["region"],
                "rows": rows,
            }
            context.update(rows=rows, state=state, token=signing.dumps(state, salt=SALT, compress=True))
    return render(request, "inventory/discover.html", context)
