"""Entry point for Celery processes: `celery -A dr_portal.worker worker|beat`.

It loads settings first so a bad variable stops the worker with one line,
the same as manage.py does.
"""

from __future__ import annotations

import os

from dr_portal.env import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
settings_or_exit()

from dr_portal.celery import app  # noqa: E402

__all__ = ["app"]
