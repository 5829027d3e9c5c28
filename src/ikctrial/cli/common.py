"""What every command shares: reading input files, printing JSON, reporting bad input.

Contract (interfaces.md): a ``--json`` command prints one JSON document on stdout and nothing else;
bad input exits 2 with one line on stderr naming the file, the field and the problem.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from ikctrial.errors import InputError

stderr = Console(stderr=True)
stdout = Console()


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars, NaN, dates and tuples into plain JSON values (NaN becomes null)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return to_jsonable(value.item())
    if hasattr(value, "tolist") and callable(value.tolist):
        return to_jsonable(value.tolist())
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(document), indent=2, ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def read_json(path: Path) -> Any:
    """Read a JSON file; a missing file or malformed JSON is an ``InputError`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("", "file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("", f"cannot read file ({exc})", source=str(path)) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InputError(
            "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source=str(path)
        ) from None
    except _DuplicateKeyError as exc:
        raise InputError(
            exc.key, "duplicate key (JSON keeps the last silently)", source=str(path)
        ) from None


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key written twice in it (a repeated key is never meant)."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKeyError(key)
        document[key] = value
    return document


def fail_input(error: InputError) -> NoReturn:
    """Report bad input on stderr in one line and exit 2."""
    sys.stderr.write(f"{error}\n")
    raise typer.Exit(code=2)
