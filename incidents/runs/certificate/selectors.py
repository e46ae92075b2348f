"""Reading a run's certificate for its page."""

from __future__ import annotations

import json
from typing import Any

from incidents.runs.certificate.models import RunCertificate
from incidents.runs.models import RecoveryRun

MARKS = {"passed": "✓", "failed": "✗", "recorded_only": "!", "not_checked": "-"}


def run_certificate(*, run: RecoveryRun) -> dict[str, Any] | None:
    cert = RunCertificate.objects.filter(run=run).first()
    if cert is None:
        return None
    body = json.loads(cert.document)["certificate"]
    checks = [check for asset in body["assets"] for check in asset["checks"]]
    if body.get("lineage"):
        checks.append(body["lineage"])
    for check in checks:
        check["mark"] = MARKS.get(check["status"], "?")
        check["label"] = check["check"].replace("_", " ")
        check["status_label"] = check["status"].replace("_", " ")
    return {"body": body, "key_id": cert.key_id, "verdict": cert.verdict, "issued_at": cert.issued_at}
