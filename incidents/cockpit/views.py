"""Cockpit actions: decide an approval from the dashboard with one form (second factor included)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, has_role_perm, mfa_verified
from dr_portal.accounts.selectors import otp_refusal, user_confirmed_totp
from dr_portal.http import AuthenticatedHttpRequest
from incidents.cockpit.forms import DecideNowForm
from incidents.cockpit.needs_you import needs_you
from incidents.runs.access import access_step_by_id
from incidents.runs.services import RunRefused, step_approve, step_reject


def _prove_second_factor(request: AuthenticatedHttpRequest, code: str) -> str:
    """Verify `code` and mark the session verified; the reason when that fails, or ""."""
    if mfa_verified(request.user):
        return ""
    device = user_confirmed_totp(user=request.user)
    if device is None:
        return "You have no authenticator enrolled yet: set one up under your account first."
    if not code:
        return "Enter the six-digit code from your authenticator app."
    allowed, why = device.verify_is_allowed()
    if not allowed:
        return otp_refusal(why)
    if not device.verify_token(code):
        return "That code is wrong or has expired. Try the next one your app shows."
    otp_login(request, device)
    return ""


def _decide(request: AuthenticatedHttpRequest, step_id: str, form: DecideNowForm) -> str:
    if not form.is_valid():
        return form.first_error()
    error = _prove_second_factor(request, form.cleaned_data["code"])
    if error:
        return error
    step = access_step_by_id(request.user, step_id, perm=Perm.APPROVE_STEPS)
    decide = step_approve if form.cleaned_data["decision"] == "approve" else step_reject
    try:
        decided = decide(step=step, by=request.user, comment=form.cleaned_data["comment"])
    except RunRefused as refused:
        return str(refused)
    if decided.state == "expired":
        return "The request for approval expired; the step must be retried to ask again."
    return ""


@login_required
@require_POST
def decide_now(request: AuthenticatedHttpRequest, step_id: str) -> HttpResponse:
    """Approve or reject a waiting step from "Needs you now"; the code and the comment come together."""
    if not has_role_perm(request.user, Perm.APPROVE_STEPS):
        raise NotFoundOrForbidden
    form = DecideNowForm(request.POST)
    error = _decide(request, step_id, form)
    if request.htmx:
        context = {"needs": needs_you(user=request.user), "error": error, "error_step": str(step_id), "oob": True}
        return render(request, "dashboard.html#needs-you", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Decision recorded.")
    return redirect("dashboard")
