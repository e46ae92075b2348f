from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import path

from dr_portal.accounts import passwords, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.mfa, name="mfa"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
    path("password/", login_required(passwords.PasswordChangeView.as_view()), name="password-change"),
    path("password/reset/", passwords.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/sent/", passwords.PasswordResetSentView.as_view(), name="password-reset-sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("organisation/", views.organisation, name="organisation"),
    path("organisation/processors/", views.processor_create_view, name="processor-create"),
    path(
        "organisation/processors/<uuid:relationship_id>/delete/",
        views.processor_delete_view,
        name="processor-delete",
    ),
]
