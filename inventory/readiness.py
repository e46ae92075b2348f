"""Readiness computed from facts: every status comes with its reasons in words.

Checks per asset: coverage, RPO, last backup, drills, WORM, encryption,
residency, and (once a run has measured it) the achieved RTO and RPO. A
check is at risk within 20 % of its limit and in breach past it; the asset
takes its worst check's status. See docs/inventory.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, cast

from django.utils import timezone

from dr_portal.accounts.contents import shown
from dr_portal.accounts.templatetags.humane import human_duration
from inventory.models import Asset, BackupStatus, RecoveryPoint

RISK_MARGIN = 0.2  # "at risk" once 80 % of a limit is used up


class Level(IntEnum):
    OK = 0
    RISK = 1
    BREACH = 2

    @property
    def label(self) -> str:
        return {0: "ok", 1: "at risk", 2: "breach"}[self.value]

    @property
    def css(self) -> str:
        return {0: "status-ok", 1: "status-risk", 2: "status-bad"}[self.value]

    @property
    def key(self) -> str:
        return {0: "ok", 1: "at_risk", 2: "breach"}[self.value]


LEVEL_BY_KEY = {level.key: level for level in Level}


CHECK_LABELS = {
    "coverage": "Coverage",
    "rpo": "RPO",
    "backup": "Last backup",
    "drill": "Drills",
    "worm": "WORM",
    "encryption": "Encryption",
    "residency": "Residency",
    "measured": "Measured recovery",
    "assessment": "Assessment",
}


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    text: str  # the reason as the rules say it (and as it is stored), server paths included

    @property
    def label(self) -> str:
        return CHECK_LABELS.get(self.name, self.name)

    @property
    def reason(self) -> str:
        """The reason as the person asking may read it: a failed backup's message can name
        the source's or vault's server path, which only roles that may restore see."""
        return cast("str", shown(self.text))


@dataclass
class AssetReadiness:
    asset: Asset
    checks: list[Check]
    backup_age: timedelta | None = None
    rpo: timedelta | None = None
    data_as_of: datetime | None = None  # of the newest good point
    assessed_at: datetime | None = None  # when read from the stored state: when it was assessed

    @property
    def level(self) -> Level:
        return max((c.level for c in self.checks), default=Level.OK)

    @property
    def problems(self) -> list[Check]:
        return sorted((c for c in self.checks if c.level > Level.OK), key=lambda c: -c.level)

    @property
    def rpo_ratio(self) -> float | None:
        if self.backup_age is None or not self.rpo:
            return None
        return self.backup_age / self.rpo


def _ratio_level(used: float) -> Level:
    if used > 1:
        return Level.BREACH
    if used > 1 - RISK_MARGIN:
        return Level.RISK
    return Level.OK


def _check_rpo(asset: Any, now: datetime) -> tuple[Check, timedelta, timedelta]:
    policy = asset.policy
    rpo = timedelta(minutes=policy.rpo_minutes)
    age = now - asset.ok_data_as_of
    level = _ratio_level(age / rpo)
    words = {
        Level.OK: "within",
        Level.RISK: "close to",
        Level.BREACH: "past",
    }[level]
    # Stored until the level next changes, so it names the time rather than an age that goes stale.
    reason = (
        f"Newest good backup holds data as of {asset.ok_data_as_of:%Y-%m-%d %H:%M} UTC ({human_duration(age)} "
        f"old when checked), {words} the RPO of {human_duration(rpo)}."
    )
    return Check("rpo", level, reason), age, rpo


def _backup_error(asset: Any) -> str:
    """The latest backup's whole message (``Check.reason`` tells it in words to those who may not restore)."""
    detail = getattr(asset, "last_backup_detail", None)
    return str(detail) if isinstance(detail, str) and detail else str(asset.last_backup_error)


def _check_last_backup(asset: Any) -> Check:
    if asset.last_backup_status == BackupStatus.FAILED:
        return Check("backup", Level.RISK, f"The latest backup failed: {_backup_error(asset)}")
    if asset.last_backup_status in (BackupStatus.QUEUED, BackupStatus.RUNNING):
        return Check("backup", Level.OK, "A backup is in progress.")
    return Check("backup", Level.OK, "The latest backup succeeded.")


