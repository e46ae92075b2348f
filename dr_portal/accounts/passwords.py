"""Passwords: change your own, reset by email (asked for by you or by an admin).

Every path ends in accounts.services.user_password_set, which revokes the
person's API tokens; Django's session hash ends their other sessions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse_lazy

from dr_portal.accounts.models import User
from dr_portal.accounts.services import user_password_set
from dr_portal.audit.services import audit_append

FORM = "accounts/password_form.html"
MESSAGE = "accounts/password_message.html"
EMAIL = "accounts/password_reset_email.txt"
SUBJECT = "accounts/password_reset_subject.txt"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = FORM
    success_url = reverse_lazy("accounts:tokens")
    extra_context = {"title": "Change your password", "button": "Change password"}

    def form_valid(self, form: Any) -> HttpResponse:
        user = user_password_set(
            user=form.user, password=form.cleaned_data["new_password1"], by=form.user, via="change"
        )
        update_session_auth_hash(self.request, user)  # this session stays; the others end
        messages.success(self.request, "Password changed. Your API tokens and other sessions were revoked.")
        return HttpResponseRedirect(str(self.success_url))


class PasswordResetView(auth_views.PasswordResetView):
    template_name = FORM
    email_template_name = EMAIL
    subject_template_name = SUBJECT
    success_url = reverse_lazy("accounts:password-reset-sent")
    extra_context = {
        "title": "Reset your password",
        "intro": "Give the email address of your account; we send a link to choose a new password.",
        "button": "Send the link",
    }


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = MESSAGE
    extra_context = {
        "title": "Check your email",
        "message": "If an account uses that address, a link to choose a new password is on its way. "
        "It works once and expires.",
    }


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = FORM
    success_url = reverse_lazy("accounts:login")
    extra_context = {"title": "Choose a new password", "button": "Set password"}
    http_method_names = ["get", "post", "put", "head", "options"]

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Django's view answers a bad link before it looks at the method; refuse methods first.
        if (self.request.method or "").lower() not in self.http_method_names:
            return self.http_method_not_allowed(self.request)
        return super().dispatch(*args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        user_password_set(user=form.user, password=form.cleaned_data["new_password1"], by=form.user, via="reset")
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Password set. Sign in with it; your API tokens were revoked.")
        return HttpResponseRedirect(str(self.success_url))


def reset_email_send(*, request: HttpRequest, user: User, by: User) -> bool:
    """An admin sends `user` a reset link (the same email as the self-service one); False without an address."""
    if not user.email or not user.is_active:
        return False
    form = PasswordResetForm({"email": user.email})
    form.is_valid()
    form.save(
        request=request,
        use_https=request.is_secure(),
        email_template_name=EMAIL,
        subject_template_name=SUBJECT,
    )
    audit_append(action="person.password_reset_sent", actor=by, obj=user, payload={"username": user.username})
    return True


def send_reset_links(request: HttpRequest, users: list[User]) -> None:
    """Admin action body: tell the admin who got a link and who has no address."""
    sent = [
        u.username
        for u in users
        if isinstance(request.user, User) and reset_email_send(request=request, user=u, by=request.user)
    ]
    skipped = [u.username for u in users if u.username not in sent]
    if sent:
        messages.success(request, f"Reset links sent to {', '.join(sent)}.")
    if skipped:
        messages.warning(request, f"No link for {', '.join(skipped)}: no email address or account disabled.")
