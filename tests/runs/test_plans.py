"""Recovery plans: groups derived from `after`, refusals with clear messages, the default plan."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from inventory.models import PlanStep
from inventory.services import dependency_add, plan_default_data, plan_save, plan_to_data
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db


def _messages(error: ValidationError) -> str:
    return " ".join(m for ms in error.message_dict.values() for m in ms)


def test_groups_follow_after_and_independent_steps_share_a_group() -> None:
    a, b = AssetFactory.create(name="a"), AssetFactory.create(name="b")
    plan = plan_save(
        data={
            "name": "two",
            "steps": [
                {"key": "restore-a", "kind": "restore", "asset": "a"},
                {"key": "restore-b", "kind": "restore", "asset": "b"},
                {"key": "verify-a", "kind": "verify", "asset": "a", "after": ["restore-a"]},
                {"key": "tell", "kind": "notify", "message": "done", "after": ["verify-a", "restore-b"]},
            ],
        },
        by=None,
    )
    groups = dict(plan.steps.values_list("key", "group"))
    assert groups == {"restore-a": 1, "restore-b": 1, "verify-a": 2, "tell": 3}
    assert set(plan.assets.all()) == {a, b}
    assert plan_to_data(plan)["steps"][2]["after"] == ["restore-a"]


def test_plan_with_a_cycle_is_refused_naming_the_cycle() -> None:
    AssetFactory.create(name="a")
    with pytest.raises(ValidationError) as refused:
        plan_save(
            data={
                "name": "loop",
                "steps": [
                    {"key": "one", "kind": "restore", "asset": "a", "after": ["three"]},
                    {"key": "two", "kind": "verify", "asset": "a", "after": ["one"]},
                    {"key": "three", "kind": "notify", "message": "x", "after": ["two"]},
                ],
            },
            by=None,
        )
    assert "circle: one → three → two → one" in _messages(refused.value)
    assert not PlanStep.objects.exists()


def test_plan_naming_an_unknown_asset_or_step_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        plan_save(
            data={
                "name": "ghost",
                "steps": [
                    {"key": "r", "kind": "restore", "asset": "no-such-asset"},
                    {"key": "v", "kind": "verify", "asset": "no-such-asset", "after": ["nope"]},
                ],
            },
            by=None,
        )
    text = _messages(refused.value)
    assert "unknown asset 'no-such-asset'" in text and "waits for 'nope'" in text


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"key": "x", "kind": "shell", "command": "rm -rf /"}, "unknown kind 'shell'"),
        ({"key": "x", "kind": "restore", "asset": "a", "command": "ls"}, "unknown field 'command'"),
        ({"key": "x", "kind": "smoke", "asset": "a", "check": "os.system"}, "no check named 'os.system'"),
        ({"key": "x", "kind": "smoke", "url": "file:///etc/passwd"}, "must start with http"),
        ({"key": "x", "kind": "failover", "asset": "a"}, "no alternate region"),
        ({"key": "x", "kind": "manual"}, "needs instructions"),
        ({"key": "x", "kind": "wait"}, "exactly one of seconds"),
    ],
)
def test_steps_are_a_closed_list_of_kinds_with_fixed_parameters(step: dict[str, object], message: str) -> None:
    AssetFactory.create(name="a")
    with pytest.raises(ValidationError) as refused:
        plan_save(data={"name": "bad", "steps": [step]}, by=None)
    assert message in _messages(refused.value)


def test_failover_always_needs_approval_with_at_least_the_policy_quorum() -> None:
    AssetFactory.create(name="ep", alternate_region="us-east-1", policy=RecoveryPolicyFactory.create(failover_quorum=2))
    plan = plan_save(
        data={"name": "fo", "steps": [{"key": "fo", "kind": "failover", "asset": "ep", "approval": {"quorum": 1}}]},
        by=None,
    )
    step = plan.steps.get()
    assert step.requires_approval and step.approval_role == "oncall_engineer" and step.approval_quorum == 2


def test_default_plan_restores_upstream_first_and_fails_over_what_can() -> None:
    store = AssetFactory.create(name="features")
    model = AssetFactory.create(name="model")
    endpoint = AssetFactory.create(name="endpoint", alternate_region="eu-central-1")
    dependency_add(upstream=store, downstream=model, by=None)
    dependency_add(upstream=model, downstream=endpoint, by=None)
    plan = plan_save(data=plan_default_data(assets=[endpoint, model, store]), by=None)
    groups = dict(plan.steps.values_list("key", "group"))
    assert groups["restore-features"] < groups["verify-features"] < groups["restore-model"] < groups["restore-endpoint"]
    assert groups["failover-endpoint"] > groups["verify-endpoint"]
    assert plan.steps.get(key="failover-endpoint").requires_approval


def test_saving_again_replaces_steps_and_bumps_the_version() -> None:
    AssetFactory.create(name="a")
    plan = plan_save(data={"name": "p", "steps": [{"key": "r", "kind": "restore", "asset": "a"}]}, by=None)
    plan = plan_save(data={"name": "p", "steps": [{"key": "v", "kind": "verify", "asset": "a"}]}, by=None, plan=plan)
    assert plan.version == 2 and list(plan.steps.values_list("key", flat=True)) == ["v"]
