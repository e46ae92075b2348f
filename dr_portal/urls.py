"""Top-level URLs."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView

from dr_portal.ops import views as ops_views
from dr_portal.pdf import views as pdf_views
from incidents import views as incident_views

# The admin site demands a verified second factor, like every admin action.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "DR Portal administration"

# Under /api/ these answer in the API's JSON error shape; elsewhere Django's pages.
handler400 = "dr_portal.api_errors.handler400"
handler403 = "dr_portal.api_errors.handler403"
handler404 = "dr_portal.api_errors.handler404"
handler500 = "dr_portal.api_errors.handler500"

urlpatterns = [
    path("", incident_views.dashboard, name="dashboard"),
    path("", include("incidents.urls")),
    path("runs/", include("incidents.runs.urls")),
    path("paging/", include("incidents.paging.urls")),
    path("", include("incidents.compliance.urls")),
    path("inventory/", include("inventory.urls")),
    path("audit/", include("dr_portal.audit.urls")),
    path("reports/certificate.pem", pdf_views.certificate_pem, name="report-certificate"),
    path("reports/audit-key.pem", pdf_views.audit_key_pem, name="report-audit-key"),
    path("reports/tsa-certificate.pem", pdf_views.tsa_certificate_pem, name="report-tsa-certificate"),
    path("accounts/", include("dr_portal.accounts.urls")),
    path("api/v1/", include("dr_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
]
