"""Every variable the settings read is documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_variable_is_documented() -> None:
    source = "".join(p.read_text() for p in sorted((ROOT / "dr_portal" / "settings").glob("*.py")))
    read = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no variables found; have the settings changed shape?"
    assert read - documented == set(), f"undocumented: {sorted(read - documented)}"
