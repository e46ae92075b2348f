"""Links in emails follow the port `make run` serves on (`PORT=8108 make run`) unless SITE_URL says otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _site_url(tmp_path: Path, **env: str) -> str:
    """SITE_URL as a fresh process's settings read it from this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "SITE_PORT", "PORT")}
    clean.update(DJANGO_SETTINGS_MODULE="dr_portal.settings", DEBUG="true", VAR_DIR=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_site_url_follows_site_port_when_unset(tmp_path: Path) -> None:
    assert _site_url(tmp_path) == "http://127.0.0.1:8000"
    assert _site_url(tmp_path, SITE_PORT="8108") == "http://127.0.0.1:8108"


def test_a_set_site_url_wins(tmp_path: Path) -> None:
    assert _site_url(tmp_path, SITE_PORT="8108", SITE_URL="https://dr.example.org") == "https://dr.example.org"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_make_passes_port_on_as_site_port(how: str) -> None:
    """Every command `make run` starts (the demo loaders, honcho's web, worker and beat) sees SITE_PORT."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "SITE_PORT", "MAKEFLAGS", "MAKELEVEL")}
    args = ["make", "-s", "--eval", "site-port-probe: ; @printenv SITE_PORT", "site-port-probe"]
    if how == "argument":
        args.append("PORT=8108")
    else:
        env["PORT"] = "8108"
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "8108"
