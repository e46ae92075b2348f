"""Point verification: re-read a recovery point where it is stored and mark it corrupt if it changed.

A point that was good when written can rot, be tampered with or lose an
object. Verification hashes every stored object against the manifest (and,
with `POINT_VERIFY_DECRYPT`, decrypts it too); a point that fails is marked
`corrupt`, which takes it out of readiness and restores, and the audit event
names each bad file with the hash recorded at backup and the one found.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from dr_portal.queue import send_on_commit
from inventory import vault_io
from inventory.models import Asset, PointStatus, RecoveryPoint
from inventory.services.readiness import readiness_facts_changed

log = logging.getLogger(__name__)


class VerifyRefused(Refused):
    """Nothing can be verified for this asset; the message says why."""

    code = "verify_refused"


def _enqueue_verify(point: RecoveryPoint) -> None:
    from inventory.tasks import point_verify_run

    send_on_commit(point_verify_run, args=(point.pk,))


@transaction.atomic
def point_verify_request(*, asset: Asset, by: User | None) -> RecoveryPoint:
    """Queue a verification of the asset's newest good point ("Verify now")."""
    point = RecoveryPoint.objects.good().filter(asset=asset).select_related("vault").order_by("-data_as_of").first()
    if point is None:
        raise VerifyRefused(f"{asset.name} has no good recovery point to verify.")
    audit_append(
        action="point.verify_requested",
        actor=by,
        system_actor="system:scheduler",
        obj=asset,
        payload={"point": str(point.public_id), "vault": point.vault.name},
    )
    # The request is a row before it is a message: if the broker is down the reconciler sends it again.
    RecoveryPoint.objects.filter(pk=point.pk).update(verify_requested_at=timezone.now())
    _enqueue_verify(point)
    return point


# A request older than this with no verification ended is taken as lost (the worker takes seconds to start one).
VERIFY_REQUEST_GRACE = timedelta(minutes=2)


def points_verify_reconcile(*, now: datetime | None = None) -> list[int]:
    """Send again each "Verify now" that no verification has answered (the broker was down when it was made)."""
    before = (now or timezone.now()) - VERIFY_REQUEST_GRACE
    lost = list(
        RecoveryPoint.objects.filter(verify_requested_at__lt=before).order_by("pk").values_list("pk", flat=True)[:500]
    )
    for pk in lost:
        _enqueue_verify(RecoveryPoint(pk=pk))
    return lost


MAX_SHOWN = 20


def _problems(report: Any) -> list[dict[str, str | None]]:
    return [
        {"path": p.path, "problem": p.problem, "expected_sha256": p.expected, "actual_sha256": p.actual}
        for p in report.problems
    ]


def point_verify(*, point_id: int, by: User | None = None, now: datetime | None = None) -> RecoveryPoint | None:
    """Verify one point; refresh `verified_at` if intact, mark it `corrupt` if not.

    The vault is read outside any transaction (it may take minutes); the row is
    then locked and changed only if it is still `ok`, so running this twice, or
    alongside expiry, is harmless. Returns None when there was nothing to do.
    """
    point = RecoveryPoint.objects.select_related("asset", "vault").filter(pk=point_id).first()
    # Whatever comes of it, a request for this point has been answered.
    RecoveryPoint.objects.filter(pk=point_id, verify_requested_at__isnull=False).update(verify_requested_at=None)
    if point is None or point.status != PointStatus.OK:
        return None
    try:
        report = vault_io.verify_point(
            vault=point.vault, manifest=point.manifest, decrypt=settings.POINT_VERIFY_DECRYPT
        )
    except vault_io.VaultIOFailure as failure:
        # The vault or the key is the problem, not the point: say so, change nothing.
        audit_append(
            action="point.verify_failed",
            actor=by,
            system_actor="system:verifier",
            obj=point.asset,
            payload={"point": str(point.public_id), "code": failure.code, "reason": str(failure)},
        )
        log.warning("could not verify point %s: %s", point.public_id, failure)
        return None
    return _point_record_verification(point=point, report=report, by=by, now=now or timezone.now())


@transaction.atomic
def _point_record_verification(
    *, point: RecoveryPoint, report: Any, by: User | None, now: datetime
) -> RecoveryPoint | None:
    locked = (
        RecoveryPoint.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset", "vault")
        .get(pk=point.pk)
    )
    if locked.status != PointStatus.OK:
        return None  # expired or judged by another run meanwhile
    if report.ok:
        locked.verified_at = now
        locked.save(update_fields=["verified_at"])
        audit_append(
            action="point.verified",
            actor=by,
            system_actor="system:verifier",
            obj=locked.asset,
            payload={"point": str(locked.public_id), "files": report.checked, "bytes": report.bytes_checked},
        )
        return locked
    locked.status = PointStatus.CORRUPT
    # Words for everyone; which files and their digests only where restorers see them.
    locked.note = report.brief()
    locked.stats = {**(locked.stats or {}), "problems": _problems(report)[:MAX_SHOWN]}
    locked.save(update_fields=["status", "note", "stats"])
    readiness_facts_changed(asset_ids=[locked.asset_id])
    audit_append(
        action="point.corrupt",
        actor=by,
        system_actor="system:verifier",
        obj=locked.asset,
        payload={
            "point": str(locked.public_id),
            "vault": locked.vault.name,
            "files_checked": report.checked,
            "problems": _problems(report),
        },
    )
    return locked


@transaction.atomic
def point_mark_damaged(
    *, point_prefix: str, code: str, reason: str, file: str | None = None, by: User | None = None
) -> RecoveryPoint | None:
    """A restore (or any reader) proved a point's bytes damaged: mark it `corrupt`.

    ``point_prefix`` is the point's name in its vault (``<asset id>/<point id>``). Its
    readiness is reassessed, so an asset whose only good point this was goes bad, and
    the next run resolves another point. Returns None when the point is unknown or was
    already judged (twice is harmless).
    """
    _asset_id, _, point_id = point_prefix.partition("/")
    try:
        public_id = uuid.UUID(point_id)
    except ValueError:
        return None
    locked = (
        RecoveryPoint.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset", "vault")
        .filter(public_id=public_id)
        .first()
    )
    if locked is None or locked.status not in (PointStatus.OK, PointStatus.SUSPICIOUS):
        return None
    locked.status = PointStatus.CORRUPT
    locked.note = reason
    found = [{"path": file, "problem": f"found damaged by a restore ({code})"}] if file else []
    locked.stats = {**(locked.stats or {}), "problems": found}
    locked.save(update_fields=["status", "note", "stats"])
    readiness_facts_changed(asset_ids=[locked.asset_id])
    audit_append(
        action="point.corrupt",
        actor=by,
        system_actor="system:restore",
        obj=locked.asset,
        payload={
            "point": str(locked.public_id),
            "vault": locked.vault.name,
            "found_by": "restore",
            "code": code,
            "problems": [{"path": file, "problem": reason}],
        },
    )
    return locked


def points_verify_due(*, now: datetime | None = None) -> list[int]:
    """Queue verification of each asset's newest good point not verified within `POINT_VERIFY_SECONDS`."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.POINT_VERIFY_SECONDS)
    # Through each asset's newest-point pointer: one row per asset, never the history of points.
    stale = Q(newest_point__verified_at__isnull=True) | Q(newest_point__verified_at__lt=stale_before)
    rows = Asset.objects.filter(newest_point__isnull=False).filter(stale).order_by("pk")
    due = [pk for pk in rows.values_list("newest_point_id", flat=True) if pk is not None]
    from inventory.tasks import point_verify_run

    for pk in due:
        send_on_commit(point_verify_run, args=(pk,))
    return due
