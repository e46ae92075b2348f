"""An asset's full history of recovery points and backups, paged, and for an MLflow registry the
alias history its points recorded ("which version had alias X at time T")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dr_portal.accounts.contents import contents_visible
from dr_portal.http import AuthenticatedHttpRequest
from inventory.access import access_asset_by_id
from inventory.aliases import alias_context
from inventory.history import asset_backup_history, asset_point_history, history_page


@login_required
@require_GET
def asset_history(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id)
    points = history_page(asset_point_history(asset=asset), request.GET.get("points"))
    backups = history_page(asset_backup_history(asset=asset), request.GET.get("backups"))
    context = {"asset": asset, "points": points, "backups": backups}
    if contents_visible():
        context["alias"] = alias_context(asset, request.GET)
    return render(request, "inventory/asset_history.html", context)
