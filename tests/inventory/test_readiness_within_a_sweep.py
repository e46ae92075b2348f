"""#12's done-when: the readiness shown after any change — a backup finishing, the newest point expiring,
a point ageing past its RPO — is correct within one sweep interval.

Time moves in steps of the beat's sweep interval; facts change through the services at some steps; after
each step's sweep the stored state (what pages, the API and /metrics read) must equal an assessment made
from the facts at that moment.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from inventory.models import Asset, ReadinessState, RecoveryPoint
from inventory.readiness import RISK_MARGIN, asset_readiness
from inventory.services.backups import backup_claim, backup_complete, backup_request
from inventory.services.expiry import point_expire
from inventory.services.readiness import readiness_sweep
from inventory.vault_io import BackupResult
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
_SCHEDULE: Any = settings.CELERY_BEAT_SCHEDULE["inventory.readiness_sweep"]["schedule"]
SWEEP = timedelta(seconds=float(_SCHEDULE))  # the beat's sweep interval


def _asset(name: str, *, rpo_minutes: int, age: timedelta, vault: Any) -> Asset:
    policy = RecoveryPolicyFactory.create(
        name=f"p-{name}", rpo_minutes=rpo_minutes, drill_cadence_days=365, worm_days=0, retention_days=1
    )
    asset = AssetFactory.create(
        name=name, policy=policy, vault=vault, policy_assigned_at=NOW - timedelta(days=1), last_drill_at=NOW
    )
    RecoveryPointFactory.create(asset=asset, vault=vault, data_as_of=NOW - age, immutable_until=None)
    return asset


def _shown(asset: Asset) -> tuple[int | None, list[tuple[str, int]]]:
    state = ReadinessState.objects.get(asset=asset)
    return state.level, sorted((c["name"], c["level"]) for c in state.checks)


def _fresh(asset: Asset) -> tuple[int, list[tuple[str, int]]]:
    fresh = asset_readiness(asset=Asset.objects.get(pk=asset.pk))
    return int(fresh.level), sorted((c.name, int(c.level)) for c in fresh.checks)


def _rpo_from_the_history(asset: Asset, now: datetime) -> int:
    """The RPO check worked out here from the points themselves, not from any pointer the product keeps."""
    newest = RecoveryPoint.objects.filter(asset=asset, status="ok").order_by("-data_as_of").first()
    assert newest is not None and asset.policy is not None
    used = (now - newest.data_as_of) / timedelta(minutes=asset.policy.rpo_minutes)
    return 2 if used > 1 else 1 if used > 1 - RISK_MARGIN else 0


def _finish_a_backup(asset: Asset) -> None:
    backup = backup_claim(backup_id=backup_request(asset=asset, by=None).pk)
    assert backup is not None
    now = timezone.now()
    result = BackupResult(
        point_id=uuid.uuid4(),
        data_as_of=now,
        size_bytes=10,
        file_count=1,
        manifest={"format": 2, "files": []},
        manifest_sha256="0" * 64,
        key_id="test",
        immutable_until=None,
        verified_at=now,
    )
    backup_complete(backup=backup, result=result)


def test_what_is_shown_equals_the_facts_after_every_sweep_interval(
    keys: Path, fs_vault: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert timedelta(minutes=1) >= SWEEP
    with time_machine.travel(NOW, tick=False):
        fast = _asset("fast", rpo_minutes=15, age=timedelta(minutes=5), vault=fs_vault)
        hourly = _asset("hourly", rpo_minutes=60, age=timedelta(minutes=40), vault=fs_vault)
        daily = _asset("daily", rpo_minutes=24 * 60, age=timedelta(hours=20), vault=fs_vault)
        readiness_sweep()
    changes = {
        30: lambda: _finish_a_backup(hourly),  # a backup finishes: the hourly asset is fresh again
        75: lambda: _finish_a_backup(fast),
        # the fast asset's newest point is expired: the older one left is past the RPO at once
        76: lambda: point_expire(point=RecoveryPoint.objects.filter(asset=fast).order_by("-data_as_of")[0]),
    }
    seen: set[tuple[str, int | None]] = set()
    for step in range(1, 6 * 60 + 1):  # six hours of sweeps
        with time_machine.travel(NOW + step * SWEEP, tick=False):
            if step in changes:
                with django_capture_on_commit_callbacks(execute=True):
                    changes[step]()
            readiness_sweep()
            for asset in (fast, hourly, daily):
                where = f"{asset.name} after {step} sweep intervals"
                assert _shown(asset) == _fresh(asset), where
                assert dict(_shown(asset)[1])["rpo"] == _rpo_from_the_history(asset, timezone.now()), where
                seen.add((asset.name, _shown(asset)[0]))
    # The walk went through every state: each asset was ok, at risk and in breach at some point.
    assert {level for _, level in seen} == {0, 1, 2}
    assert {name for name, level in seen if level == 2} == {"fast", "hourly", "daily"}
