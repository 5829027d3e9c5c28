"""Subjects that yield Schoenfeld's events given accrual, follow-up and dropout (vs rpact)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from tests.design.reference import REFERENCE, allocation_text, case_id

from ikctrial.design.parameters import Allocation, dropout_hazard_per_month, parse_allocation
from ikctrial.design.sample_size import (
    FollowUp,
    event_probability,
    expected_events,
    median_to_hazard,
    sample_size,
)
from ikctrial.errors import InputError


@pytest.mark.parametrize("case", REFERENCE["subjects"], ids=case_id)
def test_subjects_match_rpact(case: dict[str, Any]) -> None:
    # rpact getSampleSizeSurvival(accrualTime, followUpTime, dropoutRate1/2, dropoutTime = 12)
    allocation = parse_allocation(allocation_text(case))
    result = sample_size(
        case["hazard_ratio"],
        alpha=case["alpha"],
        sided=case["sided"],
        power=case["power"],
        allocation=allocation,
        control_hazard_per_month=median_to_hazard(case["control_median_months"]),
        follow_up=FollowUp(
            accrual_months=case["accrual_months"],
            followup_months=case["followup_months"],
            dropout_hazard_per_month=dropout_hazard_per_month(case["dropout_rate"]),
        ),
    )
    assert result.events_exact == pytest.approx(case["events_exact"], rel=1e-9)
    assert result.subjects_exact == pytest.approx(case["subjects_exact"], rel=1e-9)
    assert result.subjects is not None
    assert result.subjects % allocation.block == 0
    assert 0 <= result.subjects - case["subjects_exact"] < allocation.block
    assert result.subjects_per_arm is not None
    assert sum(result.subjects_per_arm) == result.subjects


def _numeric_event_probability(rate: float, follow_up: FollowUp) -> float:
    total = rate + follow_up.dropout_hazard_per_month
    cap = follow_up.patient_followup_months or math.inf

    def seen(entry: float) -> float:
        u = min(cap, follow_up.study_months - entry)
        return rate / total * (1 - math.exp(-total * u))

    return float(quad(seen, 0, follow_up.accrual_months, points=[follow_up.study_months - cap])[0])


@given(
    rate=st.floats(0.01, 1.0),
    accrual=st.floats(1, 48),
    after=st.floats(0, 36),
    dropout=st.floats(0, 0.2),
    cap=st.one_of(st.none(), st.floats(1, 60)),
)
def test_event_probability_closed_form_equals_numeric_integral(
    rate: float, accrual: float, after: float, dropout: float, cap: float | None
) -> None:
    follow_up = FollowUp(accrual, after, dropout, cap)
    expected = _numeric_event_probability(rate, follow_up) / accrual
    assert event_probability(rate, follow_up) == pytest.approx(expected, rel=1e-7, abs=1e-10)


def test_one_year_per_patient_cap() -> None:
    # every patient followed exactly 12 months when the analysis is 12+ months after accrual ends
    rate = median_to_hazard(7)
    capped = FollowUp(24, 12, patient_followup_months=12)
    assert event_probability(rate, capped) == pytest.approx(1 - math.exp(-rate * 12))


def test_expected_events_sum_arms() -> None:
    follow_up = FollowUp(24, 12)
    rate = median_to_hazard(7)
    got = expected_events(60, Allocation(1, 1), rate, 0.6, follow_up)
    want = 30 * event_probability(rate * 0.6, follow_up) + 30 * event_probability(rate, follow_up)
    assert got == pytest.approx(want)
    assert got < 60


def test_events_only_without_accrual() -> None:
    result = sample_size(0.6, alpha=0.025, sided=1, power=0.8, allocation=Allocation(1, 1))
    assert result.events == 121
    assert result.subjects is None


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: FollowUp(0, 12), "accrual_months"),
        (lambda: FollowUp(24, -1), "followup_months"),
        (lambda: FollowUp(24, 12, patient_followup_months=0), "patient_followup_months"),
        (lambda: median_to_hazard(0), "control_median_months"),
        (lambda: dropout_hazard_per_month(1.0), "dropout_rate"),
        (lambda: parse_allocation("1-1"), "allocation"),
        (lambda: parse_allocation("0:1"), "allocation"),
    ],
)
def test_bad_accrual_parameters(build: Any, field: str) -> None:
    with pytest.raises(InputError) as caught:
        build()
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("ratio", "n", "arms"),
    [("1:1", 60, (30, 30)), ("2:1", 60, (40, 20)), ("1:1", 61, (31, 30)), ("2:1", 61, (41, 20))],
)
def test_arm_sizes(ratio: str, n: int, arms: tuple[int, int]) -> None:
    assert parse_allocation(ratio).arm_sizes(n) == arms
    assert np.sum(arms) == n
