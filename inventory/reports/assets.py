"""Asset inventory and criticality analysis (with the restoration order), and the NPRM gap view per system."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import ts
from dr_portal.pdf.wording import NPRM, NPRM_BACKUP_AGE, NPRM_RESTORE, NPRM_STATUS
from inventory.models import Asset
from inventory.readiness import AssetReadiness
from inventory.reports.scope import Period
from inventory.selectors import dependency_edges


def restore_order(assets: Sequence[Asset], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Restoration priority: upstream before downstream, then tier, then name."""
    ids = {a.pk for a in assets}
    deps = [(u, d) for u, d in edges if u in ids and d in ids]
    waiting = Counter(d for _, d in deps)
    by_id = {a.pk: a for a in assets}
    ready = sorted((a for a in assets if not waiting[a.pk]), key=lambda a: (a.tier, a.name))
    order: dict[int, int] = {}
    while ready:
        asset = ready.pop(0)
        order[asset.pk] = len(order) + 1
        for u, d in deps:
            if u == asset.pk:
                waiting[d] -= 1
                if waiting[d] == 0:
                    ready.append(by_id[d])
        ready.sort(key=lambda a: (a.tier, a.name))
    for asset in sorted(assets, key=lambda a: (a.tier, a.name)):  # a cycle: list the rest last
        order.setdefault(asset.pk, len(order) + 1)
    return order


def inventory_section(period: Period, items: list[AssetReadiness]) -> Section:
    assets = [r.asset for r in items]
    edges = dependency_edges()
    order = restore_order(assets, edges)
    up = Counter(d for _, d in edges)
    down = Counter(u for u, _ in edges)
    rows = []
    for a in sorted(assets, key=lambda a: order[a.pk]):
        p = a.policy
        rows.append(
            [
                order[a.pk],
                f"{a.name} ({a.get_kind_display()})",
                a.owner_team,
                f"{a.environment} / {a.region}",
                ", ".join(a.data_classes) or None,
                a.tier,
                f"{p.mtd_minutes} / {p.rto_minutes} / {p.rpo_minutes}" if p else None,
                f"{up[a.pk]} up / {down[a.pk]} down",
                a.vault.region if a.vault else None,
                None,  # RoPA processing-activity id
            ]
        )
    added = [[a.name, ts(a.created_at)] for a in assets if period.start <= a.created_at < period.end]
    return Section(
        "inventory",
        "Asset inventory and criticality analysis",
        intro="HIPAA §164.308(a)(7)(ii)(E); the restoration order puts what others depend on first.",
        tables=[
            Table(
                "assets",
                "Assets",
                [
                    "Restore order",
                    "Asset (type)",
                    "Owner",
                    "Env / region",
                    "Data classes",
                    "Tier",
                    "MTD / RTO / RPO (min)",
                    "Dependencies",
                    "Backup region",
                    "RoPA id",
                ],
                rows,
                empty="No assets in the inventory.",
            ),
            Table(
                "added",
                "Added in the period",
                ["Asset", "Added"],
                added,
                empty="No assets were added.",
                note="Removed assets are not recorded; the inventory review date is not recorded.",
            ),
        ],
        fields=[Field("processors", "Processors / sub-processors", None)],
    )


def nprm_section(items: list[AssetReadiness]) -> Section:
    rows = []
    for r in sorted(items, key=lambda r: (r.asset.tier, r.asset.name)):
        p = r.asset.policy
        rows.append(
            [
                r.asset.name,
                ("yes" if timedelta(minutes=p.rto_minutes) <= NPRM_RESTORE else "no") if p else None,
                ("yes" if r.backup_age <= NPRM_BACKUP_AGE else "no") if r.backup_age is not None else None,
            ]
        )
    return Section(
        "nprm",
        f"NPRM gap view ({NPRM_STATUS})",
        intro=f"{NPRM}.",
        tables=[
            Table(
                "nprm",
                "Per system",
                ["Asset", "RTO target ≤ 72 h", "Newest backup ≤ 48 h"],
                rows,
                empty="No assets in the inventory.",
            )
        ],
        fields=[
            Field("baa_clause", "BA 24 h contingency-activation clause in BAAs", None),
            Field("annual_audit", "Annual compliance audit", None),
            Field("scans", "Vulnerability scans every 6 months / annual penetration test", None),
        ],
    )
