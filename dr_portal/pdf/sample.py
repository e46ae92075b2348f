"""A synthetic report used by the tests, `make bench` and `manage.py report_sample`."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_portal.charts import Measured, achieved_vs_target_chart, backup_age_vs_rpo_chart, short_duration
from dr_portal.pdf.render import Attachment, ReportMetadata, render_report_html

ACTIONS = (
    "incident.declared",
    "role.assigned",
    "run.started",
    "step.approved",
    "step.succeeded",
    "backup.verified",
    "note.added",
)


def sample_evidence(*, rows: int, report_id: str = "DRP-SAMPLE-0001") -> dict[str, Any]:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    prev = "0" * 64
    events = []
    for seq in range(1, rows + 1):
        body = f"{seq}|{prev}|{ACTIONS[seq % len(ACTIONS)]}"
        digest = hashlib.sha256(body.encode()).hexdigest()
        events.append(
            {
                "seq": seq,
                "recorded_at": (start + timedelta(seconds=37 * seq)).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": f"user-{seq % 9:02d}",
                "action": ACTIONS[seq % len(ACTIONS)],
                "object": f"step/{seq % 40:03d}",
                "outcome": "ok" if seq % 23 else "failed",
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    assets = [
        {"name": f"model-service-{i}", "tier": 1 + i % 3, "rpo_s": 3600 * (1 + i % 4), "age_s": 1500 * (i + 1)}
        for i in range(8)
    ]
    assets[5]["age_s"] = None
    return {"report_id": report_id, "schema": "drp.sample/1", "events": events, "assets": assets}


def sample_report(
    *, rows: int = 120, draft: bool = False, report_id: str = "DRP-SAMPLE-0001"
) -> tuple[str, list[Attachment], ReportMetadata]:
    """HTML, attachments and metadata of an example report with `rows` timeline events."""
    evidence = sample_evidence(rows=rows, report_id=report_id)
    created = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assets = evidence["assets"]
    rpo_rows = [
        Measured(
            a["name"],
            timedelta(seconds=a["age_s"]) if a["age_s"] is not None else None,
            timedelta(seconds=a["rpo_s"]),
        )
        for a in assets
    ]
    rto_rows = [
        Measured(a["name"], timedelta(minutes=20 + 17 * i), timedelta(hours=1 + i % 2)) for i, a in enumerate(assets)
    ]
    rto_rows[3] = Measured(rto_rows[3].label, None, rto_rows[3].target)
    context = {
        "report": {
            "id": report_id,
            "title": "Incident audit report — sample",
            "kind": "Incident audit report",
            "subtitle": "Synthetic data exercising the PDF pipeline",
            "classification": "Confidential — contains personal data",
            "version": "1",
            "status": "draft" if draft else "final",
            "generated_at": created,
            "generated_by": "user-00",
            "draft": draft,
        },
        "summary": (
            "A storage outage made three model services unavailable; they were restored from immutable "
            "backups and verified. This sample exists to show the layout, not a real incident."
        ),
        "root_cause": None,
        "events": evidence["events"],
        "assets": [
            {
                "name": a["name"],
                "tier": a["tier"],
                "rpo": short_duration(timedelta(seconds=a["rpo_s"])),
                "age": short_duration(timedelta(seconds=a["age_s"])) if a["age_s"] is not None else None,
            }
            for a in assets
        ],
        "rto_chart": achieved_vs_target_chart(rto_rows, title="RTO achieved vs target"),
        "rpo_chart": backup_age_vs_rpo_chart(rpo_rows),
    }
    html = render_report_html("reports/example_report.html", context)
    attachment = Attachment(
        "evidence.json",
        json.dumps(evidence, sort_keys=True, indent=1).encode(),
        description="The data this report was made from",
    )
    metadata = ReportMetadata(
        title=context["report"]["title"], report_id=report_id, subject="Sample report", created=created
    )
    return html, [attachment], metadata
