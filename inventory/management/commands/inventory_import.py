"""Import assets, policies, vaults and dependencies from a YAML or CSV file, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.porting import ImportFailed, import_file


class Command(BaseCommand):
    help = "Import an inventory file (.yaml/.yml or .csv). One bad row imports nothing and is named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            summary = import_file(name=path.name, data=data, by=None)
        except ImportFailed as failed:
            raise CommandError(
                f"Nothing imported from {path.name}:\n" + "\n".join(f"  {e}" for e in failed.errors)
            ) from None
        self.stdout.write(f"Imported {path.name}: {summary}.")
