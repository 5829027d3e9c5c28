"""Child-Pugh points, score, class and missing components (domain.md 4.1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.child_pugh import (
    ChildPugh,
    albumin_points,
    bilirubin_points,
    child_pugh,
    child_pugh_class,
    inr_points,
)
from ikctrial.errors import InputError


@pytest.mark.parametrize(
    ("value", "unit", "points", "rule"),
    [
        ("1.99", "mg/dL", 1, "x < 2 mg/dL -> 1"),
        ("2", "mg/dL", 2, "2 <= x: boundary 2 mg/dL is 2 points"),
        ("3", "mg/dL", 2, "x <= 3: boundary 3 mg/dL is 2 points"),
        ("3.01", "mg/dL", 3, "x > 3 mg/dL -> 3"),
        # domain.md 4.1 rule 3 table: the published umol/L column is not used
        ("33.9", "umol/L", 1, "33.9 umol/L = 1.982 mg/dL"),
        ("34.0", "umol/L", 1, "34.0 umol/L = 1.988 mg/dL (published column would say 2)"),
        ("34.2", "umol/L", 2, "34.2 umol/L = 2.000 mg/dL"),
        ("50.5", "umol/L", 2, "50.5 umol/L = 2.953 mg/dL (published column would say 3)"),
        ("51.3", "umol/L", 2, "51.3 umol/L = 3.000 mg/dL exactly"),
        ("51.4", "umol/L", 3, "51.4 umol/L = 3.006 mg/dL"),
    ],
)
def test_bilirubin_points(value: str, unit: str, points: int, rule: str) -> None:
    assert bilirubin_points(Decimal(value), unit) == points, rule


@pytest.mark.parametrize(
    ("value", "unit", "points", "rule"),
    [
        ("3.51", "g/dL", 1, "x > 3.5 g/dL -> 1"),
        ("3.5", "g/dL", 2, "3.5 g/dL is not > 3.5 -> 2"),
        ("35", "g/L", 2, "35 g/L = 3.5 g/dL -> 2"),
        ("2.8", "g/dL", 2, "2.8 <= x -> 2"),
        ("28", "g/L", 2, "28 g/L = 2.8 g/dL -> 2"),
        ("2.79", "g/dL", 3, "x < 2.8 g/dL -> 3"),
        ("27.9", "g/L", 3, "27.9 g/L < 28 -> 3"),
    ],
)
def test_albumin_points(value: str, unit: str, points: int, rule: str) -> None:
    assert albumin_points(Decimal(value), unit) == points, rule


@pytest.mark.parametrize(
    ("inr", "points", "rule"),
    [
        ("1.69", 1, "x < 1.7 -> 1"),
        ("1.7", 2, "1.7 <= x -> 2"),
        ("2.3", 2, "x <= 2.3 -> 2"),
        ("2.31", 3, "x > 2.3 -> 3"),
    ],
)
def test_inr_points(inr: str, points: int, rule: str) -> None:
    assert inr_points(Decimal(inr)) == points, rule


@pytest.mark.parametrize(
    ("score", "expected"),
    [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")],
)
def test_class_boundaries(score: int, expected: str) -> None:
    # domain.md 4.1: 5-6 A, 7-9 B, 10-15 C (9 vs 10 is the I5 boundary)
    assert child_pugh_class(score) == expected


@pytest.mark.parametrize("score", [4, 16])
def test_class_rejects_impossible_score(score: int) -> None:
    with pytest.raises(InputError):
        child_pugh_class(score)


@pytest.mark.parametrize(
    ("case", "inputs", "points", "score", "klass"),
    [
        (
            "CP1",
            {
                "bilirubin": (Decimal("25"), "umol/L"),
                "albumin": (Decimal("33"), "g/L"),
                "inr": Decimal("1.25"),
                "ascites": "none",
                "encephalopathy": "none",
            },
            (1, 2, 1, 1, 1),
            6,
            "A",
        ),
        (
            "CP2",
            {
                "bilirubin": (Decimal("2.5"), "mg/dL"),
                "albumin": (Decimal("2.7"), "g/dL"),
                "inr": Decimal("1.8"),
                "ascites": "mild",
                "encephalopathy": "none",
            },
            (2, 3, 2, 2, 1),
            10,
            "C",
        ),
        (
            "CP3",
            {
                "bilirubin": (Decimal("34.0"), "umol/L"),
                "albumin": (Decimal("35"), "g/L"),
                "inr": Decimal("1.7"),
                "ascites": "none",
                "encephalopathy": "none",
            },
            (1, 2, 2, 1, 1),
            7,
            "B",
        ),
    ],
)
def test_worked_examples(
    case: str,
    inputs: dict[str, object],
    points: tuple[int, ...],
    score: int,
    klass: str,
) -> None:
    result = child_pugh(**inputs)  # type: ignore[arg-type]
    assert tuple(result.points.values()) == points, case
    assert result.score == score, case
    assert result.child_pugh_class == klass, case


def test_cp4_missing_components_give_a_or_b() -> None:
    # domain.md 4.1 CP4: INR and HE missing -> 5..9, A or B, class unknown
    result = child_pugh(
        bilirubin=(Decimal("1.2"), "mg/dL"),
        albumin=(Decimal("3.8"), "g/dL"),
        inr=None,
        ascites="none",
        encephalopathy=None,
    )
    assert (result.min_score, result.max_score) == (5, 9)
    assert result.score is None
    assert result.child_pugh_class is None
    assert result.possible_classes == {"A", "B"}
    assert result.label() == "5-9 (A or B)"


def test_missing_components_in_one_class_still_give_the_class() -> None:
    # min 7 and max 9 both B: the class is determined though the score is not
    result = ChildPugh(
        {"bilirubin": 2, "albumin": 2, "inr": 1, "ascites": 1, "encephalopathy": None}
    )
    assert result.score is None
    assert result.child_pugh_class == "B"


points_st = st.one_of(st.none(), st.integers(min_value=1, max_value=3))


@given(st.tuples(points_st, points_st, points_st, points_st, points_st))
def test_score_is_sum_of_points_within_5_to_15(points: tuple[int | None, ...]) -> None:
    result = ChildPugh(
        dict(zip(("bilirubin", "albumin", "inr", "ascites", "encephalopathy"), points, strict=True))
    )
    assert 5 <= result.min_score <= result.max_score <= 15
    known = [p for p in points if p is not None]
    assert result.min_score == sum(known) + (5 - len(known))
    assert result.max_score == sum(known) + 3 * (5 - len(known))
    if len(known) == 5:
        assert result.score == sum(known)


@given(
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal("30"), places=2),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("6"), places=2),
)
def test_unit_conversion_never_changes_points(
    bilirubin_mg_dl: Decimal, albumin_g_dl: Decimal
) -> None:
    # property: entering the same value in SI units gives the same points and class
    assert bilirubin_points(bilirubin_mg_dl, "mg/dL") == bilirubin_points(
        bilirubin_mg_dl * Decimal("17.1"), "umol/L"
    )
    assert albumin_points(albumin_g_dl, "g/dL") == albumin_points(albumin_g_dl * 10, "g/L")
    conventional = child_pugh(
        bilirubin=(bilirubin_mg_dl, "mg/dL"),
        albumin=(albumin_g_dl, "g/dL"),
        inr=Decimal("1.1"),
        ascites="none",
        encephalopathy="none",
    )
    si = child_pugh(
        bilirubin=(bilirubin_mg_dl * Decimal("17.1"), "umol/L"),
        albumin=(albumin_g_dl * 10, "g/L"),
        inr=Decimal("1.1"),
        ascites="none",
        encephalopathy="none",
    )
    assert conventional.child_pugh_class == si.child_pugh_class
