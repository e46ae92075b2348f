from __future__ import annotations

from django.urls import path

from dr_portal.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.index, name="index"),
]
