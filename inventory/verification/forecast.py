"""Probabilistic RTO: how likely the next restore meets the RTO, from the asset's measured restores.

A restore's RTO is modelled as three parts, each from its own history:

* **steps and checks** (overhead): what each of the asset's measured restores took besides moving
  bytes and waiting for people;
* **transfer**: today's size of the asset divided by the throughput of *its vault*, from the newest
  restores read from that vault (any asset's), so a slow vault is not averaged with a fast one;
* **approval wait**: when the recovery asks people to approve, the time completed runs waited for
  their approvals (one sample per run); nothing when it does not ask.

Each measured restore is one trial, weighted by age (half-life ``HALF_LIFE_DAYS``); a passed
trial's share of "met" is the fraction of (throughput, approval-wait) samples for which its
overhead plus today's transfer plus the wait fits the RTO. The probability is the mean of a
Beta posterior (Jeffreys prior) over the weighted trials, so few or old runs give a wide
interval and no runs give no number at all. A trial filed before the parts were recorded is
taken whole, scaled up to the asset's current size when it has grown since.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from inventory.models import Asset, PlanStep, PointStatus, RecoveryPoint, Vault
from inventory.readiness import human_duration
from inventory.verification.models import RestoreEvidence

HALF_LIFE_DAYS = 30.0
HISTORY = 50  # newest measured restores considered per asset
SAMPLES = 9  # newest throughput samples per vault, and approval waits, the model draws on
_GRID = 2000
_MiB = 1024 * 1024


@dataclass(frozen=True)
class Trial:
    finished_at: datetime
    passed: bool
    rto_seconds: int | None
    bytes_restored: int = 0
    throughput_bps: float | None = None
    approval_wait_seconds: int | None = None

    @property
    def overhead_seconds(self) -> float | None:
        """The RTO less its transfer and its wait for people; None when its transfer was not timed."""
        if self.rto_seconds is None or not self.throughput_bps or not self.bytes_restored:
            return None
        rest = self.rto_seconds - self.bytes_restored / self.throughput_bps - (self.approval_wait_seconds or 0)
        return max(0.0, rest)


@dataclass(frozen=True)
class History:
    """What the parts are drawn from, besides the asset's own trials."""

    vault_name: str = ""
    throughputs: Sequence[float] = ()  # bytes/s of the newest restores from the asset's vault
    approval_waits: Sequence[int] = ()  # seconds completed runs waited for approvals
    approvals_needed: bool = False


def _span(seconds: float) -> str:
    """A part of an RTO to the second below an hour ('3 min 20 s'), else as readiness words it."""
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    if whole >= 3600 or not minutes:
        return human_duration(timedelta(seconds=whole))
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


@dataclass(frozen=True)
class RtoParts:
    """The typical (median) parts of the next restore, and what each is based on."""

    overhead_seconds: float | None
    transfer_seconds: float | None
    throughput_bps: float | None
    throughput_samples: int
    vault_name: str
    from_vault: bool  # the vault's restores (any asset's); else the asset's own restores
    size_bytes: int
    approval_wait_seconds: float | None
    approval_samples: int
    approvals_needed: bool

    @property
    def known(self) -> bool:
        """Whether any part has been measured (else there is nothing to say beyond "unknown")."""
        return any(v is not None for v in (self.overhead_seconds, self.transfer_seconds, self.approval_wait_seconds))

    @property
    def text(self) -> str:
        words = []
        if self.overhead_seconds is not None:
            words.append(f"steps and checks {_span(self.overhead_seconds)}")
        if self.transfer_seconds is not None and self.throughput_bps:
            source = (
                f"{self.throughput_samples} restore(s) from vault {self.vault_name}"
                if self.from_vault
                else f"{self.throughput_samples} of its own restore(s)"
            )
            words.append(
                f"transfer {_span(self.transfer_seconds)} "
                f"({self.size_bytes / _MiB:.1f} MiB at {self.throughput_bps / _MiB:.1f} MiB/s, the median of {source})"
            )
        else:
            words.append(f"transfer not timed from vault {self.vault_name or '(none)'} yet: taken from whole runs")
        if not self.approvals_needed:
            words.append("no approval asked")
        elif self.approval_wait_seconds is None:
            words.append("approval wait not measured yet (no completed run waited for one): counted as none")
        else:
            words.append(
                f"approval wait {_span(self.approval_wait_seconds)} "
                f"(the median of {self.approval_samples} completed run(s))"
            )
        return "; ".join(words)


