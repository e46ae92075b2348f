"""Write the catalogue as YAML (everything) or CSV (assets), to stdout or a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inventory.porting import export_csv, export_yaml


class Command(BaseCommand):
    help = "Export the inventory; the output can be imported again with inventory_import."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["yaml", "csv"], default="yaml")
        parser.add_argument("--output", "-o", type=Path, help="Write here instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = export_csv() if options["format"] == "csv" else export_yaml(sources=True)
        if options["output"]:
            options["output"].write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(text, ending="")
