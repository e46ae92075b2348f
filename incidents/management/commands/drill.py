"""Run a DR drill from CI/CD against a running portal, through its REST API (docs/ci.md).

    DR_PORTAL_TOKEN=drp_… python manage.py drill fraud-detection-model --wait --max-rto 15m \\
        --junit drill.xml --url https://dr.example.org

Exit code 0: the drill passed (within --max-rto); 1: it failed or breached the RTO;
2: it could not run (portal unreachable, token refused, unknown asset, refused to start).
Talks only HTTP: no database is opened.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents.runs.drill_client import (
    EXIT_COULD_NOT_RUN,
    Outcome,
    Portal,
    junit_xml,
    parse_duration,
    run_drill,
)


class Command(BaseCommand):
    help = "Start a DR drill of assets or a recovery plan on a running portal and, with --wait, judge it."
    requires_system_checks: list[str] = []  # a client of another portal: this checkout's setup is not its business

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("targets", nargs="+", metavar="ASSET_OR_GROUP", help="asset names or a recovery plan")
        parser.add_argument("--url", default=os.environ.get("DR_PORTAL_URL", ""), help="the portal (DR_PORTAL_URL)")
        parser.add_argument(
            "--token-env", default="DR_PORTAL_TOKEN", help="variable holding the API token (DR_PORTAL_TOKEN)"
        )
        parser.add_argument("--wait", action="store_true", help="follow the drill to its verdict")
        parser.add_argument("--max-rto", help="fail (exit 1) if the drill takes longer: 90s, 15m, 1h30m")
        parser.add_argument("--timeout", default="6h", help="stop waiting after this long (exit 1); default 6h")
        parser.add_argument("--poll", type=float, default=5.0, help="seconds between progress checks; default 5")
        parser.add_argument("--scenario", default="CI/CD drill", help="what the drill is for, shown on the incident")
        parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
        parser.add_argument("--json", action="store_true", help="print the result as JSON (progress goes to stderr)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json: bool = options["json"]
        progress = self.stderr if as_json else self.stdout

        def say(line: str) -> None:
            progress.write(line)
            progress.flush()

        outcome = self._run(options, say)
        if options["junit"] is not None:
            options["junit"].write_bytes(junit_xml(outcome, targets=options["targets"]))
        if as_json:
            self.stdout.write(json.dumps(outcome.summary(), indent=2))
        else:
            (self.stderr if outcome.code else self.stdout).write(f"{outcome.result}: {outcome.reason}")
        sys.exit(outcome.code)

    def _run(self, options: dict[str, Any], say: Any) -> Outcome:
        token = os.environ.get(options["token_env"], "").strip()
        try:
            max_rto = parse_duration(options["max_rto"]) if options["max_rto"] else None
            timeout = parse_duration(options["timeout"])
        except ValueError as bad:
            return Outcome(EXIT_COULD_NOT_RUN, "could_not_run", str(bad))
        if not options["url"]:
            return Outcome(EXIT_COULD_NOT_RUN, "could_not_run", "no portal: pass --url or set DR_PORTAL_URL")
        if not token:
            return Outcome(EXIT_COULD_NOT_RUN, "could_not_run", f"no token: set {options['token_env']}")
        return run_drill(
            portal=Portal(url=options["url"], token=token),
            targets=options["targets"],
            scenario=options["scenario"],
            wait=options["wait"],
            max_rto=max_rto,
            poll_seconds=max(options["poll"], 0.05),
            timeout_seconds=timeout,
            say=say,
        )
