"""Laboratory units: allowed units per analyte and exact conversions (domain.md 0 and 4.1).

Conversions multiply by exact decimal factors, so a value converted to SI units is exact and rules
compare in SI units: ``51.3 umol/L`` is exactly ``3 mg/dL x 17.1``, which binary floating point
would get wrong. Division (SI to conventional units) is only used for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ikctrial.errors import InputError

BILIRUBIN_UMOL_L_PER_MG_DL = Decimal("17.1")
"""Bilirubin: 1 mg/dL = 17.1 umol/L (domain.md 4.1)."""

ALBUMIN_G_L_PER_G_DL = Decimal(10)
"""Albumin: 1 g/dL = 10 g/L."""

BILIRUBIN_UNITS: tuple[str, ...] = ("mg/dL", "umol/L")
ALBUMIN_UNITS: tuple[str, ...] = ("g/dL", "g/L")
AFP_UNITS: tuple[str, ...] = ("ng/mL",)


def not_one_of(value: object, allowed: Sequence[str]) -> str:
    """The problem sentence for a value outside a closed list, e.g. ``'mg/L' is not one of ...``."""
    return f"{value!r} is not one of {', '.join(allowed)}"


def require_unit(unit: str, allowed: Sequence[str], field: str) -> str:
    """Return ``unit`` if it is one of ``allowed``; otherwise an ``InputError`` naming ``field``."""
    if unit not in allowed:
        raise InputError(field, not_one_of(unit, allowed))
    return unit


def bilirubin_umol_l(value: Decimal, unit: str) -> Decimal:
    """Bilirubin in umol/L (exact)."""
    require_unit(unit, BILIRUBIN_UNITS, "unit")
    return value * BILIRUBIN_UMOL_L_PER_MG_DL if unit == "mg/dL" else value


def bilirubin_mg_dl(value: Decimal, unit: str) -> Decimal:
    """Bilirubin in mg/dL (a quotient: for display, not for boundary decisions)."""
    require_unit(unit, BILIRUBIN_UNITS, "unit")
    return value if unit == "mg/dL" else value / BILIRUBIN_UMOL_L_PER_MG_DL


def albumin_g_l(value: Decimal, unit: str) -> Decimal:
    """Albumin in g/L (exact)."""
    require_unit(unit, ALBUMIN_UNITS, "unit")
    return value * ALBUMIN_G_L_PER_G_DL if unit == "g/dL" else value


def albumin_g_dl(value: Decimal, unit: str) -> Decimal:
    """Albumin in g/dL (exact: division by 10 is exact in decimal)."""
    require_unit(unit, ALBUMIN_UNITS, "unit")
    return value if unit == "g/dL" else value / ALBUMIN_G_L_PER_G_DL
