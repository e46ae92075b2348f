from __future__ import annotations

from django.urls import path

from incidents.runs import views, views_traffic

app_name = "runs"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("<uuid:run_id>/", views.detail, name="detail"),
    path("<uuid:run_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:run_id>/certificate.json", views.certificate_download, name="certificate"),
    path("steps/<uuid:step_id>/retry/", views.step_retry_view, name="step-retry"),
    path("steps/<uuid:step_id>/skip/", views.step_reason, {"action": "skip"}, name="step-skip"),
    path("steps/<uuid:step_id>/done/", views.step_reason, {"action": "done"}, name="step-done"),
    path("steps/<uuid:step_id>/decide/", views.step_decide, name="step-decide"),
    path("assets/<uuid:asset_id>/behaviour/", views_traffic.asset_behaviour, name="asset-behaviour"),
]
