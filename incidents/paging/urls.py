from __future__ import annotations

from django.urls import path

from incidents.paging import edit_views, views

app_name = "paging"

urlpatterns = [
    path("", views.index, name="index"),
    path("schedules/", views.setup_add, {"kind": "schedule"}, name="schedule-new"),
    path("layers/", views.setup_add, {"kind": "layer"}, name="layer-new"),
    path("overrides/", views.setup_add, {"kind": "override"}, name="override-new"),
    path("policies/", views.setup_add, {"kind": "policy"}, name="policy-new"),
    path("levels/", views.setup_add, {"kind": "level"}, name="level-new"),
    path("<str:kind>/<int:pk>/edit/", edit_views.setup_edit, name="setup-edit"),
    path("<str:kind>/<int:pk>/delete/", views.setup_delete, name="setup-delete"),
    path("pages/<uuid:page_id>/", views.page_detail, name="page"),
    path("pages/<uuid:page_id>/ack/", views.page_ack, name="page-ack"),
    path("pages/<uuid:page_id>/escalate/", views.page_escalate, name="page-escalate"),
    path("ack/<str:token>/", views.ack_link, name="ack-link"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<uuid:delivery_id>/replay/", views.delivery_replay_view, name="delivery-replay"),
]
