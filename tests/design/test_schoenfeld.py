"""Schoenfeld events and analytic power (domain.md 7.6) against the worked values and rpact."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.design.reference import REFERENCE, allocation_text, case_id

from ikctrial.design.parameters import parse_allocation
from ikctrial.design.schoenfeld import (
    detectable_hazard_ratio,
    power_for_events,
    required_events,
)
from ikctrial.errors import InputError


def test_worked_value_of_domain_7_6() -> None:
    # domain.md 7.6: HR 0.6, one-sided alpha 0.025, power 0.80, 1:1 -> 120.3 -> 121 events
    events = required_events(0.6, alpha=0.025, sided=1, power=0.8)
    assert events == pytest.approx(7.848879 / 0.065236, rel=1e-5)
    assert math.ceil(events) == 121


@pytest.mark.parametrize(
    ("events", "power", "detectable"),
    [
        # domain.md 7.6 table: power for HR 0.6, one-sided alpha 0.025, and HR detectable at 80 %
        (30, 0.29, None),
        (45, 0.40, 0.43),
        (60, 0.51, 0.49),
        (121, 0.80, 0.60),
    ],
)
def test_domain_7_6_power_table(events: int, power: float, detectable: float | None) -> None:
    assert round(power_for_events(events, 0.6, alpha=0.025, sided=1), 2) == power
    if detectable is not None:
        hr = detectable_hazard_ratio(events, alpha=0.025, sided=1, power=0.8)
        assert round(hr, 2) == detectable


@pytest.mark.parametrize("case", REFERENCE["events"], ids=case_id)
def test_required_events_match_rpact(case: dict[str, Any]) -> None:
    # rpact getSampleSizeSurvival (Schoenfeld), tests/reference/design_reference.R
    fraction = parse_allocation(allocation_text(case)).experimental_fraction
    events = required_events(
        case["hazard_ratio"],
        alpha=case["alpha"],
        sided=case["sided"],
        power=case["power"],
        allocation_fraction=fraction,
    )
    assert events == pytest.approx(case["events_exact"], rel=1e-9)


@pytest.mark.parametrize("case", REFERENCE["power"], ids=case_id)
def test_power_for_events_matches_rpact(case: dict[str, Any]) -> None:
    # rpact getPowerSurvival; two-sided power counts both tails as rpact does
    fraction = parse_allocation(allocation_text(case)).experimental_fraction
    power = power_for_events(
        case["events"],
        case["hazard_ratio"],
        alpha=case["alpha"],
        sided=case["sided"],
        allocation_fraction=fraction,
    )
    assert power == pytest.approx(case["power"], rel=1e-9)


@given(
    hr=st.floats(0.2, 0.95),
    alpha=st.floats(0.001, 0.5),
    sided=st.sampled_from([1, 2]),
    power=st.floats(0.55, 0.99),
    fraction=st.floats(0.2, 0.8),
)
def test_power_at_required_events_is_target_power(
    hr: float, alpha: float, sided: int, power: float, fraction: float
) -> None:
    # The two formulas of domain.md 7.6 invert each other (one-sided exactly; two-sided adds the
    # negligible wrong-direction tail, so power can only be a hair above target).
    events = required_events(
        hr, alpha=alpha, sided=sided, power=power, allocation_fraction=fraction
    )
    achieved = power_for_events(events, hr, alpha=alpha, sided=sided, allocation_fraction=fraction)
    assert power - 1e-9 <= achieved <= power + (alpha / 2 if sided == 2 else 1e-9)


@given(hr=st.floats(0.1, 0.99), events=st.floats(2, 500))
def test_power_symmetric_in_log_hazard_ratio_and_non_decreasing_in_events(
    hr: float, events: float
) -> None:
    two_sided = power_for_events(events, hr, alpha=0.05, sided=2)
    assert two_sided == pytest.approx(power_for_events(events, 1 / hr, alpha=0.05, sided=2))
    assert power_for_events(events + 1, hr, alpha=0.05, sided=2) >= two_sided


def test_power_at_no_effect_is_alpha() -> None:
    assert power_for_events(50, 1.0, alpha=0.05, sided=2) == pytest.approx(0.05)
    assert power_for_events(50, 1.0, alpha=0.025, sided=1) == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hazard_ratio": 0.0}, "hazard_ratio"),
        ({"hazard_ratio": -0.5}, "hazard_ratio"),
        ({"hazard_ratio": 1.0}, "hazard_ratio"),
        ({"hazard_ratio": math.nan}, "hazard_ratio"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 0.51}, "alpha"),
        ({"sided": 3}, "sided"),
        ({"power": 1.0}, "power"),
        ({"power": 0.0}, "power"),
        ({"allocation_fraction": 1.0}, "allocation_fraction"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"hazard_ratio": 0.6, "alpha": 0.025, "sided": 1, "power": 0.8}
    arguments.update(kwargs)
    with pytest.raises(InputError) as caught:
        required_events(**arguments)
    assert caught.value.field == field


def test_detectable_hazard_ratio_needs_power_above_alpha() -> None:
    with pytest.raises(InputError) as caught:
        detectable_hazard_ratio(45, alpha=0.05, sided=1, power=0.04)
    assert caught.value.field == "power"
