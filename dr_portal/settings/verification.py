"""Settings: continuous verification (scheduled restore tests) and the portal's own backups."""

from __future__ import annotations

from dr_portal.env import env_choices, env_int, env_str
from dr_portal.settings.core import VAR_DIR

# The portal's own backups (manage.py portal_backup, and beat when PORTAL_BACKUP_SECONDS have passed):
# a vault URI (folder, file:// or s3://bucket/prefix) best kept away from this machine, and how many
# days each point stays immutable (0: no retention lock). docs/runbook-portal-dr.md restores from it.
PORTAL_BACKUP_VAULT = env_str("PORTAL_BACKUP_VAULT", str(VAR_DIR / "vaults" / "portal"))
PORTAL_BACKUP_SECONDS = env_int("PORTAL_BACKUP_SECONDS", 21600, minimum=300)
PORTAL_BACKUP_RETAIN_DAYS = env_int("PORTAL_BACKUP_RETAIN_DAYS", 30, minimum=0)

# Scheduled restore tests (docs/verification.md): at most this many at once (real recoveries are
# never held back by them), and which point a test restores when its policy does not say: "newest"
# or "random" (a good point from the last RESTORE_TEST_WINDOW_DAYS days).
RESTORE_TEST_CONCURRENCY = env_int("RESTORE_TEST_CONCURRENCY", 1, minimum=0)
RESTORE_TEST_POINT = env_choices("RESTORE_TEST_POINT", ["random"], allowed={"newest", "random"})[0]
RESTORE_TEST_WINDOW_DAYS = env_int("RESTORE_TEST_WINDOW_DAYS", 7, minimum=1)
