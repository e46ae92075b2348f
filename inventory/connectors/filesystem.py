"""A directory or a single file: streamed straight from the live tree, refused if it changes meanwhile."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.connectors import _files
from inventory.connectors.base import Capture, Connector, Snapshot, Verification, register, utcnow
from inventory.connectors.config import field_help
from inventory.connectors.errors import ConfigInvalid, SourceChanged, TargetNotEmpty
from inventory.engine import LocalSource
from inventory.engine.crypto import Readable
from inventory.engine.sources import SourceFile, SourceScan


@dataclass(frozen=True)
class FilesystemConfig:
    path: str = field_help("Absolute path of the directory (or file) to protect.")

    def check(self) -> None:
        if not self.path.startswith("/"):
            raise ConfigInvalid("path: give an absolute path.")


class StableLocalSource(LocalSource):
    """A LocalSource that refuses a file whose size or modification time moved while it was read.

    A folder copy of files that are being written is not one state; this does not make
    the tree consistent, it makes an inconsistent copy fail loudly instead of succeed.
    """

    def scan(self) -> SourceScan:
        scan = super().scan()
        self._seen = {item.handle: self._stamp(item.handle) for item in scan.files}
        return scan

    @staticmethod
    def _stamp(path: str) -> tuple[int, int] | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        with super().open(item) as reader:
            yield reader
        if self._stamp(item.handle) != self._seen.get(item.handle):
            raise SourceChanged(
                f"The file {item.path} changed while it was being backed up; the copy would not be one "
                "consistent state. Quiesce the writer (or use a database connector) and try again."
            )


@register
class FilesystemConnector(Connector[FilesystemConfig]):
    kind = "filesystem"
    label = "Directory or file"
    config_class = FilesystemConfig

    def snapshot(self, staging: Path) -> Snapshot:
        started = utcnow()
        source = StableLocalSource(Path(self.config.path))
        files = {item.path: item.size for item in source.scan().files}
        capture = Capture(self.kind, started, {"path": self.config.path, "files": files})
        return Snapshot(source=source, capture=capture)

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        dest = Path(self.parse(target).path)
        _files.refuse_portal_own(dest)
        if not replace:
            self.refuse_full_target(target, capture)
        new = dest.with_name(dest.name + ".drp-new")
        if not replace:  # the folder was empty or missing: what lands there is this run's
            self.ledger.created("folder", [str(dest), str(new)])
        _files.remove(new)
        _files.copy_tree(restored, new)
        self.say("checking the restored copy before it goes in")
        check = self._verify_dir(capture, new)
        if not check.ok:
            _files.remove(new)
            raise SourceChanged(f"The restored copy does not match the capture: {check.summary()}")
        self.say("swapping in the restored folder" if replace else "putting the restored folder in place")
        _files.swap_in(new, dest)

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        dest = Path(self.parse(target).path)
        if not _files.is_empty_dir(dest):
            self.ledger.found_before("folder", str(dest), "it held files before this run")
            raise TargetNotEmpty(f"The target {dest} already holds files; restore there only with replace.")

    def verify(self, *, capture: Capture, target: object) -> Verification:
        return self._verify_dir(capture, Path(self.parse(target).path))

    def _verify_dir(self, capture: Capture, root: Path) -> Verification:
        report = Verification(self.kind)
        expected = capture.details.get("files", {})
        found = _files.tree_facts(root) if root.exists() else {}
        missing, extra, changed = _files.sizes_match(expected, found)
        report.add("file count", len(expected), len(found))
        report.add("missing files", [], missing[:20])
        report.add("unexpected files", [], extra[:20])
        report.add("files of another size", [], changed[:20])
        return report

    def cleanup(self, *, target: object) -> None:
        for folder in self.ledger.names("folder"):  # only the folders this restore filled
            _files.remove(Path(folder))
            self.ledger.removed("folder", folder)

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any]:
        return {"path": str(root / "files")}

    def target_label(self, config: Any) -> str:
        return f"directory {self.parse(config).path}"

    def target_paths(self, config: Any) -> list[Path]:
        return [Path(self.parse(config).path)]

    def describe(self, capture: Capture) -> str:
        files = capture.details.get("files", {})
        return f"{len(files)} files, {sum(files.values())} bytes from {capture.details.get('path')}"
