"""BCLC stage (Reig M et al., J Hepatol 2022;76:681-693) by the computable rule of domain.md 4.3.

With missing inputs the rule is evaluated for every completion (categories enumerated, numeric
unknowns represented on each side of every threshold) and the set of reachable stages is returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

from ikctrial.clinical.child_pugh import ChildPughClass

BclcStage = Literal["0", "A", "B", "C", "D"]
T = TypeVar("T")

VERY_EARLY_MAX_MM = Decimal(20)
"""Stage 0: a single nodule <= 20 mm."""
EARLY_MULTI_MAX_MM = Decimal(30)
"""Stage A with 2-3 nodules: largest <= 30 mm."""
EARLY_MAX_NODULES = 3

ALL_CHILD_PUGH: tuple[ChildPughClass, ...] = ("A", "B", "C")
ALL_ECOG: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
BOOLEANS: tuple[bool, ...] = (False, True)
NODULE_REPRESENTATIVES: tuple[int, ...] = (1, 2, EARLY_MAX_NODULES + 1)
"""One nodule count per branch of the rule: 1, 2-3, more than 3."""
DIAMETER_REPRESENTATIVES_MM: tuple[Decimal, ...] = (
    VERY_EARLY_MAX_MM,
    EARLY_MULTI_MAX_MM,
    EARLY_MULTI_MAX_MM + 1,
)
"""One diameter per interval the rule distinguishes: <= 20, (20, 30], > 30 mm."""


@dataclass(frozen=True)
class BclcInputs:
    """Inputs of the rule; None means missing (``child_pugh_classes`` = the possible classes)."""

    child_pugh_classes: frozenset[ChildPughClass] | None
    ecog: int | None
    macrovascular_invasion: bool | None
    extrahepatic_spread: bool | None
    nodules: int | None
    largest_mm: Decimal | None
    diffuse: bool = False


def bclc_stage(
    child_pugh_class: ChildPughClass,
    ecog: int,
    macrovascular_invasion: bool,
    extrahepatic_spread: bool,
    nodules: int,
    largest_mm: Decimal,
    diffuse: bool = False,
) -> BclcStage:
    """The stage from complete inputs (domain.md 4.3, normative rule)."""
    if child_pugh_class == "C" or ecog >= 3:
        return "D"
    if macrovascular_invasion or extrahepatic_spread or ecog in (1, 2):
        return "C"
    if diffuse:
        return "B"
    if nodules == 1 and largest_mm <= VERY_EARLY_MAX_MM:
        return "0"
    if nodules == 1 or (2 <= nodules <= EARLY_MAX_NODULES and largest_mm <= EARLY_MULTI_MAX_MM):
        return "A"
    return "B"


def _options(value: T | None, every: Iterable[T]) -> tuple[T, ...]:
    return tuple(every) if value is None else (value,)


def bclc_reachable_stages(inputs: BclcInputs) -> frozenset[BclcStage]:
    """Every stage some completion of the missing inputs gives (one stage when all are known)."""
    cp_options = tuple(inputs.child_pugh_classes or ALL_CHILD_PUGH)
    combos = itertools.product(
        cp_options,
        _options(inputs.ecog, ALL_ECOG),
        _options(inputs.macrovascular_invasion, BOOLEANS),
        _options(inputs.extrahepatic_spread, BOOLEANS),
        _options(inputs.nodules, NODULE_REPRESENTATIVES),
        _options(inputs.largest_mm, DIAMETER_REPRESENTATIVES_MM),
    )
    return frozenset(
        bclc_stage(cp, ecog, mvi, ehs, n, mm, inputs.diffuse)
        for cp, ecog, mvi, ehs, n, mm in combos
    )
