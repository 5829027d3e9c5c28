"""Pocock-Simon minimization with a random element (domain.md 9.4, worked example)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.randomization import minimization_choice
from ikctrial.randomization.minimization import imbalance_scores

ARMS = ("IKC_TACE", "TACE")
# domain.md 9.4 worked example: IKC BCLC B 8, C 7; CP A 10, B 5. Control: B 7, C 8; A 11, B 4.
EXAMPLE_COUNTS = {
    "IKC_TACE": {"bclc": {"B": 8, "C": 7}, "child_pugh": {"A": 10, "B": 5}},
    "TACE": {"bclc": {"B": 7, "C": 8}, "child_pugh": {"A": 11, "B": 4}},
}
EXAMPLE_PATIENT = {"bclc": "C", "child_pugh": "A"}


def test_worked_example_scores() -> None:
    """9.4: G(IKC) = 0 + 0 = 0, G(control) = 2 + 2 = 4."""
    scores = imbalance_scores(
        arms=ARMS, ratio=(1, 1), counts=EXAMPLE_COUNTS, patient=EXAMPLE_PATIENT
    )
    assert scores == {"IKC_TACE": 0, "TACE": 4}


@pytest.mark.parametrize(
    ("uniform", "arm"),
    [
        (0.0, "IKC_TACE"),  # 9.4: IKC with probability 0.80 ...
        (0.7999, "IKC_TACE"),
        (0.8001, "TACE"),  # ... control with 0.20
        (0.9999, "TACE"),
    ],
)
def test_worked_example_choice(uniform: float, arm: str) -> None:
    """9.4: the minimizing arm with p_best = 0.80, otherwise the other arm."""
    choice = minimization_choice(
        arms=ARMS,
        ratio=(1, 1),
        counts=EXAMPLE_COUNTS,
        patient=EXAMPLE_PATIENT,
        p_best=0.8,
        uniform=uniform,
    )
    assert choice.arm == arm
    assert choice.probabilities == pytest.approx({"IKC_TACE": 0.8, "TACE": 0.2})
    assert choice.scores == {"IKC_TACE": 0.0, "TACE": 4.0}


@pytest.mark.parametrize(("uniform", "arm"), [(0.49, "IKC_TACE"), (0.51, "TACE")])
def test_tie_is_one_to_one(uniform: float, arm: str) -> None:
    """9.4: ties -> 1:1 at random (first patient: every arm ties)."""
    choice = minimization_choice(
        arms=ARMS, ratio=(1, 1), counts={}, patient=EXAMPLE_PATIENT, p_best=0.8, uniform=uniform
    )
    assert choice.probabilities == {"IKC_TACE": 0.5, "TACE": 0.5}
    assert choice.arm == arm


def test_weights_change_the_balance() -> None:
    """Factor weights multiply each factor's range (weight 0 ignores the factor)."""
    counts = {
        "IKC_TACE": {"bclc": {"C": 3}, "child_pugh": {"A": 1}},
        "TACE": {"bclc": {"C": 1}, "child_pugh": {"A": 3}},
    }
    plain = imbalance_scores(arms=ARMS, ratio=(1, 1), counts=counts, patient=EXAMPLE_PATIENT)
    assert plain == {"IKC_TACE": 3 + 1, "TACE": 1 + 3}
    weighted = imbalance_scores(
        arms=ARMS, ratio=(1, 1), counts=counts, patient=EXAMPLE_PATIENT, weights={"bclc": 0}
    )
    assert weighted == {"IKC_TACE": 1, "TACE": 3}


def test_unequal_ratio_targets_the_ratio() -> None:
    """At 2:1, four and two patients are balanced: the next goes to the 2-part arm first."""
    counts = {"IKC_TACE": {"bclc": {"C": 4}}, "TACE": {"bclc": {"C": 2}}}
    scores = imbalance_scores(arms=ARMS, ratio=(2, 1), counts=counts, patient={"bclc": "C"})
    assert scores["IKC_TACE"] < scores["TACE"]


@settings(max_examples=80, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=30), min_size=8, max_size=8),
    p_best=st.floats(min_value=0.51, max_value=1.0),
    uniform=st.floats(min_value=0.0, max_value=0.999999),
)
def test_probabilities_are_a_distribution_favouring_balance(
    counts: list[int], p_best: float, uniform: float
) -> None:
    """Probabilities sum to 1; a strictly better arm is at least as likely as any other."""
    table = {
        "IKC_TACE": {
            "bclc": {"B": counts[0], "C": counts[1]},
            "cp": {"A": counts[2], "B": counts[3]},
        },
        "TACE": {"bclc": {"B": counts[4], "C": counts[5]}, "cp": {"A": counts[6], "B": counts[7]}},
    }
    choice = minimization_choice(
        arms=ARMS,
        ratio=(1, 1),
        counts=table,
        patient={"bclc": "C", "cp": "A"},
        p_best=p_best,
        uniform=uniform,
    )
    assert sum(choice.probabilities.values()) == pytest.approx(1.0)
    best = min(choice.scores, key=lambda arm: choice.scores[arm])
    assert choice.probabilities[best] >= max(choice.probabilities.values()) - 1e-12
    assert choice.arm in ARMS


def test_bad_draw_and_probability() -> None:
    """A draw outside [0, 1) is a programming error; p_best outside (0, 1] is bad input."""
    from ikctrial.errors import InputError

    with pytest.raises(ValueError, match="outside"):
        minimization_choice(arms=ARMS, ratio=(1, 1), counts={}, patient={}, p_best=0.8, uniform=1.0)
    with pytest.raises(InputError):
        minimization_choice(arms=ARMS, ratio=(1, 1), counts={}, patient={}, p_best=1.5, uniform=0.2)
