"""An MLflow registry's artifacts read and written in its artifact folder, beside the REST API.

When the portal can read the folder a tracking server keeps its artifacts in (the server's
``--artifacts-destination``, on the same machine or a shared mount), a capture reads each
version's files there instead of downloading them through the server's artifact proxy, and
a restore writes them where the target server will serve them from (:mod:`.mlflow_place`). The registry's
metadata still comes over REST. Three rules keep this honest:

- a version's artifact URI (``mlflow-artifacts:/…`` or ``file:…``) maps to a folder under
  the configured one, never outside it (no ``..``, no absolute part, links resolved);
- a wrong folder is caught cheaply: a few versions' server listings (names and sizes) are
  compared with the folder, and a version whose folder is missing or empty fails the capture,
  naming it; a restore compares its first written version with what the server then lists;
- every file is hashed as it is read; the backup then reads the same files (no staging
  copy), and refuses one whose size or change time moved since it was hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat as stat_mod
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from inventory.connectors import mlflow_registry as reg
from inventory.connectors import workers
from inventory.connectors._files import refuse_source_path
from inventory.connectors.errors import CaptureIncomplete, ConnectorRefused, SourceChanged
from inventory.connectors.mlflow_rest import MlflowRest, proxy_path
from inventory.engine import LocalSource
from inventory.engine.crypto import Readable
from inventory.engine.errors import SourceMissing, SourceUnreadable
from inventory.engine.sources import SourceFile, SourceScan

BLOCK = 1 << 20
THREADS = 8  # versions read at once: hashing releases the GIL, and the REST look-ups overlap it
# Versions per capture (or verification) whose server listing is compared with the folder: the
# first, a middle and the last. A wrong folder fails on every one; a few requests cost little.
SAMPLES = 3
WRONG_FOLDER = (
    "Give the folder the server was started with as --artifacts-destination (readable by the portal's "
    "workers), or leave {field} empty to move the artifacts through the server's REST API."
)


def _mismatch(field: str, text: str) -> str:
    return f"{text} {WRONG_FOLDER.format(field=field)}"


def relative_location(uri: str) -> str:
    """The part of an artifact URI below the artifact folder: ``mlflow-artifacts:/1/abc/artifacts/model``
    (with or without a host) → ``1/abc/artifacts/model``. ``file:`` URIs are mapped by ``local_dir``."""
    rest = proxy_path(uri)
    parts = PurePosixPath(rest).parts
    if not rest or any(part in ("..", ".") for part in parts) or rest.startswith("/") or "\\" in rest:
        raise ConnectorRefused(f"The artifact location {uri[:200]} does not name a folder inside the artifact store.")
    return rest


def local_dir(folder: Path, uri: str, *, field: str) -> Path:
    """The folder under ``folder`` holding the artifacts at ``uri``; refused when it would lie outside it."""
    if uri.startswith("file:"):
        path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
        if not path.startswith("/") or ".." in PurePosixPath(path).parts:
            raise ConnectorRefused(f"The artifact location {uri[:200]} is not an absolute path without '..'.")
        try:
            rel = PurePosixPath(path).relative_to(PurePosixPath(folder))
        except ValueError:
            raise ConnectorRefused(
                f"The artifact location {uri[:200]} lies outside {field} ({folder}); it is not read directly."
            ) from None
        candidate = folder / rel
    elif uri.startswith("mlflow-artifacts:"):
        candidate = folder / relative_location(uri)
    else:
        raise CaptureIncomplete(f"The artifact location {uri[:200]} is neither mlflow-artifacts: nor file:.")
    real, base = os.path.realpath(candidate), os.path.realpath(folder)
    if real != base and not real.startswith(base.rstrip("/") + "/"):
        raise ConnectorRefused(f"The artifact location {uri[:200]} leads outside {field} ({folder}) through a link.")
    return candidate


def version_uri(api: MlflowRest, name: str, version: str, source: str) -> str:
    """Where a version's files are: its source when that is a location, else what the server says."""
    if source.startswith(("mlflow-artifacts:", "file:")):
        return source
    return str(api.get("/model-versions/get-download-uri", name=name, version=version)["artifact_uri"])


@dataclass(frozen=True)
class Read:
    """One artifact file as it was hashed: where it is, and what says it has not changed since."""

    rel: str
    full: str
    size: int
    mode: int
    sha256: str
    stamp: tuple[int, int, int]  # mtime_ns, ctime_ns, inode


