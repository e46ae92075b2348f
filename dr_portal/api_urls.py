"""Everything under /api/v1/; each app adds its own routes here."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from rest_framework.routers import SimpleRouter

from dr_portal.accounts import api as accounts_api
from dr_portal.accounts import api_organisation
from incidents import api as incidents_api
from incidents import api_assessments, api_drills, api_inbox, api_intake, api_reports
from incidents.compliance import api as compliance_api
from incidents.paging import api as paging_api
from incidents.runs import api as runs_api
from incidents.runs import api_drills as runs_api_drills
from incidents.runs import api_traffic
from inventory import api as inventory_api
from inventory import api_estate

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", accounts_api.token_create, name="auth-token"),
    path("auth/token/current/", accounts_api.token_revoke_current, name="auth-token-current"),
    path("me/", accounts_api.me, name="me"),
    path("organisation/", api_organisation.organisation, name="organisation"),
    path("organisation/processors/", api_organisation.processor_create, name="organisation-processors"),
    path(
        "organisation/processors/<str:relationship_id>/",
        api_organisation.processor_delete,
        name="organisation-processor",
    ),
    # Machines post here; with or without the trailing slash every other route has, since
    # Alertmanager configurations in the wild use both and a redirect would drop the POST body.
    re_path(r"^intake/alertmanager/?$", api_intake.alertmanager, name="intake-alertmanager"),
    re_path(r"^intake/generic/?$", api_intake.generic, name="intake-generic"),
    path("incidents/<str:incident_id>/assessments/", api_assessments.assessments, name="incident-assessments"),
    path("incidents/<str:incident_id>/notifications/", compliance_api.notifications, name="incident-notifications"),
    path("incidents/<str:incident_id>/sign-offs/", compliance_api.signoffs, name="incident-sign-offs"),
    path(
        "incidents/<str:incident_id>/exports/gdpr.json",
        compliance_api.export_gdpr,
        name="incident-export-gdpr",
    ),
    path("incidents/<str:incident_id>/exports/hhs.csv", compliance_api.export_hhs, name="incident-export-hhs"),
    path("incidents/<str:incident_id>/obligations/", compliance_api.obligations, name="incident-obligations"),
    path("breach-register/", compliance_api.breach_register_view, name="breach-register"),
    path("action-items/<str:item_id>/status/", incidents_api.action_item_status, name="action-item-status"),
    path("drills/", runs_api_drills.drill_create, name="drill-create"),
    path("drills/runs/<str:run_id>/", runs_api_drills.drill_run_progress, name="drill-run-progress"),
    path("pages/<str:page_id>/acknowledge/", paging_api.page_acknowledge_view, name="page-acknowledge"),
    path("drills/schedules/", api_drills.drill_schedules, name="drill-schedules"),
    path("inventory/readiness/", api_estate.readiness, name="inventory-readiness"),
    path("inventory/readiness/summary/", api_estate.readiness_summary, name="inventory-readiness-summary"),
    path("inventory/blast-radius/", api_estate.blast_radius_view, name="inventory-blast-radius"),
    path("inventory/import/", api_estate.import_view, name="inventory-import"),
    path("inventory/export/", api_estate.export_view, name="inventory-export"),
    path("runs/traffic/<str:asset_id>/", api_traffic.traffic_route, name="runs-traffic"),
    path("runs/golden-sets/<str:asset_id>/", api_traffic.golden_sets, name="runs-golden-sets"),
    path("runs/certificates/<str:run_id>/", api_traffic.certificate, name="runs-certificate"),
    path("reports/incident/", api_reports.report_incident_create, name="report-create-incident"),
    path("reports/readiness/", api_reports.report_readiness_create, name="report-create-readiness"),
    path("reports/<str:report_id>/download/", api_reports.report_download_view, name="report-download"),
    path("", include("dr_portal.audit.api")),
]

_inventory = SimpleRouter()
_inventory.register("inventory/assets", inventory_api.AssetViewSet, basename="inventory-asset")
_inventory.register("inventory/dependencies", inventory_api.DependencyViewSet, basename="inventory-dependency")
_inventory.register("inventory/policies", inventory_api.PolicyViewSet, basename="inventory-policy")
_inventory.register("inventory/vaults", inventory_api.VaultViewSet, basename="inventory-vault")
_inventory.register("inventory/recovery-points", inventory_api.PointViewSet, basename="inventory-point")
_inventory.register("inventory/backups", inventory_api.BackupViewSet, basename="inventory-backup")
_inventory.register("inventory/plans", inventory_api.PlanViewSet, basename="inventory-plan")
_inventory.register("runs/approvals", runs_api.ApprovalViewSet, basename="runs-approval")
_inventory.register("runs/steps", runs_api.StepViewSet, basename="runs-step")
_inventory.register("runs", runs_api.RunViewSet, basename="runs-run")
urlpatterns += _inventory.urls

_incidents = SimpleRouter()
_incidents.register("incidents", incidents_api.IncidentViewSet, basename="incident")
_incidents.register("alerts/inbox", api_inbox.InboxAlertViewSet, basename="inbox-alert")
urlpatterns += _incidents.urls

_reports = SimpleRouter()
_reports.register("reports", api_reports.ReportViewSet, basename="report")
urlpatterns += _reports.urls
