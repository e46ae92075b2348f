"""The `make run` demo gets on-call set-up: a schedule per asset team with a rotation, SEV1/SEV2 policies."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from dr_portal.audit.models import AuditEvent
from incidents.paging.models import EscalationPolicy, Schedule
from incidents.paging.schedules import oncall_at, policy_problems
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_each_asset_team_gets_a_schedule_with_someone_on_call_and_both_policies_reach_them() -> None:
    call_command("demo_setup")
    AssetFactory.create(name="fraud-model", owner_team="risk-ml", tier=1)
    AssetFactory.create(name="churn-model", owner_team="growth-ml", tier=2)
    AssetFactory.create(name="churn-features", owner_team="growth-ml", tier=3)
    call_command("paging_demo")
    schedules = {s.team: s for s in Schedule.objects.prefetch_related("layers", "overrides__user")}
    assert set(schedules) == {"risk-ml", "growth-ml"}
    for schedule in schedules.values():
        assert schedule.layers.count() == 1
        person = oncall_at(schedule=schedule)
        assert person is not None and person.username in {"oncall", "oncall2", "commander"}
    assert set(EscalationPolicy.objects.values_list("severity", flat=True)) == {"SEV1", "SEV2"}
    for policy in EscalationPolicy.objects.all():
        assert policy_problems(policy=policy) == []
    assert EscalationPolicy.objects.get(severity="SEV1").levels.get(position=1).schedule == schedules["risk-ml"]
    assert AuditEvent.objects.filter(action="paging.schedule_added").count() == 2
    call_command("paging_demo")  # a second run changes nothing
    assert Schedule.objects.count() == 2 and EscalationPolicy.objects.count() == 2


def test_without_the_demo_people_and_estate_it_says_what_to_run_first() -> None:
    with pytest.raises(CommandError, match="Run demo_setup and inventory_demo first"):
        call_command("paging_demo")
