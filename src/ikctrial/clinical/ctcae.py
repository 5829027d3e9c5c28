"""CTCAE v5.0 grades of laboratory values (domain.md 6.1 and 6.2).

Each term is a list of grade bounds relative to the sample's ULN or LLN, the patient's baseline
(BL) or an absolute value in the grading unit; the grade is the highest one whose bound the value
passes (the bounds of consecutive grades touch, so this is the interval of domain.md 6.2 that holds
the value). All comparisons use ``Decimal`` built from the number as entered, so a value exactly on
a bound (``3 * ULN``, ``1.5 * BL``) lands on the side the table says.

A grade that depends on a missing baseline is ``None`` (domain.md 0, tri-state): e.g. ALT above ULN
without a baseline could be grade 0 (abnormal baseline far above) or grade >= 1 (normal baseline).
Clinical qualifiers ("transfusion indicated", "life-threatening") cannot come from a number, so the
lab-derived grade is a floor for the investigator's grade.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
)

from ikctrial.errors import InputError, input_error_from_validation

LabTest = Literal[
    "ALT",
    "AST",
    "bilirubin",
    "neutrophils",
    "platelets",
    "hemoglobin",
    "lymphocytes",
    "creatinine",
    "albumin",
    "inr",
]
Reference = Literal["ULN", "LLN", "BL", "ABS"]


def _json_number(value: object) -> object:
    """Accept an int, a finite float (as its shortest decimal text) or a finite ``Decimal``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return Decimal(value)


Number = Annotated[Decimal, BeforeValidator(_json_number)]


def _result_id(value: object) -> str | int:
    """A result id is a non-empty string or an integer, echoed back as given."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not a non-empty string or an integer")


ResultId = Annotated[str | int, PlainValidator(_result_id)]


class LabResult(BaseModel):
    """One lab value to grade, with its sample's normal range and the patient's baseline.

    ``lln``, ``uln`` and ``baseline`` are in the same unit as ``value``. ``on_anticoagulants``
    switches INR to its baseline-relative criteria (CTCAE v5.0 "INR increased").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ResultId
    test: LabTest
    value: Number
    unit: str | None = None
    lln: Number | None = None
    uln: Number | None = None
    baseline: Number | None = None
    on_anticoagulants: bool = False


