"""Remove chunks no recovery point needs any more, from the vault and a key file alone.

``python manage.py vault_prune --vault var/vault --key-file var/keys/vault-keys``. Run it
after expired points were deleted (the portal's point expiry does that). A pack goes
only when no point references it and its retention has ended; a backup running at the
same time makes the prune step back. Safe to interrupt and run again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory import engine
from inventory.engine.chunks.prune import prune_chunks
from inventory.management.commands.vault_ls import open_offline


class Command(BaseCommand):
    help = "Delete chunk packs that no point references and no retention holds; report the space reclaimed."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vault", required=True, help="folder, file:// or s3://bucket/prefix")
        parser.add_argument("--key-file", required=True, help="the vault key file (id:base64 lines)")

    def handle(self, *args: Any, **options: Any) -> None:
        vault, ring = open_offline(options["vault"], options["key_file"])
        try:
            report = prune_chunks(vault=vault, keyring=ring)
        except engine.EngineError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
        for key, until in report.kept_locked[:20]:
            self.stdout.write(f"  kept {key}: retained until {until:%Y-%m-%d %H:%M} UTC")
