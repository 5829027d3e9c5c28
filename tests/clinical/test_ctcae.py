"""CTCAE v5.0 lab grades (domain.md 6.1-6.2; interfaces.md "Adverse-event grading").

Each table row is a value on, or just past, a bound of the domain.md 6.2 table, so both sides of
every bound are checked; the comment of each block names the 6.2 row (and branch) it checks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.clinical.ctcae import (
    LabResult,
    ctcae_grade,
    ctcae_term,
    lab_grades,
    lab_results,
)
from ikctrial.errors import InputError

UNITS = {
    "ALT": "U/L",
    "AST": "U/L",
    "bilirubin": "mg/dL",
    "creatinine": "mg/dL",
    "neutrophils": "10^9/L",
    "platelets": "10^9/L",
    "lymphocytes": "10^9/L",
    "hemoglobin": "g/dL",
    "albumin": "g/dL",
    "inr": "ratio",
}


def grade(test: str, value: float, **fields: Any) -> int | None:
    record = {"id": "r", "test": test, "value": value, "unit": UNITS[test], **fields}
    return ctcae_grade(LabResult.model_validate(record))


def cases(
    test: str, fields: dict[str, Any], pairs: list[tuple[float, int | None]]
) -> list[tuple[str, float, dict[str, Any], int | None]]:
    return [(test, value, fields, expected) for value, expected in pairs]


BOUNDARY_CASES = [
    # 6.2 ALT increased, baseline normal (BL <= ULN): ULN < x <= 3 ULN < ... <= 20 ULN < x.
    *cases(
        "ALT",
        {"uln": 40, "baseline": 30},
        [(40, 0), (40.01, 1), (120, 1), (120.01, 2), (200, 2), (200.01, 3), (800, 3), (800.01, 4)],
    ),
    # 6.2 ALT increased, baseline equal to ULN is still the normal branch (BL <= ULN).
    *cases("ALT", {"uln": 40, "baseline": 40}, [(40, 0), (40.01, 1)]),
    # 6.2 ALT increased, baseline abnormal (BL > ULN): 1.5 BL <= x <= 3 BL < ... <= 20 BL < x;
    # "a post-baseline value between BL and 1.5 BL is grade 0 on that branch".
    *cases(
        "ALT",
        {"uln": 40, "baseline": 60},
        [
            (45, 0),
            (60, 0),
            (89.99, 0),
            (90, 1),
            (180, 1),
            (180.01, 2),
            (300, 2),
            (300.01, 3),
            (1200, 3),
            (1200.01, 4),
        ],
    ),
    # 6.2 AST increased, both branches (same bounds as ALT).
    *cases("AST", {"uln": 35, "baseline": 20}, [(105, 1), (105.01, 2), (700, 3), (700.01, 4)]),
    *cases("AST", {"uln": 35, "baseline": 50}, [(74.99, 0), (75, 1), (150, 1), (150.01, 2)]),
    # 6.2 Blood bilirubin increased, baseline normal: ULN < x <= 1.5 ULN < ... <= 10 ULN < x.
    *cases(
        "bilirubin",
        {"uln": 1.2, "baseline": 0.8},
        [(1.2, 0), (1.21, 1), (1.8, 1), (1.81, 2), (3.6, 2), (3.61, 3), (12, 3), (12.01, 4)],
    ),
    # 6.2 Blood bilirubin increased, baseline abnormal: BL < x <= 1.5 BL < ... <= 10 BL < x.
    *cases(
        "bilirubin",
        {"uln": 1.2, "baseline": 2.0},
        [
            (1.5, 0),
            (2.0, 0),
            (2.01, 1),
            (3.0, 1),
            (3.01, 2),
            (6, 2),
            (6.01, 3),
            (20, 3),
            (20.01, 4),
        ],
    ),
    # 6.2 Creatinine increased, ULN criterion (a high baseline keeps the BL criterion lower).
    *cases(
        "creatinine",
        {"uln": 1.0, "baseline": 2.0},
        [(1.0, 0), (1.01, 1), (1.5, 1), (1.51, 2), (3.0, 2), (3.01, 3), (6.0, 3), (6.01, 4)],
    ),
    # 6.2 Creatinine increased, BL criterion: 1.5 BL < x <= 3 BL is G2, x > 3 BL is G3; the
    # grade is the higher of the two criteria.
    *cases(
        "creatinine",
        {"uln": 1.2, "baseline": 0.4},
        [(0.6, 0), (0.61, 2), (1.2, 2), (1.21, 3), (7.2, 3), (7.21, 4)],
    ),
    # 6.2 INR increased: 1.2 < x <= 1.5 < x <= 2.5 < x; no grade 4.
    *cases(
        "inr",
        {},
        [(1.2, 0), (1.21, 1), (1.5, 1), (1.51, 2), (2.5, 2), (2.51, 3), (9.0, 3)],
    ),
    # 6.2 INR increased on anticoagulants: 1.0 BL < x <= 1.5 BL < x <= 2.5 BL < x.
    *cases(
        "inr",
        {"baseline": 2.0, "on_anticoagulants": True},
        [(2.0, 0), (2.01, 1), (3.0, 1), (3.01, 2), (5.0, 2), (5.01, 3)],
    ),
    # 6.2 Neutrophil count decreased: 1.5 <= x < LLN; 1.0 <= x < 1.5; 0.5 <= x < 1.0; x < 0.5.
    *cases(
        "neutrophils",
        {"lln": 2.0},
        [(2.0, 0), (1.99, 1), (1.5, 1), (1.49, 2), (1.0, 2), (0.99, 3), (0.5, 3), (0.49, 4)],
    ),
    # 6.2: the absolute bounds hold when the LLN is below them (1.0 <= 1.3 < 1.5 is G2).
    *cases("neutrophils", {"lln": 1.2}, [(1.3, 2), (1.6, 0)]),
    # 6.2 Platelet count decreased: 75 <= x < LLN; 50 <= x < 75; 25 <= x < 50; x < 25.
    *cases(
        "platelets",
        {"lln": 150},
        [(150, 0), (149, 1), (75, 1), (74.9, 2), (50, 2), (49.9, 3), (25, 3), (24.9, 4)],
    ),
    # 6.2 Anemia (g/dL): 10.0 <= x < LLN; 8.0 <= x < 10.0; x < 8.0; grade 4 is clinical only.
    *cases(
        "hemoglobin",
        {"lln": 13.5},
        [(13.5, 0), (13.4, 1), (10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3), (3.0, 3)],
    ),
    # 6.2 Lymphocyte count decreased: 0.8 <= x < LLN; 0.5 <= x < 0.8; 0.2 <= x < 0.5; x < 0.2.
    *cases(
        "lymphocytes",
        {"lln": 1.0},
        [(1.0, 0), (0.99, 1), (0.8, 1), (0.79, 2), (0.5, 2), (0.49, 3), (0.2, 3), (0.19, 4)],
    ),
    # 6.2 Hypoalbuminemia (g/dL): 3.0 <= x < LLN; 2.0 <= x < 3.0; x < 2.0; grade 4 clinical only.
    *cases(
        "albumin",
        {"lln": 3.5},
        [(3.5, 0), (3.4, 1), (3.0, 1), (2.99, 2), (2.0, 2), (1.99, 3), (0.5, 3)],
    ),
]


@pytest.mark.parametrize(("test", "value", "fields", "expected"), BOUNDARY_CASES)
def test_every_bound_of_domain_6_2(
    test: str, value: float, fields: dict[str, Any], expected: int | None
) -> None:
    assert grade(test, value, **fields) == expected


@pytest.mark.parametrize(
    ("test", "value", "fields", "expected"),
    [
        # domain.md 0 "Arithmetic": a value exactly on k x ULN must not be decided by IEEE doubles.
        # 3 * 0.7 is 2.0999999999999996 in doubles, which would make 2.1 "> 3 ULN" (grade 3).
        ("creatinine", 2.1, {"uln": 0.7, "baseline": 1.4}, 2),
        # 51.3 umol/L is exactly 3 x 17.1 (grade 2, not 3); 51.3 / 17.1 = 2.9999999999999996.
        ("bilirubin", 51.3, {"uln": 17.1, "baseline": 10, "unit": "umol/L"}, 2),
        ("bilirubin", 25.65, {"uln": 17.1, "baseline": 10, "unit": "umol/L"}, 1),
        # 6.2 abnormal ALT baseline: 1.5 x 33.3 = 49.95 is the inclusive start of grade 1.
        ("ALT", 49.95, {"uln": 33, "baseline": 33.3}, 1),
        ("ALT", 49.94, {"uln": 33, "baseline": 33.3}, 0),
    ],
)
def test_exact_decimal_boundaries(
    test: str, value: float, fields: dict[str, Any], expected: int
) -> None:
    assert grade(test, value, **fields) == expected


@pytest.mark.parametrize(
    ("test", "value", "fields", "expected"),
    [
        # 6.2 last rule: units are converted to the grading unit (platelets /uL / 1000 = 10^9/L).
        ("platelets", 74999, {"lln": 150000, "unit": "cells/uL"}, 2),
        ("platelets", 75000, {"lln": 150000, "unit": "/uL"}, 1),
        ("neutrophils", 499, {"lln": 2000, "unit": "cells/uL"}, 4),
        ("neutrophils", 1.5, {"lln": 2.0, "unit": "10^3/uL"}, 1),
        ("hemoglobin", 100, {"lln": 135, "unit": "g/L"}, 1),
        ("hemoglobin", 99, {"lln": 135, "unit": "g/L"}, 2),
        ("hemoglobin", 79, {"lln": 135, "unit": "g/L"}, 3),
        ("albumin", 30, {"lln": 35, "unit": "g/L"}, 1),
        ("albumin", 29, {"lln": 35, "unit": "g/L"}, 2),
        ("albumin", 19, {"lln": 35, "unit": "g/L"}, 3),
        ("creatinine", 133, {"uln": 88, "baseline": 80, "unit": "umol/L"}, 2),
        ("ALT", 121, {"uln": 40, "baseline": 30, "unit": "IU/L"}, 2),
        ("inr", 1.6, {"unit": None}, 2),
    ],
)
def test_units_convert_to_the_grading_unit(
    test: str, value: float, fields: dict[str, Any], expected: int
) -> None:
    assert grade(test, value, **fields) == expected


@pytest.mark.parametrize(
    ("test", "value", "fields", "expected"),
    [
        # domain.md 0 tri-state: without a baseline the grade is known only if every baseline
        # gives the same grade. ALT/AST/bilirubin at or below ULN: grade 0 on both branches.
        ("ALT", 40, {"uln": 40}, 0),
        ("ALT", 41, {"uln": 40}, None),
        ("AST", 900, {"uln": 40}, None),
        ("bilirubin", 1.2, {"uln": 1.2}, 0),
        ("bilirubin", 1.3, {"uln": 1.2}, None),
        # Creatinine: the BL criterion reaches grade 3 at most, so ULN grades 3 and 4 are known.
        ("creatinine", 3.01, {"uln": 1.0}, 3),
        ("creatinine", 6.01, {"uln": 1.0}, 4),
        ("creatinine", 1.2, {"uln": 1.0}, None),
        ("creatinine", 0.5, {"uln": 1.0}, None),
        # INR on anticoagulants is graded against baseline only.
        ("inr", 3.0, {"on_anticoagulants": True}, None),
        # Absolute-threshold terms never need a baseline.
        ("platelets", 40, {"lln": 150}, 3),
        ("inr", 1.6, {}, 2),
    ],
)
def test_missing_baseline_is_unknown_only_when_it_matters(
    test: str, value: float, fields: dict[str, Any], expected: int | None
) -> None:
    assert grade(test, value, **fields) == expected


@pytest.mark.parametrize(
    ("test", "term"),
    [
        # CTCAE v5.0 term names (interfaces.md example "Alanine aminotransferase increased").
        ("ALT", "Alanine aminotransferase increased"),
        ("AST", "Aspartate aminotransferase increased"),
        ("bilirubin", "Blood bilirubin increased"),
        ("neutrophils", "Neutrophil count decreased"),
        ("platelets", "Platelet count decreased"),
        ("hemoglobin", "Anemia"),
        ("lymphocytes", "Lymphocyte count decreased"),
        ("creatinine", "Creatinine increased"),
        ("albumin", "Hypoalbuminemia"),
        ("inr", "INR increased"),
    ],
)
def test_ctcae_terms(test: Any, term: str) -> None:
    assert ctcae_term(test) == term


INCREASING = {
    "ALT": {"uln": 40},
    "AST": {"uln": 40},
    "bilirubin": {"uln": 1.2},
    "creatinine": {"uln": 1.1},
    "inr": {},
}
DECREASING = {
    "neutrophils": {"lln": 1.8},
    "platelets": {"lln": 150},
    "hemoglobin": {"lln": 13},
    "lymphocytes": {"lln": 1.0},
    "albumin": {"lln": 3.5},
}
VALUES = st.decimals(min_value=0, max_value=2000, places=2)


@given(
    test=st.sampled_from(sorted(INCREASING)),
    baseline=st.decimals(min_value=Decimal("0.01"), max_value=200, places=2),
    anticoagulated=st.booleans(),
    values=st.tuples(VALUES, VALUES),
)
def test_grade_is_monotone_upwards_for_a_fixed_baseline(
    test: str, baseline: Decimal, anticoagulated: bool, values: tuple[Decimal, Decimal]
) -> None:
    # domain.md 6.2: for a fixed baseline and range, a higher value never has a lower grade.
    low, high = sorted(values)
    extra = {"on_anticoagulants": anticoagulated} if test == "inr" else {}
    fields = {**INCREASING[test], "baseline": float(baseline), **extra}
    assert grade(test, float(low), **fields) <= grade(test, float(high), **fields)  # type: ignore[operator]


@given(test=st.sampled_from(sorted(DECREASING)), values=st.tuples(VALUES, VALUES))
def test_grade_is_monotone_downwards(test: str, values: tuple[Decimal, Decimal]) -> None:
    # domain.md 6.2: for decreases, a lower value never has a lower grade.
    low, high = sorted(values)
    fields = DECREASING[test]
    assert grade(test, float(low), **fields) >= grade(test, float(high), **fields)  # type: ignore[operator]


@given(value=st.integers(0, 500_000), lln=st.integers(1, 500_000))
def test_count_units_agree(value: int, lln: int) -> None:
    # domain.md 6.2: cells/uL / 1000 = 10^9/L, so both spellings grade alike.
    per_ul = grade("platelets", value, lln=lln, unit="cells/uL")
    per_l = grade("platelets", float(Decimal(value) / 1000), lln=float(Decimal(lln) / 1000))
    assert per_ul == per_l


def result(**changes: Any) -> dict[str, Any]:
    base = {"id": "r", "test": "ALT", "value": 50, "unit": "U/L", "lln": 0, "uln": 40}
    return {**base, **changes}


BAD = [
    # interfaces.md: wrong unit, unknown test, unknown key -> exit 2 naming results[i].field.
    (result(unit="mg/L"), "results[1].unit", "'mg/L' is not one of U/L, IU/L"),
    (result(unit=None), "results[1].unit", "required to grade ALT"),
    (result(test="ggt"), "results[1].test", "'ggt'"),
    (result(flag="H"), "results[1].flag", "unknown key"),
    (result(value="50"), "results[1].value", "is not a number"),
    (result(value=True), "results[1].value", "is not a number"),
    (result(value=float("nan")), "results[1].value", "not a finite number"),
    (result(value=-1), "results[1].value", "negative"),
    (result(uln=None), "results[1].uln", "required to grade ALT"),
    (result(uln=0), "results[1].uln", "greater than 0"),
    (result(lln=50), "results[1].lln", "above uln"),
    (result(test="platelets", unit="10^9/L", lln=None), "results[1].lln", "required"),
    (result(on_anticoagulants=True), "results[1].on_anticoagulants", "inr only"),
    (
        result(test="creatinine", unit="mg/dL", baseline=0),
        "results[1].baseline",
        "greater than 0",
    ),
    (result(id=None), "results[1].id", "not a non-empty string or an integer"),
    (result(lln="low"), "results[1].lln", "is not a number"),
]


@pytest.mark.parametrize(("record", "field", "problem"), BAD)
def test_bad_input_names_the_result_and_field(
    record: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        lab_grades(lab_results({"results": [result(), record]}))
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_unknown_top_level_key() -> None:
    with pytest.raises(InputError, match="labs: unknown key"):
        lab_results({"results": [], "labs": []})


runner = CliRunner()


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "labs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_json_contract(tmp_path: Path) -> None:
    # interfaces.md: output {"results": [{"id", "term", "grade"}]} in input order.
    document = {
        "results": [
            {"id": "a", "test": "ALT", "value": 130, "unit": "U/L", "lln": 7, "uln": 40,
             "baseline": 30},
            {"id": 7, "test": "platelets", "value": 49, "unit": "10^9/L", "lln": 150, "uln": 400,
             "baseline": None},
            {"id": "c", "test": "AST", "value": 60, "unit": "U/L", "lln": 8, "uln": 40,
             "baseline": None},
        ]
    }  # fmt: skip
    result = runner.invoke(app, ["ctcae", "grade", str(_write(tmp_path, document)), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "results": [
            {"id": "a", "term": "Alanine aminotransferase increased", "grade": 2},
            {"id": 7, "term": "Platelet count decreased", "grade": 3},
            {"id": "c", "term": "Aspartate aminotransferase increased", "grade": None},
        ]
    }
    table = runner.invoke(app, ["ctcae", "grade", str(_write(tmp_path, document))])
    assert table.exit_code == 0
    assert "Platelet count decreased" in table.stdout


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, {"results": [result(), result(test="albumin", unit="mg/dL")]})
    result_ = runner.invoke(app, ["ctcae", "grade", str(path), "--json"])
    assert result_.exit_code == 2
    assert result_.stdout == ""
    assert result_.stderr.strip() == f"{path}: results[1].unit: 'mg/dL' is not one of g/dL, g/L"
