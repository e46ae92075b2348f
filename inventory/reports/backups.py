"""Backup coverage, immutable-backup status, and the appendix's evidence index of recovery points."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dr_portal.charts import Measured, backup_age_vs_rpo_chart
from dr_portal.pdf.document import Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import duration, rate, ts
from dr_portal.pdf.wording import HIPAA_RETENTION, NPRM_BACKUP_AGE
from inventory.models import Backup, BackupStatus
from inventory.readiness import AssetReadiness, Level
from inventory.reports.scope import newest_good
from inventory.selectors import backup_next_success_finished_at, points_newest_good, vault_list


def backups_section(items: list[AssetReadiness], backups: list[Backup], doc: ReportDocument) -> Section:
    rows = []
    measured = []
    gaps = []
    for r in sorted(items, key=lambda r: r.asset.name):
        a, p, good = r.asset, r.asset.policy, newest_good(r)
        age = r.backup_age
        rows.append(
            [
                a.name,
                p.get_strategy_display() if p else None,
                f"{p.backup_cadence_minutes} min" if p else None,
                ts(good.data_as_of),
                duration(age),
                f"{p.rpo_minutes} min" if p else None,
                ("within" if age <= timedelta(minutes=p.rpo_minutes) else "past") if age is not None and p else None,
                ("yes" if age <= NPRM_BACKUP_AGE else "no") if age is not None else None,
                good.key_id or None,
                f"{p.retention_days} d" if p else None,
            ]
        )
        if p is not None:
            measured.append(Measured(a.name, age, timedelta(minutes=p.rpo_minutes)))
        if good.data_as_of is None or a.last_drill_at is None:
            why = "no good backup" if good.data_as_of is None else "backup never restore-tested (no drill)"
            gaps.append([a.name, a.tier, why])
    if measured:
        doc.charts["rpo"] = (
            backup_age_vs_rpo_chart(measured, title="Newest good backup age vs RPO, per asset"),
            "Age of each asset's newest good backup at generation time as a share of its RPO; amber from 80 %.",
            "Newest good backup age vs RPO, per asset",
        )
    done = [b for b in backups if b.status in (BackupStatus.SUCCEEDED, BackupStatus.FAILED)]
    failed = [b for b in done if b.status == BackupStatus.FAILED]
    fixed_after = {}
    for b in failed:
        nxt = backup_next_success_finished_at(backup=b)
        fixed_after[b.pk] = duration(nxt - b.finished_at) if nxt and b.finished_at else None
    return Section(
        "backups",
        "Backup coverage",
        intro="HIPAA §164.308(a)(7)(ii)(A); GDPR Art. 32(1)(c).",
        fields=[
            Field("jobs", "Backup jobs finished in the period", len(done)),
            Field("succeeded", "Succeeded", len(done) - len(failed)),
            Field("failed", "Failed", len(failed)),
            Field("rate", "Success rate", rate(len(done) - len(failed), len(done))),
            Field("offsite", "Copies off-site / cross-region / cross-account (3-2-1)", None),
            Field("kms_rotation", "KMS key rotation", None),
            Field("required_retention", "Retention required (HIPAA documentation)", HIPAA_RETENTION),
        ],
        charts=["rpo"] if measured else [],
        tables=[
            Table(
                "per_asset",
                "Per asset",
                [
                    "Asset",
                    "Method",
                    "Every",
                    "Last good backup",
                    "Age",
                    "RPO",
                    "vs RPO",
                    "≤ 48 h (NPRM, proposed)",
                    "Key id",
                    "Retention",
                ],
                rows,
                empty="No assets in the inventory.",
            ),
            Table(
                "failures",
                "Failed jobs in the period",
                ["Asset", "Failed at", "Cause", "Fixed after"],
                [[b.asset.name, ts(b.finished_at), b.error, fixed_after[b.pk]] for b in failed],
                empty="No backup failed in the period." if done else "No backup ran in the period.",
            ),
            Table("gaps", "Coverage gaps", ["Asset", "Tier", "Gap"], gaps, empty="No gaps."),
        ],
    )


def immutable_section(items: list[AssetReadiness]) -> Section:
    rows = [
        [
            v.name,
            v.get_kind_display(),
            v.region,
            "object lock (WORM)" if v.worm_capable else "none",
            v.asset_count,  # type: ignore[attr-defined]
            None,
            None,
        ]
        for v in vault_list()
    ]
    drift = [[r.asset.name, c.reason] for r in items for c in r.checks if c.name == "worm" and c.level > Level.OK]
    return Section(
        "immutable",
        "Immutable-backup status",
        tables=[
            Table(
                "vaults",
                "Backup locations",
                [
                    "Vault",
                    "Kind",
                    "Region",
                    "WORM mechanism",
                    "Assets",
                    "Lock mode / Vault Lock state",
                    "Cross-account / MFA-delete",
                ],
                rows,
                empty="No vaults configured.",
            ),
            Table("drift", "Drift findings", ["Asset", "Finding"], drift, empty="No WORM drift found."),
        ],
        fields=[Field("config_snapshots", "Configuration snapshots with hashes", None)],
    )


def appendix_section(doc: ReportDocument, items: list[AssetReadiness]) -> Section:
    rows: list[list[Any]] = [
        [f"manifest of {p.asset.name} @ {ts(p.data_as_of)}", p.manifest_sha256, f"{p.vault.name}: {p.public_id}"]
        for p in points_newest_good(asset_ids=[r.asset.pk for r in items])
    ]
    return Section(
        "appendix",
        "Appendices",
        tables=[
            Table(
                "evidence_index",
                "Evidence index (newest good recovery point per asset)",
                ["Artefact", "SHA-256", "Location / version id"],
                rows,
                empty="No recovery points.",
            )
        ],
        fields=[
            Field("checkpoint_note", "Checkpoint note", doc.anchor.text if doc.anchor else None),
            Field("verification_output", "audit_verify output", doc.verification.summary if doc.verification else None),
        ],
    )
