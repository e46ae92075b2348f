"""What the compliance report tests share: a closed incident with every fact, building a report, reading it back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.pdf import verify_pdf
from incidents.models import GeneratedReport, Incident, Regime, ReportStatus
from incidents.services import (
    action_item_add,
    filing_record,
    incident_declare,
    incident_transition,
    incident_update_facts,
    note_add,
    review_save,
    review_sign_off,
)
from incidents.services.reports import report_build, report_path
from inventory.models import Asset
from tests.factories import (
    decide_mandatory_assessments,
    sign_required,
)


def closed_incident(commander: User, compliance: User, assets: list[Asset]) -> Incident:
    now = timezone.now()
    incident = incident_declare(
        title="Fraud scores served from a corrupted model",
        category="integrity",
        summary="A bad model artefact was promoted; scores were wrong for 40 minutes.",
        assets=assets,
        by=commander,
        commander=commander,
        started_at=now - timedelta(hours=2),
    )
    incident_update_facts(
        incident=incident,
        changes={"personal_data": True, "aware_at": now - timedelta(hours=1), "subjects_approx": 1234},
        by=commander,
    )
    note_add(incident=incident, body="Rolled back to the previous model version.", by=commander)
    filing_record(
        incident=incident,
        regime=Regime.GDPR_33,
        recipient="CNIL",
        filed_at=now - timedelta(minutes=30),
        by=commander,
        reference="CNIL-2026-0042",
    )
    action_item_add(
        incident=incident, title="Gate promotions on eval parity", kind="preventive", owner=commander, by=commander
    )
    for status in ("investigating", "mitigating", "recovering", "resolved"):
        incident_transition(incident=incident, to=status, by=commander)
    review_save(incident=incident, changes={"root_cause": "Promotion skipped the eval gate."}, by=commander)
    review_sign_off(incident=incident, by=commander)
    decide_mandatory_assessments(incident, commander)
    closed = incident_transition(incident=incident, to="closed", by=commander)
    sign_required(closed, commander, compliance)
    return closed


def reading_order(path: Path) -> str:
    """pdftotext in reading order (no -layout): a table cell's wrapped lines stay together."""
    import subprocess

    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def build(report: GeneratedReport) -> GeneratedReport:
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    return report


def evidence_of(report: GeneratedReport) -> dict[str, Any]:
    result = verify_pdf(report_path(report).read_bytes())
    assert result.ok, result.problems
    assert isinstance(result.evidence, dict)
    return result.evidence
