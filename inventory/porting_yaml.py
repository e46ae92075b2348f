"""The YAML loader of catalogue imports: safe, line-numbered, and without anchors or aliases.

An alias is a reference, so a few hundred bytes of nested aliases expand to
millions of nodes (a "billion laughs"): an import file spells every value out.
The stream is first read as events by libyaml's parser, which is fast and
builds nothing, and refused at the first anchor or alias; only then is it
loaded, again by libyaml, into Python values. Where PyYAML was built without
libyaml, the pure-Python loader does both in one pass (about ten times slower).
"""

from __future__ import annotations

from typing import Any

import yaml

REFUSAL = "anchors and aliases (& and *) are not accepted; write each value out"
FAST = bool(getattr(yaml, "__with_libyaml__", False))


def _refuse(event: Any) -> None:
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
        raise yaml.composer.ComposerError(None, None, REFUSAL, event.start_mark)


def _construct_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return mapping


def _construct_timestamp(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date or time, or a YAMLError at its line when it matches the form but not the calendar (2026-02-30)."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date or time ({exc})", node.start_mark
        ) from None


TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class PlainLoader(yaml.SafeLoader):
    """The safe loader for small documents typed by people (recovery plans): no anchors or aliases, real dates."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        _refuse(self.peek_event())
        return super().compose_node(parent, index)


PlainLoader.add_constructor(TIMESTAMP_TAG, _construct_timestamp)


def load_plain_yaml(text: str) -> Any:
    """The one document in `text` as plain Python values; YAMLError (with its line) if bad or referencing."""
    return yaml.load(text, Loader=PlainLoader)  # noqa: S506 - a SafeLoader subclass


class PureLineLoader(yaml.SafeLoader):
    """Remembers the line each mapping starts on, so errors can point at it; refuses anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        _refuse(self.peek_event())
        return super().compose_node(parent, index)


PureLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
PureLineLoader.add_constructor(TIMESTAMP_TAG, _construct_timestamp)

if FAST:

    class CLineLoader(yaml.CSafeLoader):
        """libyaml's safe loader, remembering the line of each mapping; call only on a stream `load_yaml` scanned."""

    CLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    CLineLoader.add_constructor(TIMESTAMP_TAG, _construct_timestamp)


def load_yaml(text: str) -> Any:
    """The one document in `text`, with `__line__`/`__lines__` on every mapping; YAMLError if bad or referencing."""
    if not FAST:
        return yaml.load(text, Loader=PureLineLoader)  # noqa: S506 - a SafeLoader subclass
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        _refuse(event)
    return yaml.load(text, Loader=CLineLoader)  # noqa: S506 - a CSafeLoader subclass
