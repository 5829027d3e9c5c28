"""Turn pydantic validation errors of protocol and screening files into one ``InputError`` line.

Three things differ from the generic conversion in ``ikctrial.errors``: the tag that pydantic puts
in the location of a discriminated union (``criteria[2].I3_bclc.params``) is dropped, so the path is
the path inside the file; a rule that a model validator states in words is reported as those words
(not prefixed with the whole offending mapping); and a cross-field rule raised as ``FieldRuleError``
names the field it is about.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import ValidationError

from ikctrial.errors import InputError, field_path, input_error_from_validation

VALUE_ERROR_PREFIX = "Value error, "
RULE_ERROR_TYPES = frozenset({"value_error", "assertion_error", "ikctrial_rule"})
"""Error types whose message is a sentence about the input, reported without the input's repr."""


class FieldRuleError(ValueError):
    """A model-level rule broken by one field (relative to the model that checks it)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(problem)


def input_error(
    exc: ValidationError, *, source: str | None = None, union_tags: Collection[str] = ()
) -> InputError:
    """The first validation error as ``source: path.inside.file: problem``."""
    first = exc.errors()[0]
    path = field_path(part for part in first.get("loc", ()) if part not in union_tags)
    kind = first.get("type")
    ctx = first.get("ctx") or {}
    violation = ctx.get("error")
    if isinstance(violation, FieldRuleError):
        path = f"{path}.{violation.field}" if path else violation.field
        problem = violation.problem
    elif kind == "union_tag_invalid":
        path = f"{path}.{ctx['discriminator'].strip(chr(39))}"
        problem = f"{ctx['tag']!r} is not one of {ctx['expected_tags'].replace(chr(39), '')}"
    elif kind == "union_tag_not_found":
        path = f"{path}.{ctx['discriminator'].strip(chr(39))}"
        problem = "required"
    elif kind in RULE_ERROR_TYPES:
        problem = str(first.get("msg", "invalid value")).removeprefix(VALUE_ERROR_PREFIX)
    else:
        problem = input_error_from_validation(exc).problem
    return InputError(path, problem, source=source)
