"""Typed readers for environment variables; a bad value names its variable."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _fail(name: str, problem: str) -> NoReturn:
    raise ImproperlyConfigured(f"{name}: {problem}")


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is None:
            _fail(name, "is required but not set")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = _raw(name)
    return value or None


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    _fail(name, f"expected true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        _fail(name, f"expected a whole number, got {value!r}")
    if minimum is not None and number < minimum:
        _fail(name, f"must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_mapping(name: str, default: str, *, values: set[str]) -> dict[str, str]:
    """`key=VALUE,key2=VALUE2`; keys are lowered, every value must be one of `values`."""
    raw = _raw(name)
    text = default if raw is None or raw == "" else raw
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(name, f"expected key=value pairs separated by commas, got {item.strip()!r}")
        if value.strip() not in values:
            _fail(name, f"{value.strip()!r} for {key.strip()!r} is not one of {', '.join(sorted(values))}")
        mapping[key.strip().lower()] = value.strip()
    return mapping


def env_seconds_by_tier(name: str, default: str, *, minimum: int) -> dict[int, int]:
    """`tier=SECONDS,...` (tiers 0-3), e.g. `0=20,1=30`; tiers not named fall back to the plain setting."""
    raw = _raw(name)
    text = default if raw is None or raw == "" else raw
    mapping: dict[int, int] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in {"0", "1", "2", "3"} or not value.strip().isdigit():
            _fail(name, f"expected tier=seconds pairs (tiers 0 to 3) separated by commas, got {item.strip()!r}")
        if int(value) < minimum:
            _fail(name, f"{value.strip()} seconds for tier {key.strip()} is below the minimum of {minimum}")
        mapping[int(key)] = int(value)
    return mapping


def env_choices(name: str, default: list[str], *, allowed: set[str]) -> list[str]:
    """A comma-separated list whose every item must be one of `allowed`."""
    items = env_list(name, default)
    unknown = [item for item in items if item not in allowed]
    if unknown:
        _fail(name, f"unknown value {unknown[0]!r}; use any of {', '.join(sorted(allowed))}")
    return items


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


_DB_ENGINES = {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}


def env_database(name: str, default: str) -> dict[str, object]:
    """Parse a database URL; only PostgreSQL and SQLite are supported."""
    url = _raw(name) or default
    scheme = urlsplit(url).scheme
    if not scheme:
        _fail(name, f"expected a URL such as postgres://user@host:5432/db, got {url!r}")
    try:
        config = _env.db_url_config(url)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        _fail(name, f"cannot parse {url!r} ({exc})")
    if config.get("ENGINE") not in _DB_ENGINES:
        _fail(name, f"unsupported database scheme {scheme!r}; use postgres:// or sqlite://")
    if config["ENGINE"] == "django.db.backends.postgresql" and not config.get("NAME"):
        _fail(name, "names no database")
    return dict(config)


_BROKER_SCHEMES = {"redis", "rediss", "filesystem", "memory"}


def env_broker(name: str, default: str) -> str:
    url = _raw(name) or default
    scheme = urlsplit(url).scheme
    if scheme not in _BROKER_SCHEMES:
        _fail(name, f"unsupported broker {url!r}; use redis://host:6379/0 or filesystem://")
    return url


def settings_or_exit() -> None:
    """Load settings; on a configuration error print one line and exit.

    Called first by every entry point (manage.py, WSGI, ASGI, Celery) so an
    operator sees the variable to fix rather than a traceback.
    """
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        print(f"DR Portal configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def load_env_file(path: Path) -> None:
    """Set NAME=value lines of `path` (if it exists) as environment variables not already set.

    Blank lines and lines starting with # are skipped; a value may be wrapped in
    single or double quotes. Anything else is an error naming the file and line.
    """
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise ImproperlyConfigured(f"{path}: line {number} is not NAME=value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(name, value)
