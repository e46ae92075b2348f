"""Per asset: the RTO and RPO each measured restore achieved, against the policy target, over time.

From `RestoreEvidence` (restore tests, drills and recoveries): RTO is start to service verified (against the
target recorded with it, else the policy's), RPO is the age of the restored point's data (against the policy's).
Drawn wide and narrow (CSS shows one) with the same code the readiness PDF uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.safestring import SafeString

from dr_portal.target_chart import Reading, TargetSeries, in_words, target_history_chart
from inventory.models import Asset
from inventory.verification.models import RestoreEvidence

HISTORY_DAYS = 90
HISTORY_ASSETS = 3  # worst assets charted on the readiness page


@dataclass(frozen=True)
class AssetHistory:
    asset: Asset
    empty: bool
    reason: str  # why nothing is drawn, in words (empty only)
    text: str  # the chart said in words
    wide: SafeString | None
    narrow: SafeString | None


def _series(asset: Asset, evidence: Sequence[RestoreEvidence]) -> list[TargetSeries]:
    policy = asset.policy
    rto_policy = timedelta(minutes=policy.rto_minutes) if policy else None
    rpo_policy = timedelta(minutes=policy.rpo_minutes) if policy else None
    rto, rpo = [], []
    for row in evidence:
        rto_target = timedelta(seconds=row.rto_target_seconds) if row.rto_target_seconds else rto_policy
        if row.rto_seconds is not None and rto_target:
            rto.append(Reading(row.finished_at, timedelta(seconds=row.rto_seconds), rto_target))
        if row.rpo_seconds is not None and rpo_policy:
            rpo.append(Reading(row.finished_at, timedelta(seconds=row.rpo_seconds), rpo_policy))
    return [TargetSeries("RTO", rto), TargetSeries("RPO", rpo)]


def asset_history(asset: Asset, *, now: datetime | None = None, days: int = HISTORY_DAYS) -> AssetHistory:
    """The asset's restores of the last `days` days charted against its targets, or why there is nothing to chart."""
    end = now or timezone.now()
    if asset.policy is None:
        reason = f"{asset.name} has no recovery policy, so there is no RTO or RPO target to measure against."
        return AssetHistory(asset, True, reason, "", None, None)
    evidence = list(
        RestoreEvidence.objects.filter(asset=asset, finished_at__gte=end - timedelta(days=days), finished_at__lte=end)
        .only("finished_at", "rto_seconds", "rpo_seconds", "rto_target_seconds")
        .order_by("finished_at")
    )
    series = _series(asset, evidence)
    title = f"{asset.name}: RTO and RPO achieved as a share of target, last {days} days"
    wide = target_history_chart(series, title=title, end=end, days=days, css="chart chart-wide")
    if wide is None:
        reason = (
            f"{asset.name} has no measured restore in the last {days} days: its RTO and RPO are not measured, "
            "which is not the same as met."
        )
        return AssetHistory(asset, True, reason, "", None, None)
    narrow = target_history_chart(
        series, title=title, end=end, days=days, width=380, height=240, css="chart chart-narrow"
    )
    return AssetHistory(asset, False, "", in_words(series), wide, narrow)


def histories(assets: Sequence[Asset], *, now: datetime | None = None) -> list[AssetHistory]:
    return [asset_history(a, now=now) for a in assets]


def readiness_histories(worst: Sequence[Asset], *, selected: str = "") -> tuple[list[AssetHistory], str]:
    """The histories the readiness page draws: the asset asked for by public id, else the worst assets with a policy.

    Returns the histories and an error in words when `selected` names no asset.
    """
    if selected:
        wanted = _uuid_or_none(selected)
        asset = Asset.objects.select_related("policy").filter(public_id=wanted).first() if wanted else None
        if asset is not None:
            return histories([asset]), ""
        error = f"No asset with id {selected[:40]!r}; showing the worst assets instead."
    else:
        error = ""
    chosen = [a for a in worst if a.policy_id][:HISTORY_ASSETS]
    return histories(chosen), error


def _uuid_or_none(value: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
