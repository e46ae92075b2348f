"""Probabilistic RTO: how likely the next restore meets the RTO, from the asset's measured restores.

Each measured restore (a scheduled test, a drill, a recovery) is one trial: met when it
passed and its RTO, scaled up to the asset's current size when it has grown since, fits
the policy's RTO today. Trials weigh less as they age (half-life ``HALF_LIFE_DAYS``), and
the probability is the mean of a Beta posterior (Jeffreys prior) over the weighted
trials, so few or old runs give a wide interval and no runs give no number at all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from inventory.models import Asset, PointStatus, RecoveryPoint
from inventory.readiness import human_duration
from inventory.verification.models import RestoreEvidence

HALF_LIFE_DAYS = 30.0
HISTORY = 50  # newest measured restores considered per asset
_GRID = 2000


@dataclass(frozen=True)
class Trial:
    finished_at: datetime
    passed: bool
    rto_seconds: int | None
    bytes_restored: int = 0


@dataclass(frozen=True)
class RtoForecast:
    probability: float | None
    low: float
    high: float
    runs: int
    newest_age: timedelta | None
    target_seconds: int | None
    typical_seconds: int | None = None

    @property
    def text(self) -> str:
        if self.target_seconds is None:
            return "No RTO target: nothing to forecast."
        if self.probability is None or self.newest_age is None:
            return "No measured restore yet: P(RTO met) unknown."
        runs = "1 run" if self.runs == 1 else f"{self.runs} runs"
        return (
            f"P(RTO met) = {self.probability:.2f} (based on {runs}, newest {human_duration(self.newest_age)} old; "
            f"90 % interval {self.low:.2f}\u2013{self.high:.2f})"
        )

    @property
    def tone(self) -> str:
        if self.probability is None:
            return "none"
        return "ok" if self.low >= 0.9 else "risk" if self.probability >= 0.8 else "bad"


def _beta_interval(a: float, b: float) -> tuple[float, float]:
    """5th and 95th percentiles of Beta(a, b), on a grid (no SciPy needed)."""
    xs = [(i + 0.5) / _GRID for i in range(_GRID)]
    dens = [x ** (a - 1) * (1 - x) ** (b - 1) for x in xs]
    total = sum(dens)
    low = high = None
    running = 0.0
    for x, d in zip(xs, dens, strict=True):
        running += d / total
        if low is None and running >= 0.05:
            low = x
        if high is None and running >= 0.95:
            high = x
            break
    return round(low or 0.0, 3), round(high or 1.0, 3)


def rto_forecast(
    *, trials: Sequence[Trial], target_seconds: int | None, now: datetime, size_now: int = 0
) -> RtoForecast:
    if target_seconds is None:
        return RtoForecast(None, 0.0, 1.0, 0, None, None)
    if not trials:
        return RtoForecast(None, 0.0, 1.0, 0, None, target_seconds)
    met_w = miss_w = 0.0
    scaled: list[float] = []
    for trial in trials:
        age_days = max(0.0, (now - trial.finished_at).total_seconds() / 86400)
        weight = 0.5 ** (age_days / HALF_LIFE_DAYS)
        rto = trial.rto_seconds
        if rto is not None and trial.bytes_restored and size_now > trial.bytes_restored:
            rto = int(rto * size_now / trial.bytes_restored)  # grown since: as if all of it were transfer
        if rto is not None and trial.passed:
            scaled.append(rto)
        if trial.passed and rto is not None and rto <= target_seconds:
            met_w += weight
        else:
            miss_w += weight
    a, b = 0.5 + met_w, 0.5 + miss_w
    low, high = _beta_interval(a, b)
    newest = max(t.finished_at for t in trials)
    scaled.sort()
    return RtoForecast(
        probability=round(a / (a + b), 3),
        low=low,
        high=high,
        runs=len(trials),
        newest_age=now - newest,
        target_seconds=target_seconds,
        typical_seconds=int(scaled[len(scaled) // 2]) if scaled else None,
    )


def forecasts_for(*, assets: Collection[Asset], now: datetime | None = None) -> dict[int, RtoForecast]:
    """The forecast of each asset (with its policy loaded) in two queries."""
    now = now or timezone.now()
    ids = [a.pk for a in assets]
    trials: dict[int, list[Trial]] = {pk: [] for pk in ids}
    rows = (
        RestoreEvidence.objects.filter(asset_id__in=ids)
        .order_by("asset_id", "-finished_at")
        .values_list("asset_id", "finished_at", "passed", "rto_seconds", "bytes_restored")
    )
    for asset_id, finished_at, passed, rto, size in rows:
        if len(trials[asset_id]) < HISTORY:
            trials[asset_id].append(Trial(finished_at, passed, rto, size))
    newest = dict(
        RecoveryPoint.objects.filter(asset_id__in=ids, status=PointStatus.OK)
        .values("asset_id")
        .annotate(size=Max("size_bytes"))
        .values_list("asset_id", "size")
    )
    return {
        a.pk: rto_forecast(
            trials=trials[a.pk],
            target_seconds=a.policy.rto_minutes * 60 if a.policy else None,
            now=now,
            size_now=int(newest.get(a.pk) or 0),
        )
        for a in assets
    }


def asset_rto_forecast(*, asset: Asset, now: datetime | None = None) -> RtoForecast:
    return forecasts_for(assets=[asset], now=now)[asset.pk]
