"""What every API view needs from its request: the signed-in user and validated input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.http import QueryDict
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.utils.serializer_helpers import ReturnList

from dr_portal.accounts.access import parse_public_id
from dr_portal.accounts.models import User

# Bounds of the database's integer columns (PostgreSQL integer and bigint), for
# input fields that are not derived from a model field and so get none of their own.
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

_Instance = TypeVar("_Instance")


# A command's input: it only validates request data and never wraps an instance, hence `None`.
# (A comment, not a docstring: the schema would print a docstring on every input.)
class InputSerializer(serializers.Serializer[None]):
    def to_internal_value(self, data: Any) -> Any:
        # A query string (or form) may repeat a name; for a one-value field DRF would quietly
        # keep the last, so `status=breach&status=ok` is refused rather than half-read.
        if isinstance(data, QueryDict):
            repeated = {
                name: [f"Give {name} once; it takes one value."]
                for name, field in self.fields.items()
                if not isinstance(field, _MANY_VALUES) and len(data.getlist(name)) > 1
            }
            if repeated:
                raise serializers.ValidationError(repeated)
        return super().to_internal_value(data)


_MANY_VALUES = (serializers.ListField, serializers.MultipleChoiceField, serializers.ListSerializer)


def request_user(request: Request) -> User:
    """The account behind this request; anonymous callers get 401."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated
    return user


def serialize_many(
    serializer: type[serializers.BaseSerializer[_Instance]], items: Iterable[_Instance]
) -> ReturnList[dict[str, Any]]:
    """`serializer(items, many=True).data`, with the items' type checked: the stubs read `many=True` as one instance."""
    return serializer.many_init(items).data


def validated(
    serializer_class: type[serializers.Serializer[_Instance]], request: Request, **kwargs: Any
) -> dict[str, Any]:
    """The request body checked by `serializer_class`; bad input raises 400 with the fields."""
    data = serializer_class(data=request.data, **kwargs)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class PublicIdLookup:
    """For viewsets looked up by `public_id`: a malformed id is 400 (MalformedId), not a 404."""

    kwargs: dict[str, Any]
    lookup_url_kwarg: str | None
    lookup_field: str

    def get_object(self) -> Any:
        parse_public_id(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        return super().get_object()  # type: ignore[misc]
