"""`manage.py audit_verify`: recompute every hash and link, check every checkpoint; exit 1 on tampering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr_portal.audit.checkpoints import load_public_key_pem
from dr_portal.audit.verify import verification_record, verify_log


class Command(BaseCommand):
    help = "Verify the audit log's hash chain, its checkpoint signatures and its head against exported checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_seq", type=int, default=None, help="First seq to check (default 1).")
        parser.add_argument(
            "--to", dest="to_seq", type=int, default=None, help="Last seq to check (default: the head)."
        )
        parser.add_argument(
            "--public-key",
            type=Path,
            default=None,
            help="PEM file of the Ed25519 public key to check signatures with (default: the configured key's).",
        )
        parser.add_argument("--no-record", action="store_true", help="Do not store the result for the Audit page.")

    def handle(self, *args: Any, **options: Any) -> None:
        from_seq, to_seq = options["from_seq"], options["to_seq"]
        if from_seq is not None and from_seq < 1:
            raise CommandError("--from must be 1 or more")
        if from_seq is not None and to_seq is not None and to_seq < from_seq:
            raise CommandError("--to must not be below --from")
        key = None
        if options["public_key"] is not None:
            try:
                key = load_public_key_pem(options["public_key"].read_bytes())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--public-key: {exc}") from None
        report = verify_log(from_seq=from_seq, to_seq=to_seq, key=key)
        if not options["no_record"] and from_seq is None and to_seq is None:
            verification_record(report=report, source="command")
        if report.ok:
            self.stdout.write(report.summary())
            return
        self.stderr.write(report.summary())
        raise CommandError(f"audit log verification failed: {report.first_problem}", returncode=1)
