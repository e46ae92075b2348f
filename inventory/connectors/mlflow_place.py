"""A direct restore: a version's files written where the target MLflow server serves them from.

See :mod:`inventory.connectors.mlflow_direct` for how artifact locations map to folders.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

from inventory.connectors._files import refuse_target_path
from inventory.connectors.errors import ConnectorRefused, RestoreFailed
from inventory.connectors.mlflow_direct import WRONG_FOLDER, Read, compare_listing, hash_file, local_dir
from inventory.connectors.mlflow_rest import MlflowRest


class Placer:
    """Puts a version's restored files where the target server serves its new run's artifacts from.

    Files are hard-linked from the restored point when the folders share a filesystem, else
    copied (to ``.part``, then renamed); each is hashed against the capture first. Folders it
    creates are remembered, so a failed restore removes exactly them. The first version placed
    is compared with the server's listing: a folder the server does not serve fails the restore
    there, before the rest is written.
    """

    def __init__(self, api: MlflowRest, folder: Path, *, field: str) -> None:
        refuse_target_path(folder)
        if (folder.exists() and not folder.is_dir()) or not folder.parent.is_dir():
            raise ConnectorRefused(f"{field}: {folder} is not a folder. {WRONG_FOLDER.format(field=field)}")
        self.api, self.folder, self.field = api, folder, field
        self._made: list[Path] = []
        if not folder.exists():  # a fresh server makes its folder at its first write; so does this restore
            folder.mkdir()
            self._made.append(folder)
        self._lock = threading.Lock()
        self._probed = False

    def place(self, artifact_uri: str, files: Path, hashes: dict[str, str], *, what: str) -> None:
        dest = local_dir(self.folder, artifact_uri, field=self.field)
        self._claim(dest)
        sent: list[Read] = []
        for rel, expected in sorted(hashes.items()):
            src = files / rel
            if not src.is_file() or src.is_symlink():
                raise RestoreFailed(f"{what}: the artifact {rel} is missing from the restored point.")
            read = hash_file(str(src), rel)
            if read.sha256 != expected:
                raise RestoreFailed(
                    f"{what}: the restored artifact {rel} does not match the hash the capture recorded."
                )
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(src, out)
            sent.append(read)
        with self._lock:
            probe, self._probed = not self._probed, True
        if probe:
            compare_listing(self.api, artifact_uri, sent, what=what, field=self.field, error=RestoreFailed)

    def _claim(self, dest: Path) -> None:
        """Create ``dest``, remembering the highest folder this made; refuse one that already holds files."""
        if dest.exists() and any(dest.iterdir()):
            raise RestoreFailed(f"{dest} already holds files; a new run's artifact folder must be empty.")
        top = dest
        while top.parent != self.folder and not top.parent.exists():
            top = top.parent
        existed = top.exists()
        dest.mkdir(parents=True, exist_ok=True)
        if not existed:
            with self._lock:
                self._made.append(top)

    def undo(self) -> None:
        """Remove the folders this restore made in the target's artifact store."""
        with self._lock:
            made, self._made = self._made, []
        for path in reversed(made):
            refuse_target_path(path)
            shutil.rmtree(path, ignore_errors=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    part = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, dst)
