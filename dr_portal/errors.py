"""The one refusal type: a service that will not do what was asked raises a subclass of `Refused`.

A refusal is not a bug. Its message is written for the person who asked, and
its `code` is stable so programs can branch on it. The API's one exception
handler turns any `Refused` into 409 with the JSON error shape; a page shows
the message beside the form or as a flash.
"""

from __future__ import annotations


class Refused(Exception):
    """The rules forbid this request now; `str(exc)` says why, `code` names the rule."""

    code: str = "refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""
