"""Restore a recovery point from a vault and a key file alone, verified, into a target folder.

Needs no database. ``python manage.py vault_restore --vault var/vault --key-file
var/keys/vault-keys --point <asset-uuid>/<point-uuid> --target /srv/restored``. Every
file is checked against the point's authenticated manifest before it appears; on any
failure the target keeps what it held and the command exits non-zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory import engine
from inventory.engine.catalog import open_point
from inventory.engine.fmt import human_size
from inventory.management.commands.vault_ls import open_offline


class Command(BaseCommand):
    help = "Restore one recovery point with only the vault and the key file (no database)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vault", required=True, help="folder, file:// or s3://bucket/prefix")
        parser.add_argument("--key-file", required=True, help="the vault key file (id:base64 lines)")
        parser.add_argument("--point", required=True, help="the point's prefix, as vault_ls prints it")
        parser.add_argument("--target", required=True, help="the folder to restore into")
        parser.add_argument("--no-verify", action="store_true", help="skip re-reading the restored files")

    def handle(self, *args: Any, **options: Any) -> None:
        vault, ring = open_offline(options["vault"], options["key_file"])
        target = Path(options["target"])
        try:
            manifest = open_point(vault=vault, point=options["point"], keyring=ring)
            result = engine.restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=ring)
            self.stdout.write(
                f"Restored {result.files_restored} files ({human_size(result.bytes_restored)}), "
                f"{result.files_skipped} already in place, into {result.target_dir}."
            )
            if not options["no_verify"]:
                report = engine.verify_target(manifest=manifest, target_dir=target, keyring=ring)
                if not report.ok:
                    raise CommandError(f"The restored files do not match the point: {report.summary()}")
                self.stdout.write(report.summary())
        except engine.EngineError as exc:
            raise CommandError(str(exc)) from exc
