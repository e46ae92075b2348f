"""The portal recovers itself: backup, lose everything, restore, audit_verify (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append
from inventory.models import Asset, RecoveryPoint
from inventory.portal.bundle import configuration_less_secrets
from inventory.portal.services import open_portal_vault, portal_points
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal_vault(tmp_path: Path, keys: Path, settings) -> str:
    settings.PORTAL_BACKUP_VAULT = str(tmp_path / "portal-vault")
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.PORTAL_BACKUP_VAULT


def _lose_everything(checkpoint_dir: Path) -> None:
    """What a lost machine leaves: no tables, no exported checkpoints."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def test_backup_lose_everything_restore_and_the_audit_chain_continues(portal_vault: str, keys: Path, settings) -> None:
    asset = AssetFactory.create(name="fraud-model")
    for n in range(5):
        audit_append(action="test.event", system_actor="system:test", obj=asset, payload={"n": n})
    backed_head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
    out = StringIO()
    call_command("portal_backup", stdout=out)
    assert f"audit head {backed_head}," in out.getvalue()
    # The backup itself was filed as evidence on the portal's tier-0 asset (after the copy was taken).
    portal = Asset.objects.get(name=settings.PORTAL_ASSET_NAME)
    assert portal.tier == 0 and portal.policy is not None
    assert RecoveryPoint.objects.filter(asset=portal).count() == 1

    _lose_everything(Path(settings.AUDIT_CHECKPOINT_DIR))
    assert connection.introspection.table_names() == []

    out = StringIO()
    kept = Path(settings.AUDIT_CHECKPOINT_DIR).parent / "kept"
    call_command("portal_restore", vault=portal_vault, key_file=str(keys), keep=str(kept), stdout=out)
    assert "the log continues" in out.getvalue()
    assert (kept / "audit-signing-public.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "SECRET_KEY" in (kept / "settings.json").read_text()  # named as one to supply, never its value
    assert Asset.objects.filter(name="fraud-model").exists()
    assert not AuditEvent.objects.filter(action="portal.backed_up").exists()  # written after the copy
    restored = AuditEvent.objects.order_by("-seq").first()
    assert restored is not None and restored.action == "portal.restored"
    assert restored.seq == backed_head + 1
    assert restored.prev_hash == AuditEvent.objects.get(seq=backed_head).hash
    assert any(Path(settings.AUDIT_CHECKPOINT_DIR).glob("checkpoint-*.txt"))
    call_command("audit_verify", stdout=StringIO())  # raises CommandError on any break


def test_restore_refuses_a_database_with_data_and_force_backs_it_up_first(portal_vault: str, keys: Path) -> None:
    AssetFactory.create(name="first")
    call_command("portal_backup", stdout=StringIO())
    AssetFactory.create(name="added-later")
    with pytest.raises(CommandError, match="already holds data") as refused:
        call_command("portal_restore", vault=portal_vault, key_file=str(keys), stdout=StringIO())
    assert refused.value.returncode == 3
    assert Asset.objects.filter(name="added-later").exists()  # nothing lost
    assert len(portal_points(vault=open_portal_vault(portal_vault))) == 1

    out = StringIO()
    call_command("portal_restore", vault=portal_vault, key_file=str(keys), force=True, stdout=out)
    assert "is saved as portal/" in out.getvalue()
    points = portal_points(vault=open_portal_vault(portal_vault))
    assert len(points) == 2 and any("before-restore" in p for p in points)
    assert not Asset.objects.filter(name="added-later").exists()
    # The replaced database is itself restorable: nothing was lost.
    saved = next(p for p in points if "before-restore" in p)
    call_command("portal_restore", vault=portal_vault, key_file=str(keys), point=saved, force=True, stdout=StringIO())
    assert Asset.objects.filter(name="added-later").exists()
    call_command("audit_verify", stdout=StringIO())


def test_restore_from_an_empty_vault_or_with_a_wrong_key_is_a_clear_error(
    portal_vault: str, keys: Path, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="holds no portal backup") as empty:
        call_command("portal_restore", vault=portal_vault, key_file=str(keys), stdout=StringIO())
    assert empty.value.returncode == 2
    call_command("portal_backup", stdout=StringIO())
    from inventory.engine import generate_key_file

    other = generate_key_file(tmp_path / "other", key_id="test-key")
    _lose_everything(tmp_path / "checkpoints")
    with pytest.raises(CommandError) as wrong:
        call_command("portal_restore", vault=portal_vault, key_file=str(other), stdout=StringIO())
    assert wrong.value.returncode == 2
    assert connection.introspection.table_names() == []  # nothing half-restored
    call_command("portal_restore", vault=portal_vault, key_file=str(keys), stdout=StringIO())


def test_configuration_leaves_secrets_out_and_names_them(settings) -> None:
    settings.SECRET_KEY = "not-to-be-copied-0123456789"
    settings.CELERY_BROKER_URL = "redis://:hunter2@broker.internal:6379/0"
    config = configuration_less_secrets()
    text = repr(config)
    assert "not-to-be-copied" not in text and "hunter2" not in text
    assert "SECRET_KEY" in config["secrets_to_supply"]
    assert config["settings"]["CELERY_BROKER_URL"] == "redis://broker.internal:6379/0"
    assert "PASSWORD" not in repr(config["settings"].get("DATABASES"))


def test_beat_backs_the_portal_up_when_due_and_not_again_until_the_period_passes(
    portal_vault: str, settings, time_machine
) -> None:
    from inventory.tasks import portal_backup_run

    settings.PORTAL_BACKUP_SECONDS = 3600
    time_machine.move_to(timezone.now(), tick=True)
    assert portal_backup_run().startswith("portal backed up as portal/")
    assert portal_backup_run() == "portal backup not due"
    time_machine.shift(3700)
    assert portal_backup_run().startswith("portal backed up")
    assert RecoveryPoint.objects.filter(asset__name=settings.PORTAL_ASSET_NAME).count() == 2


def test_the_report_signing_and_tsa_keys_the_portal_made_are_backed_up_and_restored(
    portal_vault: str, keys: Path, tmp_path: Path
) -> None:
    from dr_portal.pdf import sign_pdf, verify_pdf
    from dr_portal.pdf.signing import signing_identity
    from tests.reports.conftest import embedded_identity, tiny_pdf

    with embedded_identity(tmp_path / "var") as var:
        signed_before = sign_pdf(tiny_pdf())  # makes both keys: report signing and the local TSA
        made = {p.name: p.read_bytes() for p in (var / "keys").glob("report-*.pem")}
        assert set(made) == {"report-signing.pem", "report-tsa.pem"}
        AssetFactory.create(name="fraud-model")
        call_command("portal_backup", stdout=StringIO())

        # The machine is lost with its keys; the new one has already made keys of its own.
        _lose_everything(tmp_path / "checkpoints")
        shutil.rmtree(var / "keys")
        signing_identity.cache_clear()
        sign_pdf(tiny_pdf())
        assert (var / "keys" / "report-signing.pem").read_bytes() != made["report-signing.pem"]

        out = StringIO()
        call_command("portal_restore", vault=portal_vault, key_file=str(keys), stdout=out)
        assert "report keys restored under VAR_DIR/keys: report-signing.pem, report-tsa.pem" in out.getvalue()
        for name, data in made.items():
            assert (var / "keys" / name).read_bytes() == data
            assert (var / "keys" / name).stat().st_mode & 0o777 == 0o600
            assert (var / "keys" / "superseded").is_dir()
        # A report signed before the loss still verifies (signer and time-stamp), and new ones use the same keys.
        before = verify_pdf(signed_before, require_evidence=False)
        assert before.ok and before.timestamp is not None, before.problems
        after = verify_pdf(sign_pdf(tiny_pdf()), require_evidence=False)
        assert after.ok and after.signer_sha256 == before.signer_sha256, after.problems
