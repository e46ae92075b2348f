"""Inventory pages: assets, policies, vaults, readiness, import and export (plans: views_plans.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, can
from dr_portal.accounts.contents import contents_visible
from dr_portal.charts import Node, neighbour_graph
from dr_portal.http import AuthenticatedHttpRequest
from inventory.access import (
    access_asset_by_id,
    access_inventory,
    access_policy_by_id,
    access_vault_by_id,
)
from inventory.charts import backups_chart, rpo_chart
from inventory.connector_io import connector_summary
from inventory.forms import AssetFilterForm, AssetForm, DependencyForm, ImportForm, PolicyForm, VaultForm
from inventory.models import Asset
from inventory.porting import ImportFailed, export_yaml
from inventory.porting_stream import import_stream
from inventory.readiness import AssetReadiness, Level
from inventory.selectors import (
    AssetFilters,
    asset_backups,
    asset_dependencies,
    asset_dependency_by_id,
    asset_filter_choices,
    asset_list,
    asset_points,
    assets_in_order,
    backup_latest,
    policy_list,
    readiness_counts,
    readiness_nearest_rpo,
    readiness_rollups,
    readiness_worst,
    stored_readiness,
    vault_list,
)
from inventory.services import (
    BackupRefused,
    VerifyRefused,
    asset_create,
    asset_update,
    backup_request,
    dependency_add,
    dependency_remove,
    point_verify_request,
    policy_create,
    policy_update,
    vault_create,
    vault_update,
)
from inventory.verification.pages import readiness_extras, rollup_chart, score_lines
from inventory.verification.target_history import readiness_histories
from inventory.views_discover import DISCOVERABLE

PAGE_SIZE = 25
WORST_SHOWN = 30  # the readiness page's worst-first table and chart; the inventory list has the rest
TONE = {Level.OK: "ok", Level.RISK: "risk", Level.BREACH: "bad"}


def _filters(form: AssetFilterForm) -> AssetFilters:
    data = form.cleaned_data if form.is_valid() else {}
    sort = data.get("sort") or "name"
    return AssetFilters(
        kind=data.get("kind") or "",
        tier=data.get("tier"),
        team=data.get("team") or "",
        status=data.get("status") or "",
        region=data.get("region") or "",
        q=data.get("q") or "",
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        q_in_sources=contents_visible(),
    )


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user)
    form = AssetFilterForm(request.GET or None, **asset_filter_choices())
    filters = _filters(form)
    # Sort and page the ids alone, then fetch the page's rows (a deferred join: see assets_in_order).
    page = Paginator(asset_list(filters=filters).values_list("pk", flat=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = [stored_readiness(a) for a in assets_in_order(list(page.object_list))]  # type: ignore[misc]
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
        "can_manage": can(request.user, Perm.MANAGE_INVENTORY),
    }
    template = "inventory/index.html#results" if request.htmx else "inventory/index.html"
    return render(request, template, context)


def _graph(asset: Asset, readiness: AssetReadiness) -> Any:
    ups, downs = asset_dependencies(asset=asset)

    def node(row: Asset) -> Node:
        return Node(row.name, href=reverse("inventory:asset", args=[row.public_id]))

    centre = Node(asset.name, tone=TONE[readiness.level])
    graph = neighbour_graph(
        centre=centre,
        left=[node(e.upstream) for e in ups],
        right=[node(e.downstream) for e in downs],
        title=f"Dependencies of {asset.name}",
    )
    return graph, ups, downs


def _detail_context(request: AuthenticatedHttpRequest, asset: Asset, **extra: Any) -> dict[str, Any]:
    readiness = stored_readiness(asset)
    graph, ups, downs = _graph(asset, readiness)
    can_manage = can(request.user, Perm.MANAGE_INVENTORY)
    context = {
        "asset": asset,
        "readiness": readiness,
        "graph": graph,
        "upstreams": ups,
        "downstreams": downs,
        "points": asset_points(asset=asset),
        "backups": asset_backups(asset=asset),
        "backup": backup_latest(asset=asset),
        "can_backup": can(request.user, Perm.RUN_BACKUPS),
        "can_declare": can(request.user, Perm.RESPOND_INCIDENTS),
        "can_manage": can_manage,
        "discoverable": DISCOVERABLE,
        "dependency_form": DependencyForm(asset=asset) if can_manage else None,
        "scoreline": score_lines([asset])[0],
        "captured_by": connector_summary(asset, where=contents_visible()),
    }
    return context | extra


@login_required
@require_GET
def asset_detail(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id)
    return render(request, "inventory/asset_detail.html", _detail_context(request, asset))


@login_required
@require_POST
def asset_verify(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    """Verify now: queue a check of the newest good point in its vault."""
    asset = access_asset_by_id(request.user, asset_id, for_backup=True)
    try:
        point = point_verify_request(asset=asset, by=request.user)
    except VerifyRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"Verification of the point of {point.data_as_of:%Y-%m-%d %H:%M} UTC is queued; reload to see it."
        )
    return redirect("inventory:asset", asset_id=asset.public_id)


@login_required
@require_POST
def dependency_add_view(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id, for_write=True)
    form = DependencyForm(request.POST, asset=asset)
    if form.is_valid():
        upstream, downstream = form.edge()
        try:
            dependency_add(upstream=upstream, downstream=downstream, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as invalid:
            # The service names the cycle under "upstream"; here the field is the other asset.
            for message in invalid.messages:
                form.add_error("other", message)
        else:
            if not request.htmx:
                messages.success(request, f"{downstream.name} now depends on {upstream.name}.")
                return redirect("inventory:asset", asset_id=asset.public_id)
            form = DependencyForm(asset=asset)
    context = _detail_context(request, asset, dependency_form=form)
    if request.htmx:
        return render(request, "inventory/asset_detail.html#dependencies", context)
    return render(request, "inventory/asset_detail.html", context, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def dependency_remove_view(request: AuthenticatedHttpRequest, asset_id: str, dependency_id: int) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id, for_write=True)
    dependency = asset_dependency_by_id(asset=asset, dependency_id=dependency_id)
    if dependency is None:
        raise NotFoundOrForbidden
    dependency_remove(dependency=dependency, by=request.user)
    if request.htmx:
        return render(request, "inventory/asset_detail.html#dependencies", _detail_context(request, asset))
    messages.success(request, f"Removed {dependency.upstream.name} → {dependency.downstream.name}.")
    return redirect("inventory:asset", asset_id=asset.public_id)


@login_required
@require_http_methods(["GET", "POST"])
def asset_backup(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    """GET: the live backup panel (htmx polls it). POST: back up now."""
    asset = access_asset_by_id(request.user, asset_id, for_backup=request.method == "POST")
    error = ""
    if request.method == "POST":
        try:
            backup_request(asset=asset, by=request.user)
        except BackupRefused as refused:
            error = str(refused)
        if not request.htmx:
            if error:
                messages.error(request, error)
            return redirect("inventory:asset", asset_id=asset.public_id)
    backup = backup_latest(asset=asset)
    context = {"asset": asset, "backup": backup, "can_backup": can(request.user, Perm.RUN_BACKUPS), "error": error}
    response = render(request, "inventory/asset_detail.html#backup-panel", context)
    if request.method == "GET" and request.htmx and not (backup and backup.is_active):
        response["HX-Trigger"] = "backup-finished"  # the page refreshes its badge, readiness and points
    return response


@dataclass(frozen=True)
class _Editor:
    """How one catalogue entity is created and edited from its form page."""

    noun: str  # the update service's keyword for the row, and the template's name for it
    form: type[forms.ModelForm[Any]]
    create: Callable[..., Model]
    update: Callable[..., Model]
    template: str
    done: Callable[[Any], HttpResponse]  # where a saved row sends the browser


def _edit(request: AuthenticatedHttpRequest, editor: _Editor, instance: Model | None) -> HttpResponse:
    """The one create-or-edit page flow; `instance` has passed its for_write access check (None: new)."""
    if instance is None:
        access_inventory(request.user, for_write=True)
    form = editor.form(request.POST or None, instance=instance)
    if request.method == "POST" and "show_kind" in request.POST and hasattr(form, "redisplay"):
        form.redisplay()  # a kind was chosen: its fields, no errors, nothing saved
        template = f"{editor.template}#{editor.noun}_form" if request.htmx else editor.template
        return render(request, template, {"form": form, editor.noun: instance})
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form._meta.fields or ()}
        try:
            if instance is None:
                saved = editor.create(by=request.user, fields=fields)
            else:
                saved = editor.update(**{editor.noun: instance}, by=request.user, fields=fields)
        except ValidationError as invalid:
            form.add_error(None, invalid)
        else:
            messages.success(request, f"Saved {editor.noun} {saved.name}.")  # type: ignore[attr-defined]
            return editor.done(saved)
    return render(request, editor.template, {"form": form, editor.noun: instance})


_ASSET = _Editor(
    "asset",
    AssetForm,
    asset_create,
    asset_update,
    "inventory/asset_form.html",
    lambda asset: redirect("inventory:asset", asset_id=asset.public_id),
)
_POLICY = _Editor(
    "policy",
    PolicyForm,
    policy_create,
    policy_update,
    "inventory/policy_form.html",
    lambda _: redirect("inventory:policies"),
)
_VAULT = _Editor(
    "vault", VaultForm, vault_create, vault_update, "inventory/vault_form.html", lambda _: redirect("inventory:vaults")
)


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: AuthenticatedHttpRequest, asset_id: str | None = None) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id, for_write=True) if asset_id else None
    return _edit(request, _ASSET, asset)


@login_required
@require_GET
def policies(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user)
    context = {"policies": policy_list(), "can_manage": can(request.user, Perm.MANAGE_INVENTORY)}
    return render(request, "inventory/policies.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: AuthenticatedHttpRequest, policy_id: str | None = None) -> HttpResponse:
    policy = access_policy_by_id(request.user, policy_id, for_write=True) if policy_id else None
    return _edit(request, _POLICY, policy)


@login_required
@require_GET
def vaults(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user)
    context = {"vaults": vault_list(), "can_manage": can(request.user, Perm.MANAGE_INVENTORY)}
    return render(request, "inventory/vaults.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def vault_edit(request: AuthenticatedHttpRequest, vault_id: str | None = None) -> HttpResponse:
    vault = access_vault_by_id(request.user, vault_id, for_write=True) if vault_id else None
    return _edit(request, _VAULT, vault)


@login_required
@require_GET
def readiness(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user)
    counts = readiness_counts()
    worst = readiness_worst(limit=WORST_SHOWN)
    nearest = readiness_nearest_rpo(limit=WORST_SHOWN)
    tiers, teams, extras = readiness_rollups(by="tier"), readiness_rollups(by="team"), readiness_extras()
    candidates = list({r.asset.pk: r.asset for r in [*worst, *nearest]}.values())
    histories, history_error = readiness_histories(candidates, selected=request.GET.get("history", ""))
    context = {
        "histories": histories,
        "history_error": history_error,
        "counts": counts,
        "total": sum(counts.values()),
        "worst": worst,
        "worst_shown": WORST_SHOWN,
        "oldest": min((r.assessed_at for r in worst if r.assessed_at), default=None),
        "tiers": tiers,
        "teams": teams,
        "chart": rpo_chart(nearest),
        "chart_narrow": rpo_chart(nearest, narrow=True),
        "backups": backups_chart(css="chart chart-wide"),
        "backups_narrow": backups_chart(width=400, label_width=112, note_width=104, css="chart chart-narrow"),
        "can_manage": can(request.user, Perm.MANAGE_INVENTORY),
        "can_declare": can(request.user, Perm.RESPOND_INCIDENTS),
        **extras,
        "tier_chart": rollup_chart(tiers, extras["score_tiers"], by="tier"),
        "team_chart": rollup_chart(teams, extras["score_teams"], by="team"),
    }
    return render(request, "inventory/readiness.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user, for_write=True)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            summary = import_stream(name=upload.name or "upload", stream=upload, size=upload.size, by=request.user)
        except ImportFailed as failed:
            errors = failed.errors
        else:
            messages.success(request, f"Imported {summary}.")
            return redirect("inventory:index")
    return render(request, "inventory/import.html", {"form": form, "errors": errors})


@login_required
@require_GET
def export_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_inventory(request.user)
    response = HttpResponse(export_yaml(sources=contents_visible()), content_type="application/yaml")
    response["Content-Disposition"] = 'attachment; filename="inventory.yaml"'
    return response
