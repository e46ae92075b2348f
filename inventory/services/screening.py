"""Ransomware and anomaly screening of new points, and the audited release of a suspicious one.

A point is compared with the asset's own history. It is suspicious when files of a
known format lost their signature (a parquet file without ``PAR1``, a safetensors
header that no longer parses), or when an unusual share of its files changed AND its
new data is far more random than the asset's usual new data. Entropy alone never
decides: model weights are random-looking by nature.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from inventory.models import Asset, PointStatus, RecoveryPoint
from inventory.services.readiness import readiness_facts_changed

CHANGED_SHARE = 0.5  # of the previous point's files, changed or removed
USUAL_CHANGED_SHARE = 0.2
HIGH_ENTROPY_SHARE = 0.8  # of the sampled new chunks
USUAL_ENTROPY_SHARE = 0.5
HISTORY = 10


class ScreeningRefused(Refused):
    code = "screening_refused"


def _share(stats: dict[str, Any], high: str, total: str) -> float | None:
    count = int(stats.get(total) or 0)
    return int(stats.get(high) or 0) / count if count else None


def screen_reasons(*, stats: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """Why a point with ``stats`` looks like an attack, given earlier points' stats (newest first)."""
    if stats.get("format") != 2:
        return []
    reasons: list[str] = []
    broken = int(stats.get("signatures_broken") or 0)
    if broken:
        # Which files: ``stats["broken_files"]``, shown only to people who may restore.
        reasons.append(f"{broken} files of a known format no longer have a valid signature.")
    past = [h for h in history if h.get("format") == 2 and h.get("compared_with_previous")]
    changed = float(stats.get("changed_share") or 0.0)
    usual_changed = median(float(h.get("changed_share") or 0.0) for h in past) if past else 0.0
    entropy = _share(stats, "high_entropy_samples", "entropy_samples")
    past_entropy = [s for s in (_share(h, "high_entropy_samples", "entropy_samples") for h in history) if s is not None]
    usual_entropy = median(past_entropy) if past_entropy else None
    if (
        stats.get("compared_with_previous")
        and changed >= CHANGED_SHARE
        and usual_changed < USUAL_CHANGED_SHARE
        and entropy is not None
        and entropy >= HIGH_ENTROPY_SHARE
        and usual_entropy is not None
        and usual_entropy < USUAL_ENTROPY_SHARE
    ):
        reasons.append(
            f"{changed:.0%} of the files changed (usually {usual_changed:.0%}) and {entropy:.0%} of the new data "
            f"looks random (usually {usual_entropy:.0%}): the pattern of files being encrypted in place."
        )
    return reasons


def point_history(*, asset: Asset, before: RecoveryPoint | None = None) -> list[dict[str, Any]]:
    points = RecoveryPoint.objects.filter(asset=asset).exclude(stats={}).order_by("-data_as_of")
    if before is not None:
        points = points.exclude(pk=before.pk)
    return [dict(s) for s in points.values_list("stats", flat=True)[:HISTORY]]


@transaction.atomic
def point_release(*, point_id: int, by: User, reason: str) -> RecoveryPoint:
    """Declare a suspicious point clean after a person checked it; audited with their reason."""
    point = RecoveryPoint.objects.select_for_update(of=("self",), no_key=True).select_related("asset").get(pk=point_id)
    if point.status != PointStatus.SUSPICIOUS:
        raise ScreeningRefused(f"Point {point.public_id} is not marked suspicious.", code="point_not_suspicious")
    if len(reason.strip()) < 10:
        raise ScreeningRefused("Say why the point is safe to restore (at least 10 characters).", code="reason_needed")
    point.status = PointStatus.OK
    previous_note = point.note
    point.note = f"Released by {by} on {timezone.now():%Y-%m-%d %H:%M} UTC: {reason.strip()} (was: {previous_note})"
    point.save(update_fields=["status", "note"])
    readiness_facts_changed(asset_ids=[point.asset_id])
    audit_append(
        action="point.released",
        actor=by,
        obj=point.asset,
        payload={"point": str(point.public_id), "reason": reason.strip(), "suspicion": previous_note},
    )
    return point
