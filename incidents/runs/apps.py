from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    """Recovery runs, steps and approvals; a sub-app of incidents with its own migrations."""

    name = "incidents.runs"
    label = "runs"
    verbose_name = "Recovery runs"

    def ready(self) -> None:
        from incidents.runs import metrics  # noqa: F401 - registers the run figures
