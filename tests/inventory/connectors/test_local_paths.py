"""SQLite and LanceDB paths obey the folder-source rules: SOURCE_ROOTS, no '..', no /proc, never the portal's own."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from inventory.connector_io import run_target
from inventory.connectors import ConfigInvalid, ConnectorRefused, get_connector
from inventory.vault_io.backup import _backup_source
from tests.factories import AssetFactory


@pytest.fixture
def rooted(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    """(allowed, outside): SOURCE_ROOTS is only ``allowed``; each holds a real SQLite database."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    for folder in (allowed, outside):
        folder.mkdir()
        with contextlib.closing(sqlite3.connect(folder / "app.sqlite3")) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            db.execute("INSERT INTO t VALUES (1)")
            db.commit()
    settings.SOURCE_ROOTS = [allowed]
    settings.VAR_DIR = tmp_path / "var"
    return allowed, outside


def test_system_files_dotdot_and_the_portals_keys_are_refused_in_the_config(rooted: tuple[Path, Path]) -> None:
    allowed, _ = rooted
    var_dir = allowed.parent / "var"
    for path, words in (
        ("/proc/self/environ", "system folder"),
        ("/dev/zero", "system folder"),
        (f"{allowed}/../outside/app.sqlite3", "'..'"),
        (f"{var_dir}/keys/vault-keys", "portal's own keys"),
    ):
        with pytest.raises(ConfigInvalid, match=words):
            get_connector("sqlite", {"path": path})
        with pytest.raises(ConfigInvalid, match=words):
            get_connector("vector", {"uri": path, "model_name": "m"})
    with pytest.raises(ConfigInvalid, match="system folder"):
        get_connector("vector", {"uri": str(allowed), "model_name": "m", "model_path": "/proc/self/environ"})


def test_a_sqlite_file_outside_source_roots_is_not_backed_up(rooted: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, outside = rooted
    for name in ("staging", "s2", "s3", "s4"):
        (tmp_path / name).mkdir()
    assert get_connector("sqlite", {"path": str(allowed / "app.sqlite3")}).snapshot(tmp_path / "staging").capture
    with pytest.raises(ConnectorRefused, match="outside the allowed folders"):
        get_connector("sqlite", {"path": str(outside / "app.sqlite3")}).snapshot(tmp_path / "s2")
    with pytest.raises(ConnectorRefused, match="outside the allowed folders"):
        get_connector("sqlite", {"path": str(outside / "app.sqlite3")}).discover()
    # A link inside the allowed folder that leads out of it is followed before the check.
    (allowed / "link.sqlite3").symlink_to(outside / "app.sqlite3")
    with pytest.raises(ConnectorRefused, match="outside the allowed folders"):
        get_connector("sqlite", {"path": str(allowed / "link.sqlite3")}).snapshot(tmp_path / "s3")
    # /proc reached through a link is refused as a system file, not read as an empty database.
    (allowed / "env.sqlite3").symlink_to("/proc/self/environ")
    with pytest.raises(ConnectorRefused, match="system folder"):
        get_connector("sqlite", {"path": str(allowed / "env.sqlite3")}).snapshot(tmp_path / "s4")


def test_a_lancedb_folder_or_model_outside_source_roots_is_not_read(rooted: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, outside = rooted
    with pytest.raises(ConnectorRefused, match=r"uri: .*outside the allowed folders"):
        get_connector("vector", {"uri": str(outside), "model_name": "m"}).snapshot(tmp_path)
    with pytest.raises(ConnectorRefused, match=r"uri: .*outside the allowed folders"):
        get_connector("vector", {"uri": str(outside), "model_name": "m"}).discover()
    config = {"uri": str(allowed), "model_name": "m", "model_path": str(outside / "app.sqlite3")}
    with pytest.raises(ConnectorRefused, match=r"model_path: .*outside the allowed folders"):
        get_connector("vector", config).snapshot(tmp_path)


@pytest.mark.django_db
def test_an_asset_is_checked_when_saved_and_again_when_backed_up(
    rooted: tuple[Path, Path], settings: Any, tmp_path: Path
) -> None:
    allowed, outside = rooted
    asset = AssetFactory.build(connector="sqlite", connector_config={"path": str(outside / "app.sqlite3")})
    with pytest.raises(ValidationError, match="outside the allowed folders"):
        asset.full_clean()
    asset = AssetFactory.create(connector="sqlite", connector_config={"path": str(allowed / "app.sqlite3")})
    settings.SOURCE_ROOTS = [outside]  # settings changed after the asset was saved
    with contextlib.ExitStack() as stack, pytest.raises(ConnectorRefused, match="outside the allowed folders"):
        _backup_source(asset, stack)


@pytest.mark.django_db
def test_a_drill_restores_only_under_the_drills_folder(rooted: tuple[Path, Path]) -> None:
    allowed, outside = rooted
    var_dir = allowed.parent / "var"
    asset = AssetFactory.create(connector="sqlite", connector_config={"path": str(allowed / "app.sqlite3")})
    drill_dir = var_dir / "drills" / "run-1" / str(asset.name)
    target, _ = run_target(asset=asset, drill=True, drill_dir=drill_dir, tag="t", alternate=False, override={})
    assert target["path"].startswith(str(drill_dir))
    with pytest.raises(ConfigInvalid, match="only under the drills folder"):
        run_target(
            asset=asset, drill=True, drill_dir=drill_dir, tag="t", alternate=False,
            override={"path": str(outside / "drill.sqlite3")},
        )  # fmt: skip
    with pytest.raises(ConfigInvalid, match="portal's own"):
        run_target(
            asset=asset, drill=False, drill_dir=drill_dir, tag="t", alternate=True, override={"path": str(var_dir)}
        )


def test_a_restore_never_writes_a_system_file_or_the_portals_keys(rooted: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, _ = rooted
    var_dir = allowed.parent / "var"
    (var_dir / "keys").mkdir(parents=True)
    (allowed / "keys-link").symlink_to(var_dir / "keys")
    connector = get_connector("sqlite", {"path": str(allowed / "app.sqlite3")})
    for target in ("/proc/self/environ", str(allowed / "keys-link")):
        with pytest.raises((ConfigInvalid, ConnectorRefused), match=r"system folder|portal's own"):
            connector.cleanup(target={"path": target})
    with pytest.raises((ConfigInvalid, ConnectorRefused), match="portal's own"):
        connector.cleanup(target={"path": str(allowed / "keys-link" / "vault-keys")})
