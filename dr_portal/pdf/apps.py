from __future__ import annotations

from django.apps import AppConfig


class PdfConfig(AppConfig):
    """Signed PDF reports: rendering, signing, verification (no models)."""

    name = "dr_portal.pdf"
    label = "pdf"
    verbose_name = "PDF reports"
