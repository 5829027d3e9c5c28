"""One error type for bad input, so every front door reports it the same way.

A bad value is reported as ``source: field: problem`` (for example
``screening.json: labs.albumin.unit: 'mg/L' is not one of g/dL, g/L``), which is what the command
line prints before exiting with code 2 and what the API returns as a 4xx ``detail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError


class InputError(ValueError):
    """Input that cannot be accepted: names the field (a dotted path) and the problem."""

    def __init__(self, field: str, problem: str, *, source: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.field) if p]
        return ": ".join([*parts, self.problem])

    def with_source(self, source: str) -> InputError:
        """Return the same error, naming the file (or request) it came from."""
        return InputError(self.field, self.problem, source=source)

    def under(self, prefix: str) -> InputError:
        """Return the same error with ``prefix`` prepended to the field path."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return InputError(field, self.problem, source=self.source)


def field_path(loc: Iterable[int | str]) -> str:
    """Render a location such as ``("labs", "albumin", "unit")`` or ``("a", 0, "b")`` as a path."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def input_error_from_validation(exc: ValidationError, *, source: str | None = None) -> InputError:
    """Turn pydantic's first validation error into one ``InputError`` line."""
    first = exc.errors()[0]
    loc: Sequence[int | str] = first.get("loc", ())
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        problem = "unknown key"
    elif kind == "missing":
        problem = "required"
    else:
        problem = str(first.get("msg", "invalid value"))
        value = first.get("input")
        if kind not in {"model_type", "dict_type", "list_type"} and value is not None:
            problem = f"{value!r}: {problem}"
    return InputError(field_path(loc), problem, source=source)
