"""Sample size that yields Schoenfeld's events, given accrual, follow-up and dropout.

Patients enter uniformly over ``accrual_months``; the analysis is ``followup_months`` after the end
of accrual (rpact's ``accrualTime``/``followUpTime``), optionally with each patient followed at most
``patient_followup_months`` (NCT03592706 follows each patient for 1 year, domain.md 1.1). Survival
and dropout are exponential; a patient's chance to be an event by the analysis is averaged over the
entry time, and ``subjects = events / mean event probability`` (domain.md 7.6; rpact
``getSampleSizeSurvival`` with ``typeOfComputation = "Schoenfeld"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ikctrial.design.parameters import (
    Allocation,
    checked_count,
    checked_non_negative,
    checked_positive,
)
from ikctrial.design.schoenfeld import power_for_events, required_events


@dataclass(frozen=True)
class FollowUp:
    """When a patient can be seen to have an event: uniform entry, analysis time, dropout."""

    accrual_months: float
    followup_months: float
    dropout_hazard_per_month: float = 0.0
    patient_followup_months: float | None = None

    def __post_init__(self) -> None:
        checked_positive("accrual_months", self.accrual_months)
        checked_non_negative("followup_months", self.followup_months)
        checked_non_negative("dropout_hazard_per_month", self.dropout_hazard_per_month)
        if self.patient_followup_months is not None:
            checked_positive("patient_followup_months", self.patient_followup_months)

    @property
    def study_months(self) -> float:
        """Calendar time from first patient in to the analysis."""
        return self.accrual_months + self.followup_months


def median_to_hazard(median_months: float) -> float:
    """Exponential hazard per month for a median survival (``log 2 / median``)."""
    return math.log(2) / checked_positive("control_median_months", median_months)


def event_probability(hazard_per_month: float, follow_up: FollowUp) -> float:
    """Chance that a patient's event is observed by the analysis (entry-averaged, closed form).

    With total hazard ``s = λ + η`` an event is seen within ``u`` months with chance
    ``g(u) = λ/s (1 - exp(-s u))``; a patient entering at ``e`` has ``u = min(cap, A + F - e)``.
    """
    rate = checked_positive("hazard_per_month", hazard_per_month)
    total = rate + follow_up.dropout_hazard_per_month
    accrual, after = follow_up.accrual_months, follow_up.followup_months
    longest = accrual + after
    cap = min(follow_up.patient_followup_months or longest, longest)

    def seen_within(u: float) -> float:
        return rate / total * -math.expm1(-total * u)

    def integral(lower: float, upper: float) -> float:
        decay = math.exp(-total * lower) - math.exp(-total * upper)
        return rate / total * ((upper - lower) - decay / total)

    if cap <= after:
        return seen_within(cap)
    return ((longest - cap) * seen_within(cap) + integral(after, cap)) / accrual


def expected_events(
    n_subjects: int,
    allocation: Allocation,
    control_hazard_per_month: float,
    hazard_ratio: float,
    follow_up: FollowUp,
) -> float:
    """Expected number of events by the analysis in a trial of ``n_subjects``."""
    experimental, control = allocation.arm_sizes(checked_count("n_subjects", n_subjects))
    hazard_ratio = checked_positive("hazard_ratio", hazard_ratio)
    return experimental * event_probability(
        control_hazard_per_month * hazard_ratio, follow_up
    ) + control * event_probability(control_hazard_per_month, follow_up)


@dataclass(frozen=True)
class SampleSize:
    """Events and (when accrual is given) subjects for a target power."""

    events_exact: float
    events: int
    event_probability: float | None = None
    subjects_exact: float | None = None
    subjects: int | None = None
    subjects_per_arm: tuple[int, int] | None = None
    study_months: float | None = None


def sample_size(
    hazard_ratio: float,
    *,
    alpha: float,
    sided: int,
    power: float,
    allocation: Allocation,
    control_hazard_per_month: float | None = None,
    follow_up: FollowUp | None = None,
) -> SampleSize:
    """Schoenfeld events, and the subjects that yield them when accrual and follow-up are given.

    ``subjects`` is rounded up to whole allocation blocks so both arms are whole numbers.
    """
    events_exact = required_events(
        hazard_ratio,
        alpha=alpha,
        sided=sided,
        power=power,
        allocation_fraction=allocation.experimental_fraction,
    )
    events = math.ceil(events_exact - 1e-9)
    if control_hazard_per_month is None or follow_up is None:
        return SampleSize(events_exact=events_exact, events=events)
    p = allocation.experimental_fraction
    mean_probability = p * event_probability(control_hazard_per_month * hazard_ratio, follow_up) + (
        1 - p
    ) * event_probability(control_hazard_per_month, follow_up)
    subjects_exact = events_exact / mean_probability
    subjects = math.ceil(subjects_exact / allocation.block - 1e-9) * allocation.block
    return SampleSize(
        events_exact=events_exact,
        events=events,
        event_probability=mean_probability,
        subjects_exact=subjects_exact,
        subjects=subjects,
        subjects_per_arm=allocation.arm_sizes(subjects),
        study_months=follow_up.study_months,
    )


def analytic_power(
    n_subjects: int,
    allocation: Allocation,
    control_hazard_per_month: float,
    hazard_ratio: float,
    follow_up: FollowUp,
    *,
    alpha: float,
    sided: int,
) -> float:
    """Schoenfeld power at the expected number of events of a fixed-follow-up trial."""
    events = expected_events(
        n_subjects, allocation, control_hazard_per_month, hazard_ratio, follow_up
    )
    return power_for_events(
        events,
        hazard_ratio,
        alpha=alpha,
        sided=sided,
        allocation_fraction=allocation.experimental_fraction,
    )
