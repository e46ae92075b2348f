"""The readiness score: 0 to 100 points from how fresh each kind of evidence is, every lost point explained.

Parts and their points (docs/verification.md has the full rules):

* backup, 25: full within half the RPO, then linearly to 0 at twice the RPO; 5 fewer when
  the latest attempt failed;
* restore test, 20: full when one passed within its cadence; once expired 75 %, falling to
  50 % at three cadences; a failed one 50 %; none 0 (Gremlin's scale);
* drill, 15: full within the policy's cadence, then linearly to 0 at twice the cadence;
* WORM and encryption, 10 (5 each), and residency, 10: as the policy asks, all or nothing;
* alert coverage, 10: labels let alerts find the asset;
* plan, 10: a recovery plan covers it (5) and was run within the drill cadence (5, decaying
  like the drill).

Pure functions of an asset annotated by ``Asset.objects.with_facts()``, its checks and a
few extra facts (:class:`ScoreFacts`), so the stored readiness computes it with the rest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inventory.models import BackupStatus
from inventory.readiness import AssetReadiness, Level, human_duration

# Restore tests are due this often when the policy names no cadence (days, by tier).
RESTORE_TEST_CADENCE_DAYS = {0: 7, 1: 14, 2: 30, 3: 90}


@dataclass(frozen=True)
class ScoreFacts:
    """What the score needs beyond the asset's annotated facts."""

    has_plan: bool = False
    test_at: datetime | None = None  # newest restore test (scheduled), passed or not
    test_passed: bool = False
    restore_test_cadence_days: int | None = None


@dataclass(frozen=True)
class ScorePart:
    name: str
    weight: int
    got: float
    reason: str

    @property
    def lost(self) -> int:
        return self.weight - round(self.got)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "got": round(self.got), "reason": self.reason}


@dataclass(frozen=True)
class ScoreCard:
    parts: tuple[ScorePart, ...]

    @property
    def total(self) -> int:
        # The sum of the rounded parts, so the points lost in words add up to exactly 100 - total.
        return max(0, min(100, sum(round(p.got) for p in self.parts)))

    @property
    def losses(self) -> list[ScorePart]:
        return sorted((p for p in self.parts if p.lost > 0), key=lambda p: -p.lost)


def _linear(ratio: float, *, full_until: float, zero_at: float) -> float:
    if ratio <= full_until:
        return 1.0
    if ratio >= zero_at:
        return 0.0
    return 1 - (ratio - full_until) / (zero_at - full_until)


def _backup(asset: Any, now: datetime) -> ScorePart:
    weight = 25
    if asset.policy is None or asset.ok_data_as_of is None:
        return ScorePart("backup", weight, 0, "No good backup: all 25 points lost.")
    rpo = timedelta(minutes=asset.policy.rpo_minutes)
    age = now - asset.ok_data_as_of
    got = weight * _linear(age / rpo, full_until=0.5, zero_at=2.0)
    reason = f"Newest good backup is {human_duration(age)} old against an RPO of {human_duration(rpo)}"
    reason += "." if got >= weight else f": {weight - round(got)} points lost to its age."
    if asset.last_backup_status == BackupStatus.FAILED:
        got = max(0.0, got - 5)
        reason += " The latest backup attempt failed: 5 points lost."
    return ScorePart("backup", weight, got, reason)


def _cadence_test(asset: Any, facts: ScoreFacts) -> timedelta:
    days = facts.restore_test_cadence_days or RESTORE_TEST_CADENCE_DAYS.get(asset.tier, 30)
    return timedelta(days=days)


