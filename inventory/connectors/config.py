"""Typed, validated connector configuration; secrets are references (``env:NAME``, ``file:/path``).

A kind declares its configuration as a frozen dataclass whose fields carry a
``help`` text in their metadata. :func:`parse_config` checks a JSON object
against it: unknown keys, missing required keys and wrong types are refused
with a message naming the field. Numbers, text and lists are bounded: a field's
metadata may give ``minimum``/``maximum`` (numbers), ``max_length`` (text) and
``max_items`` (lists); without them, text is at most TEXT_MAX characters, a list at
most LIST_MAX items, a whole number within +/-INT_MAX and a number finite. The same
check serves the asset form, the API, imports and discovery (all parse through here),
and a stored configuration that fails it fails its backup at once with the reason.
A field typed :class:`SecretRef` only accepts a
reference; the secret itself is read at the moment of use and never stored,
logged or put in a ``repr``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings

from inventory.connectors.errors import ConfigInvalid, SecretUnavailable
from inventory.paths import path_refusal, portal_secret_refusal, userinfo_refusal

TEXT_MAX = 4096  # characters in one text field (a path is at most 4096 bytes on Linux)
LIST_MAX = 10_000  # items in one list field (e.g. tables: leave it empty for all of them)
INT_MAX = 2**31 - 1
PORT = {"minimum": 1, "maximum": 65535}
HOST = {"max_length": 253}  # the longest DNS name

_ENV_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclasses.dataclass(frozen=True)
class SecretRef:
    """Where a secret lives. Only the reference is kept; :meth:`resolve` reads the value."""

    ref: str

    @classmethod
    def parse(cls, text: object, *, field: str) -> SecretRef:
        if not isinstance(text, str):
            raise ConfigInvalid(f"{field}: a secret must be a reference like env:NAME or file:/path.")
        scheme, _, rest = text.partition(":")
        if scheme == "env" and rest and set(rest) <= _ENV_NAME_CHARS and not rest[0].isdigit():
            return cls(text)
        if scheme == "file" and rest.startswith("/"):
            why = secret_file_refusal(rest, resolve=False)
            if why:
                raise ConfigInvalid(f"{field}: {why}")
            return cls(text)
        # The value may be a pasted secret: never echo it back.
        raise ConfigInvalid(
            f"{field}: a secret must be a reference like env:NAME or file:/absolute/path, "
            "not the secret itself (the value given was not shown)."
        )

    def resolve(self) -> str:
        scheme, _, rest = self.ref.partition(":")
        if scheme == "env":
            value = os.environ.get(rest)
            if value is None:
                raise SecretUnavailable(f"The environment variable {rest} named by the configuration is not set.")
            return value
        # Settings can change after the reference was saved: the folder is checked again, links resolved.
        why = secret_file_refusal(rest, resolve=True)
        if why:
            raise SecretUnavailable(f"A file: secret reference was refused: {why}")
        try:
            return Path(rest).read_text().strip()
        except OSError as exc:
            # The run page and job errors are shown to every role: the path is not repeated.
            raise SecretUnavailable(
                f"The secret file named by a file: reference cannot be read ({exc.strerror or 'error'})."
            ) from None

    def __str__(self) -> str:
        return self.ref


def secret_file_refusal(path: str, *, resolve: bool) -> str | None:
    """Why a ``file:`` secret may not be read from ``path``: it must lie under CONNECTOR_SECRET_DIRS
    (links resolved with ``resolve``), never climb with ``..``, and never be the portal's own keys or
    database, whatever the setting says. The message names the allowed folders, not the file."""
    roots = [Path(root) for root in settings.CONNECTOR_SECRET_DIRS]
    if path_refusal(path, roots=roots, resolve=resolve):
        allowed = ", ".join(str(root) for root in roots) or "none are set"
        return (
            "a file: secret must lie in one of the folders named by CONNECTOR_SECRET_DIRS "
            f"({allowed}); the path given was not used."
        )
    if portal_secret_refusal(path):
        return "a file: secret may not be the portal's own keys or database; the path given was not used."
    return None


C = TypeVar("C")


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _shown(value: Any) -> str:
    """A bad value as a message shows it: short, whatever was typed."""
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "..."


def _key_text(key: object) -> str:
    """A field name as a message shows it: plain when it looks like one, else short and escaped."""
    return key if isinstance(key, str) and key.isidentifier() and len(key) <= 24 else _shown(key)


def _in_range(name: str, value: float, limits: dict[str, Any], *, whole: bool) -> None:
    low = limits.get("minimum", -INT_MAX if whole else None)
    high = limits.get("maximum", INT_MAX if whole else None)
    if math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high):
        return
    what = "a whole number" if whole else "a number"
    if low is not None and high is not None:
        bounds = f"from {low} to {high}"
    elif low is not None:
        bounds = f"of at least {low}"
    elif high is not None:
        bounds = f"of at most {high}"
    else:
        bounds = "that is finite"
    raise ConfigInvalid(f"{name}: give {what} {bounds} (not {_shown(value)}).")


def _coerce(name: str, tp: Any, value: Any, limits: dict[str, Any] | None = None) -> Any:
    limits = limits or {}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(name, args[0], value, limits)
    if tp is SecretRef:
        if isinstance(value, str) and len(value) > TEXT_MAX:
            raise ConfigInvalid(f"{name}: a secret reference is at most {TEXT_MAX} characters.")
        return SecretRef.parse(value, field=name)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigInvalid(f"{name}: expected true or false.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigInvalid(f"{name}: expected a whole number.")
        _in_range(name, value, limits, whole=True)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigInvalid(f"{name}: expected a number.")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        _in_range(name, number, limits, whole=False)
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigInvalid(f"{name}: expected text.")
        _short(name, value, limits.get("max_length", TEXT_MAX))
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigInvalid(f"{name}: expected a list of text values.")
        most = limits.get("max_items", LIST_MAX)
        if len(value) > most:
            raise ConfigInvalid(f"{name}: give at most {most} values (not {len(value)}).")
        for item in value:
            _short(name, item, limits.get("max_length", TEXT_MAX))
        return tuple(value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigInvalid(f"{name}: expected an object.")
        return dict(value)
    raise ConfigInvalid(f"{name}: unsupported field type {_describe(tp)}.")  # a programming error


def _short(name: str, text: str, most: int) -> None:
    if len(text) > most:
        raise ConfigInvalid(f"{name}: give at most {most} characters (not {len(text)}).")
    if "\x00" in text:
        raise ConfigInvalid(f"{name}: text may not hold a NUL character.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800"): no database or page can hold it
            raise ConfigInvalid(f"{name}: text must be valid Unicode (it holds a lone surrogate).") from None


def parse_config(cls: type[C], data: object, *, kind: str) -> C:
    """Build ``cls`` from ``data`` (a JSON object), or raise :class:`ConfigInvalid` saying what is wrong."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigInvalid(f"The {kind} configuration must be an object of fields.")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # A YAML key may be a number; a JSON one may be huge or hold what no page shows (a lone surrogate).
    unknown = sorted((key for key in data if key not in fields), key=str)
    if unknown:
        named = ", ".join(_key_text(key) for key in unknown[:10]) + (
            f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        )
        raise ConfigInvalid(f"Unknown {kind} field(s): {named}. Known: {', '.join(fields)}.")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if name not in data:
            if required:
                raise ConfigInvalid(f"{kind} configuration: the field {name} is required.")
            continue
        values[name] = _coerce(name, hints[name], data[name], dict(spec.metadata))
        texts = values[name] if isinstance(values[name], tuple) else (values[name],)
        for text in texts:
            # An address with user:password@ in it would be stored and shown in the clear.
            why = userinfo_refusal(text, field=name) if isinstance(text, str) else None
            if isinstance(text, str) and name.endswith("host") and "@" in text:
                why = userinfo_refusal(f"x://{text}", field=name)  # user:password@host in a host field
            if why:
                raise ConfigInvalid(why)
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if callable(check):
        check()
    return obj


