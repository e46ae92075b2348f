"""The seam between inventory rows and the backup engine (`inventory.engine`).

Everything that touches vault bytes goes through here, so services deal in rows and
results, and the engine's typed errors (from backup, restore and verify) become one
`VaultIOFailure` with a stable code and a sentence for the asset page.

- `common`: the failure type, the key ring, opening a vault row, pacing progress;
- `backup`: taking a backup and its statistics;
- `restore`: restoring, verifying and cleaning up points.
"""

from __future__ import annotations

from inventory.vault_io.backup import point_statistics, take_backup
from inventory.vault_io.common import (
    TRANSIENT_CODES,
    BackupResult,
    BackupStopped,
    ProgressFn,
    VaultIOFailure,
    delete_point,
    keyring,
    open_vault,
    point_prefix,
    prune_vault,
    s3_config,
)
from inventory.vault_io.restore import (
    cleanup_restored,
    discard_parts,
    restore_point,
    restore_space,
    restore_space_problem,
    verify_point,
    verify_restored,
)

__all__ = [
    "TRANSIENT_CODES",
    "BackupResult",
    "BackupStopped",
    "ProgressFn",
    "VaultIOFailure",
    "cleanup_restored",
    "delete_point",
    "discard_parts",
    "keyring",
    "open_vault",
    "point_prefix",
    "point_statistics",
    "prune_vault",
    "restore_point",
    "restore_space",
    "restore_space_problem",
    "s3_config",
    "take_backup",
    "verify_point",
    "verify_restored",
]
