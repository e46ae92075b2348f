"""Reference data for recovery policies: strategy descriptions and per-tier defaults.

The table here is the one docs/inventory.md documents; change both together.
"""

from __future__ import annotations

from dataclasses import dataclass


class Strategy:
    COLD = "cold_standby"
    WARM = "warm_standby"
    HOT = "hot_standby"
    MANAGED = "managed_backup"
    HYBRID = "hybrid_multicloud"


# Typical figures from the usual industry comparison of DR strategies; shown
# as help text so whoever picks a strategy sees what it normally costs.
STRATEGY_CHOICES: list[tuple[str, str]] = [
    (Strategy.COLD, "Cold standby"),
    (Strategy.WARM, "Warm standby"),
    (Strategy.HOT, "Hot standby (active-active)"),
    (Strategy.MANAGED, "Managed backup service"),
    (Strategy.HYBRID, "Hybrid multi-cloud"),
]

STRATEGY_HELP: dict[str, str] = {
    Strategy.COLD: "Restore from backups onto fresh infrastructure. Typical RTO hours to days; lowest cost.",
    Strategy.WARM: "A scaled-down copy runs and is scaled up on failover. "
    "Typical RTO minutes to an hour; moderate cost.",
    Strategy.HOT: "A full copy serves traffic all the time. Typical RTO seconds to minutes; highest cost (about 2x).",
    Strategy.MANAGED: "A provider's backup service keeps copies; restore on demand. Typical RTO hours; pay per GB.",
    Strategy.HYBRID: "Copies across two clouds or cloud and on-premises. Typical RTO minutes to hours; high cost "
    "and operational complexity, but survives a whole provider outage.",
}


@dataclass(frozen=True)
class TierDefault:
    tier: int
    name: str
    strategy: str
    rto_minutes: int
    rpo_minutes: int
    mtd_minutes: int
    backup_cadence_minutes: int
    retention_days: int
    worm_days: int
    drill_cadence_days: int
    failover_quorum: int


TIER_DEFAULTS: dict[int, TierDefault] = {
    0: TierDefault(0, "Tier 0 — mission critical", Strategy.HOT, 15, 5, 60, 5, 35, 14, 30, 2),
    1: TierDefault(1, "Tier 1 — business critical", Strategy.WARM, 240, 60, 720, 60, 35, 7, 90, 2),
    2: TierDefault(2, "Tier 2 — important", Strategy.MANAGED, 1440, 720, 4320, 720, 30, 0, 180, 1),
    3: TierDefault(3, "Tier 3 — deferrable", Strategy.COLD, 4320, 1440, 10080, 1440, 14, 0, 365, 1),
}
