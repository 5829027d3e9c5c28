"""Strata from the protocol's factors, and a subject's stratum from the derived values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol
from ikctrial.randomization import all_strata, stratum_key, subject_stratum


@dataclass(frozen=True)
class Factor:
    name: str
    source: str
    levels: tuple[str, ...]


FACTORS = load_protocol().randomization.stratification_factors


def test_protocol_strata_are_bclc_by_child_pugh() -> None:
    """9.4: BCLC (B, C) x Child-Pugh class (A, B) -> 4 strata."""
    keys = [stratum_key(levels) for levels in all_strata(FACTORS)]
    assert keys == [
        "bclc=B|child_pugh=A",
        "bclc=B|child_pugh=B",
        "bclc=C|child_pugh=A",
        "bclc=C|child_pugh=B",
    ]


def test_no_factor_is_one_stratum() -> None:
    """An unstratified protocol has a single, empty stratum."""
    assert all_strata([]) == [{}]


@pytest.mark.parametrize(
    ("derived", "expected"),
    [
        ({"bclc": "C", "child_pugh": {"class": "A", "score": 6}}, {"bclc": "C", "child_pugh": "A"}),
        ({"bclc": "B", "child_pugh": {"class": "B", "score": 8}}, {"bclc": "B", "child_pugh": "B"}),
    ],
)
def test_stratum_is_read_from_derived_values(
    derived: dict[str, Any], expected: dict[str, str]
) -> None:
    """Each factor's ``source`` is a path into the eligibility ``derived`` output."""
    assert subject_stratum(derived, FACTORS) == expected


@pytest.mark.parametrize(
    ("derived", "field"),
    [
        ({"bclc": None, "child_pugh": {"class": "A"}}, "derived.bclc"),
        ({"bclc": "C", "child_pugh": None}, "derived.child_pugh.class"),
        ({"bclc": "A", "child_pugh": {"class": "A"}}, "derived.bclc"),  # stage A: not a level
        ({"bclc": "C", "child_pugh": {"class": "C"}}, "derived.child_pugh.class"),
    ],
)
def test_unknown_or_foreign_level_cannot_be_stratified(derived: dict[str, Any], field: str) -> None:
    """A missing value or a value outside the factor's levels is an InputError naming the path."""
    with pytest.raises(InputError) as caught:
        subject_stratum(derived, FACTORS)
    assert caught.value.field == field


def test_custom_factor_paths() -> None:
    """Another protocol may stratify on any derived value (here ALBI grade)."""
    factors = [Factor(name="albi", source="albi.grade", levels=("1", "2", "3"))]
    assert subject_stratum({"albi": {"grade": 2}}, factors) == {"albi": "2"}