class LabResults(BaseModel):
    """The ``ikctrial ctcae grade`` input document (interfaces.md, "Adverse-event grading")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results: list[LabResult] = Field(default_factory=list)


@dataclass(frozen=True)
class Bound:
    """Grade ``grade`` starts where the value passes ``factor * reference`` (inclusive or not)."""

    grade: int
    factor: Decimal
    reference: Reference
    inclusive: bool = False


def _bounds(
    reference: Reference, *factors: str, first_inclusive: bool = False, first_grade: int = 1
) -> tuple[Bound, ...]:
    """Consecutive grades from ``first_grade`` with strict bounds (the first may be inclusive)."""
    return tuple(
        Bound(first_grade + i, Decimal(f), reference, inclusive=first_inclusive and i == 0)
        for i, f in enumerate(factors)
    )


# domain.md 6.2, increases (value > bound, or >= where the table says <=).
ENZYME_NORMAL_BL = _bounds("ULN", "1", "3", "5", "20")
ENZYME_ABNORMAL_BL = _bounds("BL", "1.5", "3", "5", "20", first_inclusive=True)
BILIRUBIN_NORMAL_BL = _bounds("ULN", "1", "1.5", "3", "10")
BILIRUBIN_ABNORMAL_BL = _bounds("BL", "1", "1.5", "3", "10")
CREATININE_ULN = _bounds("ULN", "1", "1.5", "3", "6")
CREATININE_BL = _bounds("BL", "1.5", "3", first_grade=2)
INR_ABSOLUTE = _bounds("ABS", "1.2", "1.5", "2.5")
INR_ANTICOAGULATED = _bounds("BL", "1", "1.5", "2.5")
# domain.md 6.2, decreases (value < bound): grade 1 below LLN, then absolute cut-offs.
NEUTROPHILS = (Bound(1, Decimal(1), "LLN"), *_bounds("ABS", "1.5", "1.0", "0.5", first_grade=2))
PLATELETS = (Bound(1, Decimal(1), "LLN"), *_bounds("ABS", "75", "50", "25", first_grade=2))
HEMOGLOBIN = (Bound(1, Decimal(1), "LLN"), *_bounds("ABS", "10.0", "8.0", first_grade=2))
LYMPHOCYTES = (Bound(1, Decimal(1), "LLN"), *_bounds("ABS", "0.8", "0.5", "0.2", first_grade=2))
ALBUMIN = (Bound(1, Decimal(1), "LLN"), *_bounds("ABS", "3.0", "2.0", first_grade=2))


def band_grade(
    value: Decimal,
    bounds: Sequence[Bound],
    references: Mapping[Reference, Decimal],
    *,
    decreasing: bool = False,
) -> int:
    """Highest grade whose bound ``value`` passes (above it, or below it when ``decreasing``)."""
    grade = 0
    for bound in bounds:
        reference = Decimal(1) if bound.reference == "ABS" else references[bound.reference]
        limit = bound.factor * reference
        if decreasing:
            passed = value <= limit if bound.inclusive else value < limit
        else:
            passed = value >= limit if bound.inclusive else value > limit
        if passed:
            grade = max(grade, bound.grade)
    return grade


@dataclass(frozen=True)
class Measure:
    """A lab value in its grading unit with the references that the bounds multiply."""

    value: Decimal
    lln: Decimal | None
    uln: Decimal | None
    baseline: Decimal | None
    on_anticoagulants: bool

    def refs(self) -> dict[Reference, Decimal]:
        """The references that are known, by the name the bounds use."""
        known: dict[Reference, Decimal | None] = {
            "LLN": self.lln,
            "ULN": self.uln,
            "BL": self.baseline,
        }
        return {name: ref for name, ref in known.items() if ref is not None}


Grader = Callable[[Measure], "int | None"]


def _baseline_branch(normal: Sequence[Bound], abnormal: Sequence[Bound]) -> Grader:
    """ALT, AST, bilirubin: ULN bounds if BL <= ULN, BL bounds if BL > ULN (domain.md 6.2).

    Without a baseline the answer is known only when the value is at most ULN (grade 0 on both
    branches, since an abnormal BL is above ULN).
    """

    def grade(m: Measure) -> int | None:
        assert m.uln is not None
        on_uln = band_grade(m.value, normal, m.refs())
        if m.baseline is None:
            return 0 if on_uln == 0 else None
        return on_uln if m.baseline <= m.uln else band_grade(m.value, abnormal, m.refs())

    return grade


def _creatinine(m: Measure) -> int | None:
    """Highest grade of the ULN and the BL criteria; without BL known only from grade 3 up."""
    on_uln = band_grade(m.value, CREATININE_ULN, m.refs())
    if m.baseline is None:
        return on_uln if on_uln >= 3 or m.value == 0 else None
    return max(on_uln, band_grade(m.value, CREATININE_BL, m.refs()))


def _inr(m: Measure) -> int | None:
    """Absolute bounds, or multiples of baseline for a patient on anticoagulants."""
    if not m.on_anticoagulants:
        return band_grade(m.value, INR_ABSOLUTE, m.refs())
    if m.baseline is None:
        return 0 if m.value == 0 else None
    return band_grade(m.value, INR_ANTICOAGULATED, m.refs())


def _decrease(bounds: Sequence[Bound]) -> Grader:
    def grade(m: Measure) -> int | None:
        return band_grade(m.value, bounds, m.refs(), decreasing=True)

    return grade


ONE = Decimal(1)
COUNT_UNITS: dict[str | None, Decimal] = {
    "10^9/L": ONE,
    "10^3/uL": ONE,
    "cells/uL": Decimal("0.001"),
    "/uL": Decimal("0.001"),
}
CONCENTRATION_UNITS: dict[str | None, Decimal] = {"g/dL": ONE, "g/L": Decimal("0.1")}
# Grades of ratio-based terms do not depend on the unit (value, ULN and BL share it).
ENZYME_UNITS: dict[str | None, Decimal] = {"U/L": ONE, "IU/L": ONE}
RATIO_UNITS: dict[str | None, Decimal] = {"ratio": ONE, None: ONE}
CHEMISTRY_UNITS: dict[str | None, Decimal] = {"mg/dL": ONE, "umol/L": ONE}


@dataclass(frozen=True)
class LabRule:
    """How one test is graded: CTCAE term, accepted units (factor to the grading unit), limit."""

    term: str
    units: Mapping[str | None, Decimal]
    limit: Literal["uln", "lln"] | None
    grade: Grader
    needs_positive_baseline: bool = False


RULES: dict[str, LabRule] = {
    "ALT": LabRule(
        "Alanine aminotransferase increased",
        ENZYME_UNITS,
        "uln",
        _baseline_branch(ENZYME_NORMAL_BL, ENZYME_ABNORMAL_BL),
    ),
    "AST": LabRule(
        "Aspartate aminotransferase increased",
        ENZYME_UNITS,
        "uln",
        _baseline_branch(ENZYME_NORMAL_BL, ENZYME_ABNORMAL_BL),
    ),
    "bilirubin": LabRule(
        "Blood bilirubin increased",
        CHEMISTRY_UNITS,
        "uln",
        _baseline_branch(BILIRUBIN_NORMAL_BL, BILIRUBIN_ABNORMAL_BL),
    ),
    "creatinine": LabRule(
        "Creatinine increased", CHEMISTRY_UNITS, "uln", _creatinine, needs_positive_baseline=True
    ),
    "neutrophils": LabRule(
        "Neutrophil count decreased", COUNT_UNITS, "lln", _decrease(NEUTROPHILS)
    ),
    "platelets": LabRule("Platelet count decreased", COUNT_UNITS, "lln", _decrease(PLATELETS)),
    "lymphocytes": LabRule(
        "Lymphocyte count decreased", COUNT_UNITS, "lln", _decrease(LYMPHOCYTES)
    ),
    "hemoglobin": LabRule("Anemia", CONCENTRATION_UNITS, "lln", _decrease(HEMOGLOBIN)),
    "albumin": LabRule("Hypoalbuminemia", CONCENTRATION_UNITS, "lln", _decrease(ALBUMIN)),
    "inr": LabRule("INR increased", RATIO_UNITS, None, _inr),
}


def ctcae_term(test: LabTest) -> str:
    """The CTCAE v5.0 term graded for ``test`` (e.g. ``"Anemia"`` for hemoglobin)."""
    return RULES[test].term


@dataclass(frozen=True)
class LabGrade:
    """The ``ctcae grade`` output record: the result id, the CTCAE term and the grade (or None)."""

    id: str | int
    term: str
    grade: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "term": self.term, "grade": self.grade}


def _measure(result: LabResult, rule: LabRule) -> Measure:
    """Check the result against its rule and convert it to the grading unit."""
    if result.unit not in rule.units:
        allowed = ", ".join(u for u in rule.units if u is not None)
        if result.unit is None:
            raise InputError("unit", f"required to grade {result.test}: one of {allowed}")
        raise InputError("unit", f"{result.unit!r} is not one of {allowed}")
    for name in ("value", "lln", "uln", "baseline"):
        number: Decimal | None = getattr(result, name)
        if number is not None and number < 0:
            raise InputError(name, f"{number} is negative")
    if rule.limit is not None and getattr(result, rule.limit) is None:
        raise InputError(rule.limit, f"required to grade {result.test}")
    if result.uln is not None and result.uln == 0:
        raise InputError("uln", "must be greater than 0")
    if result.lln is not None and result.uln is not None and result.lln > result.uln:
        raise InputError("lln", f"{result.lln} is above uln {result.uln}")
    uses_baseline = rule.needs_positive_baseline or result.on_anticoagulants
    if uses_baseline and result.baseline is not None and result.baseline == 0:
        raise InputError("baseline", f"must be greater than 0 to grade {result.test}")
    if result.on_anticoagulants and result.test != "inr":
        raise InputError("on_anticoagulants", "applies to inr only")
    factor = rule.units[result.unit]

    def convert(number: Decimal | None) -> Decimal | None:
        return None if number is None else number * factor

    value = convert(result.value)
    assert value is not None
    return Measure(
        value,
        convert(result.lln),
        convert(result.uln),
        convert(result.baseline),
        result.on_anticoagulants,
    )


def ctcae_grade(result: LabResult) -> int | None:
    """CTCAE v5.0 grade 0-4 of one lab value (domain.md 6.2); None when a missing baseline could
    change it. Raises ``InputError`` (field of the result) for a wrong unit or an impossible value.
    """
    rule = RULES[result.test]
    return rule.grade(_measure(result, rule))


def lab_grades(results: Sequence[LabResult]) -> list[LabGrade]:
    """Grade every result; an error names ``results[i].field``."""
    graded: list[LabGrade] = []
    for index, result in enumerate(results):
        try:
            grade = ctcae_grade(result)
        except InputError as error:
            raise error.under(f"results[{index}]") from None
        graded.append(LabGrade(result.id, ctcae_term(result.test), grade))
    return graded


def lab_results(document: object) -> list[LabResult]:
    """Validate a parsed ``ctcae grade`` document into lab results."""
    try:
        return LabResults.model_validate(document).results
    except ValidationError as exc:
        raise input_error_from_validation(exc) from None