def _restore_test(asset: Any, facts: ScoreFacts, now: datetime) -> ScorePart:
    weight = 20
    cadence = _cadence_test(asset, facts)
    when, passed = facts.test_at, facts.test_passed
    # A measured drill restores the asset too; it counts when newer than the last scheduled test.
    if asset.measured_at is not None and (when is None or asset.measured_at > when):
        when, passed = asset.measured_at, asset.measured_rto_seconds is not None
    if when is None:
        return ScorePart("restore_test", weight, 0, "Never restore-tested: all 20 points lost.")
    age = now - when
    if not passed:
        return ScorePart(
            "restore_test",
            weight,
            weight * 0.5,
            f"The last restore test ({human_duration(age)} ago) failed: 10 points lost.",
        )
    if age <= cadence:
        return ScorePart("restore_test", weight, weight, f"A restore test passed {human_duration(age)} ago.")
    factor = max(0.5, 0.75 - 0.25 * (age - cadence) / (2 * cadence))
    got = weight * factor
    return ScorePart(
        "restore_test",
        weight,
        got,
        f"The last passing restore test is {human_duration(age)} old, past its {cadence.days}-day cadence: "
        f"{weight - round(got)} points lost.",
    )


def _drill(asset: Any, now: datetime) -> ScorePart:
    weight = 15
    if asset.policy is None:
        return ScorePart("drill", weight, 0, "No policy says how often to drill: 15 points lost.")
    cadence = timedelta(days=asset.policy.drill_cadence_days)
    if asset.last_drill_at is None:
        return ScorePart("drill", weight, 0, "Never drilled: all 15 points lost.")
    since = now - asset.last_drill_at
    got = weight * _linear(since / cadence, full_until=1.0, zero_at=2.0)
    if got >= weight:
        return ScorePart("drill", weight, got, f"Drilled {human_duration(since)} ago, within {cadence.days} days.")
    return ScorePart(
        "drill",
        weight,
        got,
        f"Last drill {human_duration(since)} ago, past the {cadence.days}-day cadence: "
        f"{weight - round(got)} points lost.",
    )


def _from_checks(
    item: AssetReadiness, names: Collection[str], name: str, weight: int, ok_reason: str, no_policy: str
) -> ScorePart:
    failing = [c for c in item.checks if c.name in names and c.level is Level.BREACH]
    if item.asset.policy is None:
        return ScorePart(name, weight, 0, f"{no_policy}: {weight} points lost.")
    if not failing:
        return ScorePart(name, weight, weight, ok_reason)
    share = weight / len(names)
    got = weight - share * len(failing)
    return ScorePart(name, weight, got, " ".join(c.text for c in failing) + f" {round(weight - got)} points lost.")


def _alerts(asset: Any) -> ScorePart:
    if asset.labels:
        return ScorePart("alerts", 10, 10, "Alerts can find it by its labels.")
    return ScorePart("alerts", 10, 0, "No labels, so no alert can be matched to it: 10 points lost.")


def _plan(asset: Any, facts: ScoreFacts, now: datetime) -> ScorePart:
    weight = 10
    if not facts.has_plan:
        return ScorePart("plan", weight, 0, "No recovery plan covers it: 10 points lost.")
    if asset.measured_at is None:
        return ScorePart("plan", weight, 5, "A plan covers it but has never been run to the end: 5 points lost.")
    cadence = timedelta(days=asset.policy.drill_cadence_days) if asset.policy else timedelta(days=90)
    since = now - asset.measured_at
    got = 5 + 5 * _linear(since / cadence, full_until=1.0, zero_at=2.0)
    if got >= weight:
        return ScorePart("plan", weight, got, f"A plan covers it and was run {human_duration(since)} ago.")
    return ScorePart(
        "plan", weight, got, f"Its plan was last run {human_duration(since)} ago: {weight - round(got)} points lost."
    )


def readiness_score(item: AssetReadiness, *, now: datetime, facts: ScoreFacts | None = None) -> ScoreCard:
    """Score one assessed asset; ``item.asset`` comes from ``with_facts()``."""
    facts = facts or ScoreFacts()
    asset: Any = item.asset
    return ScoreCard(
        (
            _backup(asset, now),
            _restore_test(asset, facts, now),
            _drill(asset, now),
            _from_checks(
                item,
                ("worm", "encryption"),
                "protection",
                10,
                "Backups are locked and encrypted as the policy asks.",
                "No policy says whether its backups must be locked and encrypted",
            ),
            _from_checks(
                item,
                ("residency",),
                "residency",
                10,
                "Backups stay within the allowed regions.",
                "No policy says in which regions its backups may be kept",
            ),
            _alerts(asset),
            _plan(asset, facts, now),
        )
    )
