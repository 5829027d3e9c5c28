"""Read a protocol file (YAML) into a validated ``Protocol``.

The built-in NCT03592706 file ships as package data (``ikctrial.protocols``) and is found through
``importlib.resources``, so it works from an installed wheel as well as from a source checkout.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from ikctrial.errors import InputError
from ikctrial.protocol.model import CRITERION_IDS, Protocol
from ikctrial.protocol.validation import input_error

BUILT_IN_PROTOCOL = "NCT03592706.yaml"
"""File name of the protocol used when none is given."""

if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    # libyaml's loader when PyYAML was built with it (about 10x faster), else the pure-Python one
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(_SafeLoader):
    """The safe loader, refusing a key repeated in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # "<<: *anchor" merges; keys written beside it override, as YAML says
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the safe constructor reports an unhashable key itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def built_in_protocol_text() -> str:
    """The YAML text of the built-in NCT03592706 protocol."""
    return resources.files("ikctrial.protocols").joinpath(BUILT_IN_PROTOCOL).read_text("utf-8")


def protocol_from_mapping(data: Any, *, source: str | None = None) -> Protocol:
    """Validate an already-parsed protocol document; errors name the path inside it."""
    if not isinstance(data, dict):
        raise InputError("", "a protocol file must be a YAML mapping", source=source)
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, source=source, union_tags=CRITERION_IDS) from None


def protocol_from_yaml(text: str, *, source: str | None = None) -> Protocol:
    """Parse and validate protocol YAML text."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError("", f"invalid YAML{where}: {problem}", source=source) from None
    return protocol_from_mapping(data, source=source)


@functools.cache
def _built_in_protocol() -> Protocol:
    return protocol_from_yaml(built_in_protocol_text(), source=BUILT_IN_PROTOCOL)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """The protocol in ``path``, or the built-in NCT03592706 protocol when ``path`` is None.

    The built-in protocol is parsed once per process and shared: its models are frozen.
    """
    if path is None:
        return _built_in_protocol()
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("", "file not found", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("", f"cannot read file ({exc})", source=source) from None
    return protocol_from_yaml(text, source=source)
