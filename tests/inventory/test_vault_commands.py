"""vault_ls and vault_restore: a vault copied elsewhere restores with the key file alone, no database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.engine import FilesystemVault, KeyRing, backup_chunked, backup_tree, generate_key_file

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # A database that cannot be reached: the commands must not need one.
    env.update(DEBUG="true", DATABASE_URL="postgres://nobody@127.0.0.1:1/no_such_db")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def make_vault(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    files = {"weights/model.bin": os.urandom(300_000), "config.json": b'{"t": 1}', "notes/readme.txt": b"hello\n" * 99}
    source = tmp_path / "source"
    for rel, data in files.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    key_file = generate_key_file(tmp_path / "keys")
    ring = KeyRing.from_file(key_file)
    vault = FilesystemVault(tmp_path / "vault")
    until = datetime.now(UTC) + timedelta(days=1)
    backup_tree(source=source, vault=vault, point_prefix="asset/old", keyring=ring, key_id="k1", retain_until=until)
    backup_chunked(source=source, vault=vault, point_prefix="asset/new", keyring=ring, key_id="k1", retain_until=until)
    # "A fresh machine": the vault folder and the key file copied somewhere else.
    shutil.copytree(tmp_path / "vault", tmp_path / "elsewhere" / "vault")
    shutil.copy(key_file, tmp_path / "elsewhere" / "vault-keys")
    return tmp_path / "elsewhere" / "vault", tmp_path / "elsewhere" / "vault-keys", files


def test_a_copied_vault_lists_and_restores_with_the_key_file_alone(tmp_path: Path) -> None:
    vault, key_file, files = make_vault(tmp_path)
    listing = manage("vault_ls", "--vault", str(vault), "--key-file", str(key_file))
    assert listing.returncode == 0, listing.stderr
    assert "asset/old  format 1" in listing.stdout and "asset/new  format 2" in listing.stdout
    assert "2 points in" in listing.stdout
    detail = manage("vault_ls", "--vault", str(vault), "--key-file", str(key_file), "--point", "asset/new")
    assert "weights/model.bin" in detail.stdout and "3 files" in detail.stdout

    for point in ("asset/new", "asset/old"):
        target = tmp_path / f"target-{point.replace('/', '-')}"
        done = manage(
            "vault_restore",
            "--vault",
            str(vault),
            "--key-file",
            str(key_file),
            "--point",
            point,
            "--target",
            str(target),
        )
        assert done.returncode == 0, done.stderr
        assert "Restored 3 files" in done.stdout and "All 3 files verified" in done.stdout
        for rel, data in files.items():
            assert (target / rel).read_bytes() == data


def test_a_damaged_vault_fails_the_restore_and_leaves_the_target_alone(tmp_path: Path) -> None:
    vault, key_file, _files = make_vault(tmp_path)
    packs = [p for p in (vault / "chunks" / "packs").iterdir() if not p.name.startswith(".")]
    pack = max(packs, key=lambda p: p.stat().st_size)  # the files' chunks, not the small part of the entries
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01
    pack.write_bytes(bytes(data))
    target = tmp_path / "target"
    (target / "weights").mkdir(parents=True)
    (target / "weights" / "model.bin").write_bytes(b"previous")
    done = manage(
        "vault_restore",
        "--vault",
        str(vault),
        "--key-file",
        str(key_file),
        "--point",
        "asset/new",
        "--target",
        str(target),
    )
    assert done.returncode != 0
    assert "chunk" in done.stderr and ("weights/model.bin" in done.stderr or "notes/readme.txt" in done.stderr)
    assert (target / "weights" / "model.bin").read_bytes() == b"previous"
    # no file appeared (no staged part left, nothing renamed into place)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == ["weights/model.bin"]


def test_a_wrong_key_file_is_refused_in_words(tmp_path: Path) -> None:
    vault, _key_file, _files = make_vault(tmp_path)
    other = generate_key_file(tmp_path / "other")
    listing = manage("vault_ls", "--vault", str(vault), "--key-file", str(other))
    assert listing.returncode == 0
    assert "UNREADABLE" in listing.stdout and "signature" in listing.stdout
    missing = manage("vault_ls", "--vault", str(tmp_path / "nope"), "--key-file", str(other))
    assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_vault_prune_reports_what_it_kept_and_reclaimed(tmp_path: Path) -> None:
    vault, key_file, _files = make_vault(tmp_path)
    done = manage("vault_prune", "--vault", str(vault), "--key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    assert "1 points reference" in done.stdout and "0 packs" in done.stdout.split("deleted")[1]
