"""Edit checks declared in the protocol file, evaluated on one case-report-form record.

A check names the form it applies to and, optionally, a ``when`` condition (field -> accepted
values) that restricts it to some records (e.g. lab results whose ``test`` is ``ALT``). Four types
(ICH E6(R3) "edit checks at entry", domain.md 9.1 "Accurate"):

- ``range``: a number must lie within ``[min, max]`` (each end optional, open when its
  ``*_inclusive`` flag is false);
- ``required_if``: a field must be filled when the ``when`` condition holds;
- ``date_order``: the ``earlier`` date must not come after the ``later`` one (nor equal it unless
  ``allow_equal``);
- ``unit_plausibility``: the unit must be one of ``ranges`` and the value plausible for that unit
  (catches a value entered in g/L under a g/dL unit).

A failing check is a *finding* (check id, field, message); the EDC turns each into a data query.
A check whose inputs are missing does not fire (missing data is ``required_if``'s job). Numbers are
compared as ``Decimal`` built from their text, never as binary floats (domain.md 0).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ikctrial.errors import InputError, input_error_from_validation

Scalar = str | int | bool
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Check(BaseModel):
    """What every check has: an id, the form it applies to, a condition and a message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")]
    form: FieldName
    when: dict[FieldName, list[Scalar]] | None = None
    message: str | None = None

    def applies_to(self, form: str, record: Mapping[str, object]) -> bool:
        """Whether the check concerns this record of ``form`` (its ``when`` condition holds)."""
        if form != self.form:
            return False
        return all(
            _plain(record.get(name)) in [_plain(v) for v in accepted]
            for name, accepted in (self.when or {}).items()
        )


class RangeCheck(_Check):
    """A number within ``[min, max]``."""

    type: Literal["range"]
    field: FieldName
    min: Decimal | None = None
    max: Decimal | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeCheck:
        if self.min is None and self.max is None:
            raise ValueError("a range check needs min or max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class RequiredIfCheck(_Check):
    """``field`` must be filled when ``when`` holds."""

    type: Literal["required_if"]
    field: FieldName
    when: dict[FieldName, list[Scalar]]


class DateOrderCheck(_Check):
    """``earlier`` on or before (strictly before unless ``allow_equal``) ``later``."""

    type: Literal["date_order"]
    earlier: FieldName
    later: FieldName
    allow_equal: bool = True


class UnitPlausibilityCheck(_Check):
    """``unit_field`` one of ``ranges``; ``field`` within the plausible range of that unit."""

    type: Literal["unit_plausibility"]
    field: FieldName
    unit_field: FieldName = "unit"
    ranges: Annotated[dict[str, tuple[Decimal, Decimal]], Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self) -> UnitPlausibilityCheck:
        for unit, (low, high) in self.ranges.items():
            if high < low:
                raise ValueError(f"ranges.{unit}: {high} is below {low}")
        return self


EditCheck = Annotated[
    RangeCheck | RequiredIfCheck | DateOrderCheck | UnitPlausibilityCheck,
    Field(discriminator="type"),
]
_CHECKS: TypeAdapter[list[EditCheck]] = TypeAdapter(list[EditCheck])


@dataclass(frozen=True)
class Finding:
    """A failed check on one record: which check, which field, what is wrong."""

    check_id: str
    field: str
    message: str


def _plain(value: object) -> object:
    """A value as the ``when`` condition compares it (enums by their value)."""
    return getattr(value, "value", value)


def _decimal(value: object) -> Decimal | None:
    """A record's number as ``Decimal`` from its text; None when missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal | int | float | str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _filled(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _within(number: Decimal, check: RangeCheck) -> bool:
    if check.min is not None:
        below = number < check.min if check.min_inclusive else number <= check.min
        if below:
            return False
    if check.max is not None:
        above = number > check.max if check.max_inclusive else number >= check.max
        if above:
            return False
    return True


def _interval(check: RangeCheck) -> str:
    """The accepted interval in words, e.g. ``[1, 5)`` or ``>= 0``."""
    if check.min is None:
        return f"{'<=' if check.max_inclusive else '<'} {check.max}"
    if check.max is None:
        return f"{'>=' if check.min_inclusive else '>'} {check.min}"
    opening = "[" if check.min_inclusive else "("
    closing = "]" if check.max_inclusive else ")"
    return f"{opening}{check.min}, {check.max}{closing}"


def _range(check: RangeCheck, record: Mapping[str, object]) -> Finding | None:
    number = _decimal(record.get(check.field))
    if number is None or _within(number, check):
        return None
    return Finding(check.id, check.field, f"{number} is outside {_interval(check)}")


def _required(check: RequiredIfCheck, record: Mapping[str, object]) -> Finding | None:
    if _filled(record.get(check.field)):
        return None
    condition = ", ".join(f"{name} is {'/'.join(map(str, v))}" for name, v in check.when.items())
    return Finding(check.id, check.field, f"required when {condition}")


def _order(check: DateOrderCheck, record: Mapping[str, object]) -> Finding | None:
    earlier, later = _date(record.get(check.earlier)), _date(record.get(check.later))
    if earlier is None or later is None:
        return None
    if earlier < later or (check.allow_equal and earlier == later):
        return None
    relation = "on or after" if check.allow_equal else "after"
    return Finding(
        check.id,
        check.later,
        f"{later.isoformat()} must be {relation} {check.earlier} {earlier.isoformat()}",
    )


def _unit(check: UnitPlausibilityCheck, record: Mapping[str, object]) -> Finding | None:
    unit = record.get(check.unit_field)
    if unit not in check.ranges:
        expected = ", ".join(check.ranges)
        return Finding(check.id, check.unit_field, f"{unit!r} is not an expected unit ({expected})")
    number = _decimal(record.get(check.field))
    low, high = check.ranges[str(unit)]
    if number is None or low <= number <= high:
        return None
    return Finding(
        check.id, check.field, f"{number} {unit} is implausible (expected {low} to {high} {unit})"
    )


def _finding(check: EditCheck, record: Mapping[str, object]) -> Finding | None:
    if isinstance(check, RangeCheck):
        return _range(check, record)
    if isinstance(check, RequiredIfCheck):
        return _required(check, record)
    if isinstance(check, DateOrderCheck):
        return _order(check, record)
    return _unit(check, record)


def edit_check_findings(
    checks: Sequence[EditCheck], form: str, record: Mapping[str, object]
) -> list[Finding]:
    """The checks of ``form`` that ``record`` fails, in declaration order (message overridable)."""
    findings = []
    for check in checks:
        if not check.applies_to(form, record):
            continue
        finding = _finding(check, record)
        if finding is not None:
            message = check.message or finding.message
            findings.append(Finding(finding.check_id, finding.field, message))
    return findings


def edit_checks(specs: object) -> tuple[EditCheck, ...]:
    """Validate check specs (the protocol file's ``edit_checks`` list); ids must be unique."""
    try:
        checks = _CHECKS.validate_python(specs)
    except ValidationError as exc:
        error = input_error_from_validation(exc)
        raise InputError(f"edit_checks{error.field}", error.problem) from None
    seen: set[str] = set()
    for index, check in enumerate(checks):
        if check.id in seen:
            raise InputError(f"edit_checks[{index}].id", f"{check.id!r} is not unique")
        seen.add(check.id)
    return tuple(checks)
