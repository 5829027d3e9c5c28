"""Simulated log-rank power against rpact's getSimulationSurvival, and the simulator's invariants.

rpact values come from tests/reference/design_reference.R (100 000 trials each); the comparison
allows 4 combined Monte-Carlo standard errors, so a correct simulator fails it with probability
below 1e-4 per case, and a wrong one (e.g. the wrong test direction or hazard per arm) cannot pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from tests.design.reference import REFERENCE, allocation_text, case_id

from ikctrial.design.parameters import Allocation, dropout_hazard_per_month, parse_allocation
from ikctrial.design.piecewise import PiecewiseAccrual, PiecewiseExponential
from ikctrial.design.sample_size import FollowUp, expected_events, median_to_hazard
from ikctrial.design.simulate import (
    CHUNK_TRIALS,
    AtEvents,
    AtFollowUp,
    TrialDesign,
    combine,
    simulate_chunk,
    simulate_power,
)
from ikctrial.errors import InputError

TRIALS = 30_000


def _design_of(case: dict[str, Any]) -> TrialDesign:
    if "piecewise_hazards" in case:
        control = PiecewiseExponential(
            tuple(case["piecewise_starts"]), tuple(case["piecewise_hazards"])
        )
    else:
        control = PiecewiseExponential.from_median(case["control_median_months"])
    return TrialDesign(
        n_subjects=case["n"],
        allocation=parse_allocation(allocation_text(case)),
        control_survival=control,
        hazard_ratio=case["hazard_ratio"],
        accrual=PiecewiseAccrual.uniform(case["accrual_months"]),
        analysis=AtEvents(case["events"]),
        alpha=case["alpha"],
        sided=case["sided"],
        dropout_hazard_per_month=dropout_hazard_per_month(case["dropout_rate"]),
        regular_accrual=True,
    )


@pytest.mark.parametrize("case", REFERENCE["simulation"], ids=case_id)
def test_power_matches_rpact_simulation(case: dict[str, Any]) -> None:
    result = simulate_power(_design_of(case), trials=TRIALS, seed=11)
    tolerance = 4 * math.hypot(result.mc_se, case["mc_se"])
    assert abs(result.power - case["power"]) <= tolerance
    assert result.mean_events == pytest.approx(case["mean_events"], abs=0.01)
    # the study duration of rpact (mean analysis time) within 1 % (its MC error is far smaller)
    assert result.mean_study_months == pytest.approx(case["mean_study_months"], rel=0.01)
    assert result.events_not_reached == case["events_not_reached"]


REGISTERED = TrialDesign(
    n_subjects=60,
    allocation=Allocation(1, 1),
    control_survival=PiecewiseExponential.from_median(7),
    hazard_ratio=0.6,
    accrual=PiecewiseAccrual.uniform(24),
    analysis=AtEvents(45),
    alpha=0.025,
    sided=1,
)


def test_same_seed_same_result_whatever_the_threads() -> None:
    trials = CHUNK_TRIALS + 1_234
    one = simulate_power(REGISTERED, trials=trials, seed=5, threads=1)
    two = simulate_power(REGISTERED, trials=trials, seed=5, threads=2)
    assert one == two
    other_seed = simulate_power(REGISTERED, trials=trials, seed=6)
    assert other_seed.rejections != one.rejections


def test_result_is_the_pool_of_its_chunks() -> None:
    trials = CHUNK_TRIALS + 500
    whole = simulate_power(REGISTERED, trials=trials, seed=3)
    parts = [
        simulate_chunk(REGISTERED, seed=3, chunk=0, trials=CHUNK_TRIALS),
        simulate_chunk(REGISTERED, seed=3, chunk=1, trials=500),
    ]
    assert whole == combine(parts)


def test_two_sided_rejects_a_superset_of_one_sided_at_half_alpha() -> None:
    # same seed -> same log-rank z; |z| > z_{0.975} includes z < -z_{0.975}
    one_sided = simulate_power(REGISTERED, trials=10_000, seed=9)
    two_sided = simulate_power(
        TrialDesign(**{**REGISTERED.__dict__, "alpha": 0.05, "sided": 2}), trials=10_000, seed=9
    )
    assert one_sided.rejections <= two_sided.rejections <= one_sided.rejections + 30


@pytest.mark.parametrize(
    ("dropout_rate", "cap"),
    [(0.0, None), (0.2, None), (0.1, 12.0)],
)
def test_fixed_follow_up_events_match_closed_form(dropout_rate: float, cap: float | None) -> None:
    # analysis F months after the last patient (rpact-style regular accrual: the last enters at A)
    design = TrialDesign(
        **{
            **REGISTERED.__dict__,
            "analysis": AtFollowUp(12.0),
            "dropout_hazard_per_month": dropout_hazard_per_month(dropout_rate),
            "patient_followup_months": cap,
            "regular_accrual": True,
        }
    )
    result = simulate_power(design, trials=20_000, seed=1)
    follow_up = FollowUp(24, 12, dropout_hazard_per_month(dropout_rate), cap)
    # with regular accrual, patient i enters at 24 i / 60: a midpoint rule of the entry integral
    want = expected_events(60, Allocation(1, 1), median_to_hazard(7), 0.6, follow_up)
    assert result.mean_events == pytest.approx(want, abs=0.25)
    assert result.mean_study_months == pytest.approx(36.0)


def test_events_not_reached_analyses_when_follow_up_ends() -> None:
    design = TrialDesign(
        **{
            **REGISTERED.__dict__,
            "n_subjects": 20,
            "analysis": AtEvents(20),
            "dropout_hazard_per_month": dropout_hazard_per_month(0.5),
        }
    )
    result = simulate_power(design, trials=2_000, seed=2)
    assert 0.9 < result.events_not_reached <= 1.0
    assert math.isfinite(result.mean_study_months)
    assert result.mean_events < 20


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hazard_ratio": 0.0}, "hazard_ratio"),
        ({"hazard_ratio": -1.0}, "hazard_ratio"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 0.7}, "alpha"),
        ({"sided": 0}, "sided"),
        ({"n_subjects": 1}, "n"),
        ({"analysis": AtEvents(61)}, "events"),
        ({"analysis": AtEvents(0)}, "events"),
        ({"analysis": AtFollowUp(-1.0)}, "followup_months"),
        ({"dropout_hazard_per_month": -0.1}, "dropout_rate"),
        ({"allocation": Allocation(3, 1), "n_subjects": 3}, "n"),
    ],
)
def test_bad_design_names_the_parameter(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        TrialDesign(**{**REGISTERED.__dict__, **change})
    assert caught.value.field == field


def test_piecewise_exponential_sampling_follows_its_survival() -> None:
    model = PiecewiseExponential((0.0, 6.0, 12.0), (0.05, 0.15, 0.3))
    rng = np.random.default_rng(0)
    times = model.times_from_cumulative_hazard(rng.standard_exponential(400_000))
    for t in (3.0, 6.0, 9.0, 15.0):
        survival = math.exp(-float(model.cumulative_hazard(np.array([t]))[0]))
        assert np.mean(times > t) == pytest.approx(survival, abs=0.003)
    assert model.median_months() == pytest.approx(float(np.quantile(times, 0.5)), rel=0.01)


def test_piecewise_accrual_puts_patients_in_proportion_to_intensity() -> None:
    accrual = PiecewiseAccrual((0.0, 6.0), 18.0, (1.0, 3.0))
    rng = np.random.default_rng(0)
    entry = accrual.entry_months(rng.random(200_000))
    # mass 6 x 1 = 6 in the first piece, 12 x 3 = 36 in the second
    assert np.mean(entry < 6) == pytest.approx(6 / 42, abs=0.003)
    assert entry.min() >= 0
    assert entry.max() <= 18
    regular = accrual.entry_months(np.arange(1, 43) / 42)
    assert regular[-1] == pytest.approx(18.0)
