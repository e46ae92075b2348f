"""Admins name who holds the sign-off duties that no account role implies (security officer, DPO, legal)."""

from __future__ import annotations

from django.contrib import admin

from incidents.compliance.models import DutyHolder


@admin.register(DutyHolder)
class DutyHolderAdmin(admin.ModelAdmin[DutyHolder]):
    list_display = ("duty", "user", "assigned_by", "assigned_at")
    list_filter = ("duty",)
