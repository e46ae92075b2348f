"""Importing an uploaded catalogue file without holding more of it than the cap (see inventory/porting.py)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO

from dr_portal.accounts.models import User
from inventory.porting import MAX_BYTES, ImportFailed, ImportSummary, import_rows, parse_csv, parse_yaml


def import_stream(*, name: str, stream: IO[bytes], size: int | None, by: User | None) -> ImportSummary:
    """Import an uploaded file without holding more than MAX_BYTES of it: the size is checked before a
    byte is read, a CSV is parsed line by line from the stream, and a YAML document is read up to the cap."""
    if size is not None and size > MAX_BYTES:
        raise ImportFailed([f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."])
    lowered = name.lower()
    try:
        if lowered.endswith(".csv"):
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            try:
                sections = parse_csv(_capped(text))
            finally:
                text.detach()  # the caller owns the upload
        elif lowered.endswith((".yaml", ".yml")):
            data = stream.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise ImportFailed([f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."])
            sections = parse_yaml(data.decode("utf-8-sig"))
        else:
            raise ImportFailed([f"{name}: use a .yaml, .yml or .csv file."])
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"The file is not UTF-8 text (byte {exc.start})."]) from None
    return import_rows(sections=sections, by=by, source=name)


def _capped(lines: Iterable[str]) -> Iterable[str]:
    """The lines of a stream whose size was not known up front, refusing it once it passes MAX_BYTES."""
    seen = 0
    for line in lines:
        seen += len(line)
        if seen > MAX_BYTES:
            raise ImportFailed([f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."])
        yield line
