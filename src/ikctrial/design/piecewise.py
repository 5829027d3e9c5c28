"""Piecewise-exponential survival and piecewise-uniform accrual, sampled by inverse transform.

Both follow rpact's parameterisation: survival as hazards per month on intervals starting at the
given times (``piecewiseSurvivalTime``/``lambda2``), accrual as intensities (patients per month) on
intervals (``accrualTime``/``accrualIntensity``); a single piece is plain exponential survival or
uniform accrual.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ikctrial.design.parameters import checked_positive
from ikctrial.errors import InputError

Floats = NDArray[np.float64]


def _checked_starts(field: str, starts: Sequence[float], count: int) -> tuple[float, ...]:
    if len(starts) != count:
        raise InputError(field, f"needs {count} start times, one per piece (got {len(starts)})")
    if starts[0] != 0:
        raise InputError(field, "the first piece must start at 0")
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise InputError(field, "start times must increase")
    return tuple(float(s) for s in starts)


@dataclass(frozen=True)
class PiecewiseExponential:
    """Hazard per month ``hazards[k]`` from ``starts[k]`` to ``starts[k+1]`` (last: open-ended)."""

    starts: tuple[float, ...]
    hazards: tuple[float, ...]

    def __post_init__(self) -> None:
        for h in self.hazards:
            checked_positive("hazards", h)
        _checked_starts("starts", self.starts, len(self.hazards))

    @classmethod
    def from_median(cls, median_months: float) -> PiecewiseExponential:
        """Exponential survival with the given median."""
        return cls((0.0,), (float(np.log(2)) / checked_positive("median_months", median_months),))

    def _at_starts(self) -> tuple[Floats, Floats, Floats]:
        """(piece starts, hazards, cumulative hazard at each piece start)."""
        starts, hazards = np.asarray(self.starts), np.asarray(self.hazards)
        return starts, hazards, np.concatenate([[0.0], np.cumsum(np.diff(starts) * hazards[:-1])])

    def cumulative_hazard(self, months: Floats) -> Floats:
        """``H(t)``; survival is ``exp(-H(t))``."""
        starts, hazards, at_start = self._at_starts()
        piece = np.searchsorted(starts, months, side="right") - 1
        result: Floats = at_start[piece] + (months - starts[piece]) * hazards[piece]
        return result

    def median_months(self) -> float:
        """Median survival."""
        return float(self.times_from_cumulative_hazard(np.array([np.log(2)]))[0])

    def times_from_cumulative_hazard(self, cumulative: Floats) -> Floats:
        """Invert ``H``: a standard exponential ``E`` gives the survival time ``H⁻¹(E)``."""
        if len(self.hazards) == 1:
            single: Floats = cumulative / self.hazards[0]
            return single
        starts, hazards, at_start = self._at_starts()
        piece = np.searchsorted(at_start, cumulative, side="right") - 1
        result: Floats = starts[piece] + (cumulative - at_start[piece]) / hazards[piece]
        return result


@dataclass(frozen=True)
class PiecewiseAccrual:
    """Relative entry rates on pieces from ``starts[k]``; accrual ends at ``ends_at_months``."""

    starts: tuple[float, ...]
    ends_at_months: float
    intensities: tuple[float, ...]

    def __post_init__(self) -> None:
        for rate in self.intensities:
            checked_positive("accrual_intensities", rate)
        starts = _checked_starts("accrual_starts", self.starts, len(self.intensities))
        if self.ends_at_months <= starts[-1]:
            raise InputError("accrual_months", "must end after the last accrual piece starts")

    @classmethod
    def uniform(cls, months: float) -> PiecewiseAccrual:
        """Constant entry rate over ``months``."""
        return cls((0.0,), checked_positive("accrual_months", months), (1.0,))

    def entry_months(self, uniform: Floats) -> Floats:
        """Entry times from uniforms in [0, 1): inverse of the accrual distribution function."""
        edges = np.asarray((*self.starts, self.ends_at_months))
        if len(self.intensities) == 1:
            single: Floats = uniform * edges[-1]
            return single
        mass = np.diff(edges) * np.asarray(self.intensities)
        cumulative = np.concatenate([[0.0], np.cumsum(mass)]) / mass.sum()
        piece = np.clip(np.searchsorted(cumulative, uniform, side="right") - 1, 0, len(mass) - 1)
        within = (uniform - cumulative[piece]) / (cumulative[piece + 1] - cumulative[piece])
        result: Floats = edges[piece] + within * np.diff(edges)[piece]
        return result
