"""Start-up configuration: bad variables stop the process with one line naming them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_VERSION", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    # A VAR_DIR of its own: the checkout's var/.env (written by `make run`) must not leak in.
    clean["VAR_DIR"] = tempfile.mkdtemp(prefix="drp-startup-")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DATABASE_URL", "nonsense", "DATABASE_URL: expected a URL"),
        ("DATABASE_URL", "mysql://db/portal", "DATABASE_URL: unsupported database scheme"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//", "CELERY_BROKER_URL: unsupported broker"),
        ("DEBUG", "maybe", "DEBUG: expected true or false"),
        ("LOGIN_FAILURE_LIMIT", "lots", "LOGIN_FAILURE_LIMIT: expected a whole number"),
        ("CELERY_TIME_LIMIT", "10", "CELERY_TIME_LIMIT: must be greater than CELERY_SOFT_TIME_LIMIT"),
    ],
)
def test_a_malformed_variable_stops_start_up_with_one_line(variable: str, value: str, says: str) -> None:
    env = {"SECRET_KEY": "x" * 60, variable: value}
    if variable != "DEBUG":
        env["DEBUG"] = "true"
    result = manage("check", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stderr


def test_production_mode_without_secret_key_names_the_variable() -> None:
    result = manage("check")
    assert result.returncode == 2
    assert result.stderr.strip() == "DR Portal configuration error: SECRET_KEY: is required when DEBUG is off"


def test_the_celery_entry_point_refuses_a_bad_variable_the_same_way() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    clean.update({"SECRET_KEY": "x" * 60, "DATABASE_URL": "nonsense"})
    result = subprocess.run(
        [sys.executable, "-c", "import dr_portal.worker"], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("DR Portal configuration error: DATABASE_URL")


def test_check_deploy_is_clean_in_production_mode() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k" * 30 + "9Xq!" * 10,
        ALLOWED_HOSTS="dr.example.org",
        METRICS_TOKEN="scrape-" + "t" * 30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_read_var_env_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# written by make run\nDEBUG=true\nSECRET_KEY='" + "k" * 60 + "'\n")
    assert manage("check", VAR_DIR=str(tmp_path)).returncode == 0
    overridden = manage("check", VAR_DIR=str(tmp_path), DEBUG="maybe")
    assert overridden.returncode == 2 and "DEBUG: expected true or false" in overridden.stderr
    (tmp_path / ".env").write_text("DEBUG true\n")
    broken = manage("check", VAR_DIR=str(tmp_path))
    assert broken.returncode == 2 and "line 1 is not NAME=value" in broken.stderr


def test_production_mode_without_a_metrics_token_names_the_variable() -> None:
    result = manage("check", SECRET_KEY="k" * 60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "DR Portal configuration error: METRICS_TOKEN: is required when DEBUG is off"
    )


def test_beat_starts_on_a_fresh_var_dir_with_the_redis_broker(tmp_path: Path) -> None:
    """The production set-up (Redis broker, empty VAR_DIR): beat must find its schedule folder."""
    var = tmp_path / "var"
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    clean.update(
        {
            "SECRET_KEY": "x" * 60,
            "DEBUG": "true",
            "VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            # Nothing listens here: beat opens its schedule before it ever reaches the broker.
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dr_portal.worker", "beat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and beat.poll() is None:
            if list((var / "celery").glob("beat-schedule*")):
                break
            time.sleep(0.2)
        assert beat.poll() is None, beat.stdout.read() if beat.stdout else ""
        assert list((var / "celery").glob("beat-schedule*")), "beat did not write its schedule"
    finally:
        beat.terminate()
        beat.wait(timeout=30)
