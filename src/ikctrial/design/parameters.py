"""Checks on design parameters, in one place, so every front door rejects the same bad values.

Each check raises ``InputError(field, problem)`` naming the parameter (for example
``hazard_ratio: must be > 0 (got -0.5)``) and returns the accepted value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ikctrial.errors import InputError


def _finite(field: str, value: float) -> float:
    if not math.isfinite(value):
        raise InputError(field, f"must be a finite number (got {value})")
    return float(value)


def checked_positive(field: str, value: float) -> float:
    """A finite number > 0 (hazard ratio, median, durations that must be positive)."""
    if _finite(field, value) <= 0:
        raise InputError(field, f"must be > 0 (got {value:g})")
    return float(value)


def checked_non_negative(field: str, value: float) -> float:
    """A finite number >= 0 (follow-up after accrual, dropout hazard)."""
    if _finite(field, value) < 0:
        raise InputError(field, f"must be >= 0 (got {value:g})")
    return float(value)


def checked_alpha(value: float, field: str = "alpha") -> float:
    """Significance level in (0, 0.5]."""
    if not 0 < _finite(field, value) <= 0.5:
        raise InputError(field, f"must be in (0, 0.5] (got {value:g})")
    return float(value)


def checked_probability_open(field: str, value: float) -> float:
    """A probability strictly between 0 and 1 (power, dropout rate)."""
    if not 0 < _finite(field, value) < 1:
        raise InputError(field, f"must be in (0, 1) (got {value:g})")
    return float(value)


def checked_sided(value: int, field: str = "sided") -> int:
    """1 (one-sided) or 2 (two-sided)."""
    if value not in (1, 2):
        raise InputError(field, f"must be 1 or 2 (got {value})")
    return int(value)


def checked_count(field: str, value: int, minimum: int = 1) -> int:
    """An integer count >= ``minimum``."""
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise InputError(field, f"must be an integer >= {minimum} (got {value})")
    return int(value)


@dataclass(frozen=True)
class Allocation:
    """Randomization ratio experimental:control (``1:1`` for NCT03592706, domain.md 1.1)."""

    experimental: int
    control: int

    def __post_init__(self) -> None:
        checked_count("allocation", self.experimental)
        checked_count("allocation", self.control)

    @property
    def block(self) -> int:
        """Patients per allocation block (the smallest balanced cohort)."""
        return self.experimental + self.control

    @property
    def experimental_fraction(self) -> float:
        """Share of patients allocated to the experimental arm (Schoenfeld's ``p``)."""
        return self.experimental / self.block

    def arm_sizes(self, n_subjects: int) -> tuple[int, int]:
        """(experimental, control) patients for ``n_subjects`` in whole allocation blocks first."""
        blocks, rest = divmod(n_subjects, self.block)
        experimental = blocks * self.experimental + min(rest, self.experimental)
        return experimental, n_subjects - experimental

    def __str__(self) -> str:
        return f"{self.experimental}:{self.control}"


def parse_allocation(text: str, field: str = "allocation") -> Allocation:
    """Parse ``"E:C"`` (experimental:control, positive integers) such as ``"1:1"`` or ``"2:1"``."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise InputError(field, f"{text!r} is not a ratio of two positive integers like 1:1")
    return Allocation(int(parts[0]), int(parts[1]))


def dropout_hazard_per_month(rate: float, months: float = 12.0) -> float:
    """Exponential dropout hazard from the probability ``rate`` of dropping out within ``months``.

    rpact's convention (``dropoutRate`` with ``dropoutTime``): hazard = -log(1 - rate) / time.
    A rate of 0 means no dropout.
    """
    if rate == 0:
        return 0.0
    checked_probability_open("dropout_rate", rate)
    return -math.log1p(-rate) / checked_positive("dropout_months", months)
