from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from dr_portal.accounts.models import ApiToken, User
from dr_portal.accounts.passwords import send_reset_links


@admin.register(User)
class PersonAdmin(UserAdmin[User]):
    list_display = ("username", "get_full_name", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("DR Portal", {"fields": ("role",)}))
    actions = ["send_password_reset"]

    @admin.action(description="Send a password reset link by email")
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        send_reset_links(request, list(queryset))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "mfa_verified", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("public_id", "user", "prefix", "digest", "mfa_verified", "created_at", "last_used_at")
    list_filter = ("mfa_verified",)

    def has_add_permission(self, request: object) -> bool:
        return False
