"""Permuted blocks with randomly varying block sizes (domain.md 9.4), reproducible from a seed.

Each block holds every arm in the allocation ratio (a block of 4 at 1:1 holds two of each), in a
random order; each block's size is drawn at random from the protocol's ``block_sizes`` so the end of
a block cannot be guessed from the sizes seen so far. The same seed and stratum index always give
the same list (numpy's PCG64 seeded through ``SeedSequence``, one independent stream per stratum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ikctrial.errors import InputError


@dataclass(frozen=True)
class Slot:
    """One position of a stratum's list: 1-based position, block number and size, and the arm."""

    position: int
    block: int
    block_size: int
    arm: str


def arm_counts_per_block(
    arms: Sequence[str], ratio: Sequence[int], block_size: int
) -> dict[str, int]:
    """How many slots of each arm a block of ``block_size`` holds (the ratio scaled up exactly)."""
    if len(arms) != len(ratio) or not arms:
        raise InputError("allocation_ratio", "needs one positive integer per arm")
    if len(set(arms)) != len(arms):
        raise InputError("arms", "arm codes must be unique")
    if any(part < 1 for part in ratio):
        raise InputError("allocation_ratio", "every part must be a positive integer")
    total = sum(ratio)
    if block_size < total or block_size % total:
        raise InputError(
            "randomization.block_sizes",
            f"{block_size} is not a positive multiple of the allocation total {total}",
        )
    return {arm: block_size // total * part for arm, part in zip(arms, ratio, strict=True)}


def permuted_blocks(
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    min_length: int,
    seed: int,
    stream: int = 0,
) -> list[Slot]:
    """Whole blocks until at least ``min_length`` slots; deterministic in (seed, stream).

    ``stream`` separates strata: stratum *i* of a list uses stream *i*, so adding a patient to one
    stratum never shifts another stratum's sequence.
    """
    if min_length < 1:
        raise InputError("size", f"{min_length} must be at least 1")
    if seed < 0:
        raise InputError("seed", f"{seed} must be a non-negative integer")
    if not block_sizes:
        raise InputError("randomization.block_sizes", "at least one block size is required")
    sizes = sorted(set(block_sizes))
    contents = {size: arm_counts_per_block(arms, ratio, size) for size in sizes}
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream,))))
    slots: list[Slot] = []
    block = 0
    while len(slots) < min_length:
        block += 1
        size = sizes[int(rng.integers(len(sizes)))]
        members = [arm for arm, count in contents[size].items() for _ in range(count)]
        start = len(slots)
        slots.extend(
            Slot(position=start + i + 1, block=block, block_size=size, arm=members[j])
            for i, j in enumerate(rng.permutation(len(members)))
        )
    return slots
