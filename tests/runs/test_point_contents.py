"""A point's file names and digests reach only the roles that may restore (#11 item 5).

One damaged point gives every kind of place they could leak from: the point's
manifest and statistics, the failed restore step's evidence, its words, the
run's error, the audit events (point.corrupt, step.failed), the incident
timeline, and the audit exports. A viewer and a compliance officer see none of
them, through pages, htmx partials, the API with a session or a token; a
commander and an on-call engineer see the file and its digests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dr_portal.accounts.contents import hide_contents
from dr_portal.accounts.services import token_issue
from incidents.runs.models import RecoveryRun, StepState
from inventory import engine, vault_io
from inventory.models import Asset, RecoveryPoint
from tests.factories import RecoveryPointFactory
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db

SECRET_FILE = "model.json"


@pytest.fixture
def failed_run(model: Asset, commander: Any) -> RecoveryRun:
    """A recovery whose restore found model.json's chunks missing: the step names the file and its digest."""
    older = RecoveryPoint.objects.get(asset=model)
    (Path(model.source_uri) / SECRET_FILE).write_text('{"weights": [3, 4], "bias": 1}')
    newer = backed_up(model)
    ring = vault_io.keyring()
    vault = vault_io.open_vault(newer.vault)

    def packs(point: RecoveryPoint) -> set[Path]:
        manifest = engine.read_manifest_v2(vault=vault, point=point.manifest["point"], keyring=ring)
        entry = next(e for e in manifest.files(ring) if e.path == SECRET_FILE)
        return {Path(point.vault.config["path"]) / ref.pack for ref in entry.chunks}

    for pack in packs(newer) - packs(older):
        pack.unlink()
    (Path(model.source_uri) / SECRET_FILE).write_text("what is serving now")  # so the restore must read it
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name}])
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    step = run.steps.get()
    assert step.state == StepState.FAILED and step.evidence["file"] == SECRET_FILE
    assert step.evidence["expected_sha256"]
    return run


def _places(run: RecoveryRun, client: Client) -> dict[str, str]:
    """Every page, partial, API answer and export where the failed restore could show up."""
    step = run.steps.get()
    point = step.point
    assert point is not None and run.incident is not None
    incident = run.incident.public_id
    run_url = reverse("runs:detail", args=[run.public_id])
    return {
        "run page": client.get(run_url).content.decode(),
        "run partial": client.get(run_url, HTTP_HX_REQUEST="true").content.decode(),
        "asset page": client.get(reverse("inventory:asset", args=[point.asset.public_id])).content.decode(),
        "run API": client.get(f"/api/v1/runs/{run.public_id}/").content.decode(),
        "step API": client.get(f"/api/v1/runs/steps/{step.public_id}/").content.decode(),
        "point API": client.get(f"/api/v1/inventory/recovery-points/{point.public_id}/").content.decode(),
        "points API": client.get("/api/v1/inventory/recovery-points/").content.decode(),
        "incident page": client.get(reverse("incidents:detail", args=[incident])).content.decode(),
        "timeline API": client.get(f"/api/v1/incidents/{incident}/timeline/").content.decode(),
    }


def _audit_places(client: Client) -> dict[str, str]:
    return {
        "audit page": client.get(reverse("audit:index")).content.decode(),
        "audit API": client.get("/api/v1/audit/events/").content.decode(),
        "audit CSV": b"".join(client.get(reverse("audit:export-csv")).streaming_content).decode(),  # type: ignore[attr-defined]
        "audit JSONL": b"".join(client.get(reverse("audit:export-jsonl")).streaming_content).decode(),  # type: ignore[attr-defined]
    }


def _leaks(places: dict[str, str], digest: str) -> list[str]:
    return [name for name, body in places.items() if SECRET_FILE in body or digest in body]


def test_a_viewer_sees_no_file_name_or_digest_of_a_point_anywhere(
    failed_run: RecoveryRun, client_for: Any, viewer: Any
) -> None:
    digest = failed_run.steps.get().evidence["expected_sha256"]
    places = _places(failed_run, client_for(viewer))
    assert "missing from its vault" in places["run page"], "the failure itself is told in words"
    assert _leaks(places, digest) == []


def test_a_viewer_with_an_api_token_gets_the_evidence_without_files(failed_run: RecoveryRun, viewer: Any) -> None:
    token = token_issue(user=viewer, name="script", mfa_verified=False).raw
    answer = Client().get(f"/api/v1/runs/{failed_run.public_id}/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200
    (step,) = answer.json()["steps"]
    assert step["state"] == "failed" and step["error_code"] == "data_missing"
    assert "file" not in step["evidence"] and "expected_sha256" not in step["evidence"]
    assert SECRET_FILE not in answer.content.decode()


def test_a_compliance_officer_reads_the_audit_log_without_a_points_files(
    failed_run: RecoveryRun, client_for: Any, compliance: Any
) -> None:
    digest = failed_run.steps.get().evidence["expected_sha256"]
    places = {**_places(failed_run, client_for(compliance)), **_audit_places(client_for(compliance))}
    assert "point.corrupt" in places["audit page"]
    assert _leaks(places, digest) == []
    rows = [json.loads(line) for line in places["audit JSONL"].splitlines()]
    corrupt = next(r for r in rows if r["action"] == "point.corrupt")
    assert corrupt["payload_hidden"] is True and "problems" not in corrupt["payload"]


def test_people_who_may_restore_see_the_file_and_its_digests(
    failed_run: RecoveryRun, client_for: Any, commander: Any, oncall: Any, admin: Any
) -> None:
    digest = failed_run.steps.get().evidence["expected_sha256"]
    for person in (commander, oncall):
        places = _places(failed_run, client_for(person))
        # Wherever the step's evidence or the event's payload is shown, the file and its digest are.
        assert set(_leaks(places, digest)) == set(places) - {"incident page"}, "the incident page tells it in words"
    audit = _audit_places(client_for(admin, mfa=True))
    assert _leaks(audit, digest) == list(audit)


def test_a_format_1_manifest_lists_its_files_only_to_restorers(client_for: Any, viewer: Any, commander: Any) -> None:
    point = RecoveryPointFactory.create(
        manifest={"version": 1, "files": [{"path": "etc/shadow", "size": 9, "sha256": "ab" * 32}]}
    )
    url = f"/api/v1/inventory/recovery-points/{point.public_id}/"
    hidden = client_for(viewer).get(url).json()
    assert hidden["manifest"] == {"version": 1} and hidden["file_count"] == 1
    assert client_for(commander).get(url).json()["manifest"]["files"][0]["path"] == "etc/shadow"


def test_hiding_keeps_counts_and_drops_listings() -> None:
    evidence = {
        "files": 3,
        "files_checked": 3,
        "problems": [{"file": "a", "expected_sha256": "x"}],
        "capture": {"files": {"a": 1}, "objects": {"k": 2}, "tables": ["t"]},
        "flag": True,
    }
    assert hide_contents(evidence) == {"files": 3, "files_checked": 3, "capture": {"tables": ["t"]}, "flag": True}
