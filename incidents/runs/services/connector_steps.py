"""Restore, verify and clean-up steps of assets with a connector (databases, registries, indexes, groups).

A restore brings the point's files back into a staging folder of the run (resumable, every
hash verified, like any restore), then the connector loads them into the target system and
verifies it against what the snapshot recorded; the staging folder is removed afterwards.
A refusal (a target holding data without ``replace``, an embedding model that does not
match) or a failed verification fails the step with the connector's reason; an unreachable
server is retried like an unreachable vault.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from incidents.runs.models import Mode, RecoveryRun, StepRun, StepState
from incidents.runs.targets import drill_root
from inventory import connector_io, vault_io
from inventory.connectors import AuthFailed, ConnectorError, ConnectorRefused, TargetNotEmpty, Unreachable
from inventory.connectors.ledger import Ledger
from inventory.connectors.ledger import summary as ledger_summary

ProgressFn = Callable[[int, int], bool]
PHASE_DETAIL_SECONDS = 2.0  # the run page polls every 2 s


def staging_dir(run: RecoveryRun, step_key: str = "") -> Path:
    root = settings.VAR_DIR / "restore-staging" / str(run.public_id)
    return root / step_key if step_key else root


def _reason(exc: ConnectorError) -> tuple[str, str, bool]:
    """(code, sentence, worth retrying) for a connector failure."""
    transient = isinstance(exc, Unreachable) and not isinstance(exc, AuthFailed)
    return exc.code[:32], str(exc), transient


class StepPhase:
    """Where a running connector step stands, saved on the step for the run page (which polls).

    A new phase ("kb-index (2 of 3): swapping in the restored tables") is saved at once: a step
    has a handful of them per member. A detail within one phase ("40,000 of 120,000 keys") is
    saved at most every ``every`` seconds, so a restore of many keys writes a bounded number of rows.
    """

    def __init__(self, step: StepRun, *, every: float = PHASE_DETAIL_SECONDS) -> None:
        self.step, self.every = step, every
        self.phase, self.saved_at = "", float("-inf")
        self.writes = 0

    def __call__(self, phase: str, detail: str = "") -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.saved_at < self.every:
            return
        fields: dict[str, Any] = {"phase": (f"{phase} — {detail}" if detail else phase)[:300]}
        at = timezone.now()
        if phase != self.phase:
            fields["phase_at"] = at
        self.phase, self.saved_at = phase, now
        self.writes += 1
        StepRun.objects.filter(pk=self.step.pk, state=StepState.RUNNING, attempt=self.step.attempt).update(
            heartbeat_at=at, **fields
        )


def _drill_refusal(step: StepRun, reason: str) -> str:
    """A drill's refusal of a target that holds data: a drill never replaces, so say what to do instead."""
    held = _REPLACE_ADVICE.sub("", reason).rstrip(". ")
    target = step.target_path or "the drill target"
    return (
        f"{held}. A drill never writes over data: empty the drill target ({target}) or name another one "
        "in the plan step's target_config, then run the drill again."
    )


_REPLACE_ADVICE = re.compile(r";?\s*restore (?:there |over it )?only with replace\.?")


def _refused(step: StepRun, exc: ConnectorError) -> tuple[str, dict[str, Any], str, str]:
    assert step.asset is not None
    code, reason, _ = _reason(exc)
    if isinstance(exc, TargetNotEmpty) and step.run.mode == Mode.DRILL:
        reason = _drill_refusal(step, reason)
    refused = isinstance(exc, ConnectorRefused)
    return "failed", {"error": code, "refused": refused}, code, f"{step.asset.name}: {reason}"


def _connector_failed(step: StepRun, exc: ConnectorError) -> tuple[str, dict[str, Any], str, str]:
    """A connector's failure: "retry" when it may pass (said like the final failure: "<asset>: …"),
    else refused as final."""
    assert step.asset is not None
    code, reason, transient = _reason(exc)
    if transient:
        return "retry", {}, code, f"{step.asset.name}: {reason}"
    return _refused(step, exc)


