from __future__ import annotations

from django.urls import path

from incidents import views
from incidents.cockpit import views as cockpit_views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.index, name="index"),
    path("incidents/declare/", views.declare, name="declare"),
    path("incidents/inbox/", views.inbox, name="inbox"),
    path("incidents/inbox/<uuid:alert_id>/attach/", views.inbox_attach, name="inbox-attach"),
    path("incidents/inbox/<uuid:alert_id>/declare/", views.inbox_declare, name="inbox-declare"),
    path("incidents/inbox/<uuid:alert_id>/map/", views.inbox_map, name="inbox-map"),
    path("incidents/<uuid:incident_id>/", views.detail, name="detail"),
    path("incidents/<uuid:incident_id>/timeline/", views.timeline, name="timeline"),
    path("incidents/<uuid:incident_id>/status/", views.status, name="status"),
    path("incidents/<uuid:incident_id>/severity/", views.severity, name="severity"),
    path("incidents/<uuid:incident_id>/roles/", views.roles, name="roles"),
    path("incidents/<uuid:incident_id>/notes/", views.notes, name="notes"),
    path("incidents/<uuid:incident_id>/pins/", views.pins, name="pins"),
    path("incidents/<uuid:incident_id>/assets/", views.assets, name="assets"),
    path("incidents/<uuid:incident_id>/facts/", views.facts, name="facts"),
    path("incidents/<uuid:incident_id>/assessments/<str:regime>/", views.assessment, name="assessment"),
    path("incidents/<uuid:incident_id>/delays/", views.delays, name="delays"),
    path("incidents/<uuid:incident_id>/action-items/", views.action_items, name="action-items"),
    path("incidents/<uuid:incident_id>/review/", views.review, name="review"),
    path("incidents/<uuid:incident_id>/review/sign-off/", views.review_sign, name="review-sign-off"),
    path("incidents/<uuid:incident_id>/drill-outcome/", views.drill_outcome, name="drill-outcome"),
    path("incidents/action-items/<uuid:item_id>/status/", views.action_item_status, name="action-item-status"),
    path("drills/", views.drills, name="drills"),
    path("drills/schedule/", views.drill_schedule, name="drill-schedule"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<uuid:step_id>/decide-now/", cockpit_views.decide_now, name="decide-now"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_create, name="report-create"),
    path("reports/<uuid:report_id>/download/", views.report_file, name="report-download"),
]