def _check_drill(asset: Any, now: datetime) -> Check:
    cadence = timedelta(days=asset.policy.drill_cadence_days)
    if asset.last_drill_at is not None:
        since = now - asset.last_drill_at
        level = _ratio_level(since / cadence)
        tail = "overdue" if level is Level.BREACH else f"next due by {asset.last_drill_at + cadence:%Y-%m-%d}"
        return Check(
            "drill",
            level,
            f"Last successful drill {human_duration(since)} ago; policy asks every {cadence.days} d ({tail}).",
        )
    # Never drilled: the clock starts when the policy was assigned.
    start = asset.policy_assigned_at or asset.created_at
    level = _ratio_level((now - start) / cadence)
    due = start + cadence
    if level is Level.BREACH:
        return Check("drill", level, f"Never drilled; the first drill was due by {due:%Y-%m-%d}.")
    return Check("drill", level, f"Never drilled; the first drill is due by {due:%Y-%m-%d}.")


def _check_worm(asset: Any) -> Check:
    days = asset.policy.worm_days
    if days == 0:
        return Check("worm", Level.OK, "The policy does not ask for immutable backups.")
    if asset.vault is not None and not asset.vault.worm_capable:
        return Check(
            "worm", Level.BREACH, f"The policy wants {days} WORM days but vault {asset.vault.name} cannot lock objects."
        )
    if asset.ok_data_as_of is None:
        return Check("worm", Level.OK, f"The policy wants {days} WORM days; no backup to check yet.")
    if asset.ok_vault_worm is False:
        return Check(
            "worm", Level.BREACH, f"The newest good backup is in {asset.ok_vault_name}, which cannot lock objects."
        )
    wanted = asset.ok_created_at + timedelta(days=days) - timedelta(minutes=5)
    if asset.ok_immutable_until is None or asset.ok_immutable_until < wanted:
        return Check(
            "worm", Level.BREACH, f"The newest good backup is not locked for the {days} days the policy wants."
        )
    return Check(
        "worm", Level.OK, f"The newest good backup is immutable until {asset.ok_immutable_until:%Y-%m-%d %H:%M}."
    )


def _check_encryption(asset: Any) -> Check:
    if not asset.policy.encryption_required:
        return Check("encryption", Level.OK, "The policy does not require encryption.")
    if asset.ok_data_as_of is None:
        return Check("encryption", Level.OK, "Encryption required; no backup to check yet.")
    if not asset.ok_key_id:
        return Check(
            "encryption", Level.BREACH, "The policy requires encryption but the newest good backup has no key."
        )
    return Check("encryption", Level.OK, f"The newest good backup is encrypted with key {asset.ok_key_id}.")


def _check_residency(asset: Any, point_regions: set[str]) -> Check:
    allowed = list(asset.policy.allowed_regions or [])
    if not allowed:
        return Check("residency", Level.OK, "The policy allows any region.")
    listed = ", ".join(allowed)
    if asset.vault is not None and asset.vault.region not in allowed:
        return Check(
            "residency",
            Level.BREACH,
            f"Vault {asset.vault.name} is in {asset.vault.region}, outside the allowed regions ({listed}).",
        )
    outside = sorted(point_regions - set(allowed))
    if outside:
        return Check(
            "residency",
            Level.BREACH,
            f"Some kept backups are in {', '.join(outside)}, outside the allowed regions ({listed}).",
        )
    return Check("residency", Level.OK, f"Backups stay within {listed}.")


def _check_measured(asset: Any) -> Check:
    """The newest measured recovery (drill or real) against the policy's RTO and RPO."""
    policy = asset.policy
    what = "drill" if asset.measured_mode == "drill" else "recovery"
    rto = timedelta(seconds=asset.measured_rto_seconds or 0)
    parts = [f"The last {what} ({asset.measured_at:%Y-%m-%d}) restored service in {human_duration(rto)}"]
    parts.append(f"(RTO {human_duration(timedelta(minutes=policy.rto_minutes))})")
    over = rto > timedelta(minutes=policy.rto_minutes)
    if asset.measured_rpo_seconds is not None:
        rpo = timedelta(seconds=asset.measured_rpo_seconds)
        parts.append(
            f"and lost {human_duration(rpo)} of data (RPO {human_duration(timedelta(minutes=policy.rpo_minutes))})"
        )
        over = over or rpo > timedelta(minutes=policy.rpo_minutes)
    reason = " ".join(parts) + ("; that misses the target." if over else ".")
    return Check("measured", Level.BREACH if over else Level.OK, reason)