def _target_held_data(step: StepRun) -> bool:
    """Whether a replace's target held data before it (a cheap look; no record is kept of it)."""
    assert step.asset is not None and step.point is not None
    try:
        connector_io.refuse_full_target(asset=step.asset, point=step.point, target=step.target_config)
    except TargetNotEmpty:
        return True
    except ConnectorError:
        return False
    return False


def connector_restore(step: StepRun, progress: ProgressFn) -> tuple[str, dict[str, Any], str, str]:
    """('done' | 'failed' | 'retry' | 'stopped', evidence, code, reason) of a connector restore."""
    asset, point = step.asset, step.point
    assert asset is not None and point is not None
    staging = staging_dir(step.run, step.key)
    say = StepPhase(step)
    # A drill never writes over data; a recovery does only when its step says replace.
    replace = bool(step.params.get("replace")) and step.run.mode != Mode.DRILL
    ledger = step_ledger(step)
    say("checking that the target is empty" if not replace else "looking at what the target holds")
    held = False
    cleared: list[str] = []
    try:
        if step.run.mode == Mode.DRILL and ledger.names_left():
            # An earlier attempt of this step (its worker died, or it failed halfway) left part of a
            # restore in the drill target; it would be refused as "not empty". Its record says exactly
            # what it made, so that goes first, and the restore starts again from an empty target.
            cleared = ledger_summary(ledger.items)["left"]
            connector_io.cleanup(asset=asset, target=step.target_config, ledger=ledger)
        if replace:
            held = _target_held_data(step)
        else:  # a target that holds data is refused before the point is read back from the vault
            connector_io.refuse_full_target(asset=asset, point=point, target=step.target_config, ledger=ledger)
    except ConnectorError as exc:
        return _connector_failed(step, exc)
    say("reading the point back from the vault")
    try:
        files = vault_io.restore_point(
            vault=point.vault,
            manifest=point.manifest,
            target_dir=staging,
            progress=progress,
            max_bytes_per_second=settings.RESTORE_MAX_BYTES_PER_SECOND,
        )
    except vault_io.BackupStopped:
        return "stopped", {}, "", ""
    except vault_io.VaultIOFailure as failure:
        if failure.transient:
            return "retry", {}, failure.code, str(failure)
        evidence = {"error": failure.code, **{k: v for k, v in failure.evidence.items() if v}}
        return "failed", evidence, failure.code, f"Restoring {asset.name} from point {point.public_id}: {failure}"
    try:
        connector_io.restore(
            asset=asset,
            point=point,
            restored=staging,
            target=step.target_config,
            replace=replace,
            ledger=ledger,
            say=say,
        )
        verification = connector_io.verify(asset=asset, point=point, target=step.target_config, say=say)
    except ConnectorError as exc:
        outcome = _connector_failed(step, exc)
        if outcome[0] != "retry":  # a retry resumes from what was read back
            shutil.rmtree(staging, ignore_errors=True)
        return outcome
    say("removing the staging folder")
    shutil.rmtree(staging, ignore_errors=True)
    evidence = {**files, "connector": verification, "replace": replace}
    if cleared:
        evidence["cleared_before_restore"] = cleared[:50]
    if replace and held:
        evidence["replaced"] = (
            f"Replaced what {step.target_path or 'the target'} held. The old content stayed in place "
            "until the restored copy had been checked, and was swapped out only then."
        )
    if not verification["ok"]:
        return "failed", evidence, "connector_verify_failed", f"{asset.name}: {verification['summary']}"
    return "done", evidence, "", ""


def step_ledger(step: StepRun) -> Ledger:
    """The step's record of what its restore created, saved to the database at every change
    (a retried restore adds to the same record; a worker that dies leaves it complete)."""

    def save(items: list[dict[str, Any]]) -> None:
        step.ledger = items
        StepRun.objects.filter(pk=step.pk).update(ledger=items)

    return Ledger(step.ledger or [], save)


