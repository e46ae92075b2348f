"""Read what was really published to the test run's filesystem broker.

The test settings use kombu's filesystem transport with a queue folder of
their own; a message sent through `dr_portal.queue` lands there as a file.
Tests that want to see sends (and no worker runs meanwhile) empty the folder
first and then read the task names and arguments back.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from django.conf import settings


class BrokerQueue:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob("*.msg"))

    def clear(self) -> None:
        for path in self._files():
            path.unlink(missing_ok=True)

    def sent(self) -> list[tuple[str, list[Any]]]:
        """(task name, positional args) of every message waiting, oldest first."""
        out = []
        for path in self._files():
            message = json.loads(path.read_bytes())
            body: Any = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            out.append((message["headers"]["task"], list(args)))
        return out


def broker_queue_folder() -> Path:
    folder = getattr(settings, "CELERY_FILESYSTEM_DIR", None)
    if folder is None:
        raise RuntimeError("these tests read the filesystem broker; unset CELERY_BROKER_URL to use it")
    return Path(folder)