def assess(asset: Any, *, now: datetime, point_regions: set[str] | None = None) -> AssetReadiness:
    """Readiness of one asset annotated by `Asset.objects.with_facts()`."""
    if asset.policy is None:
        return AssetReadiness(
            asset, [Check("coverage", Level.BREACH, "No recovery policy: nothing says how fast it must come back.")]
        )
    checks: list[Check] = []
    age = rpo = None
    if asset.vault is None:
        checks.append(Check("coverage", Level.BREACH, "No vault is assigned, so it cannot be backed up."))
    if asset.ok_data_as_of is None:
        why = "No good backup exists."
        if asset.last_backup_status == BackupStatus.FAILED:
            why += f" The latest attempt failed: {_backup_error(asset)}"
        elif asset.last_backup_status in (BackupStatus.QUEUED, BackupStatus.RUNNING):
            why += " The first one is in progress."
        checks.append(Check("coverage", Level.BREACH, why))
    else:
        rpo_check, age, rpo = _check_rpo(asset, now)
        checks.append(rpo_check)
        checks.append(_check_last_backup(asset))
    if asset.vault is not None and asset.ok_data_as_of is not None:
        checks.append(Check("coverage", Level.OK, "Has a policy, a vault and a good backup."))
    checks.append(_check_drill(asset, now))
    if asset.measured_at is not None:
        checks.append(_check_measured(asset))
    checks.append(_check_worm(asset))
    checks.append(_check_encryption(asset))
    checks.append(_check_residency(asset, point_regions or set()))
    return AssetReadiness(asset, checks, backup_age=age, rpo=rpo, data_as_of=asset.ok_data_as_of, assessed_at=now)


def _point_region_rows(asset_ids: Sequence[int]) -> Any:
    """(asset id, vault region) of every good point, each pair once."""
    return (
        RecoveryPoint.objects.good()
        .filter(asset_id__in=asset_ids)
        .order_by()  # without this, distinct() also keys on Meta.ordering's column: a row per point
        .values_list("asset_id", "vault__region")
        .distinct()
    )


def _point_regions(asset_ids: Sequence[int]) -> dict[int, set[str]]:
    regions: dict[int, set[str]] = {}
    for asset_id, region in _point_region_rows(asset_ids):
        regions.setdefault(asset_id, set()).add(region)
    return regions


def readiness_for(assets: Iterable[Asset] | None = None, *, now: datetime | None = None) -> list[AssetReadiness]:
    """Readiness of many assets in two queries. `assets` must come from `with_facts()`."""
    now = now or timezone.now()
    rows = list(assets if assets is not None else Asset.objects.with_facts())
    regions = _point_regions([a.pk for a in rows])
    return [assess(a, now=now, point_regions=regions.get(a.pk, set())) for a in rows]


def asset_readiness(*, asset: Asset, now: datetime | None = None) -> AssetReadiness:
    annotated = Asset.objects.with_facts().get(pk=asset.pk)
    return readiness_for([annotated], now=now)[0]


@dataclass
class Rollup:
    key: str
    counts: dict[str, int] = field(default_factory=lambda: {lvl.key: 0 for lvl in Level})
    worst: Level = Level.OK

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, item: AssetReadiness) -> None:
        self.counts[item.level.key] += 1
        self.worst = max(self.worst, item.level)


def rollup(items: Iterable[AssetReadiness], *, by: str) -> list[Rollup]:
    """Counts by status per tier (`by="tier"`) or team (`by="team"`), worst groups first."""
    groups: dict[str, Rollup] = {}
    for item in items:
        key = f"Tier {item.asset.tier}" if by == "tier" else item.asset.owner_team
        groups.setdefault(key, Rollup(key)).add(item)
    return sorted(groups.values(), key=lambda r: (-r.worst, -r.counts["breach"], -r.counts["at_risk"], r.key))


def worst_first(items: Iterable[AssetReadiness]) -> list[AssetReadiness]:
    return sorted(items, key=lambda r: (-r.level, r.asset.tier, -(r.rpo_ratio or 0), r.asset.name))
