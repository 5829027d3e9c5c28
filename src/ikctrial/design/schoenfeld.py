"""Schoenfeld's events formula for the log-rank test, and power for a given number of events.

domain.md 7.6: ``d = (z_{1-α} + z_{1-β})² / (p (1 - p) (log HR)²)`` with ``p`` the experimental
allocation fraction and ``α`` one-sided (``α/2`` when two-sided); power for ``d`` events is
``Φ(sqrt(d p (1 - p)) |log HR| - z_{1-α})``. For a two-sided test the power also counts the
(tiny) chance of rejecting in the wrong direction, as rpact's ``getPowerSurvival`` does.

The normal distribution is the standard library's ``statistics.NormalDist`` (``erf``-based CDF,
Wichura's AS 241 quantile, both accurate to about 1e-16): importing ``scipy.stats`` cost the
simulate command more than a second of start-up, a third of its whole run at a million trials.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ikctrial.design.parameters import (
    checked_alpha,
    checked_positive,
    checked_probability_open,
    checked_sided,
)
from ikctrial.errors import InputError

_STANDARD_NORMAL = NormalDist()


def critical_z(alpha: float, sided: int) -> float:
    """The normal quantile a log-rank z must pass: ``z_{1-α}`` (one-sided), ``z_{1-α/2}``."""
    tail = checked_alpha(alpha) / checked_sided(sided)
    return -_STANDARD_NORMAL.inv_cdf(tail)


def _checked_effect(hazard_ratio: float) -> float:
    checked_positive("hazard_ratio", hazard_ratio)
    if hazard_ratio == 1:
        raise InputError(
            "hazard_ratio", "must differ from 1 (no effect needs infinitely many events)"
        )
    return abs(math.log(hazard_ratio))


def _checked_fraction(allocation_fraction: float) -> float:
    return checked_probability_open("allocation_fraction", allocation_fraction)


def required_events(
    hazard_ratio: float,
    *,
    alpha: float,
    sided: int,
    power: float,
    allocation_fraction: float = 0.5,
) -> float:
    """Events (not rounded) a log-rank test needs for ``power`` at ``hazard_ratio`` (Schoenfeld)."""
    effect = _checked_effect(hazard_ratio)
    p = _checked_fraction(allocation_fraction)
    z_beta = _STANDARD_NORMAL.inv_cdf(checked_probability_open("power", power))
    return (critical_z(alpha, sided) + z_beta) ** 2 / (p * (1 - p) * effect**2)


def power_for_events(
    events: float,
    hazard_ratio: float,
    *,
    alpha: float,
    sided: int,
    allocation_fraction: float = 0.5,
) -> float:
    """Power of the log-rank test after ``events`` events when the true HR is ``hazard_ratio``."""
    checked_positive("events", events)
    checked_positive("hazard_ratio", hazard_ratio)
    p = _checked_fraction(allocation_fraction)
    drift = math.sqrt(events * p * (1 - p)) * abs(math.log(hazard_ratio))
    z = critical_z(alpha, sided)
    power = _STANDARD_NORMAL.cdf(drift - z)
    if sided == 2:
        power += _STANDARD_NORMAL.cdf(-z - drift)
    return power


def detectable_hazard_ratio(
    events: float,
    *,
    alpha: float,
    sided: int,
    power: float,
    allocation_fraction: float = 0.5,
) -> float:
    """The benefit (HR < 1) that ``events`` events detect with ``power`` (power formula solved)."""
    if checked_probability_open("power", power) <= checked_alpha(alpha):
        raise InputError("power", f"must exceed alpha {alpha:g} (the power when HR = 1)")

    def gap(log_hr: float) -> float:
        return (
            power_for_events(
                events,
                math.exp(log_hr),
                alpha=alpha,
                sided=sided,
                allocation_fraction=allocation_fraction,
            )
            - power
        )

    from scipy.optimize import brentq  # here: the simulate command needs none of scipy.optimize

    return math.exp(float(brentq(gap, -50.0, 0.0, xtol=1e-12)))
