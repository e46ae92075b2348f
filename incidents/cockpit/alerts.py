"""The incident's alerts grouped per alert group: a storm of 500 alerts is one expandable entry."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import AlertRecord, AlertStatus

SHOWN_PER_GROUP = 50  # an expanded group lists this many; the count says how many there are


@dataclass(frozen=True)
class AlertGroup:
    key: str
    alerts: list[AlertRecord]  # firing first, newest first

    @property
    def count(self) -> int:
        return len(self.alerts)

    @property
    def firing(self) -> int:
        return sum(1 for a in self.alerts if a.status == AlertStatus.FIRING)

    @property
    def shown(self) -> list[AlertRecord]:
        return self.alerts[:SHOWN_PER_GROUP]

    @property
    def names(self) -> str:
        names = sorted({a.name or a.fingerprint for a in self.alerts})
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def alert_groups(*, records: list[AlertRecord]) -> list[AlertGroup]:
    """`records` (already ordered firing first) by group key; groups with something firing first."""
    by_key: dict[str, list[AlertRecord]] = {}
    for record in records:
        by_key.setdefault(record.group_key or "", []).append(record)
    groups = [AlertGroup(key=key, alerts=alerts) for key, alerts in by_key.items()]
    return sorted(groups, key=lambda g: (g.firing == 0, -g.count))
