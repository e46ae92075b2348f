from __future__ import annotations

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from dr_portal.audit.references import register_incident_namer
        from incidents.cockpit.audit_names import IncidentReferences, register_object_namers

        register_incident_namer(IncidentReferences())
        register_object_namers()
        from incidents import metrics  # noqa: F401 - registers the incident figures
