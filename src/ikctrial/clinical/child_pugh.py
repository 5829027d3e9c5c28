"""Child-Pugh score and class with tri-state handling of missing components (domain.md 4.1).

Sources: Child & Turcotte 1964; Pugh et al., Br J Surg 1973;60:646-649. Lab values are compared in
SI units after an exact conversion, against the mg/dL and g/dL thresholds converted the same way;
the rounded umol/L column of the published table is never used (domain.md 4.1 rule 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ikctrial.clinical.units import (
    ALBUMIN_G_L_PER_G_DL,
    BILIRUBIN_UMOL_L_PER_MG_DL,
    albumin_g_l,
    bilirubin_umol_l,
)
from ikctrial.errors import InputError

ChildPughClass = Literal["A", "B", "C"]
COMPONENTS: tuple[str, ...] = ("bilirubin", "albumin", "inr", "ascites", "encephalopathy")
"""Component names, in the order of the published table and of the output's ``points``."""

ASCITES_POINTS: Mapping[str, int] = {"none": 1, "mild": 2, "moderate_severe": 3}
ENCEPHALOPATHY_POINTS: Mapping[str, int] = {"none": 1, "grade_1_2": 2, "grade_3_4": 3}
NO_ENCEPHALOPATHY = "none"
"""The encephalopathy category that means no overt hepatic encephalopathy at the assessment."""

BILIRUBIN_LOW_UMOL_L = Decimal(2) * BILIRUBIN_UMOL_L_PER_MG_DL
"""2 mg/dL: 1 point below, 2 points from here (34.2 umol/L)."""
BILIRUBIN_HIGH_UMOL_L = Decimal(3) * BILIRUBIN_UMOL_L_PER_MG_DL
"""3 mg/dL: 2 points up to here, 3 points above (51.3 umol/L)."""
ALBUMIN_LOW_G_L = Decimal("2.8") * ALBUMIN_G_L_PER_G_DL
"""2.8 g/dL: 3 points below, 2 points from here."""
ALBUMIN_HIGH_G_L = Decimal("3.5") * ALBUMIN_G_L_PER_G_DL
"""3.5 g/dL: 2 points up to here, 1 point above."""
INR_LOW = Decimal("1.7")
INR_HIGH = Decimal("2.3")
MIN_POINTS, MAX_POINTS = 1, 3


def _rising_points(value: Decimal, low: Decimal, high: Decimal) -> int:
    """1 below ``low``, 2 in the closed interval ``[low, high]``, 3 above ``high``."""
    if value < low:
        return 1
    return 2 if value <= high else 3


def bilirubin_points(value: Decimal, unit: str) -> int:
    """Points for total bilirubin: < 2 mg/dL 1; 2 <= x <= 3 mg/dL 2; > 3 mg/dL 3."""
    return _rising_points(
        bilirubin_umol_l(value, unit), BILIRUBIN_LOW_UMOL_L, BILIRUBIN_HIGH_UMOL_L
    )


def albumin_points(value: Decimal, unit: str) -> int:
    """Points for albumin: > 3.5 g/dL 1; 2.8 <= x <= 3.5 g/dL 2; < 2.8 g/dL 3."""
    g_l = albumin_g_l(value, unit)
    if g_l > ALBUMIN_HIGH_G_L:
        return 1
    return 2 if g_l >= ALBUMIN_LOW_G_L else 3


def inr_points(inr: Decimal) -> int:
    """Points for INR: < 1.7 1; 1.7 <= x <= 2.3 2; > 2.3 3."""
    return _rising_points(inr, INR_LOW, INR_HIGH)


def _category_points(value: str, table: Mapping[str, int], field: str) -> int:
    if value not in table:
        raise InputError(field, f"{value!r} is not one of {', '.join(table)}")
    return table[value]


def ascites_points(ascites: str) -> int:
    """Points for ascites: none 1, mild 2, moderate_severe 3."""
    return _category_points(ascites, ASCITES_POINTS, "ascites")


def encephalopathy_points(encephalopathy: str) -> int:
    """Points for hepatic encephalopathy: none 1, grade_1_2 2, grade_3_4 3 (West Haven)."""
    return _category_points(encephalopathy, ENCEPHALOPATHY_POINTS, "encephalopathy")


def child_pugh_class(score: int) -> ChildPughClass:
    """Class of a total score: 5-6 A, 7-9 B, 10-15 C."""
    if not 5 <= score <= 15:
        raise InputError("score", f"{score} is outside the Child-Pugh range 5..15")
    if score <= 6:
        return "A"
    return "B" if score <= 9 else "C"


@dataclass(frozen=True)
class ChildPugh:
    """Points per component (None = missing) and the resulting score range and classes."""

    points: Mapping[str, int | None]

    @property
    def min_score(self) -> int:
        """Score if every missing component scored 1 point."""
        return sum(MIN_POINTS if p is None else p for p in self.points.values())

    @property
    def max_score(self) -> int:
        """Score if every missing component scored 3 points."""
        return sum(MAX_POINTS if p is None else p for p in self.points.values())

    @property
    def score(self) -> int | None:
        """The total score when every component is known."""
        return self.min_score if self.min_score == self.max_score else None

    @property
    def possible_classes(self) -> frozenset[ChildPughClass]:
        """Every class some completion of the missing components could give."""
        return frozenset(child_pugh_class(s) for s in range(self.min_score, self.max_score + 1))

    @property
    def child_pugh_class(self) -> ChildPughClass | None:
        """The class when every completion gives the same one (CP4 gives A or B: None)."""
        classes = self.possible_classes
        return next(iter(classes)) if len(classes) == 1 else None

    def label(self) -> str:
        """``B8`` when known, else the range, e.g. ``5-9 (A or B)``."""
        if self.score is not None:
            return f"{self.child_pugh_class}{self.score}"
        classes = " or ".join(sorted(self.possible_classes))
        return f"{self.min_score}-{self.max_score} ({classes})"


def child_pugh(
    *,
    bilirubin: tuple[Decimal, str] | None,
    albumin: tuple[Decimal, str] | None,
    inr: Decimal | None,
    ascites: str | None,
    encephalopathy: str | None,
) -> ChildPugh:
    """Child-Pugh points of the five components; labs as ``(value, unit)``; None = missing."""
    points: dict[str, int | None] = {
        "bilirubin": None if bilirubin is None else bilirubin_points(*bilirubin),
        "albumin": None if albumin is None else albumin_points(*albumin),
        "inr": None if inr is None else inr_points(inr),
        "ascites": None if ascites is None else ascites_points(ascites),
        "encephalopathy": None if encephalopathy is None else encephalopathy_points(encephalopathy),
    }
    return ChildPugh(points)
