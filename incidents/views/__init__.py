"""Incident views: pages to read, commands to run, drills."""

from __future__ import annotations

from incidents.views.assessments import assessment
from incidents.views.commands import (
    action_item_status,
    action_items,
    assets,
    delays,
    drill_outcome,
    facts,
    notes,
    pins,
    review,
    review_sign,
    roles,
    severity,
    status,
)
from incidents.views.drills import drill_schedule, drills
from incidents.views.inbox import inbox, inbox_attach, inbox_declare, inbox_map
from incidents.views.pages import approvals, dashboard, declare, detail, index, timeline
from incidents.views.reports import report_create, report_file, reports

__all__ = [
    "action_item_status",
    "action_items",
    "approvals",
    "assessment",
    "assets",
    "dashboard",
    "declare",
    "delays",
    "detail",
    "drill_outcome",
    "drill_schedule",
    "drills",
    "facts",
    "inbox",
    "inbox_attach",
    "inbox_declare",
    "inbox_map",
    "index",
    "notes",
    "pins",
    "report_create",
    "report_file",
    "reports",
    "review",
    "review_sign",
    "roles",
    "severity",
    "status",
    "timeline",
]
