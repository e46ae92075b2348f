"""What connectors captured, and what drill clean-ups did, told to people (#14): the asset and
history pages say what each point holds (tables and rows, keys, models and versions, vector tables
and their embedding model) instead of "Files 1"; an MLflow asset's alias history answers "which
version had alias X at time T" on its history page and through the API; the run page lists every
connector check with the golden-query overlap, and what the clean-up removed and kept."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryRunFactory, StepRunFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
OLD_GC_NOTE = (
    "The runs and experiments clean-up deleted are in MLflow's deleted state at http://127.0.0.1:5001 (their "
    "artifacts are removed): MLflow keeps their rows (params, metrics, tags) in its backend store until "
    "`mlflow gc` is run against that server's backend store, which removes them for good."
)


def _point(asset: Any, when: datetime, kind: str, details: dict[str, Any]) -> Any:
    capture = {"format": 1, "kind": kind, "data_as_of": when.isoformat(), "details": details}
    return RecoveryPointFactory.create(asset=asset, data_as_of=when, manifest={"extra": {"capture": capture}})


def _mlflow(aliases: dict[str, str], versions: tuple[str, ...] = ("2", "3")) -> dict[str, Any]:
    model = {"versions": {v: {} for v in versions}, "aliases": aliases, "tags": {}, "description": ""}
    return {"tracking_uri": "http://127.0.0.1:5000", "models": {"fraud-detection": model}}


@pytest.fixture
def registry() -> Any:
    asset = AssetFactory.create(name="fraud-model", connector="mlflow")
    _point(asset, T0, "mlflow", _mlflow({"champion": "2"}))
    _point(asset, T0 + timedelta(hours=2), "mlflow", _mlflow({"champion": "3", "challenger": "2"}))
    return asset


def test_points_say_what_each_connector_captured(client_for: Any, commander: Any, registry: Any) -> None:
    features = AssetFactory.create(name="features-pg")
    tables = {"card_features": {"rows": 1200}, "merchants": {"rows": 3}}
    _point(features, T0, "postgres", {"database": "features", "tables": tables})
    keys = AssetFactory.create(name="features-redis")
    _point(keys, T0, "redis", {"prefix": "feat:", "db": 0, "keys": 605, "with_ttl": 1})
    index = AssetFactory.create(name="case-index")
    model = {"name": "minilm", "revision": "r7", "dimension": 384, "normalized": True}
    _point(index, T0, "vector", {"tables": {"cases": {"rows": 500}}, "model": model})
    client = client_for(commander)
    pages = {
        a.name: client.get(f"/inventory/assets/{a.public_id}/history/").content.decode()
        for a in (features, keys, index, registry)
    }
    assert "2 tables, 1,203 rows of features: card_features (1,200 rows), merchants (3 rows)" in pages["features-pg"]
    assert "605 keys under feat: of db 0, 1 with a TTL" in pages["features-redis"]
    assert (
        "1 vector table, 500 vectors: cases (500 vectors); "
        "embedding model minilm (revision r7, 384 dimensions, normalised)" in pages["case-index"]
    )
    assert "fraud-detection v2, v3 (challenger → v2, champion → v3)" in pages["fraud-model"]
    detail = client.get(f"/inventory/assets/{features.public_id}/").content.decode()
    assert "card_features (1,200 rows)" in detail and "+0 ~" not in detail


def test_which_version_had_an_alias_at_a_time(client_for: Any, commander: Any, registry: Any) -> None:
    client = client_for(commander)
    url = f"/inventory/assets/{registry.public_id}/history/"
    page = client.get(url, {"model": "fraud-detection", "alias": "champion", "at": "2026-11-30T10:30"}).content.decode()
    assert "fraud-detection@champion named version 2 (recorded by the point of 2026-11-30 09:00:00 UTC)." in page
    # The spans table writes times as the rest of the page does.
    assert "<td>v2</td><td>2026-11-30 09:00:00</td><td>2026-11-30 11:00:00</td>" in page
    later = client.get(url, {"model": "fraud-detection", "alias": "champion", "at": "2026-11-30T11:00:00+00:00"})
    assert "named version 3" in later.content.decode()
    early = client.get(url, {"model": "fraud-detection", "alias": "champion", "at": "2026-11-30T08:00"})
    assert "No point was taken at or before 2026-11-30 08:00:00 UTC" in early.content.decode()
    bad = client.get(url, {"model": "fraud-detection", "alias": "champion", "at": "yesterday"})
    assert "is not a time: write it as 2026-11-30T14:05 (UTC)." in bad.content.decode()

    api = f"/api/v1/inventory/assets/{registry.public_id}/aliases/"
    body = client.get(api, {"model": "fraud-detection", "alias": "champion", "at": "2026-11-30T10:30"}).json()
    assert body["answer"]["version"] == "2" and body["answer"]["recorded_at"] == T0.isoformat()
    spans = [(c["alias"], c["version"], c["from"], c["to"]) for c in body["changes"]]
    assert ("champion", "2", T0.isoformat(), (T0 + timedelta(hours=2)).isoformat()) in spans
    assert ("champion", "3", (T0 + timedelta(hours=2)).isoformat(), None) in spans
    assert client.get(api, {"model": "fraud-detection", "alias": "champion", "at": "no"}).status_code == 400
    plain = AssetFactory.create(name="files-only")
    assert client.get(f"/api/v1/inventory/assets/{plain.public_id}/aliases/").status_code == 404


def test_viewer_sees_no_capture_contents(client_for: Any, viewer: Any, registry: Any) -> None:
    client = client_for(viewer)
    page = client.get(f"/inventory/assets/{registry.public_id}/history/").content.decode()
    assert "fraud-detection" not in page
    assert client.get(f"/api/v1/inventory/assets/{registry.public_id}/aliases/").status_code == 403


def test_run_page_lists_checks_overlap_and_what_clean_up_removed_and_kept(client_for: Any, commander: Any) -> None:
    run = RecoveryRunFactory.create(status="failed", mode="drill", finished_at=T0, cleaned_at=T0)
    checks = [
        {"name": "cases rows", "expected": 500, "found": 500, "ok": True},
        {"name": "cases golden top-5 overlap at least 0.8", "expected": True, "found": False, "ok": False},
    ]
    connector = {
        "ok": False,
        "summary": "vector: 1 of 2 checks failed",
        "checks": checks,
        "notes": ["cases: 3 golden queries, top-5 overlap mean 0.73, min 0.60"],
    }
    ledger = [
        {
            "kind": "model",
            "name": "fraud-detection",
            "state": "kept",
            "why": "it was in the target registry before this run",
        },
        # A note as an earlier clean-up wrote it (now a run not purged is kept, and says why).
        {"kind": "run", "name": "abc123", "state": "removed", "note": OLD_GC_NOTE},
    ]
    StepRunFactory.create(
        run=run,
        state="failed",
        error="case-index: vector: 1 of 2 checks failed",
        bytes_done=547226,
        bytes_total=547226,
        evidence={"connector": connector},
        ledger=ledger,
    )
    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode().replace("\xa0", " ")
    assert "534.4 KB / 534.4 KB" not in page
    assert "534.4 KB of 534.4 KB read back from the vault; the run failed" in page
    assert (
        "✗ <strong>cases golden top-5 overlap at least 0.8</strong>: expected "
        '<code class="wrap">true</code>, found <code class="wrap">false</code>' in page
    )
    assert "top-5 overlap mean 0.73, min 0.60" in page
    assert "Clean-up removed:</strong> run abc123" in page
    assert "Note:</strong> The runs and experiments clean-up deleted are in MLflow&#x27;s deleted state at " in page
    assert "until `mlflow gc` is run against that server&#x27;s backend store, which removes them for good." in page
    assert "Kept:</strong> model fraud-detection — it was in the target registry before this run" in page


def test_a_single_file_and_short_spreads_read_naturally(client: Client) -> None:
    from inventory.connectors.base import seconds_text

    assert [seconds_text(s) for s in (0, 0.004, 0.496115, 3.456, 42.4)] == [
        "0 s",
        "under 0.01 s",
        "0.5 s",
        "3.5 s",
        "42 s",
    ]


def test_a_group_drills_clean_up_reads_one_line_per_member(client_for, commander) -> None:
    """The run page listed every ledger entry joined by "; ": a Redis member's 2,040 keys were five
    "keys fraud:card:000460 and 499 more" batches, and the reader could not tell how many went."""
    keys = [base64.b64encode(f"fraud:card:{i:06d}".encode()).decode() for i in range(1001)]
    ledger = [
        {"kind": "model", "name": "fraud-detection", "state": "removed", "member": "registry"},
        {"kind": "run", "name": "4668002a", "state": "removed", "member": "registry"},
        {"kind": "keys", "name": "fraud:card:000000 and 499 more", "b64": keys[:500], "state": "removed",
         "member": "features"},
        {"kind": "keys", "name": "fraud:card:000500 and 499 more", "b64": keys[500:1000], "state": "removed",
         "member": "features"},
        {"kind": "keys", "name": "fraud:card:001000", "b64": keys[1000:], "state": "created", "member": "features"},
    ]  # fmt: skip
    run = RecoveryRunFactory.create(mode="drill", status="failed", finished_at=T0)
    StepRunFactory.create(run=run, state="failed", error="features: the target db holds keys", ledger=ledger)
    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
    assert "<li>registry: model fraud-detection, run 4668002a</li>" in page
    assert "<li>features: 1,000 keys</li>" in page
    assert "To remove at clean-up:</strong> features: 1 key" in page
    assert "and 499 more" not in page


def test_a_failed_runs_steps_done_says_how_they_ended(client_for, commander) -> None:
    """A group drill refused at its first step read "Steps done 3 / 3", as if everything had been done."""
    run = RecoveryRunFactory.create(mode="drill", status="failed", finished_at=T0)
    StepRunFactory.create(run=run, state="failed", error="features: the target db holds keys")
    StepRunFactory.create(run=run, state="cancelled", kind="verify")
    StepRunFactory.create(run=run, state="cancelled", kind="notify", asset=None)
    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
    assert '3 / 3 <span class="small muted">(1 failed, 2 cancelled)</span>' in page
