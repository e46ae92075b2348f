from __future__ import annotations

from django.apps import AppConfig


class VerificationConfig(AppConfig):
    """Restore evidence and readiness-score history; a sub-app of inventory with its own migrations."""

    name = "inventory.verification"
    label = "verification"
    verbose_name = "Continuous verification"

    def ready(self) -> None:
        from inventory.verification import metrics  # noqa: F401 - registers the score figures
