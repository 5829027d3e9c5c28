"""ECOG performance status (Oken MM et al., Am J Clin Oncol 1982;5:649-655; domain.md 4.4)."""

from __future__ import annotations

from ikctrial.errors import InputError

ECOG_MIN, ECOG_MAX = 0, 5


def ecog_grade(value: object, field: str = "ecog") -> int:
    """``value`` as an ECOG grade: an integer 0..5 (a bool or a float is not a grade)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"{value!r} is not an integer {ECOG_MIN}..{ECOG_MAX}")
    if not ECOG_MIN <= value <= ECOG_MAX:
        raise InputError(field, f"{value} is outside {ECOG_MIN}..{ECOG_MAX}")
    return value
