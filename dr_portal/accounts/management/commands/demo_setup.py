"""Create (or refresh) one demo person per role; safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from dr_portal.accounts.models import Role, User
from dr_portal.accounts.services import user_set_role

DEMO_PEOPLE: list[tuple[str, str, str, Role]] = [
    ("admin", "Ada", "Admin", Role.ADMIN),
    ("commander", "Chris", "Commander", Role.INCIDENT_COMMANDER),
    ("oncall", "Oli", "Oncall", Role.ONCALL_ENGINEER),
    ("oncall2", "Olga", "Oncall", Role.ONCALL_ENGINEER),
    ("compliance", "Cora", "Compliance", Role.COMPLIANCE_OFFICER),
    ("viewer", "Vic", "Viewer", Role.VIEWER),
]


class Command(BaseCommand):
    help = "Create the demo people (password from DEMO_PASSWORD) if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        created = []
        with transaction.atomic():
            for username, first, last, role in DEMO_PEOPLE:
                user, is_new = User.objects.get_or_create(
                    username=username,
                    defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
                )
                if is_new:
                    user.set_password(settings.DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                    created.append(username)
                if user.role != role or user.is_staff != (role == Role.ADMIN):
                    user_set_role(user=user, role=role)
        names = ", ".join(u for u, *_ in DEMO_PEOPLE)
        if created:
            self.stdout.write(f"Created demo people: {', '.join(created)}.")
        self.stdout.write(f"Demo people: {names}. Password: {settings.DEMO_PASSWORD} (set DEMO_PASSWORD to change).")
