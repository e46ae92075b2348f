from __future__ import annotations

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory import audit_names, metrics  # noqa: F401 - metrics registers the readiness figures

        audit_names.register()
