"""Page-number pagination for the API's lists: `?page=` from 1, `?page_size=` from 1 to 200.

A page that is not a whole number from 1 up, or a size out of bounds, is refused with 400
in the error shape (as the keyset lists refuse a bad `page_size`); a page past the end is
an empty page that still gives the count, so a client paging on sees where the list ends.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from dr_portal.api_errors import BadInput
from dr_portal.api_keyset import page_size_from, whole_number


class _PastTheEnd(Page):  # type: ignore[type-arg]
    """An empty page after the last one; "previous" leads back to the last page."""

    def has_previous(self) -> bool:
        return True

    def previous_page_number(self) -> int:
        return int(self.paginator.num_pages)


class PagePagination(PageNumberPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        return page_size_from(request, self.page_size_query_param, default=self.page_size, most=self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        for name in (self.page_query_param, self.page_size_query_param):
            if len(request.query_params.getlist(name)) > 1:
                raise BadInput(f"Give {name} once.", code="repeated_parameter")
        text = request.query_params.get(self.page_query_param, "1")
        number = whole_number(text)
        if number is None or number < 1:
            raise BadInput("page must be a whole number from 1 up.", code="invalid_page")
        paginator = Paginator(queryset, self.get_page_size(request))
        self.request = request
        if number > paginator.num_pages:
            self.page = _PastTheEnd([], number, paginator)
        else:
            self.page = paginator.page(number)
        return list(self.page)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_query_param:
                param["schema"] = {"type": "integer", "minimum": 1}
            elif param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                param["description"] = f"Rows per page (default {self.page_size})."
        return params
