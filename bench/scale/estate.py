"""The estate: an import file of N assets (YAML or CSV), then history, incidents and audit events.

Everything goes in through the product's own bulk paths.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta
from typing import Any

from bench.scale.common import Results, Sizes, timed

TEAMS = [f"team-{n}" for n in range(25)]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]
KINDS = ["model", "dataset", "feature_store", "vector_index", "pipeline", "endpoint", "config"]


def upstreams(i: int, rng: random.Random) -> list[int]:
    """About 1.2 edges per asset, always from a lower to a higher number (so no cycle): a random
    recursive tree (every asset below asset 0, a few levels deep) plus a chain link every fifth asset."""
    if i == 0:
        return []
    ups = [rng.randrange(i)]
    if i % 5 == 0 and i - 1 not in ups:
        ups.append(i - 1)
    return ups


def _asset(i: int) -> dict[str, str]:
    return {
        "kind": KINDS[i % len(KINDS)],
        "owner_team": TEAMS[i % len(TEAMS)],
        "tier": str(i % 4),
        "region": REGIONS[i % 3],
        "policy": f"tier-{i % 4}",
        "vault": "bench-vault",
    }


def estate_yaml(n: int, prefix: str = "asset") -> str:
    lines = [
        "vaults:\n  - {name: bench-vault, kind: filesystem, region: eu-west-1, worm_capable: true,"
        " config: {path: bench-vault}}\n",
        "policies:\n",
    ]
    for tier, (rpo, cadence) in enumerate([(60, 30), (240, 120), (1440, 720), (4320, 1440)]):
        lines.append(
            f"  - {{name: tier-{tier}, strategy: cold_standby, rto_minutes: {30 * (tier + 1)},"
            f" rpo_minutes: {rpo}, mtd_minutes: {120 * (tier + 1)}, backup_cadence_minutes: {cadence},"
            f" retention_days: 400, drill_cadence_days: 90}}\n"
        )
    lines.append("assets:\n")
    for i in range(n):
        fields = ", ".join(f"{k}: {v}" for k, v in _asset(i).items())
        lines.append(f"  - {{name: {prefix}-{i:05d}, source_uri: /srv/{prefix}-{i:05d}, {fields}}}\n")
    lines.append("dependencies:\n")
    rng = random.Random(12)
    for i in range(n):
        for up in upstreams(i, rng):
            lines.append(f"  - {{upstream: {prefix}-{up:05d}, downstream: {prefix}-{i:05d}}}\n")
    return "".join(lines)


def estate_csv(n: int, prefix: str = "csv-asset") -> str:
    """The same estate as a CSV file (dependencies in `depends_on`); its policies and vault must exist."""
    out = io.StringIO()
    columns = ["name", "source_uri", *_asset(0), "depends_on"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    rng = random.Random(12)
    for i in range(n):
        depends = ";".join(f"{prefix}-{up:05d}" for up in upstreams(i, rng))
        writer.writerow(
            {"name": f"{prefix}-{i:05d}", "source_uri": f"/srv/{prefix}-{i:05d}", **_asset(i), "depends_on": depends}
        )
    return out.getvalue()


def fill(sizes: Sizes, results: Results) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from dr_portal.audit.services import EventSpec, audit_append_many
    from incidents.services.lifecycle import incident_declare
    from inventory.models import Asset, Backup, BackupStatus, PointStatus, RecoveryPoint
    from inventory.porting import import_file
    from inventory.services.pointers import points_newest_refresh
    from inventory.services.readiness import readiness_sweep
    from inventory.services.rollups import backup_days_rebuild

    User = get_user_model()
    people = {
        role: User.objects.create_user(username=f"bench-{role}", password=None, role=role)
        for role in ("compliance_officer", "incident_commander")
    }
    data = estate_yaml(sizes.assets).encode()
    summary = timed(results.fill, "import", lambda: import_file(name="estate.yaml", data=data, by=None))
    results.notes.append(f"import: {summary}")
    edges = summary.created["dependency"]

    year = timedelta(days=365)
    step = year / sizes.history

    def history() -> int:
        made = 0
        ids = list(Asset.objects.order_by("pk").values_list("pk", "vault_id"))
        for start in range(0, len(ids), 500):
            backups, points = [], []
            now = timezone.now()  # per chunk: at full size the whole history takes minutes to write
            for asset_id, vault_id in ids[start : start + 500]:
                for k in range(sizes.history):
                    # The newest is a few minutes old: the estate is in its steady state.
                    at = now - timedelta(minutes=5 + asset_id % 20) - step * (sizes.history - 1 - k)
                    backups.append(
                        Backup(
                            asset_id=asset_id,
                            vault_id=vault_id,
                            status=BackupStatus.SUCCEEDED,
                            trigger="schedule",
                            created_at=at,
                            started_at=at,
                            finished_at=at + timedelta(minutes=2),
                            bytes_done=1 << 20,
                            bytes_total=1 << 20,
                        )
                    )
            Backup.objects.bulk_create(backups, batch_size=5000)
            for b in backups:
                points.append(
                    RecoveryPoint(
                        asset_id=b.asset_id,
                        vault_id=b.vault_id,
                        backup=b,
                        status=PointStatus.OK,
                        data_as_of=b.created_at,
                        size_bytes=1 << 20,
                        file_count=3,
                        manifest={"format": 2, "files": 3},
                        manifest_sha256="0" * 64,
                        key_id="bench",
                        verified_at=now,
                        created_at=b.created_at,
                    )
                )
            RecoveryPoint.objects.bulk_create(points, batch_size=5000)
            made += len(points)
        return made

    assets = list(Asset.objects.order_by("pk")[: sizes.incidents])

    def incidents() -> list[Any]:
        return [
            incident_declare(
                title=f"Bench incident {n}",
                category="availability",
                by=people["incident_commander"],
                assets=[assets[n % len(assets)]],
            )
            for n in range(sizes.incidents)
        ]

    opened = timed(results.fill, "incidents (incident_declare)", incidents)
    big = opened[0]
    from dr_portal.audit.models import AuditEvent

    def events() -> int:
        timeline = [
            EventSpec(
                action="incident.note_added",
                actor=people["incident_commander"],
                obj=big,
                incident_id=big.public_id,
                payload={"note": f"Step {n}: restore of the feature store checked, rows match the golden set."},
            )
            for n in range(sizes.timeline)
        ]
        audit_append_many(events=timeline, batch_size=5000)
        left = sizes.events - AuditEvent.objects.count()
        batch = 10_000
        while left > 0:
            size = min(batch, left)
            audit_append_many(
                events=[
                    EventSpec(
                        action="backup.completed",
                        system_actor="system:worker",
                        object_type="asset",
                        object_id=str(n % sizes.assets),
                        payload={"bytes": 1 << 20, "files": 3},
                    )
                    for n in range(size)
                ],
                batch_size=5000,
            )
            left -= size
        return AuditEvent.objects.count()

    total = timed(results.fill, "audit events (audit_append_many)", events)
    # The history last, so it ends when the fill does: written first, it was 17 minutes old at full size by
    # the time the periodic tasks were timed, and thousands of assets were due for a backup.
    made = timed(results.fill, "history (bulk_create)", history)
    timed(results.fill, "newest-point pointers", lambda: points_newest_refresh())
    # History written with bulk_create bypasses the services that keep the daily roll-ups: recount them
    # as the migration that made them does.
    timed(results.fill, "backup roll-ups (recount)", lambda: backup_days_rebuild())
    timed(results.fill, "readiness sweep (every asset)", readiness_sweep)

    results.notes.append(
        f"estate: {sizes.assets:,} assets, {edges:,} dependencies, {made:,} backups and as many points, "
        f"{sizes.incidents:,} incidents, {total:,} audit events ({sizes.timeline:,} on one incident)"
    )
    return {"people": people, "incident": big}


def time_imports(n: int, results: Results) -> None:
    """An import of `n` assets as YAML (with the vault and policies), then of `n` more as CSV, each timed."""
    from inventory.porting import import_file

    for name, data in (("estate.yaml", estate_yaml(n)), ("estate.csv", estate_csv(n))):
        encoded = data.encode()

        def load(name: str = name, encoded: bytes = encoded) -> Any:
            return import_file(name=name, data=encoded, by=None)

        kind = name.rsplit(".", 1)[1].upper()
        summary = timed(results.fill, f"import of {n:,} assets ({kind}, {len(encoded) / 1e6:.1f} MB)", load)
        results.notes.append(f"{name}: {summary}")
