"""List the recovery points of a vault, or the files of one point, from the vault and a key file alone.

Needs no database: this is what is left when the portal's own database is lost in the
same disaster. ``python manage.py vault_ls --vault var/vault --key-file var/keys/vault-keys``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory import engine
from inventory.engine.catalog import list_points, open_point
from inventory.engine.fmt import human_size
from inventory.engine.target import manifest_entries


def open_offline(vault_uri: str, key_file: str) -> tuple[engine.Vault, engine.KeyRing]:
    """The vault and key ring named on the command line; no settings row, no database."""
    from django.conf import settings

    try:
        ring = engine.KeyRing.from_file(Path(key_file))
        s3 = engine.S3Config(endpoint_url=settings.S3_ENDPOINT_URL or None)
        if not vault_uri.startswith("s3://") and not Path(vault_uri.removeprefix("file://")).is_dir():
            raise CommandError(f"The vault folder {vault_uri} does not exist.")
        vault = engine.vault_from_uri(vault_uri, s3=s3)
    except engine.EngineError as exc:
        raise CommandError(str(exc)) from exc
    return vault, ring


class Command(BaseCommand):
    help = "List a vault's recovery points (or one point's files) with only the vault and the key file."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vault", required=True, help="folder, file:// or s3://bucket/prefix")
        parser.add_argument("--key-file", required=True, help="the vault key file (id:base64 lines)")
        parser.add_argument("--point", help="list this point's files instead of the points")

    def handle(self, *args: Any, **options: Any) -> None:
        vault, ring = open_offline(options["vault"], options["key_file"])
        try:
            if options["point"]:
                manifest = open_point(vault=vault, point=options["point"], keyring=ring)
                for entry in manifest_entries(manifest, ring):
                    self.stdout.write(f"{entry.mode:04o}  {entry.size:>14}  {entry.sha256}  {entry.path}")
                self.stdout.write(f"{manifest.total_files} files, {human_size(manifest.total_bytes)}")
                return
            count = 0
            for info in list_points(vault=vault, keyring=ring):
                count += 1
                if info.problem:
                    self.stdout.write(f"{info.point}  format {info.version}  UNREADABLE: {info.problem}")
                    continue
                assert info.data_as_of is not None
                line = (
                    f"{info.point}  format {info.version}  data as of {info.data_as_of:%Y-%m-%d %H:%M:%S} UTC  "
                    f"{info.files} files  {human_size(info.bytes)}  key {info.key_id}"
                )
                if info.retain_until:
                    line += f"  retained until {info.retain_until:%Y-%m-%d %H:%M} UTC"
                if info.new_bytes is not None:
                    line += f"  new {human_size(info.new_bytes)}, reused {human_size(info.reused_bytes or 0)}"
                self.stdout.write(line)
            self.stdout.write(f"{count} points in {vault.uri}")
        except engine.EngineError as exc:
            raise CommandError(str(exc)) from exc
