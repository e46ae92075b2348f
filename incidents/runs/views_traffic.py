"""An asset's behaviour settings as a page: its traffic driver and its golden sets (also in the API)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dr_portal.accounts.access import Perm, can
from dr_portal.http import AuthenticatedHttpRequest
from incidents.runs.drivers.config import route_of
from incidents.runs.drivers.services import endpoint_route_set
from incidents.runs.forms_traffic import DriverForm, GoldenForm
from incidents.runs.golden.models import GoldenSet
from incidents.runs.golden.services import golden_set_save
from inventory.access import access_asset_by_id


@login_required
@require_http_methods(["GET", "POST"])
def asset_behaviour(request: AuthenticatedHttpRequest, asset_id: str) -> HttpResponse:
    asset = access_asset_by_id(request.user, asset_id, for_write=request.method == "POST")
    route = route_of(asset)
    driver_form = DriverForm(initial={"driver": route.driver, "config": route.config})
    golden_form = GoldenForm()
    if request.method == "POST":
        which = request.POST.get("form")
        try:
            if which == "golden":
                golden_form = GoldenForm(request.POST)
                if golden_form.is_valid():
                    golden_set_save(asset=asset, by=request.user, **golden_form.cleaned_data)
                    messages.success(request, f"Saved a golden set for {asset.name}.")
                    return redirect("runs:asset-behaviour", asset_id=asset.public_id)
            else:
                driver_form = DriverForm(request.POST)
                if driver_form.is_valid():
                    endpoint_route_set(asset=asset, by=request.user, **driver_form.cleaned_data)
                    messages.success(request, f"Saved the traffic driver of {asset.name}.")
                    return redirect("runs:asset-behaviour", asset_id=asset.public_id)
        except ValidationError as invalid:
            (golden_form if which == "golden" else driver_form).add_error(None, invalid)
    context = {
        "asset": asset,
        "route": route,
        "golden_sets": GoldenSet.objects.filter(asset=asset).order_by("-created_at"),
        "driver_form": driver_form,
        "golden_form": golden_form,
        "can_manage": can(request.user, Perm.MANAGE_INVENTORY),
    }
    return render(request, "runs/asset_behaviour.html", context)
