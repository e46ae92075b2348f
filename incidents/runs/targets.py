"""Where a run's restores land: the asset's own folder, an alternate region's, or a drill folder."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from incidents.runs.models import Mode, RecoveryRun
from inventory.models import Asset
from inventory.paths import REGION, PathRefused


def drill_root(run: RecoveryRun) -> Path:
    return settings.VAR_DIR / "drills" / str(run.public_id)


def region_root(region: str) -> Path:
    if not REGION.match(region) or ".." in region:
        # Checked when the asset is saved too; a row from before that rule must not pick a folder.
        raise PathRefused(f"The region {region!r} is not a region name, so it names no folder to restore into.")
    configured = settings.RESTORE_REGION_ROOTS.get(region)
    return Path(configured) if configured else settings.VAR_DIR / "regions" / region


def restore_target(*, run: RecoveryRun, asset: Asset, target: str) -> tuple[str, str]:
    """(path, region) a restore of `asset` writes to in `run`.

    A drill never touches the asset's real location: it restores into a folder
    of its own under VAR_DIR, in the region it would have used.
    """
    region = asset.alternate_region if target == "alternate" else asset.region
    if run.mode == Mode.DRILL:
        return str(drill_root(run) / asset.name), region
    if target == "alternate":
        return str(region_root(region) / asset.name), region
    return asset.source_uri, region
