"""The text fields of an imported row checked as the asset form and the API check them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from inventory.porting import Row


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_text(row: Row, model: type[Any], errors: list[str]) -> bool:
    """The row's text fields as text, as the form and the API take them: a number is its digits, an empty
    value empty text; a list or mapping, a NUL or a lone surrogate (no database column holds one) is refused,
    and so is an infinite number in any field."""
    ok = True
    for name, value in list(row.data.items()):
        if isinstance(value, float) and not math.isfinite(value):  # YAML's .inf and .nan
            errors.append(f"{row.at(name)}: give a finite number, not {value}.")
            ok = False
            continue
        if not isinstance(model._meta.get_field(name), (models.CharField, models.TextField, models.ForeignKey)):
            continue
        if value is None:
            row.data[name] = ""
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            row.data[name] = str(value)
        elif not isinstance(value, str):
            what = "true or false" if isinstance(value, bool) else f"a {type(value).__name__}"
            errors.append(f"{row.at(name)}: expected text, not {what}.")
            ok = False
        elif "\x00" in value or (not value.isascii() and not _encodable(value)):
            errors.append(f"{row.at(name)}: text may not hold a NUL character or a lone surrogate.")
            ok = False
    return ok