@dataclass(frozen=True)
class RtoForecast:
    probability: float | None
    low: float
    high: float
    runs: int
    newest_age: timedelta | None
    target_seconds: int | None
    typical_seconds: int | None = None
    parts: RtoParts | None = field(default=None, compare=False)

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


def _predicted(trial: Trial, *, size_now: int, history: History) -> list[float] | None:
    """This trial's RTO under each (throughput, approval wait) sample; None when it measured none."""
    if trial.rto_seconds is None:
        return None
    waits: Sequence[float] = history.approval_waits if history.approvals_needed and history.approval_waits else [0]
    overhead = trial.overhead_seconds
    if overhead is None:
        # Filed before the parts were recorded: the whole RTO, as if all of any growth were transfer.
        rto = float(trial.rto_seconds) - (trial.approval_wait_seconds or 0)
        if trial.bytes_restored and size_now > trial.bytes_restored:
            rto = rto * size_now / trial.bytes_restored
        return [rto + w for w in waits]
    rates = history.throughputs or ([trial.throughput_bps] if trial.throughput_bps else [])
    size = size_now or trial.bytes_restored
    return [overhead + size / rate + w for rate in rates for w in waits]


def rto_forecast(
    *,
    trials: Sequence[Trial],
    target_seconds: int | None,
    now: datetime,
    size_now: int = 0,
    history: History | None = None,
) -> RtoForecast:
    history = history or History()
    if target_seconds is None:
        return RtoForecast(None, 0.0, 1.0, 0, None, None)
    parts = _parts(trials, size_now=size_now, history=history)
    if not trials:
        return RtoForecast(None, 0.0, 1.0, 0, None, target_seconds, parts=parts)
    met_w = miss_w = 0.0
    predicted_all: list[float] = []
    for trial in trials:
        age_days = max(0.0, (now - trial.finished_at).total_seconds() / 86400)
        weight = 0.5 ** (age_days / HALF_LIFE_DAYS)
        predicted = _predicted(trial, size_now=size_now, history=history) if trial.passed else None
        if not predicted:
            miss_w += weight
            continue
        predicted_all += predicted
        share = sum(1 for p in predicted if p <= target_seconds) / len(predicted)
        met_w += weight * share
        miss_w += weight * (1 - share)
    a, b = 0.5 + met_w, 0.5 + miss_w
    low, high = _beta_interval(a, b)
    newest = max(t.finished_at for t in trials)
    return RtoForecast(
        probability=round(a / (a + b), 3),
        low=low,
        high=high,
        runs=len(trials),
        newest_age=now - newest,
        target_seconds=target_seconds,
        typical_seconds=int(statistics.median(predicted_all)) if predicted_all else None,
        parts=parts,
    )


def _parts(trials: Sequence[Trial], *, size_now: int, history: History) -> RtoParts:
    overheads = [o for t in trials if t.passed and (o := t.overhead_seconds) is not None]
    own = [t.throughput_bps for t in trials if t.passed and t.throughput_bps]
    rate = statistics.median(history.throughputs or own) if (history.throughputs or own) else None
    wait = statistics.median(history.approval_waits) if history.approval_waits else None
    return RtoParts(
        overhead_seconds=statistics.median(overheads) if overheads else None,
        transfer_seconds=size_now / rate if rate and size_now else None,
        throughput_bps=rate,
        throughput_samples=len(history.throughputs or own),
        vault_name=history.vault_name,
        from_vault=bool(history.throughputs),
        size_bytes=size_now,
        approval_wait_seconds=wait if history.approvals_needed else None,
        approval_samples=len(history.approval_waits),
        approvals_needed=history.approvals_needed,
    )


