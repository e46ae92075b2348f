"""Sign-in, sign-out, MFA enrolment and verification, API tokens, the organisation profile."""

from __future__ import annotations

from typing import Any

import segno
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from dr_portal.accounts.access import Perm, check, mfa_verified
from dr_portal.accounts.forms import LoginForm, OrganisationForm, OtpForm, RelationshipForm, TokenForm
from dr_portal.accounts.lockout import second_factor_proven
from dr_portal.accounts.models import ApiToken
from dr_portal.accounts.selectors import (
    organisation_profile,
    otp_refusal,
    processor_relationship_by_id,
    processor_relationships,
    token_list_for_user,
    user_confirmed_totp,
)
from dr_portal.accounts.services import (
    OrganisationRefused,
    organisation_update,
    processor_add,
    processor_remove,
    token_issue,
    token_revoke,
    totp_confirm,
    totp_device_for_enrolment,
)
from dr_portal.api_errors import API_PREFIX, error_body
from dr_portal.http import AuthenticatedHttpRequest


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        auth_login(self.request, user)
        device = second_factor_proven(self.request, user)
        if device is not None:
            otp_login(self.request, device)  # the code given with the password is the second factor
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = self.request.user
        if second_factor_proven(self.request, user) is not None:
            return url
        if user_has_device(user) and not mfa_verified(user):
            return reverse("accounts:mfa") + "?next=" + url
        return url


def locked_out(request: HttpRequest, response: HttpResponse | None, credentials: dict[str, Any] | None) -> HttpResponse:
    """django-axes calls this when a locked account (or address) tries to sign in; the API gets JSON."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    if request.path.startswith(API_PREFIX):
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        detail = f"Too many failed sign-ins; try again in {minutes} minutes."
        if not getattr(request, "dr_address_locked", False):
            detail += " An account with MFA can sign in now by sending its one-time code as 'otp'."
        locked = JsonResponse(error_body(429, "locked_out", detail), status=429)
        locked["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return locked
    attempt = AccessAttempt.objects.filter(username=username).order_by("-attempt_time").first()
    until = attempt.attempt_time + settings.AXES_COOLOFF_TIME if attempt else None
    address_locked = getattr(request, "dr_address_locked", False)
    context = {
        "username": username,
        "locked_until": until,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "address_locked": address_locked,
    }
    return render(request, "accounts/locked_out.html", context, status=429)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def mfa(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Verify the second factor, or enrol one when the person has none yet."""
    confirmed = user_confirmed_totp(user=request.user)
    enrolling = confirmed is None
    device = totp_device_for_enrolment(user=request.user) if confirmed is None else confirmed
    form = OtpForm(request.POST or None)
    allowed, why = device.verify_is_allowed()
    if request.method == "POST" and not allowed:
        form.is_valid()
        form.add_error(None, otp_refusal(why))
    elif request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        ok = totp_confirm(device=device, code=code) if enrolling else device.verify_token(code)
        if ok:
            otp_login(request, device)
            messages.success(request, "Second factor enrolled." if enrolling else "Second factor verified.")
            return redirect(_safe_next(request))
        form.add_error("code", "That code is wrong or has expired. Try the next one your app shows.")
    context: dict[str, Any] = {"form": form, "enrolling": enrolling, "next": _safe_next(request)}
    if enrolling:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#111")
        context["secret"] = device.config_url.split("secret=")[1].split("&")[0]
    return render(request, "accounts/mfa.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        verified = mfa_verified(request.user)
        issued = token_issue(user=request.user, name=form.cleaned_data["name"], mfa_verified=verified)
        form = TokenForm()
    context = {"form": form, "issued": issued, "tokens": token_list_for_user(user=request.user)}
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def token_revoke_view(request: AuthenticatedHttpRequest, token_id: str) -> HttpResponse:
    token = get_object_or_404(ApiToken, public_id=token_id, user=request.user)
    token_revoke(token=token)
    messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("accounts:tokens")


@login_required
@require_http_methods(["GET", "POST"])
def organisation(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Admins keep the organisation profile every compliance report prints."""
    check(request.user, Perm.MANAGE_ORGANISATION)
    profile = organisation_profile()
    form = OrganisationForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        organisation_update(changes=form.cleaned_data, by=request.user)
        messages.success(request, "Organisation profile saved.")
        return redirect("accounts:organisation")
    context = {
        "form": form,
        "profile": profile,
        "relationship_form": RelationshipForm(),
        "relationships": processor_relationships(),
    }
    return render(request, "accounts/organisation.html", context)


@login_required
@require_POST
def processor_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.MANAGE_ORGANISATION)
    form = RelationshipForm(request.POST)
    if form.is_valid():
        try:
            processor_add(by=request.user, **form.cleaned_data)
        except OrganisationRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{form.cleaned_data['name']} recorded.")
        return redirect("accounts:organisation")
    context = {
        "form": OrganisationForm(instance=organisation_profile()),
        "profile": organisation_profile(),
        "relationship_form": form,
        "relationships": processor_relationships(),
    }
    return render(request, "accounts/organisation.html", context, status=400)


@login_required
@require_POST
def processor_delete_view(request: AuthenticatedHttpRequest, relationship_id: str) -> HttpResponse:
    check(request.user, Perm.MANAGE_ORGANISATION)
    relationship = processor_relationship_by_id(relationship_id=relationship_id)
    if relationship is None:
        raise Http404
    try:
        processor_remove(relationship=relationship, by=request.user)
    except OrganisationRefused as exc:
        messages.error(request, exc.message)
    return redirect("accounts:organisation")
