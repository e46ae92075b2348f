"""Who may read what a recovery point holds: its file names and their digests.

A point's file list (manifest, connector capture) and the per-file facts a
restore or a verification records (which file, which SHA-256 was expected and
found) tell a reader what lies on the systems we back up, and a file's digest
lets anyone test a guess of its content offline. Only the roles that may
restore see them (``Perm.VIEW_POINT_CONTENTS``).

This is the one place that decides it. The middleware remembers the request
being answered; every page, htmx partial and API serializer shows point data
through ``shown()`` (the models' ``shown_*`` properties), which answers
with those facts removed unless the person asking may see them. Work done
outside a request (workers, reports built in the background) gets the hidden
form: nobody in particular is asking, so nothing is revealed by default.

Free text never carries these facts: the services that record a failure keep
file names and digests in the structured keys below and say in words only
what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

from dr_portal.accounts.access import Perm, has_role_perm
from dr_portal.accounts.contents_text import file_names_hidden, strip_userinfo

# Keys that name a point's files or carry a file's digest, wherever they sit in
# a manifest, a capture, step evidence or an audit payload. A number under one of
# them (a count of files) is no secret and stays.
CONTENT_KEYS = frozenset(
    {"files", "objects", "file", "problems", "broken_files", "expected_sha256", "actual_sha256", "file_detail"}
)

HIDDEN_NOTE = "File names and digests are shown to people who may restore."
PATH_HIDDEN_NOTE = "A folder on the server (shown to people who may restore)"
SOURCE_HIDDEN_NOTE = "A server or bucket (shown to people who may restore)"

_request: ContextVar[HttpRequest | None] = ContextVar("drp_contents_request", default=None)


class RequestScopeMiddleware:
    """Remembers the request being answered, so ``contents_visible()`` knows who is asking."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if response.streaming:
            # An export is written after the view returned: keep asking on behalf of the same person.
            response.streaming_content = _scoped(request, response.streaming_content)  # type: ignore[attr-defined]
        return response


def _scoped(request: HttpRequest, chunks: Iterable[Any]) -> Iterator[Any]:
    iterator = iter(chunks)
    while True:
        token = _request.set(request)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _request.reset(token)
        yield chunk


def contents_visible() -> bool:
    """True when the person behind the current request may see a point's files and digests."""
    request = _request.get()
    # DRF writes the user it authenticated (a token, a session) back onto the Django
    # request, so this reads the API's caller as well as a page's.
    user = getattr(request, "user", None) if request is not None else None
    return has_role_perm(user, Perm.VIEW_POINT_CONTENTS)


def hide_contents(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) without any key that names files or digests.

    Strings are told without the file names they carry (``contents_text``): errors and
    audit reasons recorded before file names moved to ``file_detail`` still hold them.
    """
    if isinstance(value, str):
        return file_names_hidden(value)
    if isinstance(value, dict):
        return {
            k: hide_contents(v)
            for k, v in value.items()
            if not (k in CONTENT_KEYS and not (isinstance(v, int) and not isinstance(v, bool)))
        }
    if isinstance(value, list):
        return [hide_contents(v) for v in value]
    return value


def names_contents(value: Any) -> bool:
    """True when ``value`` holds anything ``hide_contents`` would remove."""
    return hide_contents(value) != value


def words_and_detail(message: str) -> tuple[str, dict[str, str]]:
    """A failure message as recorded: words for everyone, and the whole message under ``file_detail``
    (a content key) when the words had to leave a file out. A ``user:password@`` written into an
    address is removed from both before anything is stored."""
    message = strip_userinfo(message)
    words = file_names_hidden(message)
    return words, ({"file_detail": message} if words != message else {})


def shown(value: Any) -> Any:
    """``value`` as the person asking may see it."""
    return value if contents_visible() else hide_contents(value)
