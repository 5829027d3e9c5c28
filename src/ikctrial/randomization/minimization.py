"""Pocock-Simon minimization with a random element (Pocock & Simon 1975; domain.md 9.4).

For a new patient and each arm *k*: put the patient in *k* hypothetically, and for each factor take
the range over arms of the counts of patients at the patient's level (counts divided by the arm's
allocation-ratio part, so unequal ratios are targeted); ``G_k`` is the weighted sum of these ranges.
The arm(s) with the smallest ``G`` share probability ``p_best``; the others share the rest; when
every arm ties, all are equally likely. The draw is a uniform number passed in, so the rule stays
pure and a stored seed reproduces every choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ikctrial.errors import InputError

Counts = Mapping[str, Mapping[str, Mapping[str, int]]]


@dataclass(frozen=True)
class MinimizationChoice:
    """The chosen arm, each arm's imbalance score ``G`` and each arm's probability of choice."""

    arm: str
    scores: dict[str, float]
    probabilities: dict[str, float]


def imbalance_scores(
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    counts: Counts,
    patient: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
) -> dict[str, Fraction]:
    """``G_k`` for each arm: ``counts[arm][factor][level]`` are the patients already allocated."""
    if len(arms) != len(ratio) or any(part < 1 for part in ratio):
        raise InputError("allocation_ratio", "needs one positive integer per arm")
    scores: dict[str, Fraction] = {}
    for candidate in arms:
        total = Fraction(0)
        for factor, level in patient.items():
            weight = Fraction((weights or {}).get(factor, 1.0))
            adjusted = [
                Fraction(
                    counts.get(arm, {}).get(factor, {}).get(level, 0) + (arm == candidate), part
                )
                for arm, part in zip(arms, ratio, strict=True)
            ]
            total += weight * (max(adjusted) - min(adjusted))
        scores[candidate] = total
    return scores


def minimization_choice(
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    counts: Counts,
    patient: Mapping[str, str],
    p_best: float,
    uniform: float,
    weights: Mapping[str, float] | None = None,
) -> MinimizationChoice:
    """Choose an arm for ``patient`` with the random element: ``uniform`` is a draw from [0, 1)."""
    if not 0.0 <= uniform < 1.0:
        raise ValueError(f"uniform draw {uniform} is outside [0, 1)")
    if not 0.0 < p_best <= 1.0:
        raise InputError("randomization.minimization_probability", f"{p_best} is not in (0, 1]")
    scores = imbalance_scores(
        arms=arms, ratio=ratio, counts=counts, patient=patient, weights=weights
    )
    lowest = min(scores.values())
    best = [arm for arm in arms if scores[arm] == lowest]
    rest = [arm for arm in arms if scores[arm] != lowest]
    if rest:
        probabilities = {arm: p_best / len(best) for arm in best}
        probabilities |= {arm: (1.0 - p_best) / len(rest) for arm in rest}
    else:
        probabilities = {arm: 1.0 / len(arms) for arm in arms}
    cumulative = 0.0
    chosen = arms[-1]
    for arm in arms:
        cumulative += probabilities[arm]
        if uniform < cumulative:
            chosen = arm
            break
    return MinimizationChoice(
        arm=chosen,
        scores={arm: float(score) for arm, score in scores.items()},
        probabilities={arm: probabilities[arm] for arm in arms},
    )
