"""A worker reports in as soon as it is ready, so /readyz turns green without waiting for beat."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def _worker_ready(sender: Any = None, **kwargs: Any) -> None:
    from django.db import close_old_connections

    from dr_portal.ops.services import heartbeat_record

    try:
        heartbeat_record(hostname=getattr(sender, "hostname", None) or "unknown")
    except Exception:
        logger.exception("could not record the first worker heartbeat")
    finally:
        close_old_connections()
