"""Load demo on-call set-up: a schedule per team that owns demo assets, each with a weekly rotation, an
override, and SEV1/SEV2 escalation policies, so the On call page shows who would be paged.

Safe to run again: it does nothing once any schedule exists. Needs the people from `demo_setup` and
the estate from `inventory_demo`. Goes through the paging services, so every step is on the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.paging.models import Schedule
from incidents.paging.schedules import layer_add, level_add, override_add, policy_add, schedule_add
from inventory.models import Asset


def _last_monday_9am(now: datetime) -> datetime:
    monday = (now - timedelta(days=now.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    return monday if monday <= now else monday - timedelta(days=7)


class Command(BaseCommand):
    help = "Create demo on-call schedules (one per asset team) and SEV1/SEV2 escalation policies if none exist."

    def handle(self, *args: Any, **options: Any) -> None:
        if Schedule.objects.exists():
            self.stdout.write("Demo on-call schedules already exist.")
            return
        people = {u.username: u for u in User.objects.filter(username__in=["commander", "oncall", "oncall2"])}
        teams = list(
            Asset.objects.exclude(owner_team="").order_by("tier", "owner_team").values_list("owner_team", flat=True)
        )
        teams = list(dict.fromkeys(teams))  # most critical team first, each once
        if len(people) < 3 or not teams:
            raise CommandError("Run demo_setup and inventory_demo first.")
        now = timezone.now()
        start = _last_monday_9am(now)
        pair = [people["oncall"].pk, people["oncall2"].pk]
        schedules: list[Schedule] = []
        for n, team in enumerate(teams):
            schedule = schedule_add(team=team, name=f"{team} on call")
            members = pair if n % 2 == 0 else pair[::-1]
            layer_add(schedule=schedule, name="weekly", members=members, starts_at=start, shift_hours=168)
            schedules.append(schedule)
        tonight = now.replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=1)
        override_add(
            schedule=schedules[0], user=people["commander"], starts_at=tonight, ends_at=tonight + timedelta(hours=4)
        )
        sev1 = policy_add(severity="SEV1", repeat_minutes=5)
        level_add(policy=sev1, schedule=schedules[0], wait_minutes=10)
        level_add(policy=sev1, user=people["commander"], wait_minutes=10)
        sev2 = policy_add(severity="SEV2", repeat_minutes=15)
        level_add(policy=sev2, schedule=schedules[0], wait_minutes=30)
        level_add(policy=sev2, then_policy=sev1, wait_minutes=10)
        self.stdout.write(f"Demo on-call: {len(schedules)} team schedules, SEV1 and SEV2 escalation policies.")
