"""ALBI score and grade (Johnson PJ et al., J Clin Oncol 2015;33:550-558; domain.md 4.2).

``ALBI = 0.66 x log10(bilirubin umol/L) - 0.085 x albumin g/L``, computed in ``Decimal`` (28
significant digits) so the grade, decided on the unrounded value, never depends on binary floating
point.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ikctrial.clinical.units import albumin_g_l, bilirubin_umol_l
from ikctrial.errors import InputError

BILIRUBIN_COEFFICIENT = Decimal("0.66")
ALBUMIN_COEFFICIENT = Decimal("0.085")
GRADE_1_MAX = Decimal("-2.60")
"""Grade 1: ALBI <= -2.60."""
GRADE_2_MAX = Decimal("-1.39")
"""Grade 2: -2.60 < ALBI <= -1.39; grade 3 above."""
ALBI_DISPLAY_DECIMALS = 4
"""Decimals of the score in outputs and QC listings."""


def albi_score(
    bilirubin: Decimal, bilirubin_unit: str, albumin: Decimal, albumin_unit: str
) -> Decimal:
    """The unrounded ALBI score; bilirubin must be positive."""
    bilirubin_si = bilirubin_umol_l(bilirubin, bilirubin_unit)
    if bilirubin_si <= 0:
        raise InputError("bilirubin", "must be > 0 for ALBI (log10)")
    return BILIRUBIN_COEFFICIENT * bilirubin_si.log10() - ALBUMIN_COEFFICIENT * albumin_g_l(
        albumin, albumin_unit
    )


def albi_grade(score: Decimal) -> Literal[1, 2, 3]:
    """Grade 1 (<= -2.60), 2 (<= -1.39) or 3, on the unrounded score."""
    if score <= GRADE_1_MAX:
        return 1
    return 2 if score <= GRADE_2_MAX else 3


def albi_display(score: Decimal) -> float:
    """The score rounded half-up to 4 decimals, as a JSON number."""
    return float(score.quantize(Decimal(1).scaleb(-ALBI_DISPLAY_DECIMALS), ROUND_HALF_UP))
