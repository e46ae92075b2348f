"""The incident audit report embeds each run's signed certificate as a checklist: read back from the rendered PDF,
every check and its recorded verdict is there, and what nothing proved reads "not checked", never a pass."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from pypdf import PdfReader

from incidents.models import ReportKind, ReportStatus
from incidents.runs.certificate.selectors import MARKS
from incidents.runs.golden.make_models import make_models
from incidents.runs.golden.services import golden_set_save
from incidents.services.reports import report_build, report_path, report_request
from tests.reports.conftest import embedded_identity
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(settings, "REPORTS_DIR", tmp_path / "reports")
    with embedded_identity(tmp_path / "signing"):
        yield tmp_path


def flat_text(path: Path) -> str:
    """The PDF's text (pypdf keeps table rows in order and the hyphen where a cell wraps), whitespace folded so
    a wrapped cell reads as one phrase, and a word broken after its hyphen joined again."""
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"(\w)- (\w)", r"\1-\2", " ".join(text.split()))


def certificate_section(text: str) -> str:
    start = text.rindex("Recovery-equivalence certificates (signed")  # the table, not its entry in the contents
    return text[start : text.index("Notifications register", start)]


def test_the_incident_pdf_prints_every_certificate_check_with_its_recorded_verdict(
    make_asset: Any, commander: Any, compliance: Any, report_dirs: Path
) -> None:
    scorer = make_asset("onnx-scorer", kind="model", backup=False)
    golden = make_models(Path(scorer.source_uri))
    backed_up(scorer)
    golden_set_save(asset=scorer, model_format="onnx", model_path="model.onnx", inputs=golden["inputs"],
                    expected=golden["expected"], tolerance=1e-4)  # fmt: skip
    ranker = make_asset("ranker", kind="model")  # a model without a golden set: behaviour not checked
    legacy = make_asset("legacy-api", kind="endpoint", backup=False)  # record-only driver: nothing switches
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": scorer.name},
            {"key": "verify", "kind": "verify", "asset": scorer.name, "after": ["restore"]},
            {"key": "restore-ranker", "kind": "restore", "asset": ranker.name},
            {"key": "degrade", "kind": "degrade", "asset": legacy.name, "after": ["verify"]},
        ]
    )
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    body = json.loads(run.certificate.document)["certificate"]
    recorded = {(a["asset"], c["check"]): c["status"] for a in body["assets"] for c in a["checks"]}
    # The run this test needs: a pass, a "not checked" and a "recorded only" at least, and a "not proven" verdict.
    assert recorded[("onnx-scorer", "golden_outputs")] == "passed"
    assert recorded[("ranker", "golden_outputs")] == "not_checked"
    assert recorded[("legacy-api", "route")] == "recorded_only"
    assert body["verdict"] == "not proven"

    report = report_request(kind=ReportKind.INCIDENT, by=compliance, incident=run.incident)
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    section = certificate_section(flat_text(report_path(report)))

    for (asset, check), status in recorded.items():
        row = f"{asset} {check.replace('_', ' ')} {MARKS[status]} {status.replace('_', ' ')}"
        assert row in section, row
    assert f"{MARKS['not_checked']} not checked no golden set for this model" in section
    assert f"{MARKS['recorded_only']} recorded only recorded, nothing switched" in section
    lineage = body["lineage"]
    assert f"all restored lineage {MARKS[lineage['status']]} {lineage['status'].replace('_', ' ')}" in section
    assert re.search(rf"the run verdict not proven signed .* with the audit key {run.certificate.key_id}", section)
    # The recovery point row names the point and the time its data is from.
    point = run.steps.get(key="restore").point
    assert point is not None
    assert f"restored from point {point.public_id}; data as of {point.data_as_of:%Y-%m-%d %H:%M:%S} UTC" in section
    # A proven verdict would be a lie here: the word "proven" appears only as "not proven" or in the legend.
    assert section.count("proven") == section.count("not proven") + 1
