"""Load the demo estate: real files under var/, vaults, policies, ~30 assets, each with its first backup taken.

Safe to run again: files are only written when missing, rows are matched by
name, and a backup is queued only for an asset that has no good point and
none in flight. Some assets are left deliberately at risk or in breach.
"""

from __future__ import annotations

import json
import random
import struct
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from inventory import demo_connectors, demo_group, demo_mlflow, demo_servers
from inventory.demo_estate import ALTERNATES, DEPENDENCIES, ESTATE, MB, PLANS, POLICIES, VAULTS
from inventory.demo_mlflow import DemoRegistry
from inventory.engine import generate_key_file
from inventory.models import Asset, Backup, RecoveryPlan, RecoveryPoint, RecoveryPolicy, Vault
from inventory.services import (
    BackupRefused,
    asset_create,
    asset_update,
    backup_execute,
    backup_request,
    dependency_add,
    plan_default_data,
    plan_save,
    policy_create,
    policy_default_for_tier,
    vault_create,
)
from inventory.services.readiness import readiness_sweep


def _format_head(name: str, size: int) -> bytes:
    """The start a file of a known format has, so backup screening does not take filler for damage."""
    if name.endswith(".parquet"):
        return b"PAR1"
    if name.endswith(".safetensors"):
        header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
        header += b" " * (-len(header) % 8)
        return struct.pack("<Q", len(header)) + header if size > 8 + len(header) else b""
    return b""


def _write_file(path: Path, size: int, seed: str) -> None:
    head = _format_head(path.name.lower(), size)
    if path.exists() and path.stat().st_size == size:
        with path.open("rb") as existing:
            if existing.read(len(head)) == head:
                return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 - deterministic filler, not secrets
    part = path.with_suffix(path.suffix + ".part")
    with part.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left:
            step = min(left, MB)
            out.write(rng.randbytes(step))
            left -= step
        if path.name.lower().endswith(".parquet") and size >= 8:
            out.seek(size - 4)
            out.write(b"PAR1")  # a parquet file ends with its magic too
    part.replace(path)


class Command(BaseCommand):
    help = "Create the demo estate (idempotent) and take each asset's first backup."

    def handle(self, *args: Any, **options: Any) -> None:
        root = settings.VAR_DIR / "demo-sources"
        if not settings.VAULT_KEY_FILE.exists():
            generate_key_file(settings.VAULT_KEY_FILE.parent, key_id=settings.VAULT_KEY_ID)
        total = 0
        for item in ESTATE:
            for rel, size in item.files.items():
                if not item.missing_source:
                    _write_file(root / item.name / rel, size, f"{item.name}/{rel}")
                    total += size
        for fields in VAULTS:
            if not Vault.objects.filter(name=fields["name"]).exists():
                vault_create(by=None, fields=fields)
        for tier in range(4):
            policy_default_for_tier(tier=tier)
        for fields in POLICIES:
            if not RecoveryPolicy.objects.filter(name=fields["name"]).exists():
                policy_create(by=None, fields=fields)
        systems = demo_connectors.build(settings.VAR_DIR / "demo-systems")
        on_servers, absent = demo_servers.server_systems()
        systems.update(on_servers)
        items = ESTATE + demo_group.GROUP_ESTATE + [i for i in demo_group.SERVER_ESTATE if i.name in on_servers]
        created = self._assets(root, items)
        registry = DemoRegistry.prepare(settings.VAR_DIR, settings.BASE_DIR)
        systems[demo_mlflow.ASSET] = ("mlflow", registry.connector_config())
        systems[demo_group.GROUP] = ("group", {"members": demo_group.members(set(on_servers))})
        for name, (kind, config) in systems.items():
            # A registry is reached by URL; its source_uri names the folder its server keeps its data in.
            # Server databases and the group have no folder: their connector config is their source.
            asset = Asset.objects.get(name=name)
            # (Not the demo-sources/<name> folder every asset is made with: that folder does not exist.)
            source = config.get("path") or config.get("uri") or ""
            if kind == "mlflow":
                source = str(registry.workdir / "source")
            fields = {"source_uri": source, "connector": kind, "connector_config": config}
            asset_update(asset=asset, by=None, fields=fields)  # nothing when unchanged
        for note in absent:
            self.stdout.write(note)
        if not demo_mlflow.apply_availability(registry):
            self.stdout.write(
                self.style.WARNING(
                    f"mlflow: the demo assets {demo_mlflow.ASSET} and {demo_group.GROUP} are {demo_mlflow.UNAVAILABLE}."
                )
            )
        for up, down in DEPENDENCIES:
            dependency_add(upstream=Asset.objects.get(name=up), downstream=Asset.objects.get(name=down), by=None)
        for name, region in ALTERNATES.items():
            asset = Asset.objects.get(name=name)
            if asset.alternate_region != region:
                asset_update(asset=asset, by=None, fields={"alternate_region": region})
        for plan_name, names in PLANS.items():
            if not RecoveryPlan.objects.filter(name=plan_name).exists():
                plan_save(data=plan_default_data(assets=Asset.objects.filter(name__in=names), name=plan_name), by=None)
        taken = self._first_backups()
        readiness_sweep()  # rows the migration left due, so the first page is not waiting for beat
        self.stdout.write(
            f"Demo estate: {len(items)} assets ({created} new), {total / MB:.0f} MB of source files under "
            f"{root.name}/, {taken} first backups taken."
        )

    def _assets(self, root: Path, items: list[Any]) -> int:
        created = 0
        for item in items:
            if Asset.objects.filter(name=item.name).exists():
                continue
            policy = None
            if item.policy == "tier":
                policy = policy_default_for_tier(tier=item.tier)
            elif item.policy:
                policy = RecoveryPolicy.objects.get(name=item.policy)
            source = root / item.name
            asset = asset_create(
                by=None,
                fields={
                    "name": item.name,
                    "title": item.title,
                    "kind": item.kind,
                    "owner_team": item.team,
                    "tier": item.tier,
                    "data_classes": item.data,
                    "region": item.region,
                    "environment": "production",
                    "source_uri": str(source),
                    "labels": item.labels,
                    "fallback": item.fallback,
                    "policy": policy,
                    "vault": Vault.objects.get(name=item.vault) if item.vault else None,
                },
            )
            if item.drill_clock_days:
                # The estate predates the portal: these policies were agreed months ago.
                start = timezone.now() - timedelta(days=item.drill_clock_days)
                Asset.objects.filter(pk=asset.pk).update(policy_assigned_at=start, created_at=start)
            created += 1
        return created

    def _first_backups(self) -> int:
        """Back up every asset now, in this process, with the services the worker's task calls.

        The estate predates the portal; an asset with no point until a worker gets round to it made every
        readiness report and evidence index built early on say "no good backup" for the whole estate.
        """
        taken = 0
        # The MLflow registry's first backup (and its group's) waits for its server: `mlflow_demo` queues them.
        waiting = Asset.objects.filter(connector__in=("mlflow", "group"))
        for asset in Asset.objects.filter(policy__isnull=False, vault__isnull=False).exclude(pk__in=waiting):
            has_point = RecoveryPoint.objects.good().filter(asset=asset).exists()
            if has_point or Backup.objects.filter(asset=asset).exists():
                continue
            try:
                backup = backup_request(asset=asset, by=None)
            except BackupRefused as refused:
                self.stderr.write(str(refused))
                continue
            outcome = backup_execute(backup_id=backup.pk)
            if "ok" not in outcome:
                self.stdout.write(f"first backup of {asset.name} failed: {outcome}")
                continue
            taken += 1
        return taken
