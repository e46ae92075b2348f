"""gunicorn reads this file from the working directory (`gunicorn dr_portal.wsgi`, as the Procfile runs it).

The web processes count requests and alerts in files under METRICS_PROCESS_DIR, which
/metrics sums (dr_portal/ops/counters.py): the server empties that folder as it starts,
before any worker is forked, so files of processes from an earlier run are not added in.
"""

from __future__ import annotations

import os
from typing import Any


def on_starting(server: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    from dr_portal.env import settings_or_exit

    settings_or_exit()
    from dr_portal.ops.counters import counts_reset

    counts_reset()
