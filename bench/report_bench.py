"""Compliance report benchmark: the real incident and readiness reports, built by the report service.

Each case runs in a fresh process with its own SQLite database and VAR_DIR, so
its peak RSS is its own. Usage:
    DEBUG=true python bench/report_bench.py [--events 2000 10000] [--assets 500] [--chunk ROWS]

--chunk sets the rows per timeline table (default: TIMELINE_CHUNK); 0 puts the
whole timeline in one table, as the pipeline benchmark's example report does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _setup(var: str) -> None:
    os.environ["VAR_DIR"] = var
    os.environ["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _incident(events: int) -> Any:
    from dr_portal.accounts.models import User
    from dr_portal.audit.services import EventSpec, audit_append_many
    from incidents.services import incident_declare
    from tests.factories import AssetFactory

    commander = User.objects.create(username="commander", role="incident_commander")
    assets = [AssetFactory.create(name=f"model-{i}", tier=i % 3) for i in range(5)]
    incident = incident_declare(
        title="Bench incident", category="integrity", assets=assets, by=commander, commander=commander
    )
    from dr_portal.audit.models import AuditEvent

    have = AuditEvent.objects.filter(incident_id=incident.public_id).count()
    specs = [
        EventSpec(
            action="incident.note_added",
            actor=commander,
            obj=incident,
            incident_id=incident.public_id,
            payload={"body": f"Step {i}: checked replica {i % 17}, error rate {i % 7}.{i % 10} %, still degraded."},
        )
        for i in range(events - have)
    ]
    audit_append_many(events=specs)
    return incident, commander


def _estate(assets: int) -> Any:
    from django.utils import timezone

    from dr_portal.accounts.models import User
    from inventory.models import Asset, Backup, BackupStatus, PointStatus, RecoveryPoint, RecoveryPolicy, Vault

    now = timezone.now()
    officer = User.objects.create(username="compliance", role="compliance_officer")
    vault = Vault.objects.create(name="vault", kind="filesystem", region="eu-west-1", worm_capable=True)
    policies = [
        RecoveryPolicy.objects.create(
            name=f"tier-{t}",
            strategy="warm_standby",
            rto_minutes=60 * (t + 1),
            rpo_minutes=15 * (t + 1),
            mtd_minutes=240 * (t + 1),
            backup_cadence_minutes=60,
            retention_days=30,
            worm_days=7,
            drill_cadence_days=90,
        )
        for t in range(4)
    ]
    rows = Asset.objects.bulk_create(
        Asset(
            name=f"asset-{i:04d}",
            kind="model",
            owner_team=f"team-{i % 12}",
            tier=i % 4,
            data_classes=["personal"],
            region="eu-west-1",
            source_uri=f"/srv/asset-{i}",
            policy=policies[i % 4],
            vault=vault,
            policy_assigned_at=now - timedelta(days=30),
        )
        for i in range(assets)
    )
    Backup.objects.bulk_create(
        Backup(
            asset=a,
            vault=vault,
            trigger="schedule",
            status=BackupStatus.SUCCEEDED if i % 9 else BackupStatus.FAILED,
            error="" if i % 9 else "source unreachable",
            created_at=now - timedelta(hours=i % 48),
            finished_at=now - timedelta(hours=i % 48),
        )
        for i, a in enumerate(rows)
    )
    RecoveryPoint.objects.bulk_create(
        RecoveryPoint(
            asset=a,
            vault=vault,
            status=PointStatus.OK,
            data_as_of=now - timedelta(minutes=7 * i % 600),
            size_bytes=1 << 20,
            file_count=3,
            manifest_sha256=f"{i:064x}",
            key_id="k1",
            immutable_until=now + timedelta(days=7),
            verified_at=now,
            created_at=now,
        )
        for i, a in enumerate(rows)
    )
    return officer


def measure(case: str, size: int, chunk: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as var:
        _setup(var)
        from django.utils import timezone

        from dr_portal.pdf import document
        from dr_portal.pdf.signing import signing_identity
        from incidents.services.reports import (
            _store,
            report_claim,
            report_complete,
            report_document,
            report_request,
        )

        if chunk is not None:
            document.TIMELINE_CHUNK = chunk or 10**9
        signing_identity()  # key generation is a one-off; keep it out of the timings
        from dr_portal.audit.checkpoints import signing_key

        signing_key()
        if case == "incident":
            incident, person = _incident(size)
            officer = person.__class__.objects.create(username="compliance", role="compliance_officer")
            report = report_request(kind="incident", by=officer, incident=incident)
        else:
            officer = _estate(size)
            today = timezone.now().date()
            report = report_request(
                kind="readiness", by=officer, period_first=today - timedelta(days=30), period_last=today
            )
        t0 = time.perf_counter()
        claimed = report_claim(report_id=report.pk)
        assert claimed is not None
        doc, template = report_document(report=claimed, now=timezone.now())
        t1 = time.perf_counter()
        data = document.document_pdf(doc, template=template)
        t2 = time.perf_counter()
        done = report_complete(report=claimed, data=data, file_name=_store(claimed, data), anchor_seq=doc.anchor.seq)
        t3 = time.perf_counter()
        assert done is not None
        return {
            "case": case,
            "size": size,
            "pages": done.pages,
            "data_s": t1 - t0,
            "pdf_s": t2 - t1,
            "store_s": t3 - t2,
            "total_s": t3 - t0,
            "bytes": done.size_bytes,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def run(case: str, size: int, chunk: int | None) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", case, str(size)]
    if chunk is not None:
        args += ["--chunk", str(chunk)]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--events", type=int, nargs="*", default=[2000, 10000])
    parser.add_argument("--assets", type=int, nargs="*", default=[500])
    parser.add_argument("--chunk", type=int, default=None)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.chunk)))
        return
    print("Compliance reports: data + audit_verify, render + sign, store + record (report service, SQLite)")
    print(
        f"{'case':>10} {'size':>7} {'pages':>6} {'data s':>7} {'pdf s':>7} {'total s':>8} {'MiB':>6} "
        f"{'peak RSS MiB':>13}"
    )
    results = []
    cases = [("incident", n) for n in args.events] + [("readiness", n) for n in args.assets]
    for case, size in cases:
        r = run(case, size, args.chunk)
        results.append(r)
        print(
            f"{r['case']:>10} {r['size']:>7} {r['pages']:>6} {r['data_s']:>7.2f} {r['pdf_s']:>7.2f} "
            f"{r['total_s']:>8.2f} {r['bytes'] / 2**20:>6.2f} {r['peak_rss_mib']:>13.0f}"
        )
    incidents = [r for r in results if r["case"] == "incident"]
    if len(incidents) >= 2:
        a, b = incidents[0], incidents[-1]
        print(
            f"incident scaling {a['size']} -> {b['size']} events (x{b['size'] / a['size']:.1f}): "
            f"time x{b['total_s'] / a['total_s']:.2f}, peak RSS x{b['peak_rss_mib'] / a['peak_rss_mib']:.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
