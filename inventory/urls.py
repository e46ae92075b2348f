from __future__ import annotations

from django.urls import path

from inventory import views, views_discover, views_history, views_plans

app_name = "inventory"

urlpatterns = [
    path("", views.index, name="index"),
    path("assets/new/", views.asset_edit, name="asset-new"),
    path("discover/", views_discover.discover, name="discover"),
    path("assets/<uuid:asset_id>/", views.asset_detail, name="asset"),
    path("assets/<uuid:asset_id>/edit/", views.asset_edit, name="asset-edit"),
    path("assets/<uuid:asset_id>/history/", views_history.asset_history, name="asset-history"),
    path("assets/<uuid:asset_id>/backup/", views.asset_backup, name="asset-backup"),
    path("assets/<uuid:asset_id>/verify/", views.asset_verify, name="asset-verify"),
    path("assets/<uuid:asset_id>/dependencies/", views.dependency_add_view, name="dependency-add"),
    path(
        "assets/<uuid:asset_id>/dependencies/<int:dependency_id>/remove/",
        views.dependency_remove_view,
        name="dependency-remove",
    ),
    path("policies/", views.policies, name="policies"),
    path("policies/new/", views.policy_edit, name="policy-new"),
    path("policies/<uuid:policy_id>/edit/", views.policy_edit, name="policy-edit"),
    path("vaults/", views.vaults, name="vaults"),
    path("vaults/new/", views.vault_edit, name="vault-new"),
    path("vaults/<uuid:vault_id>/edit/", views.vault_edit, name="vault-edit"),
    path("plans/", views_plans.plans, name="plans"),
    path("plans/new/", views_plans.plan_edit, name="plan-new"),
    path("plans/<uuid:plan_id>/", views_plans.plan_detail, name="plan"),
    path("plans/<uuid:plan_id>/edit/", views_plans.plan_edit, name="plan-edit"),
    path("readiness/", views.readiness, name="readiness"),
    path("import/", views.import_view, name="import"),
    path("export.yaml", views.export_view, name="export"),
]
