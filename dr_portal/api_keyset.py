"""Keyset (cursor) pagination for history lists: newest first by a timestamp, the row id breaking ties.

A page ends at a row; the `next` link carries that row's (timestamp, id) as an
opaque cursor, and the next page is the rows strictly after it in the order
`timestamp DESC, id DESC`. Rows written between two requests therefore never
shift a page (no duplicate, no skip, as an OFFSET would), there is no COUNT
over the table, and each page is one indexed range read however deep it is.

A cursor that does not decode to such a position is a 400 (`bad_cursor`),
never a silently empty page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from dr_portal.api_errors import BadInput

CURSOR_VERSION = 1


def whole_number(text: str) -> int | None:
    """``text`` as a whole number written in ASCII digits, else None ("²".isdigit() is true, int() refuses it)."""
    return int(text) if text.isascii() and text.isdigit() else None


def page_size_from(request: Request, param: str, *, default: int, most: int) -> int:
    """The page size a list request asks for, from 1 to ``most``; 400 ``invalid_page_size`` otherwise."""
    text = request.query_params.get(param)
    if text is None:
        return default
    size = whole_number(text)
    if size is None or not 1 <= size <= most:
        raise BadInput(f"page_size must be a whole number from 1 to {most}.", code="invalid_page_size")
    return size


class BadCursor(BadInput):
    default_code = "bad_cursor"
    default_detail = "The cursor is not one this list gave out; start again without it."


def encode_cursor(at: datetime, pk: int) -> str:
    raw = json.dumps({"v": CURSOR_VERSION, "at": at.isoformat(), "id": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int]:
    """The (timestamp, id) a cursor names; BadCursor for anything else."""
    if not text or len(text) > 200:
        raise BadCursor
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadCursor from None
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        raise BadCursor
    at, pk = data.get("at"), data.get("id")
    if not isinstance(at, str) or type(pk) is not int or not 0 < pk < 2**63:
        raise BadCursor
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise BadCursor from None
    if when.tzinfo is None:
        raise BadCursor
    return when, pk


class KeysetPagination(BasePagination):
    """Newest first by `field`, then by id; `?cursor=` continues, `?page_size=` (1 to 200) sizes the page."""

    field = "created_at"
    page_size = 50
    max_page_size = 200
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.next_cursor: str | None = None
        self.base_url = ""

    def _size(self, request: Request) -> int:
        return page_size_from(request, self.page_size_query_param, default=self.page_size, most=self.max_page_size)

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        size = self._size(request)
        rows = queryset.order_by(f"-{self.field}", "-pk")
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor is not None:
            at, pk = decode_cursor(cursor)
            # `field <= at` bounds the index range; the OR only decides the ties at `at` itself.
            rows = rows.filter(Q(**{f"{self.field}__lte": at}), Q(**{f"{self.field}__lt": at}) | Q(pk__lt=pk))
        page = list(rows[: size + 1])
        self.base_url = request.build_absolute_uri()
        self.next_cursor = None
        if len(page) > size:
            page = page[:size]
            last: Model = page[-1]
            self.next_cursor = encode_cursor(getattr(last, self.field), last.pk)
        return page

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self.next_cursor)

    def get_first_link(self) -> str:
        return remove_query_param(self.base_url, self.cursor_query_param)

    def get_paginated_response(self, data: Sequence[Any]) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next (older) page; null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the previous page ended, as given in its `next` link (opaque). "
                "A cursor this list did not give out is a 400 with code bad_cursor.",
                "schema": {"type": "string", "maxLength": 200},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class NewestCreated(KeysetPagination):
    field = "created_at"


class NewestData(KeysetPagination):
    """Recovery points: newest data first (the order a restore picks from)."""

    field = "data_as_of"


class NewestDeclared(KeysetPagination):
    """Incidents: the most recently declared first."""

    field = "declared_at"
