"""Everything under /api/v1/; each app adds its own routes here."""

from __future__ import annotations

from django.urls import include, path

from dr_portal.accounts import api as accounts_api

app_name = "api"

urlpatterns = [
    path("auth/token/", accounts_api.token_create, name="auth-token"),
    path("auth/token/current/", accounts_api.token_revoke_current, name="auth-token-current"),
    path("me/", accounts_api.me, name="me"),
    path("", include("dr_portal.audit.api")),
]
