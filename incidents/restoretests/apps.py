from __future__ import annotations

from django.apps import AppConfig


class RestoreTestsConfig(AppConfig):
    """Scheduled restore tests; a sub-app of incidents with its own migrations."""

    name = "incidents.restoretests"
    label = "restoretests"
    verbose_name = "Restore tests"
