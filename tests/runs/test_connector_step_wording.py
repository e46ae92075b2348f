"""A connector step's failure line starts with the asset, whether it is retried or final.

A group's restore that failed for good read "fraud-model-group: Group member …", the same failure
while it was being retried read "Group member …", and "[Errno 111] Connection refused" was shown raw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incidents.runs.services.connector_steps import connector_restore
from inventory.models import Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.conftest import REDIS_PASSWORD
from tests.runs.conftest import backed_up, make_plan, start_run
from tests.workers import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def test_a_retried_group_member_failure_reads_like_the_final_one(
    tmp_path: Path, keys: Path, fs_vault: Vault, redis_port: int, commander: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    config = {
        "port": redis_port,
        "db": 5,
        "prefix": "wording:",
        "password": "env:DRP_TEST_REDIS_PASSWORD",
        "drill_db": 6,
    }
    policy = RecoveryPolicyFactory.create(name="policy-wording", rto_minutes=30, rpo_minutes=60)
    features = AssetFactory.create(
        name="fraud-features", source_uri=str(tmp_path / "u"), connector="redis", connector_config=config,
        vault=fs_vault, policy=policy,
    )  # fmt: skip
    group = AssetFactory.create(
        name="fraud-model-group", source_uri=str(tmp_path / "g"), connector="group",
        connector_config={"members": ["fraud-features"]}, vault=fs_vault, policy=policy,
    )  # fmt: skip
    backed_up(group)
    # The feature store's server moves away after the backup: its drill target is refused.
    features.connector_config = {**config, "port": free_port()}
    features.save(update_fields=["connector_config"])
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": "fraud-model-group"}])
    run = start_run(plan=plan, mode="drill", by=commander)
    step = run.steps.get(key="restore")
    outcome, _, code, reason = connector_restore(step, lambda done, total: True)
    assert (outcome, code) == ("retry", "connector_unreachable"), reason
    assert reason.startswith(
        "fraud-model-group: Group member fraud-features: Nothing is listening at the address given (connection refused)"
    ), reason
    assert "Detail: Redis at 127.0.0.1:" in reason