def connector_verify(step: StepRun) -> tuple[str, dict[str, Any], str, str]:
    """Verify the step's target system against its point through the connector."""
    asset, point = step.asset, step.point
    assert asset is not None and point is not None
    try:
        verification = connector_io.verify(asset=asset, point=point, target=step.target_config, say=StepPhase(step))
    except ConnectorError as exc:
        code, reason, transient = _reason(exc)
        return ("retry" if transient else "failed"), {"error": code}, code, f"{asset.name}: verifying: {reason}"
    evidence = {"connector": verification, "target": step.target_path}
    if not verification["ok"]:
        return "failed", evidence, "connector_verify_failed", f"{asset.name}: {verification['summary']}"
    return "done", evidence, "", ""


def connector_recheck(step: StepRun) -> str | None:
    """The final verifying phase: a problem sentence, or None when the target still matches."""
    status, _, _, reason = connector_verify(step)
    return None if status == "done" else reason


def connector_cleanup(run: RecoveryRun) -> tuple[int, list[str], list[dict[str, str]]]:
    """Remove the drill targets of a run's connector restores, and the run's staging folder.

    Returns (things removed, what was kept and why, the steps with no complete record). Each
    restore's ledger says what it created; only that is removed, never what the target held
    before the run. A step made before restores kept a ledger (``ledger_complete`` false) may
    have made things no record names: those stay, and the kept lines say what to check by hand.
    Only drill targets: a recovery restored into real systems, which stay.
    """
    removed, kept, notes, unrecorded = 0, [], [], []
    if run.mode == Mode.DRILL:
        steps = run.steps.filter(kind="restore", asset__isnull=False).exclude(target_config={})
        for step in steps.select_related("run", "asset", "point"):
            assert step.asset is not None
            ledger = step_ledger(step)
            try:
                connector_io.cleanup(asset=step.asset, target=step.target_config, ledger=ledger)
            except ConnectorError as exc:
                kept.append(f"{step.asset.name}: clean-up of {step.target_path}: {exc}")
                continue
            finally:
                done = ledger_summary(ledger.items)
                kept += [f"{step.asset.name}: {line}" for line in done["kept"]]
                note = unrecorded_note(step, cleaned=True)
                if note:  # first in the audit event's list, which keeps 20 lines
                    notes.append(f"{step.asset.name}: {note}")
                    unrecorded.append({"asset": step.asset.name, "step": step.key, "target": step.target_path})
            removed += len(done["removed"])
            _remove_empty_dirs(drill_root(run) / step.asset.name)
    shutil.rmtree(staging_dir(run), ignore_errors=True)
    return removed, notes + kept, unrecorded


def unrecorded_note(step: StepRun, *, cleaned: bool) -> str:
    """What a drill's restore step without a complete record of what it created tells people; "" for others.

    Such a step was made before restores kept a ledger, and its restore ran: whatever that made
    in the target is named nowhere, so clean-up cannot tell it from what was there before and
    removes none of it. The sentence names the target and what the point held, to check by hand.
    """
    if step.ledger_complete or step.kind != "restore" or not step.target_config or not step.attempt:
        return ""
    if step.run.mode != Mode.DRILL:
        return ""
    target = step.target_path or "the drill target"
    recorded = len(ledger_summary(step.ledger or [])["removed"]) if cleaned else 0
    held = connector_io.capture_text(step.point) if step.point is not None else ""
    point = f"point {step.point.public_id}" if step.point is not None else "its point"
    return (
        f"This restore ran before the portal kept a record of what restores create, so clean-up "
        f"{'removed' if cleaned else 'will remove'} nothing there"
        + (f" beyond the {recorded} thing{'s' if recorded != 1 else ''} a later attempt recorded" if recorded else "")
        + f". Check {target} by hand: remove what this drill restored from {point}"
        + (f" ({held})" if held else "")
        + ", and keep whatever was there before the drill."
    )


def _remove_empty_dirs(root: Path) -> None:
    """The drill's folders for an asset, once its connector has removed what it put there.

    Only empty folders go: a file left behind stays, and the run's clean-up reports it.
    """
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(root.iterdir()):
        root.rmdir()
