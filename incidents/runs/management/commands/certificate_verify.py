"""`manage.py certificate_verify FILE [--public-key PEM]`: check a recovery-equivalence certificate offline.

Exit 0: the signature is valid (the verdict is printed, with any failed check).
Exit 1: not a certificate, another key, or altered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.runs.certificate.signing import certificate_check


class Command(BaseCommand):
    help = "Verify a recovery-equivalence certificate's Ed25519 signature with the public key alone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--public-key",
            type=Path,
            default=None,
            help="PEM file of the Ed25519 public key (default: the configured audit signing key's).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from dr_portal.audit.checkpoints import load_public_key_pem, public_key

        try:
            text = options["file"].read_text()
        except OSError as exc:
            raise CommandError(f"{options['file']}: {exc.strerror}") from None
        if options["public_key"] is not None:
            try:
                key = load_public_key_pem(options["public_key"].read_bytes())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--public-key: {exc}") from None
        else:
            key = public_key()
        ok, summary, body = certificate_check(text, key)
        if not ok:
            raise CommandError(f"certificate NOT verified: {summary}", returncode=1)
        self.stdout.write(summary)
        for asset in body.get("assets", []):
            for check in asset.get("checks", []):
                self.stdout.write(f"  {asset['asset']}: {check['check']} {check['status']} — {check['detail']}")
