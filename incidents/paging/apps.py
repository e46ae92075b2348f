from __future__ import annotations

from django.apps import AppConfig


class PagingConfig(AppConfig):
    """On-call schedules, escalation policies and pages; a sub-app of incidents with its own migrations."""

    name = "incidents.paging"
    label = "paging"
    verbose_name = "On-call paging"