def config_to_json(config: object) -> dict[str, Any]:
    """The configuration as JSON, secrets as their references."""
    out: dict[str, Any] = {}
    for spec in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, spec.name)
        if isinstance(value, SecretRef):
            value = value.ref
        elif isinstance(value, tuple):
            value = list(value)
        out[spec.name] = value
    return out


def config_fields(cls: type) -> list[dict[str, Any]]:
    """What a form or the API shows for a kind: name, type, required, secret, help."""
    hints = typing.get_type_hints(cls)
    rows = []
    for spec in dataclasses.fields(cls):
        tp = hints[spec.name]
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        secret = tp is SecretRef or SecretRef in typing.get_args(tp)
        rows.append(
            {
                "name": spec.name,
                "type": _type_name(tp),
                "required": required,
                "secret": secret,
                "default": None if required or spec.default is dataclasses.MISSING else _plain(spec.default),
                "help": spec.metadata.get("help", ""),
                **{k: v for k, v in spec.metadata.items() if k in LIMITS},
            }
        )
    return rows


def _type_name(tp: Any) -> str:
    """text, secret, integer, number, boolean, list or object: what a form shows for a field."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and args:
        tp = args[0]
    if tp is SecretRef:
        return "secret"
    if typing.get_origin(tp) is tuple:
        return "list"
    if tp is dict or typing.get_origin(tp) is dict:
        return "object"
    return {bool: "boolean", int: "integer", float: "number"}.get(tp, "text")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


LIMITS = ("minimum", "maximum", "max_length", "max_items")


def field_help(text: str, *, limits: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A dataclass field with a help text for forms and the API, and its bounds (see LIMITS)."""
    unknown = set(limits or {}) - set(LIMITS)
    assert not unknown, f"unknown limit(s) {unknown}"
    return dataclasses.field(metadata={"help": text, **(limits or {})}, **kwargs)
