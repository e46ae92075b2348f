"""The seam between inventory rows and the backup engine (`inventory.engine`).

Everything that touches vault bytes goes through here, so services deal in
rows and results, and the engine's typed errors become one `BackupFailure`
with a stable code and a sentence for the asset page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inventory.models import Asset, Vault


class BackupFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BackupStopped(Exception):
    """Raised from the progress callback when the row says the job is no longer ours."""


@dataclass(frozen=True)
class BackupResult:
    point_id: uuid.UUID
    data_as_of: datetime
    size_bytes: int
    file_count: int
    manifest: dict[str, Any]
    manifest_sha256: str
    key_id: str
    immutable_until: datetime | None
    verified_at: datetime


ProgressFn = Callable[[int, int | None, int], None]


def take_backup(
    *, asset: Asset, vault: Vault, point_id: uuid.UUID, worm_days: int, progress: ProgressFn
) -> BackupResult:
    raise BackupFailure("engine_unavailable", "The backup engine is not installed yet.")


def delete_point(*, vault: Vault, point_id: uuid.UUID, now: datetime) -> None:
    raise BackupFailure("engine_unavailable", "The backup engine is not installed yet.")
