from __future__ import annotations

from django.urls import path

from incidents.compliance import views

app_name = "compliance"

urlpatterns = [
    path("incidents/<uuid:incident_id>/notifications/", views.notifications, name="notifications"),
    path(
        "incidents/<uuid:incident_id>/notifications/<uuid:notification_id>/attachment/",
        views.attachment,
        name="attachment",
    ),
    path("incidents/<uuid:incident_id>/exports/gdpr.json", views.export, {"name": "gdpr.json"}, name="export-gdpr"),
    path("incidents/<uuid:incident_id>/exports/hhs.csv", views.export, {"name": "hhs.csv"}, name="export-hhs"),
    path("incidents/<uuid:incident_id>/sign-offs/", views.signoffs, name="signoffs"),
    path("compliance/breach-register/", views.breach_register_page, name="breach-register"),
]
