"""What a verification found: each problem names a file; the summary counts files, not objects."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        hashes = f" (expected {self.expected}, found {self.actual})" if self.expected or self.actual else ""
        return f"{self.path}: {self.problem}{hashes}"


@dataclass
class VerifyReport:
    """``checked`` counts every file looked at, readable or not, so failures never outnumber it.

    A problem with the point as a whole (its manifest) is not a file's: ``point_problem``.
    """

    checked: int = 0
    bytes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    point_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.point_problem

    @property
    def files_failed(self) -> int:
        return len({p.path for p in self.problems})

    def brief(self) -> str:
        """The summary in counts only: no file name or digest (those stay in ``problems``)."""
        if self.ok or self.point_problem:
            return self.summary()
        return f"{self.files_failed} of {self.checked} files failed verification."

    def summary(self) -> str:
        if self.ok:
            return f"All {self.checked} files verified."
        if self.point_problem:
            after = f" after {self.checked} files" if self.checked else ""
            return f"The point could not be verified{after}: {self.point_problem}"
        head = "; ".join(str(p) for p in self.problems[:3])
        more = f" and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        return f"{self.files_failed} of {self.checked} files failed verification: {head}{more}."
