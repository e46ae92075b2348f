"""Read what was really published to the test run's broker.

With the filesystem transport (the default) a message sent through
`dr_portal.queue` lands in the test queue folder as a file; with Redis (as CI
runs) it is pushed onto the `celery` list of the test database. Tests that
want to see sends (and no worker runs meanwhile) empty the queue first and
then read the task names and arguments back.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from django.conf import settings

QUEUE = "celery"  # Celery's default queue
QUEUES = tuple(settings.TASK_QUEUE_NAMES)  # and those CELERY_TASK_ROUTES sends some tasks to


def _decode(raw: bytes | str) -> tuple[str, list[Any]]:
    message = json.loads(raw)
    body: Any = message["body"]
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    return message["headers"]["task"], list(json.loads(body)[0])


class BrokerQueue:
    def __init__(self, url: str) -> None:
        self.url = url
        self.folder = Path(settings.CELERY_FILESYSTEM_DIR) if url.startswith("filesystem://") else None

    def _redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def clear(self) -> None:
        if self.folder is not None:
            for path in self.folder.glob("*.msg"):
                path.unlink(missing_ok=True)
        else:
            self._redis().delete(*QUEUES)

    def sent(self) -> list[tuple[str, list[Any]]]:
        """(task name, positional args) of every message waiting, oldest first."""
        if self.folder is not None:
            return [_decode(path.read_bytes()) for path in sorted(self.folder.glob("*.msg"))]
        # Kombu LPUSHes and BRPOPs, so the oldest message of each queue is at its right end.
        return [_decode(raw) for queue in QUEUES for raw in reversed(self._redis().lrange(queue, 0, -1))]

    def sent_to(self, queue: str) -> list[str]:
        """Task names of the messages waiting on one queue."""
        if self.folder is not None:
            # The filesystem transport names each message file after its queue.
            return [_decode(p.read_bytes())[0] for p in sorted(self.folder.glob(f"*.{queue}.msg"))]
        return [_decode(raw)[0] for raw in reversed(self._redis().lrange(queue, 0, -1))]


def broker_url() -> str:
    return str(settings.CELERY_BROKER_URL)
