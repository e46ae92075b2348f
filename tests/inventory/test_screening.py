"""Ransomware screening: a tree encrypted in place is caught; normal change, weights included, is not."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dr_portal.audit.models import AuditEvent
from dr_portal.errors import Refused
from inventory.models import PointStatus, RecoveryPoint
from inventory.services import backup_request, point_release
from inventory.tasks import backup_run

pytestmark = pytest.mark.django_db


def back_up(asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.error == ""
    return RecoveryPoint.objects.get(backup=backup)


def safetensors(payload: bytes) -> bytes:
    header = json.dumps({"w": {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]}}).encode()
    return struct.pack("<Q", len(header)) + header + payload


@pytest.fixture
def estate(backed_asset, source: Path):
    (source / "config.json").unlink()
    (source / "weights" / "model.bin").unlink()
    for i in range(20):
        (source / "docs" / f"note-{i}.txt").parent.mkdir(exist_ok=True)
        (source / "docs" / f"note-{i}.txt").write_text(f"incident runbook {i}\n" * 400)
    (source / "features.parquet").write_bytes(b"PAR1" + b"\x15\x00" * 5000 + b"PAR1")
    (source / "model.safetensors").write_bytes(safetensors(os.urandom(200_000)))
    return backed_asset


def encrypt_in_place(root: Path) -> None:
    key, nonce = os.urandom(32), os.urandom(16)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        encryptor = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
        path.write_bytes(encryptor.update(path.read_bytes()) + encryptor.finalize())


def test_a_tree_encrypted_in_place_is_marked_suspicious_and_planning_offers_the_last_clean_point(
    estate, source: Path
) -> None:
    clean = back_up(estate)
    (source / "docs" / "note-3.txt").write_text("edited\n" * 300)  # normal life: one file changed
    second = back_up(estate)
    assert clean.status == second.status == PointStatus.OK

    encrypt_in_place(source)
    attacked = back_up(estate)
    assert attacked.status == PointStatus.SUSPICIOUS
    # Which files: in the statistics, which only people who may restore see; never in the note.
    broken = {f["path"]: f["problem"] for f in attacked.stats["broken_files"]}
    assert broken["features.parquet"] == "a parquet file that no longer starts with PAR1"
    assert "model.safetensors" in broken and "model.safetensors" not in attacked.note
    assert "2 files of a known format no longer have a valid signature." in attacked.note
    assert "of the files changed" in attacked.note and "looks random" in attacked.note
    event = AuditEvent.objects.get(action="point.suspicious")
    assert event.payload["point"] == str(attacked.public_id) and len(event.payload["reasons"]) == 2
    # run planning picks good points only: the newest clean one
    assert RecoveryPoint.objects.good().filter(asset=estate).order_by("-data_as_of").first() == second


def test_new_weights_alone_are_not_suspicious(estate, source: Path) -> None:
    back_up(estate)
    (source / "model.safetensors").write_bytes(safetensors(os.urandom(400_000)))  # retrained: all random
    point = back_up(estate)
    assert point.status == PointStatus.OK and point.note == ""
    assert point.stats["high_entropy_samples"] >= 1 and point.stats["signatures_broken"] == 0


def test_releasing_a_suspicious_point_needs_a_reason_and_is_audited(estate, source: Path, commander) -> None:
    back_up(estate)
    encrypt_in_place(source)
    attacked = back_up(estate)
    with pytest.raises(Refused, match="Say why"):
        point_release(point_id=attacked.pk, by=commander, reason="ok")
    attacked.refresh_from_db()
    assert attacked.status == PointStatus.SUSPICIOUS
    released = point_release(point_id=attacked.pk, by=commander, reason="Checked: the files are meant to be encrypted")
    assert released.status == PointStatus.OK
    event = AuditEvent.objects.get(action="point.released")
    assert (
        event.payload["reason"].startswith("Checked")
        and "no longer have a valid signature" in event.payload["suspicion"]
    )
    with pytest.raises(Refused, match="not marked suspicious"):
        point_release(point_id=attacked.pk, by=commander, reason="Checked it twice over")


def test_the_api_releases_a_suspicious_point_for_managers_only(estate, source: Path, client_for, admin, viewer) -> None:
    back_up(estate)
    encrypt_in_place(source)
    attacked = back_up(estate)
    url = f"/api/v1/inventory/recovery-points/{attacked.public_id}/release/"
    assert client_for(viewer).post(url, {"reason": "looks fine to me"}).status_code in (403, 404)
    manager = client_for(admin, mfa=True)
    refused = manager.post(url, {"reason": "no"})
    assert refused.status_code == 409 and "Say why" in refused.json()["error"]["detail"]
    done = manager.post(url, {"reason": "Checked with the data owner"})
    assert done.status_code == 200 and done.json()["status"] == "ok"
    attacked.refresh_from_db()
    assert attacked.status == PointStatus.OK


def test_the_asset_page_shows_the_suspicion_in_words_and_the_files_only_to_restorers(
    estate, source: Path, client_for, viewer, commander
) -> None:
    from django.urls import reverse

    back_up(estate)
    encrypt_in_place(source)
    back_up(estate)
    url = reverse("inventory:asset", args=[estate.public_id])
    page = client_for(viewer).get(url).content.decode()
    assert "Suspicious" in page and "no longer have a valid signature" in page
    assert "features.parquet" not in page and "PAR1" not in page
    page = client_for(commander).get(url).content.decode()
    assert "features.parquet" in page and "no longer starts with PAR1" in page
