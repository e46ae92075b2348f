"""After a run ends: remove its drill targets, give its assets back; free locks a lost release kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dr_portal.keepalive import kept_alive
from incidents.runs.models import RUN_FINISHED, Mode, RecoveryRun, RunStatus, StepState
from incidents.runs.services.common import audit_run, drill_root, send_advance, send_cleanup
from incidents.runs.services.connector_steps import connector_cleanup
from incidents.runs.services.lease import lease_seconds, longest_lease
from inventory import vault_io
from inventory.models import StepKind


def _release(run: RecoveryRun) -> list[int]:
    """Give the run's assets back and wake the runs queued behind it; the ids of the assets it held."""
    asset_ids = list(run.locks.values_list("asset_id", flat=True))
    run.locks.all().delete()
    for waiting in RecoveryRun.objects.filter(status=RunStatus.QUEUED, assets__in=asset_ids).distinct():
        send_advance(waiting)
    return asset_ids


def _still_cleaning(run_id: int) -> bool:
    now = timezone.now()
    return bool(
        RecoveryRun.objects.filter(pk=run_id, cleaned_at__isnull=True).update(dispatched_at=now, cleaning_at=now)
    )


def _claim_cleanup(run_id: int) -> bool:
    """Take the run's clean-up, unless another worker holds it (its lease renewed within a lease).

    One conditional UPDATE: of two workers given the same clean-up message (the reconciler's
    re-send arriving before the first one started), one takes it and the other finds it taken.
    """
    now = timezone.now()
    free = Q(cleaning_at__isnull=True) | Q(cleaning_at__lt=now - timedelta(seconds=lease_seconds(None)))
    unclean = RecoveryRun.objects.filter(pk=run_id, cleaned_at__isnull=True)
    return bool(unclean.filter(free).update(cleaning_at=now, dispatched_at=now))


def run_cleanup_execute(*, run_id: int) -> str:
    """After a run ends: remove drill targets, give the assets back. Waits for workers to let go first."""
    run = RecoveryRun.objects.filter(pk=run_id, status__in=RUN_FINISHED, cleaned_at__isnull=True).first()
    if run is None:
        return f"run {run_id}: nothing to clean"
    live = run.steps.exclude(worker="").filter(heartbeat_at__gte=timezone.now() - longest_lease())
    if live.exists():
        send_cleanup(run, countdown=1)  # a worker is still stopping; look again shortly
        return f"run {run.public_id}: waiting for workers to stop"
    if not _claim_cleanup(run_id):
        return f"run {run.public_id}: another worker is cleaning it up"
    # Connector targets first (scratch databases, drill registries); then the folders restores wrote.
    # A large target takes minutes to empty: the run's lease says a worker is still at it.
    every = max(1.0, lease_seconds(None) / 3)
    with kept_alive(lambda: _still_cleaning(run_id), every=every):
        removed, kept, unrecorded = connector_cleanup(run)
    if run.mode == Mode.DRILL:
        folders = run.steps.filter(kind=StepKind.RESTORE, point__isnull=False, target_config={})
        for step in folders.select_related("point__vault"):
            assert step.point is not None
            try:
                outcome = vault_io.cleanup_restored(
                    manifest=step.point.manifest, target_dir=Path(step.target_path), vault=step.point.vault
                )
            except vault_io.VaultIOFailure as failure:
                kept.append(f"{step.target_path}: {failure}")
                continue
            removed += outcome.removed_files
            kept += [f"{step.target_path}/{k}" for k in outcome.kept]
        root = drill_root(run)
        if root.is_dir():
            try:
                root.rmdir()
            except OSError:
                kept.append(str(root))
    else:
        for step in run.steps.filter(kind=StepKind.RESTORE, target_config={}).exclude(state=StepState.SUCCEEDED):
            removed += vault_io.discard_parts(target_dir=Path(step.target_path))
    return _cleaned(run_id=run_id, removed=removed, kept=kept, unrecorded=unrecorded)


@transaction.atomic
def _cleaned(*, run_id: int, removed: int, kept: list[str], unrecorded: list[dict[str, str]] | None = None) -> str:
    run = RecoveryRun.objects.select_for_update(no_key=True).get(pk=run_id)
    if run.cleaned_at is not None:
        return f"run {run.public_id}: already clean"
    run.cleaning_at = None  # this clean-up is over: the next one (a retried run's) claims afresh
    if run.status not in RUN_FINISHED:
        run.save(update_fields=["cleaning_at"])
        return f"run {run.public_id}: running again, not cleaned"
    run.cleaned_at = timezone.now()
    run.save(update_fields=["cleaned_at", "cleaning_at"])
    _release(run)
    # Steps with no complete record of what their restore made come first in ``kept``, and are
    # listed again by target: nothing of theirs was removed without a record, so a person checks.
    extra = {"unrecorded": unrecorded} if unrecorded else {}
    audit_run("run.cleaned_up", run, files_removed=removed, kept=kept[:20], **extra)
    return f"run {run.public_id}: cleaned ({removed} files removed)"


def run_locks_release_finished() -> list[str]:
    """Free assets still held by runs that ended and were cleaned up (a lost release, or older code).

    Finished runs not yet cleaned keep their locks: their clean-up, which the
    reconciler re-sends, releases them once the drill targets are gone.
    """
    held = RecoveryRun.objects.filter(status__in=RUN_FINISHED, cleaned_at__isnull=False, locks__isnull=False)
    return [line for pk in held.distinct().values_list("pk", flat=True) if (line := _release_held(run_id=pk))]


@transaction.atomic
def _release_held(*, run_id: int) -> str:
    run = RecoveryRun.objects.select_for_update(no_key=True).get(pk=run_id)
    if run.status not in RUN_FINISHED or run.cleaned_at is None:
        return ""
    names = list(run.locks.order_by("asset__name").values_list("asset__name", flat=True))
    if not _release(run):
        return ""
    audit_run("run.locks_released", run, assets=names, reason="the run had ended and was cleaned up")
    return f"released {len(names)} assets held by finished run {run.public_id}"
