"""Recovery plan pages: the list, one plan's steps, and editing a plan as YAML."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from dr_portal.accounts.access import Perm, can
from dr_portal.http import AuthenticatedHttpRequest
from inventory.access import access_inventory, access_plan_by_id
from inventory.forms import PlanForm
from inventory.models import Asset
from inventory.selectors import plan_counts, plan_list, plan_steps
from inventory.services import plan_default_data, plan_save, plan_to_data


@login_required
@require_GET
def plans(request: AuthenticatedHttpRequest) -> HttpResponse:
    """People's plans; ``?show=automatic`` lists the ones restore tests keep, which would drown them."""
    access_inventory(request.user)
    automatic = request.GET.get("show") == "automatic"
    written, kept = plan_counts()
    context = {
        "plans": plan_list(automatic=automatic),
        "automatic": automatic,
        "written_count": written,
        "automatic_count": kept,
        "can_manage": can(request.user, Perm.MANAGE_INVENTORY),
    }
    return render(request, "inventory/plans.html", context)


@login_required
@require_GET
def plan_detail(request: AuthenticatedHttpRequest, plan_id: str) -> HttpResponse:
    plan = access_plan_by_id(request.user, plan_id)
    context = {
        "plan": plan,
        "groups": plan_steps(plan=plan),
        "can_manage": can(request.user, Perm.MANAGE_INVENTORY),
        "can_start": can(request.user, Perm.COMMAND_INCIDENTS),
    }
    return render(request, "inventory/plan_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: AuthenticatedHttpRequest, plan_id: str | None = None) -> HttpResponse:
    """The plan as YAML. New plans start from the default plan of the assets in ?assets=a,b."""
    plan = access_plan_by_id(request.user, plan_id, for_write=True) if plan_id else None
    access_inventory(request.user, for_write=True)
    if plan is not None:
        initial = plan_to_data(plan)
    else:
        names = [n for n in request.GET.get("assets", "").split(",") if n.strip()]
        chosen = list(Asset.objects.filter(name__in=names))
        initial = plan_default_data(assets=chosen) if chosen else {"name": "", "assets": [], "steps": []}
    form = PlanForm(request.POST or None, initial={"definition": PlanForm.dump(initial)})
    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_save(data=form.cleaned_data["definition"], by=request.user, plan=plan)
        except ValidationError as invalid:
            # plan_save names "steps" or "name", which are not this form's fields: the YAML is one field.
            form.add_error("definition", invalid.messages)
        else:
            messages.success(request, f"Saved plan {plan.name} (version {plan.version}).")
            return redirect("inventory:plan", plan_id=plan.public_id)
    context = {"form": form, "plan": plan, "assets": Asset.objects.order_by("name").values_list("name", flat=True)}
    return render(request, "inventory/plan_form.html", context)
