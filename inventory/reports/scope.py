"""What the readiness report covers: the period, the recovery runs passed in, critical tiers, newest good points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from inventory.readiness import AssetReadiness

CRITICAL_TIERS = (0, 1)


@dataclass(frozen=True)
class Period:
    """Whole UTC days, `first` to `last` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()} (UTC)"

    def previous(self) -> Period:
        length = self.last - self.first
        last = self.first - timedelta(days=1)
        return Period(last - length, last)


@dataclass(frozen=True)
class MeasuredRun:
    """A recovery run finished in the period, as the readiness report needs it (built by incidents/)."""

    reference: str
    mode: str
    status: str
    assets: tuple[str, ...]
    finished_at: datetime | None
    rto_achieved_s: int | None
    rto_target_s: int | None
    rpo_achieved_s: int | None
    rpo_target_s: int | None


@dataclass(frozen=True)
class NewestGood:
    """An asset's newest good recovery point, as `Asset.objects.with_facts()` annotates it (None: there is none)."""

    data_as_of: datetime | None
    immutable_until: datetime | None
    key_id: str


def newest_good(item: AssetReadiness) -> NewestGood:
    # readiness_for() loads assets through with_facts(); the annotations are not model fields, so not typed.
    asset: Any = item.asset
    return NewestGood(
        data_as_of=asset.ok_data_as_of, immutable_until=asset.ok_immutable_until, key_id=asset.ok_key_id or ""
    )
