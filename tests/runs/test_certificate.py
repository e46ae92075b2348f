"""After a restore the model runs on its golden set; the run ends with a signed certificate that verifies offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dr_portal.audit.checkpoints import public_key_pem
from incidents.runs.certificate.models import RunCertificate
from incidents.runs.golden.make_models import make_models
from incidents.runs.golden.services import golden_set_save
from inventory.verification.models import RestoreEvidence
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def onnx_model(make_asset):
    asset = make_asset("onnx-scorer", backup=False)
    golden = make_models(Path(asset.source_uri))
    backed_up(asset)
    return asset, golden


def restore_plan(asset):
    return make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": asset.name},
            {"key": "verify", "kind": "verify", "asset": asset.name, "after": ["restore"]},
        ]
    )


def checks_of(cert: RunCertificate) -> dict[str, str]:
    body = json.loads(cert.document)["certificate"]
    return {c["check"]: c["status"] for c in body["assets"][0]["checks"]}


def test_a_restored_model_passes_its_golden_set_and_the_certificate_verifies(onnx_model, commander, tmp_path) -> None:
    asset, golden = onnx_model
    golden_set_save(
        asset=asset,
        model_format="onnx",
        model_path="model.onnx",
        inputs=golden["inputs"],
        expected=golden["expected"],
        tolerance=1e-4,
    )
    run = drive(start_run(plan=restore_plan(asset), mode="recovery", by=commander))
    assert run.status == "succeeded", run.error
    cert = run.certificate
    body = json.loads(cert.document)["certificate"]
    assert body["verdict"] == "proven" and body["run"] == str(run.public_id)
    assert checks_of(cert) == {
        "recovery_point": "passed",
        "hashes": "passed",
        "connector": "not_checked",
        "golden_outputs": "passed",
    }
    point = run.steps.get(key="restore").point
    assert point is not None and body["assets"][0]["checks"][1]["chunks_in_point"] == point.stats["chunks"]
    golden_check = body["assets"][0]["checks"][3]
    assert golden_check["max_abs_error"] < 1e-4 and golden_check["cases"] == 8
    assert body["assets"][0]["checks"][0]["data_as_of"] == body["consistency"]["data_as_of_oldest"]

    document, key = tmp_path / "cert.json", tmp_path / "public.pem"
    document.write_text(cert.document)
    key.write_text(public_key_pem())
    call_command("certificate_verify", str(document), "--public-key", str(key))

    tampered = json.loads(cert.document)
    tampered["certificate"]["verdict"] = "proven"
    tampered["certificate"]["assets"][0]["checks"][3]["max_abs_error"] = 0.0
    document.write_text(json.dumps(tampered))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("certificate_verify", str(document), "--public-key", str(key))


def test_a_failing_golden_check_makes_the_run_partially_failed(onnx_model, commander, tmp_path) -> None:
    asset, _ = onnx_model
    other = make_models(tmp_path / "other", seed=99)  # what production answered is not what this model answers
    golden_set_save(
        asset=asset,
        model_format="onnx",
        model_path="model.onnx",
        inputs=other["inputs"],
        expected=other["expected"],
        tolerance=1e-4,
    )
    run = drive(start_run(plan=restore_plan(asset), mode="recovery", by=commander))
    assert run.status == "partially_failed"
    assert "Golden check of onnx-scorer failed" in run.error
    assert run.certificate.verdict == "not proven" and checks_of(run.certificate)["golden_outputs"] == "failed"
    # The measured restore is filed as not passed: a partial failure is no evidence the RTO can be met.
    evidence = RestoreEvidence.objects.get(asset=asset, run_id=run.public_id)
    assert evidence.passed is False and evidence.rto_seconds == run.achieved_rto_seconds


def test_a_certificate_signed_by_another_key_is_refused(onnx_model, commander, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    asset, _ = onnx_model
    run = drive(start_run(plan=restore_plan(asset), mode="recovery", by=commander))
    document, key = tmp_path / "cert.json", tmp_path / "other.pem"
    document.write_text(run.certificate.document)
    key.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(CommandError, match="not with the given key"):
        call_command("certificate_verify", str(document), "--public-key", str(key))
    document.write_text("{}")
    with pytest.raises(CommandError, match="Not a certificate"):
        call_command("certificate_verify", str(document), "--public-key", str(key))


def test_the_run_page_shows_the_certificate_as_a_checklist_and_serves_the_file(onnx_model, commander, client) -> None:
    asset, golden = onnx_model
    golden_set_save(
        asset=asset,
        model_format="onnx",
        model_path="model.onnx",
        inputs=golden["inputs"],
        expected=golden["expected"],
        tolerance=1e-4,
    )
    run = drive(start_run(plan=restore_plan(asset), mode="recovery", by=commander))
    client.force_login(commander)
    page = client.get(f"/runs/{run.public_id}/").content.decode()
    assert "Recovery-equivalence certificate" in page and "golden outputs</strong> — passed" in page
    # The run-level lineage row too: one asset alone has no group to be consistent with, and says so.
    assert "lineage</strong> — not checked: one asset restored on its own" in page
    as_of = run.steps.get(kind="restore").point.data_as_of  # type: ignore[union-attr]
    assert f"(data as of {as_of:%Y-%m-%d %H:%M:%S} UTC)" in page  # written as the page's other times
    download = client.get(f"/runs/{run.public_id}/certificate.json")
    assert download.status_code == 200 and download.content.decode() == run.certificate.document
