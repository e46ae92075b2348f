"""Compare two points file by file, streaming both listings in path order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Listing = Iterable[tuple[str, str]]  # (path, sha256), strictly increasing paths


@dataclass
class Changes:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changed_share(self) -> float:
        """Share of the previous point's files that changed or went (0 when it had none)."""
        before = self.changed + self.removed + self.unchanged
        return (self.changed + self.removed) / before if before else 0.0


def compare_listings(old: Listing, new: Listing) -> Changes:
    """Count added, changed, removed and unchanged files: a merge of two sorted listings, O(1) memory."""
    changes = Changes()
    old_iter: Iterator[tuple[str, str]] = iter(old)
    new_iter: Iterator[tuple[str, str]] = iter(new)
    a = next(old_iter, None)
    b = next(new_iter, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            changes.removed += 1
            a = next(old_iter, None)
        elif a is None or b[0] < a[0]:
            changes.added += 1
            b = next(new_iter, None)
        else:
            if a[1] == b[1]:
                changes.unchanged += 1
            else:
                changes.changed += 1
            a = next(old_iter, None)
            b = next(new_iter, None)
    return changes
