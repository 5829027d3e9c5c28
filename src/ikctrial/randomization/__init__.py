"""Allocation algorithms, pure: permuted blocks from a seed, Pocock-Simon minimization, strata.

No database and no I/O: the EDC's randomization service stores the lists these functions return and
serializes who takes the next slot.
"""

from ikctrial.randomization.blocks import Slot, arm_counts_per_block, permuted_blocks
from ikctrial.randomization.minimization import MinimizationChoice, minimization_choice
from ikctrial.randomization.strata import (
    StratificationFactor,
    all_strata,
    stratum_key,
    subject_stratum,
)

__all__ = [
    "MinimizationChoice",
    "Slot",
    "StratificationFactor",
    "all_strata",
    "arm_counts_per_block",
    "minimization_choice",
    "permuted_blocks",
    "stratum_key",
    "subject_stratum",
]
