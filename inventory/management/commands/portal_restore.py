"""`manage.py portal_restore`: rebuild this portal from a portal backup, with only the vault and the key file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr_portal.errors import Refused
from inventory import engine
from inventory.portal.services import PortalNotEmpty, open_portal_vault, portal_points, portal_restore


class Command(BaseCommand):
    help = "Restore the portal's database and audit checkpoints from a portal backup (refuses a database with data)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vault", required=True, help="vault URI: folder, file:// or s3://bucket/prefix")
        parser.add_argument("--key-file", required=True, type=Path, help="the vault key file (id:base64 lines)")
        parser.add_argument("--point", default=None, help="which portal backup (default: the newest)")
        parser.add_argument("--list", action="store_true", help="list the portal backups in the vault and stop")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds data (it is backed up first)"
        )
        parser.add_argument(
            "--keep", type=Path, default=None, help="folder to write the backed-up configuration and public keys to"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ring = engine.KeyRing.from_file(Path(options["key_file"]))
        except engine.EngineError as exc:
            raise CommandError(f"--key-file: {exc}", returncode=2) from exc
        try:
            if options["list"]:
                for name in portal_points(vault=open_portal_vault(options["vault"])):
                    self.stdout.write(name)
                return
            result = portal_restore(
                vault_uri=options["vault"],
                keyring=ring,
                point=options["point"],
                force=options["force"],
                keep_dir=Path(options["keep"]) if options["keep"] else None,
            )
        except PortalNotEmpty as exc:
            raise CommandError(str(exc), returncode=3) from exc
        except Refused as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if result.previous_backup:
            self.stdout.write(f"the database that was here is saved as {result.previous_backup}")
        if result.checkpoints_set_aside:
            self.stdout.write(
                f"{result.checkpoints_set_aside} newer checkpoint files moved to the superseded/ folder of the exports"
            )
        self.stdout.write(
            f"restored {result.point} ({result.engine}): audit head {result.head_seq}, "
            f"{result.checkpoints_installed} checkpoint files installed"
        )
        if result.keys_installed:
            self.stdout.write(f"report keys restored under VAR_DIR/keys: {', '.join(result.keys_installed)}")
        for name in result.keys_set_aside:
            self.stdout.write(f"the {name} made here before the restore moved to VAR_DIR/keys/superseded/")
        for name in result.checkpoints_differing:
            self.stderr.write(f"kept the existing {name}: it differs from the backed-up one")
        if not result.configured_key_matches:
            self.stderr.write(
                "The configured audit signing key is not the one that signed this log: set AUDIT_SIGNING_KEY(_FILE) "
                "to the original key, or run audit_verify --public-key with the backed-up public key (--keep)."
            )
        assert result.verify is not None
        if not result.verify.ok:
            self.stderr.write(result.verify.summary())
            raise CommandError(f"the restored audit log does not verify: {result.verify.first_problem}", returncode=1)
        self.stdout.write(result.verify.summary())
        self.stdout.write(f"the log continues: portal.restored recorded as seq {result.restored_event_seq}")
