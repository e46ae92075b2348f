"""`manage.py portal_backup`: copy the portal's own database, configuration and audit evidence into its vault."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr_portal.errors import Refused
from inventory.engine.fmt import human_size
from inventory.portal.services import portal_backup
from inventory.vault_io import VaultIOFailure


class Command(BaseCommand):
    help = "Back the portal itself up (database, configuration less secrets, checkpoints, public keys) into a vault."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vault", default=None, help="vault URI (default: PORTAL_BACKUP_VAULT)")
        parser.add_argument("--label", default="manual", help="a word in the point's name (default: manual)")

    def handle(self, *args: Any, **options: Any) -> None:
        label = options["label"]
        if not label.replace("-", "").isalnum():
            raise CommandError("--label: letters, digits and hyphens only")
        try:
            result = portal_backup(vault_uri=options["vault"], label=label)
        except (Refused, VaultIOFailure) as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(
            f"{result.point} in {result.vault_uri}: {result.engine} database, audit head {result.head_seq}, "
            f"{manifest.total_files} files, {human_size(manifest.total_bytes)}"
        )
