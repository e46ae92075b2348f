"""Incident writes; each is one transaction that appends its audit event to the incident's timeline."""

from __future__ import annotations

from incidents.services.alerts import IntakeResult, alerts_ingest
from incidents.services.common import IncidentRefused
from incidents.services.compliance import deadlines_scan, delay_reason_record
from incidents.services.drills import drill_outcome_record, drill_schedule_set, drill_start, drills_open_due
from incidents.services.lifecycle import (
    incident_add_assets,
    incident_declare,
    incident_set_severity,
    incident_transition,
    incident_update_facts,
    role_assign,
    role_relieve,
    severity_suggest,
)
from incidents.services.outbound import deliveries_reconcile, delivery_attempt, notify
from incidents.services.reviews import action_item_add, action_item_set_status, review_save, review_sign_off
from incidents.services.timeline import note_add, pin_set

__all__ = [
    "IncidentRefused",
    "IntakeResult",
    "action_item_add",
    "action_item_set_status",
    "alerts_ingest",
    "deadlines_scan",
    "delay_reason_record",
    "deliveries_reconcile",
    "delivery_attempt",
    "drill_outcome_record",
    "drill_schedule_set",
    "drill_start",
    "drills_open_due",
    "incident_add_assets",
    "incident_declare",
    "incident_set_severity",
    "incident_transition",
    "incident_update_facts",
    "note_add",
    "notify",
    "pin_set",
    "review_save",
    "review_sign_off",
    "role_assign",
    "role_relieve",
    "severity_suggest",
]
