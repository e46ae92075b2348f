from __future__ import annotations

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Notifications register and report sign-offs; a sub-app of incidents with its own migrations."""

    name = "incidents.compliance"
    label = "compliance"
    verbose_name = "Breach notifications and sign-offs"
