"""Scheduled restore tests: start the due ones (bounded), pre-empt them for real recoveries, file outcomes.

One beat task (`restoretests.schedule`) calls :func:`restore_tests_tick`, which in order:

1. cancels a running test whose asset a real recovery or failback now wants;
2. files the outcome of each test whose run has finished and been cleaned up;
3. starts tests for due assets, oldest test first, while fewer than
   ``RESTORE_TEST_CONCURRENCY`` are running.

A test is a drill-mode run of a small plan of its own (restore the chosen point, verify
it) with no incident: the drill restores into its own sandbox folder and removes it after.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from incidents.restoretests.models import TEST_COUNTED, RestoreTest, RestoreTestState
from incidents.runs.models import RUN_ACTIVE, RUN_FINISHED, Mode, RecoveryRun, RunStatus, StepRun
from incidents.runs.services import RunRefused, run_cancel, run_start
from inventory import connector_io
from inventory.models import Asset, PointStatus, RecoveryPlan, RecoveryPoint, StepKind
from inventory.services.plans import plan_save
from inventory.verification.models import EvidenceKind, PointChoice, RestoreEvidence
from inventory.verification.selectors import RESTORE_TEST_PLAN_PREFIX, RestoreTestRule, restore_test_plans
from inventory.verification.services import restore_evidence_record

log = logging.getLogger(__name__)
SYSTEM = "system:restore_tests"


class RestoreTestRefused(Refused):
    code = "restore_test_refused"


def _choose_point(asset: Asset, plan: RestoreTestRule, now: datetime) -> RecoveryPoint | None:
    points = RecoveryPoint.objects.good().filter(asset=asset)
    if plan.point_choice == PointChoice.RANDOM:
        window = list(points.filter(data_as_of__gte=now - plan.window).order_by("data_as_of"))
        if window:
            return random.choice(window)  # noqa: S311 - a sample to test, not a secret
    return points.order_by("-data_as_of").first()


def _test_plan(asset: Asset, point: RecoveryPoint) -> RecoveryPlan:
    name = f"{RESTORE_TEST_PLAN_PREFIX}{asset.name}"[:100]
    data = {
        "name": name,
        "description": f"Kept by scheduled restore tests of {asset.name}; each test rewrites it.",
        "assets": [asset.name],
        "steps": [
            {"key": "restore", "kind": StepKind.RESTORE, "asset": asset.name, "point": str(point.public_id)},
            {"key": "verify", "kind": StepKind.VERIFY, "asset": asset.name, "after": ["restore"]},
        ],
    }
    return plan_save(data=data, by=None, plan=RecoveryPlan.objects.filter(name=name).first())


def _sandbox_paths(step: StepRun) -> list[Path]:
    """Where a restore step writes: its folder, or for a connector the local files its target names.

    A connector step's ``target_path`` is a label for people ("SQLite …", "MLflow http://…"), not a
    path. A target on a server (a scratch database, a drill registry or Redis db) has no local path;
    its connector refuses to restore into it when it holds data.
    """
    if not step.target_config:
        return [Path(step.target_path)]
    if step.asset is None:
        return []
    return connector_io.target_paths(asset=step.asset, target=step.target_config)


def _sandbox_problems(run: RecoveryRun) -> list[str]:
    problems = []
    for step in run.steps.filter(kind=StepKind.RESTORE).select_related("asset"):
        for target in _sandbox_paths(step):
            if target.exists() and (not target.is_dir() or any(target.iterdir())):
                problems.append(f"The sandbox {target} is not empty; a restore test never writes over anything.")
    return problems


@transaction.atomic
def restore_test_start(*, asset: Asset, plan: RestoreTestRule, now: datetime | None = None) -> RestoreTest:
    """Start one restore test of ``asset``; a refusal (no point, a non-empty sandbox, a run that cannot
    start) is returned as a test in state refused, with nothing else changed."""
    now = now or timezone.now()
    point = _choose_point(asset, plan, now)
    try:
        if point is None:
            raise RestoreTestRefused(f"{asset.name} has no good recovery point to test.")
        with transaction.atomic():
            run = run_start(plan=_test_plan(asset, point), mode=Mode.DRILL, by=None, incident=None)
            problems = _sandbox_problems(run)
            if problems:
                raise RestoreTestRefused(" ".join(problems))
    except (RunRefused, RestoreTestRefused) as refused:
        RestoreTest.objects.create(
            asset=asset,
            state=RestoreTestState.REFUSED,
            point=point,
            point_choice=plan.point_choice,
            detail=str(refused),
            finished_at=now,
        )
        audit_append(action="restore_test.refused", system_actor=SYSTEM, obj=asset, payload={"reason": str(refused)})
        return RestoreTest.objects.get(asset=asset, state=RestoreTestState.REFUSED, finished_at=now)
    test = RestoreTest.objects.create(asset=asset, run=run, point=point, point_choice=plan.point_choice)
    audit_append(
        action="restore_test.started",
        system_actor=SYSTEM,
        obj=asset,
        payload={"run": str(run.public_id), "point": str(point.public_id), "choice": plan.point_choice},
    )
    return test


def restore_tests_preempt() -> list[str]:
    """Cancel running tests whose asset a real recovery or failback is waiting for or using."""
    done = []
    wanted = set(
        RecoveryRun.objects.filter(status__in=RUN_ACTIVE).exclude(mode=Mode.DRILL).values_list("assets", flat=True)
    )
    for test in RestoreTest.objects.filter(state=RestoreTestState.RUNNING, asset_id__in=wanted).select_related(
        "run", "asset"
    ):
        with transaction.atomic():
            locked = RestoreTest.objects.select_for_update(no_key=True).get(pk=test.pk)
            if locked.state != RestoreTestState.RUNNING:
                continue
            if test.run is not None and test.run.is_active:
                try:
                    run_cancel(run=test.run, by=None, reason="Pre-empted: a real recovery needs this asset.")
                except RunRefused:
                    pass  # it finished meanwhile; the outcome is filed as usual below
                else:
                    locked.state, locked.finished_at = RestoreTestState.PREEMPTED, timezone.now()
                    locked.detail = "A real recovery of the asset started; the test gave way and will run again."
                    locked.save(update_fields=["state", "finished_at", "detail"])
                    audit_append(action="restore_test.preempted", system_actor=SYSTEM, obj=test.asset)
                    done.append(f"pre-empted the test of {test.asset.name}")
    return done


@transaction.atomic
def restore_test_finish(*, test_id: int) -> str | None:
    """File the outcome of a test whose run has finished and whose sandbox is removed; None if not yet."""
    test = (
        RestoreTest.objects.select_for_update(of=("self",), no_key=True)
        .select_related("run", "asset", "point")
        .get(pk=test_id)
    )
    run = test.run
    if test.state != RestoreTestState.RUNNING:
        return None
    if run is None:
        test.state, test.detail, test.finished_at = RestoreTestState.FAILED, "Its run was deleted.", timezone.now()
        test.save(update_fields=["state", "detail", "finished_at"])
        return f"{test.asset.name}: run lost"
    if run.status not in RUN_FINISHED or run.cleaned_at is None:
        return None
    now = timezone.now()
    point_gone = test.point is None or test.point.status not in (PointStatus.OK,)
    if run.status != RunStatus.SUCCEEDED and point_gone:
        # The point expired (or was pruned) between choosing and restoring: not the backup's fault.
        test.state, test.finished_at = RestoreTestState.SKIPPED, now
        test.detail = "The chosen recovery point expired before it could be restored; the next test picks another."
        test.save(update_fields=["state", "finished_at", "detail"])
        audit_append(
            action="restore_test.skipped", system_actor=SYSTEM, obj=test.asset, payload={"reason": "point expired"}
        )
        return f"{test.asset.name}: point expired, skipped"
    passed = run.status == RunStatus.SUCCEEDED
    test.state = RestoreTestState.PASSED if passed else RestoreTestState.FAILED
    test.rto_seconds, test.rpo_seconds = run.achieved_rto_seconds, run.achieved_rpo_seconds
    test.detail = "" if passed else (run.error or f"The run {run.get_status_display().lower()}.")
    test.finished_at = now
    test.save(update_fields=["state", "rto_seconds", "rpo_seconds", "detail", "finished_at"])
    started = run.started_at or run.created_at
    size = test.point.size_bytes if test.point else 0
    # A passing drill run already filed itself as drill evidence: it is this test's, so say so.
    updated = RestoreEvidence.objects.filter(run_id=run.public_id, asset=test.asset).update(
        kind=EvidenceKind.RESTORE_TEST, point_id=test.point.public_id if test.point else None, bytes_restored=size
    )
    if not updated:
        restore_evidence_record(
            asset=test.asset,
            kind=EvidenceKind.RESTORE_TEST,
            passed=passed,
            started_at=started,
            finished_at=run.finished_at or now,
            rto_seconds=run.achieved_rto_seconds,
            rpo_seconds=run.achieved_rpo_seconds,
            rto_target_seconds=run.rto_target_seconds,
            bytes_restored=size,
            run_id=run.public_id,
            point_id=test.point.public_id if test.point else None,
            detail=test.detail,
        )
    audit_append(
        action=f"restore_test.{test.state}",
        system_actor=SYSTEM,
        obj=test.asset,
        payload={"run": str(run.public_id), "rto_seconds": test.rto_seconds, "rpo_seconds": test.rpo_seconds},
    )
    return f"{test.asset.name}: {test.state}"


def restore_tests_due(*, now: datetime) -> list[tuple[Asset, RestoreTestRule]]:
    """Assets due a test, longest untested first: a policy, a good point, no test running."""
    assets = list(
        Asset.objects.filter(policy__isnull=False, points__status=PointStatus.OK)
        .exclude(restore_tests__state=RestoreTestState.RUNNING)
        .select_related("policy")
        .distinct()
    )
    counted = dict(
        RestoreTest.objects.filter(state__in=TEST_COUNTED, asset__in=assets)
        .values("asset_id")
        .annotate(last=Max("created_at"))
        .values_list("asset_id", "last")
    )
    plans = restore_test_plans(assets=assets)
    due = []
    for asset in assets:
        plan = plans[asset.pk]
        last = counted.get(asset.pk)
        if plan.enabled and (last is None or now - last >= plan.cadence):
            due.append((asset, plan, last))
    due.sort(key=lambda item: (item[2] is not None, item[2] or now, item[0].tier, item[0].name))
    return [(asset, plan) for asset, plan, _ in due]


def restore_tests_tick(*, now: datetime | None = None) -> str:
    """Pre-empt, file finished tests, start due ones within the concurrency bound; a short summary."""
    now = now or timezone.now()
    lines = restore_tests_preempt()
    for test_id in RestoreTest.objects.filter(state=RestoreTestState.RUNNING).values_list("pk", flat=True):
        outcome = restore_test_finish(test_id=test_id)
        if outcome:
            lines.append(outcome)
    room = settings.RESTORE_TEST_CONCURRENCY - RestoreTest.objects.filter(state=RestoreTestState.RUNNING).count()
    busy = set(
        RecoveryRun.objects.filter(status__in=RUN_ACTIVE).exclude(mode=Mode.DRILL).values_list("assets", flat=True)
    )
    for asset, plan in restore_tests_due(now=now):
        if room <= 0:
            break
        if asset.pk in busy:
            continue  # a real recovery has it; test later
        try:
            test = restore_test_start(asset=asset, plan=plan, now=now)
        except IntegrityError:
            continue  # another tick started one meanwhile
        if test.state == RestoreTestState.REFUSED:
            lines.append(f"{asset.name}: refused ({test.detail})")
            continue
        lines.append(f"started a restore test of {asset.name}")
        room -= 1
    return "; ".join(lines) or "no restore test due"
