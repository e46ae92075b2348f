"""Hand-written stylesheets stay well-formed: one stray brace hides every rule after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "static" / "css"


@pytest.mark.parametrize("sheet", sorted(p.name for p in STATIC.glob("*.css")))
def test_braces_balance(sheet: str) -> None:
    text = re.sub(r"/\*.*?\*/", "", (STATIC / sheet).read_text(), flags=re.DOTALL)
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{sheet}: a '}}' closes nothing at line {number}"
        # Nothing nests two levels deep in our sheets, so a rule opening at
        # depth 2 is a media block that was never closed.
        assert depth <= 2, f"{sheet}: braces nest too deep at line {number}; is a block unclosed?"
    assert depth == 0, f"{sheet}: {depth} unclosed block(s)"
