"""ECOG validation (domain.md 4.4), age in completed years and partial dates (domain.md 5.2)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.age import age_in_completed_years, age_range
from ikctrial.clinical.ecog import ecog_grade
from ikctrial.clinical.partial_date import parse_iso_date, parse_partial_date
from ikctrial.errors import InputError


@pytest.mark.parametrize("value", [0, 1, 2, 3, 4, 5])
def test_ecog_accepts_0_to_5(value: int) -> None:
    assert ecog_grade(value) == value


@pytest.mark.parametrize("value", [-1, 6, 1.0, True, "1", None])
def test_ecog_rejects_non_grades(value: object) -> None:
    with pytest.raises(InputError) as raised:
        ecog_grade(value)
    assert raised.value.field == "ecog"


@pytest.mark.parametrize(
    ("birth", "on", "age", "rule"),
    [
        (date(2005, 6, 30), date(2025, 6, 30), 20, "birthday on S counts (Age 1)"),
        (date(2005, 7, 1), date(2025, 6, 30), 19, "birthday the day after S (Age 2)"),
        (date(1945, 6, 30), date(2025, 6, 30), 80, "80th birthday on S (Age 3)"),
        (date(1945, 7, 1), date(2025, 6, 30), 79, "79 until the day before (Age 4)"),
        (date(2004, 2, 29), date(2025, 2, 28), 20, "29 Feb birthday not reached on 28 Feb"),
        (date(2004, 2, 29), date(2025, 3, 1), 21, "29 Feb birthday reached on 1 March"),
        (date(2004, 2, 29), date(2024, 2, 29), 20, "leap year: birthday itself"),
    ],
)
def test_age_in_completed_years(birth: date, on: date, age: int, rule: str) -> None:
    assert age_in_completed_years(birth, on) == age, rule


@pytest.mark.parametrize(
    ("birth", "ages", "case"),
    [
        ("2005-06", (20, 20), "Age 5: born June 2005 -> 20 for every day"),
        ("2005", (19, 20), "Age 6: born 2005 -> 19 or 20"),
        ("1958-07-14", (66, 66), "complete date"),
        ("2025", (0, 0), "born this year: days after S are not possible"),
    ],
)
def test_age_range_of_partial_birth_date(birth: str, ages: tuple[int, int], case: str) -> None:
    assert age_range(parse_partial_date(birth, "birth_date"), date(2025, 6, 30)) == ages, case


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2025-05", date(2025, 5, 1), date(2025, 5, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2025-06-03", date(2025, 6, 3), date(2025, 6, 3)),
    ],
)
def test_partial_date_interval(text: str, earliest: date, latest: date) -> None:
    parsed = parse_partial_date(text, "end_date")
    assert (parsed.earliest, parsed.latest) == (earliest, latest)
    assert str(parsed) == text


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "25-06", "2025-6", "2025-02-30", "June"])
def test_bad_partial_dates(text: str) -> None:
    with pytest.raises(InputError):
        parse_partial_date(text, "end_date")


@pytest.mark.parametrize("text", ["2025-06", "20250630", "2025-06-31", "2025/06/30"])
def test_full_date_required(text: str) -> None:
    with pytest.raises(InputError):
        parse_iso_date(text, "screening_date")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 6, 30)))
def test_partial_birth_range_contains_the_true_age(birth: date) -> None:
    on = date(2025, 6, 30)
    true_age = age_in_completed_years(birth, on)
    for text in (birth.strftime("%Y-%m"), str(birth.year)):
        low, high = age_range(parse_partial_date(text, "birth_date"), on)
        assert low <= true_age <= high
        assert high - low <= 1
