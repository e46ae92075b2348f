from __future__ import annotations

from django.urls import path

from dr_portal.audit import verify_views, views

app_name = "audit"

urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("export.jsonl", views.export_jsonl, name="export-jsonl"),
    path("pubkey", views.pubkey, name="pubkey"),
    path("checkpoints/<int:seq>.txt", views.checkpoint, name="checkpoint"),
    path("erase", views.erase, name="erase"),
    path("verify-now", verify_views.verify_now, name="verify-now"),
    path("verify-status", verify_views.verify_status, name="verify-status"),
]