def vault_throughputs(*, vault_ids: Collection[int]) -> dict[int, list[float]]:
    """The newest measured restore rates (bytes/s) read from each vault, newest first; one query."""
    found: dict[int, list[float]] = {pk: [] for pk in vault_ids}
    rows = (
        RestoreEvidence.objects.filter(vault_id__in=list(vault_ids), throughput_bps__isnull=False, passed=True)
        .order_by("vault_id", "-finished_at")
        .values_list("vault_id", "throughput_bps")[: SAMPLES * max(1, len(found)) * 4]
    )
    for vault_id, rate in rows:
        if rate and len(found[vault_id]) < SAMPLES:
            found[vault_id].append(float(rate))
    return found


def approval_waits() -> list[int]:
    """How long the newest completed runs that asked for approvals waited for them (one per run); one query."""
    rows = (
        RestoreEvidence.objects.filter(approval_wait_seconds__isnull=False)
        .order_by("-finished_at")
        .values_list("run_id", "approval_wait_seconds")[: SAMPLES * 20]
    )
    waits: dict[object, int] = {}
    for run_id, wait in rows:
        if len(waits) < SAMPLES and wait is not None:
            waits.setdefault(run_id, wait)
    return list(waits.values())


def assets_asking_approval(*, asset_ids: Collection[int]) -> set[int]:
    """Assets a recovery plan step asks people to approve (restore tests' own plans never do); one query."""
    return set(
        PlanStep.objects.filter(asset_id__in=list(asset_ids), requires_approval=True).values_list("asset_id", flat=True)
    )


def forecasts_for(
    *, assets: Collection[Asset], now: datetime | None = None, approvals_needed: bool | None = None
) -> dict[int, RtoForecast]:
    """The forecast of each asset (with its policy loaded) in six queries.

    ``approvals_needed`` says whether the recovery forecast waits for approvals (a dry run knows from
    its plan); by default, whether a plan step on the asset asks for one.
    """
    now = now or timezone.now()
    ids = [a.pk for a in assets]
    trials: dict[int, list[Trial]] = {pk: [] for pk in ids}
    rows = (
        RestoreEvidence.objects.filter(asset_id__in=ids)
        .order_by("asset_id", "-finished_at")
        .values_list(
            "asset_id", "finished_at", "passed", "rto_seconds", "bytes_restored", "throughput_bps",
            "approval_wait_seconds",
        )
    )  # fmt: skip
    for asset_id, finished_at, passed, rto, size, rate, wait in rows:
        if len(trials[asset_id]) < HISTORY:
            trials[asset_id].append(Trial(finished_at, passed, rto, size, rate, wait))
    newest = dict(
        RecoveryPoint.objects.filter(asset_id__in=ids, status=PointStatus.OK)
        .values("asset_id")
        .annotate(size=Max("size_bytes"))
        .values_list("asset_id", "size")
    )
    vault_ids = {a.vault_id for a in assets if a.vault_id}
    rates = vault_throughputs(vault_ids=vault_ids)
    names = dict(Vault.objects.filter(pk__in=vault_ids).values_list("pk", "name"))
    waits = approval_waits()
    asking = assets_asking_approval(asset_ids=ids) if approvals_needed is None else set()
    return {
        a.pk: rto_forecast(
            trials=trials[a.pk],
            target_seconds=a.policy.rto_minutes * 60 if a.policy else None,
            now=now,
            size_now=int(newest.get(a.pk) or 0),
            history=History(
                vault_name=names.get(a.vault_id, "") if a.vault_id else "",
                throughputs=rates.get(a.vault_id, []) if a.vault_id else [],
                approval_waits=waits,
                approvals_needed=approvals_needed if approvals_needed is not None else a.pk in asking,
            ),
        )
        for a in assets
    }


def asset_rto_forecast(*, asset: Asset, now: datetime | None = None) -> RtoForecast:
    return forecasts_for(assets=[asset], now=now)[asset.pk]
