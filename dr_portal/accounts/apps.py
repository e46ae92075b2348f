from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dr_portal.accounts"
    label = "accounts"
    verbose_name = "People and access"

    def ready(self) -> None:
        from dr_portal.accounts import schema, signals  # noqa: F401 - registers the auth scheme and audit hooks
