from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dr_portal.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from dr_portal.ops import signals  # noqa: F401 - connects worker signals
