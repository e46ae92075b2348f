"""Rendered and signed sample reports, made once per session (rendering takes a second or two)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from dr_portal.audit.checkpoints import signing_key as audit_signing_key
from dr_portal.pdf import Attachment, ReportMetadata, render_pdf, sign_pdf
from dr_portal.pdf.sample import sample_report
from dr_portal.pdf.signing import signing_identity
from dr_portal.pdf.tsa import tsa_identity
from inventory.models import Asset
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory
from tests.test_startup import ROOT

ROWS = 150  # enough for the timeline to run over several pages


@dataclass(frozen=True)
class Sample:
    unsigned: bytes
    signed: bytes
    evidence: dict[str, object]
    metadata: ReportMetadata
    path: Path  # the signed file on disk, for poppler's tools


def _make(tmp: Path, *, draft: bool) -> Sample:
    html, attachments, metadata = sample_report(rows=ROWS, draft=draft)
    unsigned = render_pdf(html=html, attachments=attachments, metadata=metadata)
    signed = sign_pdf(unsigned)
    path = tmp / ("draft.pdf" if draft else "final.pdf")
    path.write_bytes(signed)
    evidence = json.loads(next(a for a in attachments if a.filename == "evidence.json").data)
    return Sample(unsigned, signed, evidence, metadata, path)


@contextmanager
def embedded_identity(var: Path) -> Iterator[Path]:
    """The embedded (self-signed) identity kept under `var`, whatever the environment configures.

    The audit checkpoint key lives under VAR_DIR too and is cached: forget it on the way in and out, or a
    later test (a worker using the real VAR_DIR) would see checkpoints signed with this key.
    """
    with override_settings(
        VAR_DIR=var,
        REPORT_SIGNING_PKCS12=None,
        REPORT_SIGNING_KEY=None,
        REPORT_SIGNING_CERT=None,
        REPORT_SIGNING_PASSPHRASE=None,
        REPORT_SIGNING_PASSPHRASE_FILE=None,
        REPORT_TRUST_ROOTS=None,
    ):
        signing_identity.cache_clear()
        audit_signing_key.cache_clear()
        tsa_identity.cache_clear()
        try:
            yield var
        finally:
            signing_identity.cache_clear()
            audit_signing_key.cache_clear()
            tsa_identity.cache_clear()


@pytest.fixture(scope="session")
def embedded_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One VAR_DIR for the session, so the embedded key is generated once, and not in var/."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def embedded_signing(embedded_var: Path) -> Iterator[Path]:
    with embedded_identity(embedded_var) as var:
        yield var


@pytest.fixture(scope="session")
def final_report(embedded_var: Path, tmp_path_factory: pytest.TempPathFactory) -> Sample:
    with embedded_identity(embedded_var):
        return _make(tmp_path_factory.mktemp("final"), draft=False)


@pytest.fixture(scope="session")
def draft_report(embedded_var: Path, tmp_path_factory: pytest.TempPathFactory) -> Sample:
    with embedded_identity(embedded_var):
        return _make(tmp_path_factory.mktemp("draft"), draft=True)


def page_texts(path: Path) -> list[str]:
    """pdftotext's text, one string per page (it ends pages with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    pages = out.stdout.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def tiny_pdf(text: str = "Hello", *, attachments: tuple[Attachment, ...] = ()) -> bytes:
    html = f"<!doctype html><html><body><p>{text}</p></body></html>"
    return render_pdf(html=html, attachments=list(attachments), metadata=ReportMetadata(title="t", report_id="T-1"))


@pytest.fixture
def report_env(embedded_signing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Reports and checkpoint exports in this test's own directories (exports from other tests would
    make audit_verify see a log 'rolled back' below their seq)."""
    monkeypatch.setattr(settings, "REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr(settings, "AUDIT_CHECKPOINT_DIR", tmp_path / "checkpoints")
    yield tmp_path


@pytest.fixture
def estate(db: None) -> list[Asset]:
    policy = RecoveryPolicyFactory.create(name="tier0", rto_minutes=60, rpo_minutes=15, mtd_minutes=240)
    scoring = AssetFactory.create(name="fraud-scoring", tier=0, policy=policy, data_classes=["personal"])
    features = AssetFactory.create(name="feature-store", tier=1, policy=policy)
    before = timezone.now() - timedelta(hours=3)
    RecoveryPointFactory.create(asset=scoring, data_as_of=before)
    BackupFactory.create(asset=scoring)
    return [scoring, features]


# --- the local TSA over HTTP, as an external one is reached ---------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_tsa(embedded_signing: Path) -> Iterator[str]:
    """`manage.py tsa_serve` in its own process on loopback, with the same VAR_DIR (so the same TSA key)."""
    port = free_port()
    env = {**os.environ, "DEBUG": "true", "VAR_DIR": str(embedded_signing)}
    env.pop("PYTEST_VERSION", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "tsa_serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)
