from __future__ import annotations

from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.index, name="index"),
    path("approvals/", views.approvals, name="approvals"),
    path("reports/", views.reports, name="reports"),
]