def _stamp(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def hash_file(full: str, rel: str) -> Read:
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb", buffering=0) as handle:
        before = os.fstat(fd)
        digest = hashlib.sha256()
        while block := handle.read(BLOCK):
            digest.update(block)
        after = os.fstat(fd)
    if _stamp(before) != _stamp(after) or before.st_size != after.st_size:
        raise SourceChanged(f"The artifact {rel} was written while it was read; take the backup again.")
    return Read(rel, full, after.st_size, after.st_mode & 0o777, digest.hexdigest(), _stamp(after))


def read_version(folder: Path, uri: str, *, what: str, field: str) -> list[Read]:
    """Every file of one version's artifact folder, hashed, in path order. ``what`` names the version."""
    root = local_dir(folder, uri, field=field)
    found: list[Read] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                info = os.lstat(full)
                if not stat_mod.S_ISREG(info.st_mode):
                    raise ConnectorRefused(
                        f"{what}: the artifact {rel} is a link or special file in {field}; it is not followed."
                    )
                found.append(hash_file(full, rel))
            except FileNotFoundError:
                raise SourceChanged(f"{what}: the artifact {rel} disappeared while it was read.") from None
            except OSError as exc:
                raise CaptureIncomplete(f"{what}: the artifact {rel} cannot be read: {exc.strerror}.") from None
    if not found:
        state = "is empty" if root.is_dir() else "does not exist"
        raise CaptureIncomplete(
            _mismatch(field, f"{what} has no artifacts in {field}: {root} {state}, so it cannot be restored.")
        )
    return sorted(found, key=lambda r: r.rel)


def compare_listing(
    api: MlflowRest, uri: str, files: list[Read], *, what: str, field: str, error: type[Exception] = CaptureIncomplete
) -> None:
    """The server's listing of a version's artifacts (names, sizes) must be what the folder holds."""
    if not uri.startswith("mlflow-artifacts:"):
        return  # a file: location is the path itself; the server has no listing of it to compare
    served = dict(api.list_artifacts(proxy_path(uri)))
    local = {r.rel: r.size for r in files}
    if served == local:
        return
    missing = sorted(set(served) - set(local))
    extra = sorted(set(local) - set(served))
    resized = sorted(k for k in set(served) & set(local) if served[k] != local[k])
    parts = [
        f"{label} {', '.join(names[:3])}"
        for label, names in (("missing", missing), ("extra", extra), ("of another size", resized))
        if names
    ]
    raise error(
        _mismatch(
            field,
            f"{what}: the files in {field} differ from what the server lists ({'; '.join(parts)}): "
            "the folder is not this server's artifact store, or is out of date.",
        )
    )


def samples(count: int) -> list[int]:
    """Indexes of the versions whose listings are compared: the first, a middle one and the last."""
    return sorted({0, count // 2, count - 1})[:SAMPLES] if count else []


class ArtifactSource:
    """A capture's staging folder (its ``registry.json``) plus the artifact files where they are.

    Each artifact is read from the registry's own folder under the name the staging layout
    gives it (``artifacts/<model>/<version>/<path>``); a file whose size or change stamp
    moved since the capture hashed it is refused, so the point never holds bytes other
    than those the capture's hashes describe.
    """

    def __init__(self, staging: Path, files: dict[str, Read]) -> None:
        self._staging = LocalSource(staging)
        self._files = files  # by staged path

    @property
    def uri(self) -> str:
        return self._staging.uri

    def scan(self) -> SourceScan:
        scan = self._staging.scan()
        for path, read in self._files.items():
            stamp = f"{read.stamp[0]}:{read.stamp[1]}:{read.stamp[2]}"
            scan.files.append(SourceFile(path, read.size, read.mode, f"artifact:{path}", stamp))
        scan.files.sort(key=lambda item: item.path)
        return scan

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        read = self._files.get(item.path) if item.handle.startswith("artifact:") else None
        if read is None:
            with self._staging.open(item) as reader:
                yield reader
            return
        try:
            fd = os.open(read.full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise SourceMissing(f"The artifact {item.path} disappeared from the registry during the backup.") from None
        except OSError as exc:
            raise SourceUnreadable(f"The artifact {item.path} cannot be read: {exc.strerror or exc}.") from None
        with open(fd, "rb", buffering=0) as handle:
            self._unchanged(fd, read, item.path)
            yield handle
            self._unchanged(fd, read, item.path)

    @staticmethod
    def _unchanged(fd: int, read: Read, path: str) -> None:
        info = os.fstat(fd)
        if _stamp(info) != read.stamp or info.st_size != read.size:
            raise SourceChanged(f"The artifact {path} changed after the capture hashed it; take the backup again.")


def check_source_folder(folder: str, *, field: str) -> Path:
    """The configured folder, after the folder-source rules (SOURCE_ROOTS, no '..', links resolved)."""
    refuse_source_path(folder, field=field)
    path = Path(folder)
    if not path.is_dir():
        raise ConnectorRefused(f"{field}: {folder} is not a folder. {WRONG_FOLDER.format(field=field)}")
    return path


def version_files(reads: list[Read], prefix: str) -> dict[str, Read]:
    return {f"{prefix}/{r.rel}": r for r in reads}


def hashes_of(reads: list[Read]) -> dict[str, str]:
    return {r.rel: r.sha256 for r in reads}


def _read_one(api: MlflowRest, folder: Path, name: str, number: str, source: str) -> tuple[str, list[Read]]:
    uri = version_uri(api, name, number, source)
    return uri, read_version(folder, uri, what=f"Version {number} of {name}", field="artifacts_path")


def read_registry(
    api: MlflowRest, folder: Path, names: list[str]
) -> tuple[list[Any], dict[str, Any], list[Any], dict[str, Read]]:
    """The models' metadata read between two fingerprints, and every version's files hashed in ``folder``:
    ``(fingerprint before, models, fingerprint after, the files by their staged path)``.

    The first fingerprint is the models' listing itself (the same requests a fingerprint makes);
    the files are hashed while the source runs are read and the second fingerprint is taken, and
    a few versions' server listings are compared with the folder, so a folder that is not the
    server's (or is out of date) fails the capture rather than yielding one the server never held.
    """
    with workers.Workers(THREADS, name="mlflow-folder") as pool:
        experiments = pool.submit(reg.experiment_ids, api)
        listed = reg.list_models(api, names)
        before = [reg.version_stamps(name, model, versions) for name, (model, versions) in listed.items()]
        run_ids = [v.get("run_id", "") for _model, versions in listed.values() for v in versions]
        runs = pool.submit(lambda: reg.read_runs(api, run_ids, pool.result(experiments)))
        after = pool.submit(lambda: (pool.result(runs), reg.fingerprint(api, names))[1])
        wanted = [
            (name, f"artifacts/{index}/{v['version']}", str(v["version"]), v.get("source", ""))
            for index, (name, (_model, versions)) in enumerate(listed.items())
            for v in versions
        ]
        reads = [pool.submit(_read_one, api, folder, name, number, source) for name, _d, number, source in wanted]
        compared = samples(len(wanted))
        checks, files, hashes = [], {}, {}
        for index, ((name, prefix, number, _source), future) in enumerate(zip(wanted, reads, strict=True)):
            uri, found = pool.result(future)
            hashes[(name, number)] = hashes_of(found)
            files.update(version_files(found, prefix))
            if index in compared:
                what = f"Version {number} of {name}"
                checks.append(pool.submit(partial(compare_listing, api, uri, found, what=what, field="artifacts_path")))
        for check in checks:
            pool.result(check)
        models = {
            name: reg.model_facts(name, model, versions, pool.result(runs))
            for name, (model, versions) in listed.items()
        }
        for name, model in models.items():
            for number, version in model["versions"].items():
                version["artifacts"] = hashes[(name, number)]
        return before, models, pool.result(after), files


def folder_hashes(api: MlflowRest, folder: Path, name: str, number: str, source: str, compare: bool) -> dict[str, str]:
    """``{relative path: sha256}`` of a version's files in a target's folder (``compare``: and its listing)."""
    uri = version_uri(api, name, number, source)
    what = f"Version {number} of {name}"
    try:
        found = read_version(folder, uri, what=what, field="artifacts_path")
    except CaptureIncomplete:
        return {}  # nothing there: the verification shows the hashes that are missing
    if compare:
        compare_listing(api, uri, found, what=what, field="artifacts_path")
    return hashes_of(found)


def folder_sizes(api: MlflowRest, folder: Path, name: str, number: str, source: str) -> dict[str, int]:
    """``{relative path: size}`` of a version's files in a target's folder (nothing read but their sizes)."""
    root = local_dir(folder, version_uri(api, name, number, source), field="artifacts_path")
    sizes = {}
    for dirpath, _dirs, names in os.walk(root):
        for file in names:
            full = os.path.join(dirpath, file)
            sizes[os.path.relpath(full, root).replace(os.sep, "/")] = os.lstat(full).st_size
    return sizes
