"""Run pages: the list, start (with a dry run), the live run page, and the actions on steps."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dr_portal.accounts.access import Perm, can
from dr_portal.http import AuthenticatedHttpRequest
from incidents.runs.access import access_run_by_id, access_runs, access_step_by_id
from incidents.runs.certificate.models import RunCertificate
from incidents.runs.certificate.selectors import run_certificate
from incidents.runs.forms import DecisionForm, ReasonForm, RunForm
from incidents.runs.models import RecoveryRun
from incidents.runs.selectors import (
    approvals_pending,
    plan_covering,
    run_dry_run,
    run_page,
    run_progress,
    run_queue_place,
    run_steps,
)
from incidents.runs.services import (
    RunRefused,
    run_cancel,
    run_start,
    step_approve,
    step_mark_done,
    step_reject,
    step_retry,
    step_skip,
)


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_runs(request.user)
    before = request.GET.get("before", "")
    page = run_page(before=before)
    context = {
        "runs": page.runs,
        "older": page.older,
        "paged": bool(before),
        "can_start": can(request.user, Perm.COMMAND_INCIDENTS),
    }
    return render(request, "runs/index.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET with a plan (a link from an incident or plan) or POST with ``dry_run``: the dry run. POST: start the run.

    The dry run's button and the preview on change post the form without starting anything, so the
    CSRF token never lands in a URL (history, proxy and server logs)."""
    access_runs(request.user, for_write=True)
    # A link from an incident or a plan pre-selects; the dry run needs at least the plan.
    bound: QueryDict | None = (
        request.POST if request.method == "POST" else (request.GET if "plan" in request.GET else None)
    )
    if request.method == "GET" and bound is None and request.GET.get("incident"):
        # From an incident or drill: the one plan that covers all its assets is chosen, dry run and all.
        only = plan_covering(incident_id=request.GET["incident"])
        if only is not None:
            bound = request.GET.copy()
            bound["plan"] = str(only.public_id)
    form = RunForm(bound, initial=request.GET.dict())
    preview, error = None, ""
    valid = form.is_valid()
    if bound is not None and request.method == "GET" and not request.GET.get("incident"):
        # A plan's "Dry run / start" link chose the plan, not yet the incident: not a mistake to show.
        form.errors.pop("incident", None)
    if valid:
        data = form.cleaned_data
        if request.method == "POST" and "dry_run" not in request.POST:
            try:
                run = run_start(
                    plan=data["plan"],
                    mode=data["mode"],
                    by=request.user,
                    incident=data["incident"],
                    outage_started_at=data["outage_started_at"],
                )
            except RunRefused as refused:
                error = str(refused)
            else:
                return redirect("runs:detail", run_id=run.public_id)
    # The dry run needs only the plan and the mode: it shows before the incident is chosen.
    chosen = form.cleaned_data if bound is not None else {}
    if chosen.get("plan") and chosen.get("mode"):
        preview = run_dry_run(plan=chosen["plan"], mode=chosen["mode"])
    context = {"form": form, "preview": preview, "error": error}
    return render(request, "runs/new.html#preview" if request.htmx else "runs/new.html", context)


def _live_context(request: AuthenticatedHttpRequest, run: RecoveryRun) -> dict[str, Any]:
    steps = run_steps(run=run)
    return {
        "run": run,
        "steps": steps,
        "progress": run_progress(steps=steps),
        "queue": run_queue_place(run=run),
        "can_command": can(request.user, Perm.COMMAND_INCIDENTS),
        "can_respond": can(request.user, Perm.RESPOND_INCIDENTS),
        "polling": run.is_active or (run.finished_at is not None and run.cleaned_at is None),
        "certificate": run_certificate(run=run),
    }


@login_required
@require_GET
def certificate_download(request: AuthenticatedHttpRequest, run_id: str) -> HttpResponse:
    """The signed certificate file, byte for byte as issued (verify it with manage.py certificate_verify)."""
    run = access_run_by_id(request.user, run_id)
    cert = RunCertificate.objects.filter(run=run).first()
    if cert is None:
        raise Http404("This run has no certificate yet.")
    response = HttpResponse(cert.document, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="certificate-{run.reference}.json"'
    return response


@login_required
@require_GET
def detail(request: AuthenticatedHttpRequest, run_id: str) -> HttpResponse:
    run = access_run_by_id(request.user, run_id)
    template = "runs/detail.html#live" if request.htmx else "runs/detail.html"
    return render(request, template, _live_context(request, run))


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: AuthenticatedHttpRequest, run_id: str) -> HttpResponse:
    """GET: ask why. POST: cancel; running steps stop at their next checkpoint."""
    run = access_run_by_id(request.user, run_id, for_write=True)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run_cancel(run=run, by=request.user, reason=form.cleaned_data["reason"])
        except RunRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Cancelled; running steps stop at their next checkpoint.")
            return redirect("runs:detail", run_id=run.public_id)
    return render(request, "runs/cancel.html", {"run": run, "form": form})


@login_required
@require_POST
def step_retry_view(request: AuthenticatedHttpRequest, step_id: str) -> HttpResponse:
    step = access_step_by_id(request.user, step_id, perm=Perm.COMMAND_INCIDENTS)
    try:
        step_retry(step=step, by=request.user)
    except RunRefused as refused:
        messages.error(request, str(refused))
    if request.htmx:
        return render(request, "runs/detail.html#live", _live_context(request, step.run))
    return redirect("runs:detail", run_id=step.run.public_id)


@login_required
@require_http_methods(["GET", "POST"])
def step_reason(request: AuthenticatedHttpRequest, step_id: str, action: str) -> HttpResponse:
    """Skip a step (commander) or mark a manual step done (responder); both need a few words."""
    perm = Perm.COMMAND_INCIDENTS if action == "skip" else Perm.RESPOND_INCIDENTS
    step = access_step_by_id(request.user, step_id, perm=perm)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if action == "skip":
                step_skip(step=step, by=request.user, reason=form.cleaned_data["reason"])
            else:
                step_mark_done(step=step, by=request.user, note=form.cleaned_data["reason"])
        except RunRefused as refused:
            form.add_error(None, str(refused))
        else:
            return redirect("runs:detail", run_id=step.run.public_id)
    return render(request, "runs/step_form.html", {"step": step, "form": form, "action": action})


@login_required
@require_POST
def step_decide(request: AuthenticatedHttpRequest, step_id: str) -> HttpResponse:
    """Approve or reject a step from the approvals page (MFA demanded by the access layer)."""
    step = access_step_by_id(request.user, step_id, perm=Perm.APPROVE_STEPS)
    form = DecisionForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose approve or reject and write a comment."
    else:
        decide = step_approve if form.cleaned_data["decision"] == "approve" else step_reject
        try:
            decided = decide(step=step, by=request.user, comment=form.cleaned_data["comment"])
        except RunRefused as refused:
            error = str(refused)
        else:
            if decided.state == "expired":
                error = "The request for approval expired; the step must be retried to ask again."
    if request.htmx:
        context = {"items": approvals_pending(user=request.user), "error": error, "error_step": step.public_id}
        return render(request, "incidents/approvals.html#list", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Recorded your decision on {step.title}.")
    return redirect("incidents:approvals")
