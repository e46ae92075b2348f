"""Writes for recovery runs; each state change is one transaction with its audit event."""

from __future__ import annotations

from incidents.runs.services.approvals import approvals_expire, notify_approvers, step_approve, step_reject
from incidents.runs.services.cleanup import run_cleanup_execute
from incidents.runs.services.common import RunRefused
from incidents.runs.services.execute import step_execute
from incidents.runs.services.reconcile import runs_reconcile
from incidents.runs.services.runs import run_advance, run_cancel, run_start
from incidents.runs.services.steps import step_change, step_mark_done, step_retry, step_skip
from incidents.runs.services.verifying import run_verify_execute

__all__ = [
    "RunRefused",
    "approvals_expire",
    "notify_approvers",
    "run_advance",
    "run_cancel",
    "run_cleanup_execute",
    "run_start",
    "run_verify_execute",
    "runs_reconcile",
    "step_approve",
    "step_change",
    "step_execute",
    "step_mark_done",
    "step_reject",
    "step_retry",
    "step_skip",
]
