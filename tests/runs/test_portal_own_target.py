"""A plan that would restore a folder asset over the portal's own VAR_DIR (the tier-0 `dr-portal` asset's
source) is refused before it starts; a drill of the same asset, into a folder under VAR_DIR, is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inventory.models import Asset
from tests.runs.conftest import make_plan

pytestmark = pytest.mark.django_db


def test_a_restore_over_var_dir_is_a_plan_problem(make_asset: Callable[..., Asset], settings: Any) -> None:
    from incidents.runs.resolve import resolve

    asset = make_asset("portal-like")
    plan = make_plan([{"key": "r", "kind": "restore", "asset": asset.name}])
    assert not [p for p in resolve(plan=plan, mode="recovery").problems if "portal's own" in p]

    settings.VAR_DIR = Path(asset.source_uri)
    problems = resolve(plan=plan, mode="recovery").problems
    assert any(p.startswith("portal-like: ") and "portal's own data folder" in p for p in problems), problems
    assert not [p for p in resolve(plan=plan, mode="drill").problems if "portal's own" in p]


def test_a_folder_backup_of_var_dir_takes_the_live_database_as_one_state(
    make_asset: Callable[..., Asset], settings: Any, tmp_path: Path
) -> None:
    import sqlite3

    from inventory import vault_io
    from tests.runs.conftest import backed_up

    var_dir = tmp_path / "portal-var"
    var_dir.mkdir()
    (var_dir / "notes.txt").write_text("kept as is")
    db = var_dir / "db.sqlite3"
    live = sqlite3.connect(db)
    live.execute("PRAGMA journal_mode=wal")
    live.execute("PRAGMA wal_autocheckpoint=0")  # every row stays in the -wal, as under a busy portal
    live.execute("CREATE TABLE t (x INTEGER)")
    live.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    live.commit()
    settings.VAR_DIR, settings.SOURCE_ROOTS = var_dir, [var_dir]
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3", "NAME": str(db)},
    }
    try:
        asset = make_asset("portal-folder", backup=False)
        asset.source_uri = str(var_dir)
        asset.save(update_fields=["source_uri"])
        point = backed_up(asset)
        target = tmp_path / "restored"
        vault_io.restore_point(
            vault=point.vault, manifest=point.manifest, target_dir=target, progress=lambda d, t: True
        )
        assert (target / "notes.txt").read_text() == "kept as is"
        assert not (target / "db.sqlite3-wal").exists() and not (target / "db.sqlite3-shm").exists()
        restored = sqlite3.connect(target / "db.sqlite3")
        assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert restored.execute("SELECT count(*) FROM t").fetchone()[0] == 500
        restored.close()
        assert Path(str(db) + "-wal").stat().st_size > 0  # the live database was only read
    finally:
        live.close()


def test_a_folder_backup_of_var_dir_leaves_out_the_vaults_and_working_folders(
    make_asset: Callable[..., Asset], settings: Any, tmp_path: Path
) -> None:
    from inventory import vault_io
    from tests.runs.conftest import backed_up

    var_dir = tmp_path / "portal-var"
    for folder in ("keys", "vaults/portal", "drills/run-1", "restore-staging", "celery/queue"):
        (var_dir / folder).mkdir(parents=True)
        (var_dir / folder / "file.bin").write_bytes(folder.encode())
    settings.VAR_DIR, settings.SOURCE_ROOTS = var_dir, [var_dir]
    settings.PORTAL_BACKUP_VAULT = str(var_dir / "vaults" / "portal")
    asset = make_asset("portal-folder", backup=False)
    asset.source_uri = str(var_dir)
    asset.save(update_fields=["source_uri"])
    point = backed_up(asset)
    target = tmp_path / "restored"
    vault_io.restore_point(vault=point.vault, manifest=point.manifest, target_dir=target, progress=lambda d, t: True)
    assert (target / "keys" / "file.bin").read_bytes() == b"keys"
    assert sorted(p.name for p in target.iterdir()) == ["keys"]
