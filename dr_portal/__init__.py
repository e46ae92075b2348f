"""DR Portal: disaster-recovery governance and incident command for AI systems."""

from __future__ import annotations

from dr_portal.celery import app as celery_app

__all__ = ["celery_app"]
